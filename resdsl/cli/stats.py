"""``resdsl stats``: parameters, multiply-adds and activation memory, without building a model;
with ``--memory``, the memory of a training step and the largest batch that fits a device.

No torch is imported here or below (a test checks it in a subprocess), so it answers in
milliseconds."""

from __future__ import annotations

import click

from resdsl.cli.arguments import convention, convention_options, memory_options


@click.command(short_help="Params, multiply-adds and memory; no model built.")
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
@convention_options
@memory_options
def stats(files, network, per_layer, fmt, paper, **flags) -> None:
    """Parameters, multiply-adds and activation memory of every network in FILES.

    Computed from the IR by formula, without building a model. By default only the
    multiply-adds of conv and fc layers count, as in the paper and torchvision's GFLOPS.

    \b
      resdsl stats specs/resnet50.res --per-layer
      resdsl stats --table specs/resnet18.res specs/resnet34_a.res specs/resnet50.res
      resdsl stats specs/*.res --format json
      resdsl stats specs/resnet50.res --memory --batch 256 --precision bf16-autocast
      resdsl stats specs/resnet50.res --fits h100 --checkpoint stages
    """
    from resdsl.ir.costs import network_stats
    from resdsl.pipeline import check_or_raise
    from resdsl.report.table1 import table1
    from resdsl.report.tables import render, to_text

    asked = _memory_request(flags, per_layer, paper)
    counting = convention(**flags)
    nets = [net for path in files for net in check_or_raise(path, network)]
    if asked is not None:
        from resdsl.memory import answer
        from resdsl.report.memory import render as render_memory

        click.echo(render_memory([answer(net, asked, counting) for net in nets], fmt))
        return
    reports = [network_stats(net, counting) for net in nets]
    if paper:
        click.echo(to_text(table1(nets, reports)))
        click.echo(f"counted: {counting.describe()}")
        return
    click.echo(render(reports, fmt, per_layer))


def _memory_request(flags: dict, per_layer: bool, paper: bool):
    """The checked memory options (popped from ``flags``), or None without --memory."""
    from resdsl.diagnostics import ResdslError

    memory, batch, precision = flags.pop("memory"), flags.pop("batch"), flags.pop("precision")
    optimizer, fits, checkpoint = flags.pop("optimizer"), flags.pop("fits"), flags.pop("checkpoint")
    kernels = flags.pop("kernels")
    if checkpoint not in ("none", "stages"):
        raise ResdslError(f"--checkpoint {checkpoint}: not none or stages")
    if not (memory or batch is not None or fits is not None or checkpoint == "stages"):
        if (precision, optimizer, kernels) != ("fp32", "sgd-momentum", "cuda"):
            raise ResdslError(
                "--precision, --optimizer and --kernels go with --memory (and --batch or --fits)"
            )
        return None
    if per_layer or paper:
        raise ResdslError("--per-layer and --table count; they do not combine with --memory")
    from resdsl.memory import request

    return request(batch, precision, optimizer, fits, checkpoint == "stages", kernels)
