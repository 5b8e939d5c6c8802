"""The two records a run is made of: what is fixed for its length (:class:`Run`), and what changes
as it goes (:class:`LoopState`, exactly what ``last.pt`` stores besides weights and optimiser)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resdsl.train import distributed
from resdsl.train.batches import Source
from resdsl.train.config import TrainConfig
from resdsl.train.estimate import Plan
from resdsl.train.report import MetricsLog


@dataclass(frozen=True)
class Run:
    """Everything fixed for the length of a run."""

    config: TrainConfig
    network: str
    params: int
    multiply_adds: int  # per image, forward, at this run's class count (0: unknown)
    module_sha256: str  # of the generated module that runs; resume checks it
    out: Path
    device: torch.device
    ranks: distributed.Ranks
    source: Source
    model: nn.Module  # the plain module: checkpoints, buffers, evaluation
    train_model: nn.Module  # what the loop calls: maybe DDP-wrapped, maybe compiled
    eval_model: nn.Module  # maybe compiled
    optimizer: torch.optim.Optimizer
    amp: bool
    total: int
    milestones: tuple[int, ...]
    log: MetricsLog
    plan: Plan

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)


@dataclass
class LoopState:
    """What changes as the run goes: exactly what ``last.pt`` stores besides weights/optimiser."""

    step: int
    warming: bool
    best: float  # lowest validation (or test) error so far
    seconds: float  # training seconds of earlier segments and windows
    # device sums since the last evaluation: loss, wrong, seen, warm-up wrong, warm-up seen
    window: torch.Tensor
