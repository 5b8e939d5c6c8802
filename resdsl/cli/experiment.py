"""``resdsl experiment degradation``: the click command, thin; the work is in
:mod:`resdsl.experiments.degradation`. torch is imported only when a run starts."""

from __future__ import annotations

import sys

import click

from resdsl.train.config import RECIPES


def _depths(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of depths") from None


@click.group(short_help="Reproduce the paper's experiments.")
def experiment() -> None:
    """Reproduce the paper's experiments with one command."""


@experiment.command(short_help="Plain against residual networks (Fig. 6 and 7).")
@click.option(
    "--depths",
    default="20,56",
    show_default=True,
    callback=_depths,
    help="Comma-separated depths; plainD and resnetD are trained for each.",
)
@click.option(
    "--seeds",
    type=int,
    default=1,
    show_default=True,
    help="Seeds 0..N-1 per network; the table reports mean ± std.",
)
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="digits | cifar10:DIR | cifar100:DIR | imagefolder:DIR | synthetic.",
)
@click.option(
    "--recipe",
    "recipe_name",
    type=click.Choice(sorted(RECIPES)),
    default="digits",
    show_default=True,
    help="One recipe for every network.",
)
@click.option(
    "--steps",
    type=int,
    help="Iterations per run, milestones scaled to match (digits default: 300).",
)
@click.option("--batch-size", type=int, help="Mini-batch (default: the recipe's).")
@click.option("--out", help="Output folder (default runs/degradation-TIMESTAMP); must be new.")
@click.option(
    "--generated",
    default="generated",
    show_default=True,
    help="Folder holding the compiled plainD.py and resnetD.py.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option(
    "--threads", type=int, default=0, show_default=True, help="CPU threads; 0 means every core."
)
@click.option(
    "--redraw",
    metavar="DIR",
    help="Train nothing: draw Fig. 6 and Fig. 7 again from a finished experiment's folder.",
)
@click.pass_context
def degradation(
    ctx: click.Context,
    depths: tuple[int, ...],
    seeds: int,
    data: str,
    recipe_name: str,
    steps: int | None,
    batch_size: int | None,
    out: str | None,
    generated: str,
    device: str,
    threads: int,
    redraw: str | None,
) -> None:
    """Plain against residual networks, the paper's Fig. 6, 7 and final errors.

    Trains plainD and resnetD for each depth under one recipe and writes the training and
    test error curves (Fig. 6), a table of final errors, and the standard deviations of the
    layer responses (Fig. 7). --redraw DIR draws both figures again from DIR's plan.json,
    runs/*/metrics.jsonl and fig7.json (or the runs' checkpoints), e.g. docs/degradation/seeds3.
    """
    from resdsl.experiments.degradation import DegradationPlan, run_degradation

    if redraw is not None:
        _redraw(ctx, redraw)
        return

    plan = DegradationPlan(
        depths=depths,
        seeds=seeds,
        data=data,
        recipe=recipe_name,
        steps=steps,
        out=out,
        generated=generated,
        device=device,
        threads=threads,
        batch_size=batch_size,
    )
    try:
        result = run_degradation(plan)
    except KeyboardInterrupt:  # Ctrl-C: the runner has said what is kept; no "Aborted!"
        sys.exit(130)
    click.echo(result.table_md.read_text(), nl=False)
    for path in (result.figure, result.table_md, result.table_json, result.fig7, result.fig7_json):
        click.echo(f"wrote {path}")


def _redraw(ctx: click.Context, folder: str) -> None:
    """--redraw: the figures from a folder's files; every other option is the folder's own."""
    from resdsl.experiments.figures import redraw
    from resdsl.train.errors import TrainError

    given = [
        param.opts[0]
        for param in ctx.command.params
        if param.name not in ("redraw", "help")
        and ctx.get_parameter_source(param.name or "") != click.core.ParameterSource.DEFAULT
    ]
    if given:
        raise TrainError(f"--redraw takes the plan of {folder}; drop {', '.join(given)}")
    for path in redraw(folder):
        click.echo(f"wrote {path}")
