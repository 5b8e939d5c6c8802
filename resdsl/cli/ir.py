"""``resdsl ir``: the IR of a spec, one operation a line (or as JSON)."""

from __future__ import annotations

import json

import click


@click.command(short_help="Show the IR, one operation a line.")
@click.argument("file", metavar="FILE")
@click.option("--network", "-n", help="Show this network of FILE (default: every one).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "graphml"]),
    default="text",
    show_default=True,
    help="json: resdsl.ir.network/2, every node with its op's parameters; graphml: the IR "
    "graph of one network, for networkx, Gephi or yEd.",
)
def ir(file: str, network: str | None, fmt: str) -> None:
    """Show the IR of FILE: every operation in order, with its module path and shape."""
    from resdsl.diagnostics import ResdslError
    from resdsl.ops import show
    from resdsl.pipeline import check_or_raise

    nets = check_or_raise(file, network)
    if fmt == "graphml":
        from resdsl.report.serialize import graphml

        if len(nets) != 1:
            names = ", ".join(net.name for net in nets)
            raise ResdslError(f"graphml holds one network: name one of {file}'s with -n ({names})")
        click.echo(graphml(nets[0]), nl=False)
        return
    if fmt == "json":
        from resdsl.report.serialize import ir_data

        click.echo(json.dumps(ir_data(nets), indent=2))
        return
    for net in nets:
        click.echo(
            f"network {net.name}  input {show(net.input)}  classes {net.classes}  "
            f"block {net.block.kind}  shortcut {net.shortcut}"
        )
        click.echo(f"{'#':>5}  {'op':<8} {'path':<28} {'shape':<14} line")
        for index, node in enumerate(net.nodes):
            shape = "?" if node.shape is None else show(node.shape)
            click.echo(
                f"{index:>5}  {node.op.kind:<8} {node.path:<28} {shape:<14} {node.span.line}"
            )
