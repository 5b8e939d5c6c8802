"""``resdsl graph``: the click command, thin. The pass is :mod:`resdsl.graph` (IR -> DOT ->
SVG/PNG/PDF through Graphviz); no torch is imported."""

from __future__ import annotations

import click

# The levels of resdsl.graph, spelt here so that --help imports nothing.
LEVELS = ("network", "stage", "block", "layer")


@click.command(short_help="Draw networks side by side, as the paper's Fig. 3.")
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@click.option(
    "--network",
    "-n",
    "networks",
    multiple=True,
    help="Only this network of each file (repeat for several, drawn in that order).",
)
@click.option(
    "--output",
    "-o",
    metavar="OUT",
    help="Write OUT.svg, OUT.png, OUT.pdf (needs Graphviz) or OUT.dot; default: DOT to stdout.",
)
@click.option(
    "--level",
    "-l",
    type=click.Choice(LEVELS),
    default="layer",
    show_default=True,
    help="Detail: every layer, one box per block (block = stage), or one box per stage.",
)
@click.option(
    "--shapes/--no-shapes",
    default=True,
    show_default=True,
    help="Write the tensor shape (C x H x W) beside every arrow; --no-shapes is compact.",
)
def graph(
    files: tuple[str, ...],
    networks: tuple[str, ...],
    output: str | None,
    level: str,
    shapes: bool,
) -> None:
    """Draw the networks of FILES as the paper's Figure 3 does, side by side.

    Boxes are layers labelled as the paper labels them (BN and ReLU folded into the conv
    before them); corresponding layers of the networks sit on the same row. Shortcuts are
    solid arcs for identities, dashed for projections, dotted for option A's zero padding.

    \b
      resdsl graph specs/plain34.res specs/resnet34.res --no-shapes -o fig3.png
      resdsl graph specs/cifar.res -n plain20 -n resnet20 --level block -o fig.pdf
    """
    from resdsl.graph import output_format, render, to_dot, write_output
    from resdsl.graph.output import check_output
    from resdsl.pipeline import check_or_raise

    # Before any work: a bad suffix or folder should not wait for the specs and Graphviz.
    fmt = output_format(output)
    if output is not None:
        check_output(output)
    names = networks or (None,)
    nets = [net for path in files for name in names for net in check_or_raise(path, name)]
    if not nets:
        raise click.ClickException(f"no concrete network in {', '.join(files)} to draw")
    source = to_dot(nets, level, shapes)  # type: ignore[arg-type]  # click.Choice checked it
    if output is None:
        click.echo(source, nl=False)
        return
    write_output(source.encode() if fmt == "dot" else render(source, fmt), output)
    names = ", ".join(net.name for net in nets)
    click.echo(f"{output}: {names} ({level} level)", err=True)
