"""``resdsl train``: the click command, thin. torch is imported only inside the function body, so
``resdsl --help`` and the compiler commands never pay for it."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from resdsl.train.config import RECIPES
from resdsl.train.errors import TrainError

# What --resume accepts beside itself: how (not what) to run, and a new length (see runner.resolve).
RESUME_MAY_CHANGE = {
    "resume",
    "device",
    "compile",
    "compile_mode",
    "threads",
    "progress",
    "progress_every",
    "workers",
    "steps",
    "epochs",
}
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C


def _milestones(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None


def _flags(names: set[str] | list[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in sorted(names))


@click.command(short_help="Train a generated network, with a plan and progress.")
@click.argument("module", required=False, metavar="MODULE")
@click.option(
    "--recipe",
    "recipe_name",
    type=click.Choice(sorted(RECIPES)),
    default="digits",
    show_default=True,
    help="Preset of every value below; each flag overrides one.",
)
@click.option(
    "--data", help="digits (default) | synthetic | cifar10:DIR | cifar100:DIR | imagefolder:DIR."
)
@click.option("--out", help="Output folder (default runs/NAME-TIMESTAMP); must be new or empty.")
@click.option("--resume", metavar="DIR", help="Continue the run in DIR exactly where it stopped.")
@click.option("--steps", type=int, help="Total iterations (with --resume: extend the run to this).")
@click.option("--epochs", type=float, help="Train this many epochs instead of --steps.")
@click.option("--batch-size", type=int, help="Global mini-batch, split across processes.")
@click.option("--lr", type=float, help="Base learning rate.")
@click.option("--momentum", type=float, help="SGD momentum.")
@click.option("--weight-decay", type=float, help="L2 weight decay.")
@click.option(
    "--milestones", callback=_milestones, help="Comma-separated points where lr is divided."
)
@click.option(
    "--milestone-unit", type=click.Choice(["step", "epoch"]), help="Unit of --milestones."
)
@click.option("--lr-decay", type=float, help="Factor applied to lr at each milestone.")
@click.option(
    "--warmup",
    type=click.Choice(["auto", "on", "off"]),
    help="The paper's 0.01 warm-up (auto: very deep nets).",
)
@click.option("--warmup-lr", type=float, help="Learning rate while warming up.")
@click.option("--val-split", type=int, help="Training images held out for validation.")
@click.option("--crop-pad", type=int, help="Padding for the random crop; 0 disables it.")
@click.option("--flip/--no-flip", default=None, help="Random horizontal flips.")
@click.option("--eval-every", type=int, help="Iterations between evaluations.")
@click.option(
    "--ckpt-every", type=int, help="Iterations between last.pt writes (0: at evaluations)."
)
@click.option("--eval-batch-size", type=int, help="Per-process batch for evaluation.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    help="Where to train (auto: CUDA if present).",
)
@click.option(
    "--compile/--no-compile", "compile_", default=None, help="torch.compile (default: on for CUDA)."
)
@click.option("--compile-mode", help="torch.compile mode: default, reduce-overhead, max-autotune.")
@click.option("--amp/--no-amp", default=None, help="bf16 autocast (default: on for CUDA).")
@click.option(
    "--channels-last/--no-channels-last", default=None, help="NHWC layout (default: on for CUDA)."
)
@click.option("--threads", type=int, help="CPU threads per process (0: cores / processes).")
@click.option("--workers", type=int, help="Loader processes for imagefolder data.")
@click.option("--seed", type=int, help="Seed for weights, data order and augmentation.")
@click.option(
    "--verify/--no-verify", default=None, help="Check CIFAR files against official md5 sums."
)
@click.option("--download", is_flag=True, default=None, help="Fetch CIFAR if the folder lacks it.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress: a bar on a terminal, plain lines otherwise (default); off with --no-progress.",
)
@click.option(
    "--progress-every",
    type=float,
    metavar="SECONDS",
    help="Seconds between progress lines when stderr is not a terminal (default 20).",
)
def train(module: str | None, recipe_name: str, compile_: bool | None, **options: Any) -> None:
    """Train a generated network: resdsl train generated/NAME.py [--data ...] [--steps N].

    Prints a plan with an estimated duration first. Writes metrics.jsonl, last.pt, best.pt and
    errors.png to the output folder. Ctrl-C saves last.pt and says how to continue; `--resume DIR
    --steps N` extends a run. Under `torchrun --nproc_per_node=N -m resdsl train ...` it runs
    DistributedDataParallel.
    """
    from resdsl.train.config import recipe

    overrides = {k: v for k, v in options.items() if v is not None}
    if compile_ is not None:
        overrides["compile"] = compile_
    if not module and not options.get("resume"):
        raise click.UsageError("give a generated module (generated/NAME.py) or --resume DIR")
    changed = sorted(set(overrides) - RESUME_MAY_CHANGE)
    if options.get("resume") and changed:
        allowed = _flags(RESUME_MAY_CHANGE - {"resume", "steps", "epochs"})
        raise click.UsageError(
            f"--resume continues with the run's own settings; {_flags(changed)} cannot change "
            f"them (only how to run: {allowed}; and --steps or --epochs to extend the run)"
        )
    if options.get("resume") and {"steps", "epochs"} <= set(overrides):
        raise click.UsageError("extend a resumed run with --steps or --epochs, not both")
    length: dict[str, Any] = {}
    if options.get("resume"):  # the new total of a resumed run, not a new config value
        length = {k: overrides.pop(k) for k in ("steps", "epochs") if k in overrides}
    try:
        config = recipe(recipe_name, module=module or "", **overrides)
        from resdsl.train.runner import train as run  # imports torch

        run(config, **length)
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt as e:  # Ctrl-C: say what was kept and how to go on, not "Aborted!"
        _ignore_sigint()  # from here on the process only reports and exits
        if os.environ.get("RANK", "0") == "0":  # under torchrun, once
            click.echo(_interrupted(e), err=True)
        sys.exit(EXIT_INTERRUPTED)


def _ignore_sigint() -> None:
    import signal

    with contextlib.suppress(ValueError):  # ValueError: not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupted(error: KeyboardInterrupt) -> str:
    from resdsl.train.progress import Interrupted  # torch-free

    if not isinstance(error, Interrupted) or error.out is None:
        return "stopped before anything was saved; nothing was left behind"
    if error.saved and error.step is not None:
        head = f"stopped at iteration {error.step} of {error.total}; saved {error.out / 'last.pt'}"
    elif error.saved:
        head = f"stopped; {error.out / 'last.pt'} holds the last checkpoint"
    else:
        return "stopped before anything was saved; nothing was left behind"
    return f"{head}\ncontinue with: resdsl train --resume {error.out}"
