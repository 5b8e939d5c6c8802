"""``resdsl stats`` and ``resdsl diff``: the click commands, thin. No torch is imported here or
below (``tests/test_stats_cli.py`` checks it in a subprocess), so both answer in milliseconds."""

from __future__ import annotations

import click
import networkx as nx

from resdsl.pipeline import check_or_raise
from resdsl.report import diff as diff_table
from resdsl.report import render, to_text
from resdsl.stats import Convention, network_stats
from resdsl.table1 import table1


def _convention_options(command):
    """The flags that choose what counts, shared by stats and diff."""
    options = [
        click.option("--count-bn", is_flag=True, help="Count batch norm: 1 per element."),
        click.option("--count-relu", is_flag=True, help="Count ReLU: 1 per element."),
        click.option("--count-pool", is_flag=True, help="Count max/average pooling."),
        click.option("--count-add", is_flag=True, help="Count residual additions: 1 per element."),
        click.option("--count-all", is_flag=True, help="All four of the above."),
        click.option(
            "--flops-2x",
            is_flag=True,
            help="Report FLOPs as 2 x multiply-adds (torch.utils.flop_counter's unit).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _convention(count_bn, count_relu, count_pool, count_add, count_all, flops_2x) -> Convention:
    return Convention(
        bn=count_bn or count_all,
        relu=count_relu or count_all,
        pool=count_pool or count_all,
        add=count_add or count_all,
        flops_as_2x_macs=flops_2x,
    )


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@click.option("--network", "-n", help="Only this network of each file (default: every one).")
@click.option("--per-layer", is_flag=True, help="Also list every layer with its spec line.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "markdown"]),
    default="table",
    show_default=True,
    help="Output format; json is a list with one object per network.",
)
@click.option("--table", "paper", is_flag=True, help="Print the paper's Table 1, side by side.")
@_convention_options
def stats(files, network, per_layer, fmt, paper, **flags) -> None:
    """Parameters, multiply-adds and activation memory of every network in FILES.

    Computed from the IR by formula, without building a model. By default only the
    multiply-adds of conv and fc layers count, as in the paper and torchvision's GFLOPS.

    \b
      resdsl stats specs/resnet50.res --per-layer
      resdsl stats --table specs/resnet18.res specs/resnet34_a.res specs/resnet50.res
      resdsl stats specs/*.res --format json
    """
    convention = _convention(**flags)
    graphs = [g for path in files for g in check_or_raise(path, network)]
    reports = [network_stats(g, convention) for g in graphs]
    if paper:
        click.echo(to_text(table1(graphs, reports)))
        click.echo(f"counted: {convention.describe()}")
        return
    click.echo(render(reports, fmt, per_layer))


@click.command()
@click.argument("a", metavar="A.res")
@click.argument("b", metavar="B.res")
@click.option("--network-a", "-a", help="The network of A.res to compare (if it has several).")
@click.option("--network-b", "-b", help="The network of B.res to compare (if it has several).")
@_convention_options
def diff(a, b, network_a, network_b, **flags) -> None:
    """What changes from A.res to B.res in parameters and multiply-adds, stage by stage.

    \b
      resdsl diff specs/resnet50.res specs/resnet50_v1_5.res
      resdsl diff specs/resnet34_a.res specs/resnet34_c.res
      resdsl diff specs/cifar.res specs/cifar.res -a resnet20 -b plain20
    """
    convention = _convention(**flags)
    old = network_stats(_one(a, network_a), convention)
    new = network_stats(_one(b, network_b), convention)
    click.echo(to_text(diff_table(old, new)))
    click.echo(f"counted: {convention.describe()}")


def _one(path: str, name: str | None) -> nx.DiGraph:
    graphs = check_or_raise(path, name)
    if len(graphs) != 1:
        names = ", ".join(g.graph["name"] for g in graphs)
        raise click.UsageError(f"{path} holds several networks ({names}); pick one with -a/-b")
    return graphs[0]
