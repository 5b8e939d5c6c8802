"""``resdsl ir``: the IR of a spec, one operation a line."""

from __future__ import annotations

import click


@click.command()
@click.argument("file", metavar="FILE")
@click.option("--network", "-n", help="Show this network of FILE (default: every one).")
def ir(file: str, network: str | None) -> None:
    """Show the IR of FILE: every operation in order, with its module path and shape."""
    from resdsl.ops import show
    from resdsl.pipeline import check_or_raise

    for net in check_or_raise(file, network):
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
