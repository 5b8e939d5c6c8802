"""``resdsl diff``: what changes from one network to another, stage by stage."""

from __future__ import annotations

import click

from resdsl.cli.arguments import convention, convention_options


@click.command(short_help="Compare two networks' params and multiply-adds by stage.")
@click.argument("a", metavar="A.res")
@click.argument("b", metavar="B.res")
@click.option("--network-a", "-a", help="The network of A.res to compare (if it has several).")
@click.option("--network-b", "-b", help="The network of B.res to compare (if it has several).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: resdsl.diff/1.",
)
@convention_options
def diff(a, b, network_a, network_b, fmt, **flags) -> None:
    """What changes from A.res to B.res in parameters and multiply-adds, stage by stage.

    \b
      resdsl diff specs/resnet50.res specs/resnet50_v1_5.res
      resdsl diff specs/resnet34_a.res specs/resnet34_c.res
      resdsl diff specs/cifar.res specs/cifar.res -a resnet20 -b plain20
    """
    from resdsl.ir.costs import network_stats
    from resdsl.report.diff import diff as diff_table
    from resdsl.report.tables import to_text

    counting = convention(**flags)
    old = network_stats(_one(a, network_a), counting)
    new = network_stats(_one(b, network_b), counting)
    if fmt == "json":
        import json

        from resdsl.report.serialize import diff_data

        click.echo(json.dumps(diff_data(old, new), indent=2))
        return
    click.echo(to_text(diff_table(old, new)))
    click.echo(f"counted: {counting.describe()}")


def _one(path: str, name: str | None):
    from resdsl.pipeline import check_or_raise

    nets = check_or_raise(path, name)
    if len(nets) != 1:
        names = ", ".join(net.name for net in nets)
        raise click.UsageError(f"{path} holds several networks ({names}); pick one with -a/-b")
    return nets[0]
