"""Training memory predicted from the IR: how much a step needs, and the largest batch that fits.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet50.res")
    >>> report = training_memory(net, batch=256, precision="bf16-autocast")
    >>> round(report.peak.bytes / 2**30, 1), report.peak.phase
    (10.4, 'backward')
    >>> fit(report.trace, parse_device("h100")).batch
    1783

``resdsl stats`` only counts; this package also says when each tensor is alive. No model is
built and torch is never imported: ``step`` replays one training step over the IR (each op
states what it allocates, keeps for backward and frees), ``summary`` sums the replay by stage
and phase, ``fits`` turns a device into a budget and finds the largest batch.

    step.py      simulate(net, precision, optimizer, checkpointed) -> Trace; the forward
    backward.py  the replay's backward: each input's gradient as its op makes it
    events.py    Heap, Event, Trace: what the replay records
    summary.py   training_memory(...) -> MemoryReport; checkpoint_study(...) -> CheckpointStudy
    fits.py      parse_device("h100" | "80GiB"), fit(trace, device) -> Fit, largest_batch
    ask.py       request(...) checks the CLI's options; answer(net, request) -> MemoryView
"""

from __future__ import annotations

from resdsl.memory.ask import MemoryRequest, MemoryView, answer, request
from resdsl.memory.events import OPTIMIZERS, PRECISIONS, Event, Trace
from resdsl.memory.fits import DEVICES, Device, Fit, fit, largest_batch, parse_device
from resdsl.memory.step import simulate
from resdsl.memory.summary import (
    ASSUMPTIONS,
    CheckpointRow,
    CheckpointStudy,
    MemoryReport,
    Peak,
    StageMemory,
    checkpoint_study,
    training_memory,
)

__all__ = [
    "ASSUMPTIONS",
    "DEVICES",
    "OPTIMIZERS",
    "PRECISIONS",
    "CheckpointRow",
    "CheckpointStudy",
    "Device",
    "Event",
    "Fit",
    "MemoryReport",
    "MemoryRequest",
    "MemoryView",
    "Peak",
    "StageMemory",
    "Trace",
    "answer",
    "checkpoint_study",
    "fit",
    "largest_batch",
    "parse_device",
    "request",
    "simulate",
    "training_memory",
]
