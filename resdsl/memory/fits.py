"""The largest batch that fits a device: capacities, the reserve kept back, and the search.

    >>> device = parse_device("a100-40gb")
    >>> device.capacity == 40 * GIB, round(device.usable / GIB, 2)
    (True, 35.1)
    >>> parse_device("24GiB").name, parse_device("16 GB").capacity
    ('24 GiB', 16000000000)

NOTE: the reserve. The replay (:mod:`resdsl.memory.step`) counts the tensors of a step, which
is what ``torch.cuda.max_memory_allocated`` counts less three things it cannot see: the
caching allocator's rounding (to 512 bytes, and of large blocks to 2 MiB) and fragmentation,
the workspaces cuDNN and cuBLAS allocate inside a call (``cudnn.benchmark`` picks the fastest
algorithm among those whose workspace fits), and what is not the allocator's at all: the CUDA
context and the libraries' kernels, several hundred MiB on current GPUs. So a device keeps
back ``RESERVE_FIXED`` (1 GiB: the context, and the gap between a card's nominal size and
what the driver lets a process allocate) and then ``RESERVE_FRACTION`` (10%) of the rest for
rounding, fragmentation and workspaces. Both are judgement, not measurement (not yet measured
on a GPU); ``benchmarks/memory.py --gpu`` measures the gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from resdsl.diagnostics import ResdslError, did_you_mean, either
from resdsl.memory.events import Trace

GIB = 2**30
RESERVE_FIXED = GIB
RESERVE_FRACTION = 0.10

# Nominal memory of common training GPUs, in GiB (what the card is sold as).
DEVICES: dict[str, int] = {
    "h100": 80,
    "a100-80gb": 80,
    "a100-40gb": 40,
    "l40s": 48,
    "a6000": 48,
    "v100-32gb": 32,
    "v100-16gb": 16,
    "rtx4090": 24,
    "rtx3090": 24,
    "a10": 24,
    "l4": 24,
    "t4": 16,
}
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")


@dataclass(frozen=True)
class Device:
    """A memory budget: a named card or a size written out."""

    name: str  # h100, or the size as given (80 GiB)
    capacity: int  # bytes

    @property
    def reserved(self) -> int:
        """Bytes kept back from the step (the module NOTE)."""
        rest = max(0, self.capacity - RESERVE_FIXED)
        return self.capacity - rest + round(RESERVE_FRACTION * rest)

    @property
    def usable(self) -> int:
        return self.capacity - self.reserved


@dataclass(frozen=True)
class Fit:
    """The largest batch whose predicted step peak fits a device's usable memory."""

    device: Device
    batch: int  # 0 if not even one image fits
    peak: int  # the predicted peak at that batch, or at batch 1 when none fits (bytes)


def parse_device(text: str) -> Device:
    """``h100`` or a size such as ``80GiB``, ``40GB`` or ``16384MiB``; a ResdslError otherwise."""
    key = text.strip().lower()
    if key in DEVICES:
        return Device(key, DEVICES[key] * GIB)
    match = _SIZE.fullmatch(text)
    if match and match.group(2).lower() in _UNITS:
        number, unit = match.groups()
        capacity = round(float(number) * _UNITS[unit.lower()])
        if capacity > 0:
            return Device(f"{number} {_canonical(unit)}", capacity)
    if match is None and re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
        raise ResdslError(f"--fits {text}: give a unit, e.g. {text.strip()}GiB")
    models = [name for name in DEVICES if name.startswith(key + "-")]
    hint = f"; {key} comes as {either(models)}" if models else did_you_mean(key, list(DEVICES))
    raise ResdslError(
        f"--fits {text}: not a memory size or a known device{hint} "
        f"(sizes: 80GiB, 40GB, 16384MiB; devices: {', '.join(DEVICES)})"
    )


def _canonical(unit: str) -> str:
    low = unit.lower()
    return low[0].upper() + low[1:-1] + "B" if len(low) > 1 else "B"


def largest_batch(trace: Trace, budget: int) -> int:
    """The largest batch whose step peak stays within ``budget`` bytes (0 if none does).

    Every event's live bytes are ``fixed + per_sample * batch``, so the answer is the least,
    over the events, of the largest batch each allows; no search over batch sizes.
    """
    best: int | None = None
    for fixed, per_sample, _ in trace.rows:
        if fixed > budget:
            return 0
        if per_sample:
            allowed = (budget - fixed) // per_sample
            best = allowed if best is None else min(best, allowed)
    return best if best is not None else 0


def fit(trace: Trace, device: Device) -> Fit:
    """How large a batch ``device`` takes, with the peak at that batch."""
    batch = largest_batch(trace, device.usable)
    peak = trace.peak(batch).at_batch(batch) if batch else trace.peak(1).at_batch(1)
    return Fit(device, batch, peak)
