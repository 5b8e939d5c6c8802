"""The plan a run prints before its first iteration, with an honest estimate of how long it takes.

What will run (network, parameters, multiply-adds per image from META, data and what it becomes at
the input size, batch, iterations, device, threads, precision, compile), how long that takes (from
``probe.py``'s timed passes), and, for a long run on the CPU, a warning with what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resdsl.train import distributed
from resdsl.train.config import TrainConfig
from resdsl.train.module import Generated, count_params
from resdsl.train.probe import Probe, probe
from resdsl.train.progress import duration
from resdsl.train.report import stderr_console

# Warn on the CPU when a run is expected to take longer than this, or the input is ImageNet-sized.
LONG_RUN_S = 3600.0
IMAGENET_SIDE = 128  # inputs at least this tall and wide are "ImageNet-sized"
QUICK_LOOK_S = 600.0  # the --steps suggestion aims at a run of about ten minutes
# Multiply-adds per image of the paper's CIFAR ResNet-20 (resdsl stats specs/cifar.res), for the
# "n times fewer" of the suggestion.
RESNET20_MULTIPLY_ADDS = 40_551_040


@dataclass(frozen=True)
class Plan:
    """What a run is about to do; printed before its first iteration."""

    network: str
    params: int
    multiply_adds: int  # per image, forward; 0 when the module does not record it
    input_shape: tuple[int, int, int]
    data: str  # the source's own description
    batch: int  # global
    world: int
    done: int  # iterations already done (resume)
    total: int
    steps_per_epoch: int
    eval_every: int
    eval_images: int  # images per evaluation (validation + test), all ranks together
    device: torch.device
    threads: int
    compiled: str | None  # the torch.compile mode, None for eager
    amp: bool
    channels_last: bool
    out: Path
    probe: Probe | None

    @property
    def step_s(self) -> float | None:
        """Estimated seconds per iteration (every rank runs its share at once)."""
        if not self.probe:
            return None
        return self.batch / self.world / self.probe.images_per_s

    @property
    def evaluations(self) -> int:
        return sum(
            1
            for s in range(self.done + 1, self.total + 1)
            if s % self.eval_every == 0 or s == self.total
        )

    @property
    def eval_s(self) -> float | None:
        """Estimated seconds per evaluation: forward only, about a third of a training pass."""
        if not self.probe:
            return None
        return self.eval_images / self.world / (3 * self.probe.images_per_s)

    @property
    def estimate_s(self) -> float | None:
        if self.step_s is None or self.eval_s is None:
            return None
        return (self.total - self.done) * self.step_s + self.evaluations * self.eval_s

    def lines(self) -> list[str]:
        c, h, w = self.input_shape
        macs = f", {_si(self.multiply_adds)} multiply-adds per image" if self.multiply_adds else ""
        epochs = self.total / self.steps_per_epoch
        start = f"{self.done} → " if self.done else ""
        plural = "s" if self.threads != 1 else ""
        threads = f", {self.threads} thread{plural}" if self.device.type == "cpu" else ""
        ranks = f" x{self.world} processes" if self.world > 1 else ""
        precision = "bf16 autocast" if self.amp else "fp32"
        lines = [
            f"plan: {self.network}, {self.params:,} parameters{macs} ({c}x{h}x{w} input)",
            f"  data    {self.data}",
            f"  run     {start}{self.total} iterations of batch {self.batch} "
            f"({epochs:.3g} epochs), evaluation every {self.eval_every}; outputs in {self.out}",
            f"  device  {self.device}{ranks}{threads}, {precision}, "
            + (f"torch.compile (mode {self.compiled})" if self.compiled else "eager (no compile)")
            + (", channels_last" if self.channels_last else ""),
        ]
        if self.probe and self.step_s is not None and self.estimate_s is not None:
            rate = self.probe.images_per_s
            flops = (
                f", {6 * self.multiply_adds * rate / 1e9:,.1f} GFLOP/s"
                if self.multiply_adds
                else ""
            )
            lines.append(
                f"  probe   {rate:,.1f} images/s{flops}, {self.probe.how} (eager, "
                f"{self.probe.seconds:.1f} s): about {duration(self.step_s)} per iteration"
            )
            left, evals = self.total - self.done, self.evaluations
            lines.append(
                f"  time    about {duration(self.estimate_s)} ({left} iterations "
                f"≈ {duration(left * self.step_s)}, {evals} evaluation{'s' if evals != 1 else ''} "
                f"≈ {duration(evals * (self.eval_s or 0))})"
                + ("; compiling adds its own warm-up" if self.compiled else "")
            )
        return lines

    def warning(self, module: str) -> list[str]:
        """A warning and what to do instead, for a long run on the CPU; empty otherwise."""
        estimate, step_s = self.estimate_s, self.step_s
        if self.device.type != "cpu" or estimate is None or step_s is None:
            return []
        big = min(self.input_shape[1:]) >= IMAGENET_SIDE
        if not big and estimate < LONG_RUN_S:
            return []
        c, h, w = self.input_shape
        what = (
            f"is ImageNet-sized ({c}x{h}x{w})"
            if big
            else f"has {self.total - self.done} iterations to run"
        )
        lines = [
            f"warning: {self.network} {what}; on this CPU the run takes about {duration(estimate)}."
        ]
        options = []
        if big:
            sibling = Path(module).parent / "resnet20.py"
            target = sibling if sibling.is_file() else Path("generated/resnet20.py")
            fewer = (
                f": {self.multiply_adds / RESNET20_MULTIPLY_ADDS:,.0f}x fewer multiply-adds"
                if self.multiply_adds > RESNET20_MULTIPLY_ADDS
                else ""
            )
            options.append(f"a CIFAR-sized network (resdsl train {target}{fewer} per image)")
        fit = int(QUICK_LOOK_S // step_s)
        if 0 < fit < self.total - self.done:
            options.append(f"--steps {self.done + fit} (about {duration(fit * step_s)})")
        options.append("a GPU (--device cuda)")
        lines.append("  quicker: " + ", or ".join(options))
        return lines


@dataclass(frozen=True)
class Machine:
    """Where and how the run computes."""

    device: torch.device
    compiled: bool
    amp: bool
    channels_last: bool


def make_plan(
    config: TrainConfig,
    generated: Generated,
    model: nn.Module,
    source: Any,
    ranks: distributed.Ranks,
    out: Path,
    steps: tuple[int, int],
    machine: Machine,
) -> Plan:
    """Probe the network (rank 0, and only when there is something left to run) and print the
    plan, with a warning and what to do instead when a CPU run will take long."""
    (done, total), device = steps, machine.device
    measured = None
    if ranks.leader and total > done:
        measured = probe(
            model,
            generated.input_shape,
            source.classes,
            config.batch_size // ranks.world,
            device=device,
            amp=machine.amp,
            channels_last=machine.channels_last,
            network=generated.name,
        )
    plan = Plan(
        network=generated.name,
        params=count_params(model),
        multiply_adds=_multiply_adds(generated, model, source.classes),
        input_shape=generated.input_shape,
        data=source.description,
        batch=config.batch_size,
        world=ranks.world,
        done=done,
        total=total,
        steps_per_epoch=source.steps_per_epoch,
        eval_every=config.eval_every,
        eval_images=source.eval_images,
        device=device,
        threads=torch.get_num_threads(),
        compiled=config.compile_mode if machine.compiled else None,
        amp=machine.amp,
        channels_last=machine.channels_last,
        out=out,
        probe=measured,
    )
    if ranks.leader:
        console = stderr_console()
        if config.resume:
            console.print(f"resuming {out} at iteration {done} of {total}", highlight=False)
        for line in plan.lines():
            console.print(line, highlight=False)
        for line in plan.warning(config.module):
            console.print(f"[yellow]{line}[/]", highlight=False)
    return plan


def _multiply_adds(generated: Generated, model: nn.Module, classes: int) -> int:
    """META's multiply-adds per image, corrected for a head built for another class count."""
    macs, meta_classes = generated.multiply_adds, generated.meta["classes"]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if macs and classes != meta_classes and linears and linears[-1].out_features == classes:
        macs += linears[-1].in_features * (classes - meta_classes)
    return macs


def _si(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f}"
