"""The plan a run prints before its first iteration, with an honest estimate of how long it takes.

The estimate comes from a probe: a few real forward+backward passes of the network on this device,
timed after an uncounted first one. While passes are quick the batch grows to the run's own, which
is then measured directly; when even two images take a while (ResNet-152 on a 2-core CPU), passes
at two batch sizes give a fixed cost per pass and a cost per image, extrapolated to the run's batch
(:func:`extrapolate`). Either way it takes a few seconds. The probe runs on a copy
of the model with its own random inputs, so the model's weights, batch-norm statistics and torch's
RNG are exactly as they were: a probed run and a resumed one stay bit-identical. It also proves the
network runs on this input before anything is written.

On a machine shared with other jobs the probe measures the sharing too; the ETA of the progress
lines replaces the estimate with measured iterations from the first one on.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from resdsl.train import distributed
from resdsl.train.config import TrainConfig
from resdsl.train.errors import TrainError
from resdsl.train.module import Generated, count_params
from resdsl.train.progress import duration
from resdsl.train.report import stderr_console

PROBE_STEP_S = 1.0  # aim each timed probe pass at about this long
PROBE_BUDGET_S = 3.0  # and stop timing once the probe has taken this long in all
# Warn on the CPU when a run is expected to take longer than this, or the input is ImageNet-sized.
LONG_RUN_S = 3600.0
IMAGENET_SIDE = 128  # inputs at least this tall and wide are "ImageNet-sized"
QUICK_LOOK_S = 600.0  # the --steps suggestion aims at a run of about ten minutes
# Multiply-adds per image of the paper's CIFAR ResNet-20 (resdsl stats specs/cifar.res), for the
# "n times fewer" of the suggestion.
RESNET20_MULTIPLY_ADDS = 40_551_040


@dataclass(frozen=True)
class Probe:
    images_per_s: float  # training (forward + backward) images per second at the run's batch
    batch: int  # the largest batch a timed pass used
    seconds: float  # how long probing took
    how: str = ""  # "at batch 64", or "from batches 2 and 4, extrapolated to 64"


def probe(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    classes: int,
    batch: int,
    *,
    device: torch.device,
    amp: bool,
    channels_last: bool,
    network: str,
) -> Probe:
    """Time forward+backward passes of a copy of ``model``; see the module doc."""
    clone = copy.deepcopy(model).train()
    started = time.perf_counter()
    try:
        points = _passes(clone, input_shape, classes, batch, device, amp, channels_last, network)
    finally:
        del clone  # before emptying the cache, so its memory really goes back
        if device.type == "cuda":
            torch.cuda.empty_cache()
    seconds, how = extrapolate(points, batch)
    return Probe(batch / seconds, max(points), time.perf_counter() - started, how)


def extrapolate(points: dict[int, float], batch: int) -> tuple[float, str]:
    """Seconds per pass at ``batch`` from the fastest pass at each size measured, and how.

    Measured at ``batch``: that. Otherwise a line through the two largest sizes, t = c + n k: a
    pass costs a fixed part c (per-layer overhead, which dominates small batches on a busy CPU)
    plus k per image; per-image extrapolation from two images alone erred 50x on a loaded machine.
    """
    if batch in points:
        return points[batch], f"at batch {batch}"
    (b, tb) = max(points.items())
    smaller = [(n, t) for n, t in points.items() if n < b]
    if not smaller:  # one point: proportional, the best there is
        return tb * batch / b, f"at batch {b}, scaled to {batch}"
    a, ta = max(smaller)
    per_image = (tb - ta) / (b - a)
    if per_image <= 0:  # noise, or all overhead: the larger pass is the better guess
        return tb, f"at batch {b} (no slower than batch {a})"
    return tb + (batch - b) * per_image, f"from batches {a} and {b}, extrapolated to {batch}"


def _passes(
    clone: nn.Module,
    input_shape: tuple[int, int, int],
    classes: int,
    batch: int,
    device: torch.device,
    amp: bool,
    channels_last: bool,
    network: str,
) -> dict[int, float]:
    """The fastest timed pass at each batch size tried, in seconds; see :func:`probe`."""
    gen = torch.Generator().manual_seed(0)  # its own generator: torch's global RNG is untouched
    started = time.perf_counter()

    def timed(n: int) -> float:
        x = torch.randn((n, *input_shape), generator=gen).to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, classes, (n,), generator=gen).to(device)
        _sync(device)
        t = time.perf_counter()
        try:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = clone(x)
            if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (n, classes):
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
                raise TrainError(
                    f"{network} returned {got} for a batch of {n}; logits of shape "
                    f"({n}, {classes}) expected"
                )
            F.cross_entropy(logits.float(), y).backward()
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            message = (str(e).strip().splitlines() or [""])[0][:200]
            shape = "x".join(map(str, input_shape))
            raise TrainError(
                f"{network} fails on a {n}x{shape} batch ({type(e).__name__}: {message})"
            ) from e
        clone.zero_grad(set_to_none=True)
        _sync(device)
        return time.perf_counter() - t

    # The first pass pays one-time costs (allocator, kernel selection) and is never counted: on a
    # busy 2-core machine it took ten times the next one. While passes are cheap the batch grows
    # towards the run's (measured there directly, best of two: noise only ever slows a pass);
    # once a pass takes PROBE_STEP_S / 2 or more, one pass at twice the size gives a second point
    # for ``extrapolate``. Two images at least: batch norm over one image can fail where the real
    # batch would not.
    size = min(2, batch)
    timed(size)
    points: dict[int, float] = {}
    at_batch = 0
    while True:
        seconds = timed(size)
        points[size] = min(seconds, points.get(size, seconds))
        spent = time.perf_counter() - started
        if size == batch:
            at_batch += 1
            if at_batch >= 2 or spent + seconds > PROBE_BUDGET_S:
                break
        elif seconds < PROBE_STEP_S / 2 and spent < PROBE_BUDGET_S:
            size = min(batch, max(2 * size, int(size * PROBE_STEP_S / max(seconds, 1e-6))))
        elif len(points) < 2:
            size = min(batch, 2 * size)
        else:
            break
    return points


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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
