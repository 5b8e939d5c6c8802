"""The stats pass (``resdsl stats``): IR -> a frozen report of each op's costs, summed.

Parameters, multiply-adds and the activations autograd keeps, per node, stage and network.
(The module is ``costs`` because ``resdsl.stats`` is the library function built on it.)

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> report = network_stats(net)
    >>> report.params, report.flops
    (11689512, 1814073344)

Every figure is computed by formula from the shapes in the IR (pycls's "cost twin" idea): no
model is built, nothing runs, and torch is never imported. The formulas are the ops' own
(:mod:`resdsl.ops`); this pass sums them per layer, stage and network.

NOTE: the conventions. The paper's "FLOPs" (Table 1: 1.8x10^9 for ResNet-18) are
multiply-adds of the convolutions and the fc layer; torchvision's published GFLOPS and
fvcore's conv/linear handles count the same thing. :class:`Convention` says what else to
count (batch norm, ReLU, pooling, the residual additions), each at one operation per element
as ptflops and thop do, and whether to print FLOPs as 2 x multiply-adds as
``torch.utils.flop_counter`` does. Every report carries the convention it was made under.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from resdsl.ir.network import Network
from resdsl.ops import Op

# A node's (params, macs, flops, activations, saved), as LayerStats names them.
Figures = tuple[int, int, int, int, int]
# The Convention flags, in the order they are listed; conv and fc are always counted.
_FLAGS = ("bn", "relu", "pool", "add")


@dataclass(frozen=True)
class Convention:
    """Which operations count towards ``flops``, and in which unit.

    >>> Convention().describe()
    'multiply-adds of conv and fc'
    >>> Convention(bn=True, flops_as_2x_macs=True).describe()
    'FLOPs = 2 x multiply-adds of conv and fc, plus the elementwise ops of bn'
    """

    bn: bool = False  # batch norm: one multiply-add per element (scale and shift, folded)
    relu: bool = False  # ReLU: one comparison per element
    pool: bool = False  # max pool: k*k comparisons per output; average pool: one add per input
    add: bool = False  # the residual addition: one add per element
    flops_as_2x_macs: bool = False  # torch.utils.flop_counter: a multiply-add is 2 FLOPs

    def counts(self, op: Op) -> bool:
        """Whether ``op`` adds to the total under this convention (the op says which flag)."""
        return op.counted == "always" or (op.counted != "never" and getattr(self, op.counted))

    @property
    def counted(self) -> tuple[str, ...]:
        """The flags' names of the counted kinds, conv and fc first."""
        return ("conv", "fc", *(flag for flag in _FLAGS if getattr(self, flag)))

    def describe(self) -> str:
        unit = "FLOPs = 2 x multiply-adds" if self.flops_as_2x_macs else "multiply-adds"
        extras = list(self.counted[2:])
        if not extras:
            return f"{unit} of conv and fc"
        listed = ", ".join(extras[:-1]) + " and " + extras[-1] if len(extras) > 1 else extras[0]
        return f"{unit} of conv and fc, plus the elementwise ops of {listed}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "counted": list(self.counted),
            "flops_as_2x_macs": self.flops_as_2x_macs,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class LayerStats:
    """One IR node's costs, per sample."""

    node: int
    path: str  # torchvision module path (layer2.0.conv1)
    op: str
    section: str  # input, stem, stage or head
    stage: int | None
    shape: tuple[int, ...]  # output shape, (C, H, W) or (features,)
    params: int
    macs: int  # multiply-adds (or elementwise ops) of this node, counted or not
    flops: int  # what it adds to the total under the convention (0 if not counted)
    activations: int  # output elements (pycls's "acts" counts those of conv and fc)
    saved: int  # elements of its output that autograd keeps for the backward pass
    line: int  # the spec line it came from


@dataclass(frozen=True)
class StageStats:
    """A section of the network: the stem, one stage (``layer2``, the paper's conv3_x), the head."""

    name: str  # stem, layer1 ... layerN, head
    title: str  # the paper's label where the spec writes one (conv3_x), else the name
    section: str
    blocks: int
    shape: tuple[int, ...]  # output shape of its last node
    params: int
    flops: int
    activations: int
    saved: int


@dataclass(frozen=True)
class NetworkStats:
    """Everything ``resdsl stats`` knows about one network, under one convention."""

    name: str
    file: str
    convention: Convention
    input: tuple[int, ...]
    classes: int
    params: int
    flops: int  # under the convention: multiply-adds, or 2x them with flops_as_2x_macs
    activations: int  # pycls convention: output elements of every conv and fc
    saved: int  # elements kept for backward, per sample (x4 bytes at fp32)
    stages: tuple[StageStats, ...]
    net: Network = field(repr=False, compare=False)  # what ``layers`` is read from

    @cached_property
    def layers(self) -> tuple[LayerStats, ...]:
        """Every node's figures, in execution order; made when first asked for, since most
        reports need only the stages and the totals."""
        return tuple(layer_stats(self.net, self.convention))

    @property
    def training_flops(self) -> int:
        """Forward plus backward per sample: about 3x forward (the backward pass computes
        gradients for both the inputs and the weights, each as costly as the forward)."""
        return 3 * self.flops

    @property
    def saved_bytes(self) -> int:
        """Activation memory kept for backward per sample at 4 bytes (fp32) an element."""
        return 4 * self.saved

    def stage(self, name: str) -> StageStats:
        """The section named ``name`` (``layer1``) or titled so (``conv2_x``)."""
        for stage in self.stages:
            if name in (stage.name, stage.title):
                return stage
        raise KeyError(name)

    def _repr_html_(self) -> str:  # Jupyter: the table of `resdsl stats`
        return importlib.import_module("resdsl.report.notebook").stats_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython: that table as text
        printer.text(importlib.import_module("resdsl.report.tables").render([self], "table"))


