"""The memory report of one network at one batch size: by stage, by phase, and in total.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet50.res")
    >>> report = training_memory(net, batch=64, precision="bf16-autocast")
    >>> report.peak.phase, report.peak.at, round(report.peak.bytes / 2**30, 2)
    ('forward', 'loss', 2.85)
    >>> [s.title for s in report.stages]
    ['stem', 'conv2_x', 'conv3_x', 'conv4_x', 'conv5_x', 'head']

Figures are bytes on the device for one steady-state training step as the bundled runner takes
it (the NOTE of :mod:`resdsl.memory.step` lists what that assumes), at ``batch`` images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from resdsl.ir.costs import Convention, network_stats
from resdsl.ir.network import Network
from resdsl.memory.events import FP32, OPTIMIZERS, Trace, Where, section
from resdsl.memory.step import simulate

ASSUMPTIONS = (
    "one step as resdsl's runner takes it, eager (no torch.compile), one device: forward and "
    "loss, zero_grad(set_to_none=True), backward, a foreach optimizer.step(); steady state "
    "(optimiser state and last step's gradients exist)",
    "not counted: the CUDA context, cuDNN/cuBLAS workspaces, the caching allocator's rounding "
    "and fragmentation (--fits keeps back a reserve for them), the data the runner keeps on "
    "the device",
)


@dataclass(frozen=True)
class Peak:
    """The most bytes alive at once in one phase, and where."""

    bytes: int
    phase: str  # forward, backward or step
    section: str  # stem, layer1 ... head
    at: str  # module path of the node then running, or loss / zero_grad / step


@dataclass(frozen=True)
class StageMemory:
    """One section's share: its weights' bytes, what it keeps for backward, and the peaks
    of the whole step while it runs."""

    name: str  # stem, layer1 ... layerN, head
    title: str  # conv3_x where the spec names it
    params: int
    grads: int
    optimizer: int
    saved: int  # kept for backward at the end of its forward, at the batch size
    forward_peak: int  # everything alive, at most, while its forward runs
    backward_peak: int  # ... while its backward runs


@dataclass(frozen=True)
class MemoryReport:
    """``resdsl stats --memory``: the predicted memory of one training step."""

    name: str
    file: str
    batch: int
    precision: str
    optimizer: str
    checkpointed: tuple[str, ...]  # stages under activation checkpointing
    kernels: str  # cuda or cpu: whose kernels the step runs
    params: int  # bytes, fp32
    grads: int
    optimizer_state: int
    buffers: int  # batch norm's running statistics
    inputs: int  # the batch and its labels
    saved: int  # everything kept for backward at the end of the forward
    phases: tuple[Peak, Peak, Peak]  # forward (with the loss), backward, optimiser step
    stages: tuple[StageMemory, ...]
    trace: Trace = field(repr=False, compare=False)

    @property
    def peak(self) -> Peak:
        """The step's peak: the largest of the three phases'."""
        return max(self.phases, key=lambda p: p.bytes)

    @property
    def resident(self) -> int:
        """Bytes alive before the step starts."""
        fixed, per_sample = self.trace.resident
        return fixed + per_sample * self.batch


def training_memory(
    net: Network,
    batch: int,
    precision: str = "fp32",
    optimizer: str = "sgd-momentum",
    checkpointed: tuple[str, ...] = (),
    kernels: str = "cuda",
) -> MemoryReport:
    """The memory of one training step of ``net`` at ``batch`` images (checked values: see
    :func:`resdsl.memory.check_options` for the user-facing checks)."""
    trace = simulate(net, precision, optimizer, frozenset(checkpointed), kernels)
    params = {s: 0 for s in trace.saved}
    for node in net.nodes:
        params[section(node)] = params.get(section(node), 0) + FP32 * node.op.params()
    copies = OPTIMIZERS[optimizer]
    most: dict[tuple[str, str], int] = {}  # (phase, section) -> the most bytes alive
    for fixed, per_sample, (phase, name, _) in trace.rows:
        live = fixed + per_sample * batch
        if live > most.get((phase, name), -1):
            most[phase, name] = live
    titles = {info.path: info.title for info in net.stages}
    stages = tuple(
        StageMemory(
            name=name,
            title=titles.get(name, name),
            params=params[name],
            grads=params[name],
            optimizer=copies * params[name],
            saved=fixed + per_sample * batch,
            forward_peak=most.get(("forward", name), 0),
            backward_peak=most.get(("backward", name), 0),
        )
        for name, (fixed, per_sample) in trace.saved.items()
    )
    total = sum(params.values())
    phases = tuple(_peak(trace, batch, phase) for phase in ("forward", "backward", "step"))
    return MemoryReport(
        name=net.name,
        file=net.file,
        batch=batch,
        precision=precision,
        optimizer=optimizer,
        checkpointed=tuple(checkpointed),
        kernels=kernels,
        params=total,
        grads=total,
        optimizer_state=copies * total,
        buffers=sum(node.op.buffer_bytes() for node in net.nodes),
        inputs=batch * (FP32 * _elements(net.input) + 8),
        saved=sum(s.saved for s in stages),
        phases=phases,  # type: ignore[arg-type]
        stages=stages,
        trace=trace,
    )


def _elements(shape: tuple[int, ...]) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def _peak(trace: Trace, batch: int, phase: str) -> Peak:
    rows: list[tuple[int, int, Where]] = [row for row in trace.rows if row[2][0] == phase]
    event = trace.peak(batch, rows)
    return Peak(event.at_batch(batch), phase, event.section, event.at)


@dataclass(frozen=True)
class CheckpointRow:
    """One stage under activation checkpointing: what its forward keeps with and without, and
    the multiply-adds its forward costs again in the backward."""

    name: str
    title: str
    saved: int  # bytes kept for backward without checkpointing
    saved_checkpointed: int  # ... with: its input (and nothing of the stage's own)
    recompute: int  # multiply-adds recomputed per step, at the batch size, under the convention


@dataclass(frozen=True)
class CheckpointStudy:
    """``--checkpoint stages``: every stage checkpointed, against none."""

    rows: tuple[CheckpointRow, ...]
    report: MemoryReport  # the step with every stage checkpointed
    recompute: int  # multiply-adds recomputed in all
    training: int  # multiply-adds of a training step without checkpointing (3 x forward)


def checkpoint_study(
    net: Network, plain: MemoryReport, convention: Convention | None = None
) -> CheckpointStudy:
    """What checkpointing every stage of ``net`` saves against ``plain``, and what it costs
    (the recomputed multiply-adds counted under ``convention``, conv and fc by default)."""
    names = tuple(info.path for info in net.stages)
    report = training_memory(
        net, plain.batch, plain.precision, plain.optimizer, names, plain.kernels
    )
    counts = network_stats(net, convention or Convention())
    flops = {stage.name: stage.flops * plain.batch for stage in counts.stages}
    after = {stage.name: stage.saved for stage in report.stages}
    rows = tuple(
        CheckpointRow(s.name, s.title, s.saved, after[s.name], flops[s.name])
        for s in plain.stages
        if s.name in names
    )
    recompute = sum(row.recompute for row in rows)
    return CheckpointStudy(rows, report, recompute, counts.training_flops * plain.batch)
