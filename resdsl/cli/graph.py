"""``resdsl graph``: the click command, thin. The pass is :mod:`resdsl.graph` (IR -> DOT ->
SVG/PNG through Graphviz); no torch is imported."""

from __future__ import annotations

from pathlib import Path

import click

_DOT_SUFFIXES = (".dot", ".gv")
# The levels and picture formats of resdsl.graph, spelt here so that --help imports nothing.
LEVELS = ("network", "stage", "block", "layer")
FORMATS = ("svg", "png")


@click.command(short_help="Draw networks side by side, as the paper's Fig. 3.")
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@click.option("--network", "-n", help="Only this network of each file (default: every one).")
@click.option(
    "--output",
    "-o",
    metavar="OUT",
    help="Write OUT.svg, OUT.png (needs Graphviz) or OUT.dot; default: DOT to stdout.",
)
@click.option(
    "--level",
    "-l",
    type=click.Choice(LEVELS),
    default="layer",
    show_default=True,
    help="Detail: every layer, one box per block (block = stage), or one box per stage.",
)
def graph(files: tuple[str, ...], network: str | None, output: str | None, level: str) -> None:
    """Draw the networks of FILES as the paper's Figure 3 does, side by side.

    Boxes are layers labelled as the paper labels them (BN and ReLU folded into the conv
    before them), arrows carry tensor shapes; shortcuts are solid arcs for identities,
    dashed for projections, dotted for option A's zero padding.

    \b
      resdsl graph specs/plain34.res specs/resnet34.res -o fig3.svg
      resdsl graph specs/cifar.res -n resnet20 --level block -o resnet20.png
    """
    from resdsl.graph import render, to_dot
    from resdsl.pipeline import check_or_raise

    fmt = _format(output)  # before any work: a bad suffix should not wait for the pipeline
    nets = [net for path in files for net in check_or_raise(path, network)]
    if not nets:
        raise click.ClickException(f"no concrete network in {', '.join(files)} to draw")
    source = to_dot(nets, level)  # type: ignore[arg-type]  # click.Choice checked it
    if output is None:
        click.echo(source, nl=False)
        return
    if fmt == "dot":
        Path(output).write_text(source)
    else:
        Path(output).write_bytes(render(source, fmt))
    names = ", ".join(net.name for net in nets)
    click.echo(f"{output}: {names} ({level} level)", err=True)


def _format(output: str | None) -> str:
    """The output format, from OUT's suffix."""
    if output is None:
        return "dot"
    suffix = Path(output).suffix.lower()
    if suffix in _DOT_SUFFIXES:
        return "dot"
    if suffix.lstrip(".") in FORMATS:
        return suffix.lstrip(".")
    known = ", ".join((*_DOT_SUFFIXES, *(f".{f}" for f in FORMATS)))
    raise click.BadParameter(f"unknown suffix {suffix or '(none)'!r}; use {known}", param_hint="-o")
