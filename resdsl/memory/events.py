"""What a replayed training step leaves behind, and how to read it at any batch size.

The replay (:mod:`resdsl.memory.step`) allocates and frees on a :class:`Heap` of storages with
holder counts; after each allocation the heap records the live bytes as an :class:`Event`,
``fixed + per_sample * batch``, so one :class:`Trace` answers every batch size.

    >>> e = Event(fixed=1000, per_sample=10, where=("forward", "stem", "conv1"))
    >>> e.at_batch(32), e.phase, e.at
    (1320, 'forward', 'conv1')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from resdsl.ir.network import Node

Precision = Literal["fp32", "bf16-autocast"]
Optimizer = Literal["sgd", "sgd-momentum", "adam"]
Phase = Literal["forward", "backward", "step"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16-autocast")
# Optimiser state per parameter, in fp32 copies of the parameters.
OPTIMIZERS: dict[str, int] = {"sgd": 0, "sgd-momentum": 1, "adam": 2}
FP32, BF16, INT64 = 4, 2, 8


# phase; section (stem, layer1 ... head); the node's path (or loss, zero_grad, step)
Where = tuple[Phase, str, str]


class Event(NamedTuple):
    """The live bytes right after one allocation: ``fixed + per_sample * batch``."""

    fixed: int
    per_sample: int
    where: Where

    @property
    def phase(self) -> Phase:
        return self.where[0]

    @property
    def section(self) -> str:
        return self.where[1]

    @property
    def at(self) -> str:
        """The module path of the node being run, or loss, zero_grad, step."""
        return self.where[2]

    def at_batch(self, batch: int) -> int:
        return self.fixed + self.per_sample * batch


@dataclass(frozen=True)
class Trace:
    """A replayed step: its events, and what was resident before it began."""

    rows: tuple[tuple[int, int, Where], ...]  # the events as plain tuples, cheap to make
    saved: dict[str, tuple[int, int]]  # per section: (fixed, per-sample) bytes kept for backward
    resident: tuple[int, int]  # bytes alive before the step: weights, state, last gradients, batch

    @property
    def events(self) -> list[Event]:
        return [Event(*row) for row in self.rows]

    def peak(self, batch: int, rows: Sequence[tuple[int, int, Where]] | None = None) -> Event:
        """The event (of ``rows``, else all) with the most live bytes at ``batch``; the first
        of equals."""
        rows = self.rows if rows is None else rows
        return Event(*max(rows, key=lambda e: e[0] + e[1] * batch))


class Heap:
    """Storages and their holders; records an :class:`Event` after each allocation."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.holders: list[int] = []
        self.fixed = self.per_sample = 0
        self.events: list[tuple[int, int, Where]] = []
        self.where: Where = ("forward", "stem", "")

    def new(self, fixed: int, per_sample: int, holders: int = 1, record: bool = True) -> int:
        self.sizes.append((fixed, per_sample))
        self.holders.append(holders)
        self.fixed += fixed
        self.per_sample += per_sample
        if record:
            self.events.append((self.fixed, self.per_sample, self.where))
        return len(self.sizes) - 1

    def hold(self, key: int, count: int = 1) -> None:
        self.holders[key] += count

    def drop(self, key: int | None) -> None:
        if key is None:
            return
        self.holders[key] -= 1
        if self.holders[key] == 0:
            fixed, per_sample = self.sizes[key]
            self.fixed -= fixed
            self.per_sample -= per_sample


def section(node: Node) -> str:
    """The report's section of a node: the input counts with the stem (as in :mod:`stats`)."""
    if node.section == "stage":
        return f"layer{node.stage}"
    return "stem" if node.section == "input" else node.section


# Whose kernels run the step: where they keep different things (dropout's mask), the model
# follows them. CUDA is the default: GPU memory is the question.
KERNELS = ("cuda", "cpu")
