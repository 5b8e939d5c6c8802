"""Timed forward+backward passes: what the plan's estimate is made of.

The estimate comes from a probe: a few real forward+backward passes of the network on this device,
timed after an uncounted first one. While passes are quick the batch grows to the run's own, which
is then measured directly; when even two images take a while (ResNet-152 on a 2-core CPU), passes
at two batch sizes give a fixed cost per pass and a cost per image, extrapolated to the run's batch
(:func:`extrapolate`). Either way it takes a few seconds. The probe runs on a copy of the model with
its own random inputs, so the model's weights, batch-norm statistics and torch's RNG are exactly as
they were: a probed run and a resumed one stay bit-identical. It also proves the network runs on
this input before anything is written.

On a machine shared with other jobs the probe measures the sharing too; the ETA of the progress
lines replaces the estimate with measured iterations from the first one on.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resdsl.train.errors import TrainError

PROBE_STEP_S = 1.0  # aim each timed probe pass at about this long
PROBE_BUDGET_S = 3.0  # and stop timing once the probe has taken this long in all


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