def saved_nodes(net: Network) -> set[int]:
    """Nodes whose output autograd keeps for the backward pass (torchvision's ResNet).

    Each op says whether it keeps its input (conv, bn, the pools, fc: the weight gradient
    and pooling backward need it) or its output (ReLU, in place: it overwrote the bn output,
    which bn does not need); add and the option-A pad keep nothing. A tensor kept by two ops
    is counted once.
    """
    kept: set[int] = set()
    for index, node in enumerate(net.nodes):
        if node.op.keeps_input:
            kept.update(node.inputs)
        if node.op.keeps_output:
            kept.add(index)
    return kept


def figures(net: Network, convention: Convention = Convention()) -> list[Figures]:
    """Per-node (params, macs, flops, activations, saved), in execution order: the sums of
    every report, computed without building a :class:`LayerStats` for each node."""
    kept = saved_nodes(net)
    scale = 2 if convention.flops_as_2x_macs else 1
    found = []
    for index, node in enumerate(net.nodes):
        op, shape = node.op, node.shape
        if shape is None:
            raise ValueError(f"stats: {node.path} has no shape; run the checks first")
        inputs = [net.nodes[i].shape for i in node.inputs]
        try:
            macs = op.macs(inputs, shape)  # type: ignore[arg-type]
        except NotImplementedError as error:
            raise ValueError(f"stats: {error}") from None
        elements = math.prod(shape)
        found.append(
            (
                op.params(),
                macs,
                scale * macs if convention.counts(op) else 0,
                elements if op.counts_activations else 0,
                (elements if index in kept else 0) + op.extra_saved(shape, inputs),  # type: ignore[arg-type]
            )
        )
    return found


def layer_stats(net: Network, convention: Convention = Convention()) -> list[LayerStats]:
    """Per-node costs, in execution order."""
    numbers = figures(net, convention)
    return [
        LayerStats(
            index, node.path, node.op.kind, node.section, node.stage, node.shape,  # type: ignore[arg-type]
            *numbers[index], line=node.span.line,
        )
        for index, node in enumerate(net.nodes)
    ]  # fmt: skip


def stage_stats(net: Network, numbers: Sequence[Figures]) -> tuple[StageStats, ...]:
    """Sum the nodes' figures by section: stem, each stage, head. The input node counts with
    the stem, whose first convolution keeps the image for its weight gradient."""
    groups: dict[str, list[int]] = {}
    for index, node in enumerate(net.nodes):
        key = f"layer{node.stage}" if node.section == "stage" else node.section
        groups.setdefault("stem" if key == "input" else key, []).append(index)
    infos = {info.path: info for info in net.stages}
    stages = []
    for key, members in groups.items():
        info, last = infos.get(key), net.nodes[members[-1]]
        params, _, flops, activations, saved = _sums(numbers[i] for i in members)
        stages.append(
            StageStats(
                name=key,
                title=info.title if info else key,
                section=last.section,
                blocks=info.blocks if info else 0,
                shape=last.shape,  # type: ignore[arg-type]
                params=params,
                flops=flops,
                activations=activations,
                saved=saved,
            )
        )
    return tuple(stages)


def network_stats(net: Network, convention: Convention = Convention()) -> NetworkStats:
    """The stats of one checked, shaped network (from :func:`resdsl.pipeline.check_or_raise`).

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> network_stats(net, Convention(flops_as_2x_macs=True)).flops
    3628146688
    """
    numbers = figures(net, convention)
    params, _, flops, activations, saved = _sums(numbers)
    return NetworkStats(
        name=net.name,
        file=net.file,
        convention=convention,
        input=net.input,
        classes=net.classes,
        params=params,
        flops=flops,
        activations=activations,
        saved=saved,
        stages=stage_stats(net, numbers),
        net=net,
    )


def _sums(rows: Iterable[Figures]) -> list[int]:
    """Column sums of per-node figures."""
    return [sum(column) for column in zip(*rows, strict=True)]


def file_stats(path: str | Path, convention: Convention = Convention()) -> list[NetworkStats]:
    """Stats of every concrete network in one spec file (raises ResdslError on a bad spec)."""
    from resdsl.pipeline import check_or_raise  # the pass itself needs only the IR

    return [network_stats(net, convention) for net in check_or_raise(path)]
