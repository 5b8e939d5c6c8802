"""``resdsl graph``: the click command, thin. The pass is :mod:`resdsl.diagram` (IR -> DOT) and
:mod:`resdsl.dot` (DOT -> SVG/PNG through Graphviz); no torch is imported."""

from __future__ import annotations

from pathlib import Path

import click

from resdsl.diagram import LEVELS, to_dot
from resdsl.dot import FORMATS, GraphvizFailed, GraphvizNotFound, render
from resdsl.pipeline import check_or_raise

_DOT_SUFFIXES = (".dot", ".gv")


@click.command()
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
    fmt = _format(output)  # before any work: a bad suffix should not wait for the pipeline
    graphs = [g for path in files for g in check_or_raise(path, network)]
    if not graphs:
        raise click.ClickException(f"no concrete network in {', '.join(files)} to draw")
    source = to_dot(graphs, level)  # type: ignore[arg-type]  # click.Choice checked it
    if output is None:
        click.echo(source, nl=False)
        return
    if fmt == "dot":
        Path(output).write_text(source)
    else:
        try:
            Path(output).write_bytes(render(source, fmt))
        except (GraphvizNotFound, GraphvizFailed) as error:
            raise click.ClickException(str(error)) from None
    names = ", ".join(g.graph["name"] for g in graphs)
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
