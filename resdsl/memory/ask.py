"""What ``resdsl stats --memory`` is asked, checked, and the answer for one network.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/cifar.res", "resnet56")
    >>> view = answer(net, request(None, "bf16-autocast", "sgd-momentum", "rtx4090", True))
    >>> view.report.batch == view.fit.batch, view.checkpoint is not None
    (True, True)
    >>> request(8, "bf16", "sgd-momentum", None, False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    resdsl.diagnostics.ResdslError: --precision bf16: ... did you mean bf16-autocast?

The options arrive as the user typed them; every mistake is one ResdslError naming the option
and the fix (the CLI prints it and exits 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from resdsl.diagnostics import ResdslError, did_you_mean, either
from resdsl.ir.costs import Convention
from resdsl.ir.network import Network
from resdsl.memory.events import KERNELS, OPTIMIZERS, PRECISIONS
from resdsl.memory.fits import Device, Fit, fit, parse_device
from resdsl.memory.summary import CheckpointStudy, MemoryReport, checkpoint_study, training_memory


@dataclass(frozen=True)
class MemoryRequest:
    """The memory options, checked."""

    batch: int | None  # None: the largest batch that fits ``device``
    precision: str
    optimizer: str
    device: Device | None
    checkpoint: bool  # also show every stage checkpointed
    kernels: str = "cuda"  # whose kernels run the step


@dataclass(frozen=True)
class MemoryView:
    """One network's answer: the report at the batch size, and what was asked beside it."""

    report: MemoryReport
    fit: Fit | None = None
    checkpoint: CheckpointStudy | None = None
    checkpoint_fit: Fit | None = None


def request(
    batch: int | None,
    precision: str,
    optimizer: str,
    fits: str | None,
    checkpoint: bool,
    kernels: str = "cuda",
) -> MemoryRequest:
    """Check the options; a ResdslError names the first one that is wrong."""
    _one_of("--precision", precision, PRECISIONS)
    _one_of("--optimizer", optimizer, tuple(OPTIMIZERS))
    _one_of("--kernels", kernels, KERNELS)
    if batch is not None and batch < 1:
        raise ResdslError(f"--batch {batch}: a batch holds at least one image")
    device = parse_device(fits) if fits is not None else None
    if batch is None and device is None:
        raise ResdslError("--memory needs --batch N, or --fits DEVICE for the largest batch")
    return MemoryRequest(batch, precision, optimizer, device, checkpoint, kernels)


def _one_of(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        longer = [c for c in choices if c.startswith(value)]
        hint = f"; did you mean {longer[0]}?" if longer else did_you_mean(value, choices)
        raise ResdslError(f"{option} {value}: not {either(choices)}{hint}")


def answer(net: Network, asked: MemoryRequest, convention: Convention | None = None) -> MemoryView:
    """The memory of ``net`` as ``asked``; without ``--batch``, at the largest batch that fits
    (at batch 1 when not even that fits, with the fit saying so)."""
    settings = (asked.precision, asked.optimizer, (), asked.kernels)
    report = training_memory(net, asked.batch or 1, *settings)
    fitted = fit(report.trace, asked.device) if asked.device else None
    if asked.batch is None and fitted and fitted.batch > 1:
        report = training_memory(net, fitted.batch, *settings)
    if not asked.checkpoint:
        return MemoryView(report, fitted)
    study = checkpoint_study(net, report, convention)
    study_fit = fit(study.report.trace, asked.device) if asked.device else None
    return MemoryView(report, fitted, study, study_fit)
