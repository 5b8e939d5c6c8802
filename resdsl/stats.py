"""The stats pass: IR -> a frozen report of parameters, multiply-adds and activations.

    >>> from resdsl.pipeline import check_or_raise
    >>> (graph,) = check_or_raise("specs/resnet18.res")  # doctest: +SKIP
    >>> report = network_stats(graph)                     # doctest: +SKIP
    >>> report.params, report.flops                       # doctest: +SKIP
    (11689512, 1814073344)

Every figure is computed by formula from the shapes in the IR (pycls's "cost twin" idea): no
model is built, nothing runs, and torch is never imported.

NOTE: the conventions. The paper's "FLOPs" (Table 1: 1.8x10^9 for ResNet-18) are
multiply-adds of the convolutions and the fc layer; torchvision's published GFLOPS and
fvcore's conv/linear handles count the same thing. :class:`Convention` says what else to
count (batch norm, ReLU, pooling, the residual additions), each at one operation per element
as ptflops and thop do, and whether to print FLOPs as 2 x multiply-adds as
``torch.utils.flop_counter`` does. Every report carries the convention it was made under.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

# The op kinds each Convention flag adds; conv and fc are always counted.
_OPTIONAL_OPS: dict[str, tuple[str, ...]] = {
    "bn": ("bn",),
    "relu": ("relu",),
    "pool": ("maxpool", "avgpool"),
    "add": ("add",),
}


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

    def counts(self, op: str) -> bool:
        """Whether an op of this kind adds to the total under this convention."""
        if op in ("conv", "fc"):
            return True
        return any(op in ops and getattr(self, flag) for flag, ops in _OPTIONAL_OPS.items())

    @property
    def counted(self) -> tuple[str, ...]:
        """The flags' names of the counted kinds, conv and fc first."""
        return ("conv", "fc", *(flag for flag in _OPTIONAL_OPS if getattr(self, flag)))

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
    layers: tuple[LayerStats, ...]

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


def params_of(attrs: dict[str, Any]) -> int:
    """Learnable parameters of one node (running statistics are buffers, not parameters)."""
    op = attrs["op"]
    if op == "conv":  # no bias: batch norm follows every convolution (torchvision, paper 3.4)
        kh, kw = attrs["kernel"]
        return kh * kw * attrs["in_channels"] * attrs["out_channels"]
    if op == "bn":  # gamma and beta
        return 2 * attrs["channels"]
    if op == "fc":  # weight and bias
        return attrs["in_features"] * attrs["out_features"] + attrs["out_features"]
    return 0  # input, relu, pools, pad (option A: zero channels, no parameters), add


def macs_of(attrs: dict[str, Any], inputs: list[tuple[int, ...]]) -> int:
    """Multiply-adds (conv, fc) or elementwise operations (the rest) of one node.

    Raises ValueError on an op it does not know: the op set is closed, and a new one must get
    a formula here before it can be counted.
    """
    op, out = attrs["op"], attrs["shape"]
    if op == "conv":
        # Paper (Table 1), fvcore conv_flop_count, flop_counter conv_flop (which doubles it):
        # every output element is a dot product of kh*kw*C_in terms.
        kh, kw = attrs["kernel"]
        return kh * kw * attrs["in_channels"] * math.prod(out)
    if op == "fc":  # fvcore addmm/linear; flop_counter addmm (doubled); bias add not counted
        return attrs["in_features"] * attrs["out_features"]
    if op in ("bn", "relu", "add"):
        # ptflops/thop: bn folds to x * a + b, one multiply-add an element; relu one
        # comparison; add one addition. fvcore counts eval-mode bn as 2 an element (affine).
        return math.prod(out)
    if op == "maxpool":  # ptflops: k*k comparisons per output element
        kh, kw = attrs["kernel"]
        return kh * kw * math.prod(out)
    if op == "avgpool":  # global or not, each input element is added once (fvcore, ptflops)
        return math.prod(inputs[0]) if attrs.get("global") else _window(attrs) * math.prod(out)
    if op in ("input", "pad"):  # pad: subsample and zero-fill, no arithmetic
        return 0
    raise ValueError(f"stats: no cost formula for op {op!r}")


def _window(attrs: dict[str, Any]) -> int:
    kh, kw = attrs["kernel"]
    return kh * kw


def saved_nodes(graph: nx.DiGraph) -> set[int]:
    """Nodes whose output autograd keeps for the backward pass (torchvision's ResNet).

    conv, bn, the pools and fc keep their input (the weight gradient and pooling backward need
    it); ReLU keeps its output (in place, it overwrites the bn output, which bn does not need);
    add and the option-A pad keep nothing. A tensor kept by two ops is counted once.
    """
    kept: set[int] = set()
    for node, attrs in graph.nodes(data=True):
        if attrs["op"] in ("conv", "bn", "maxpool", "avgpool", "fc"):
            kept.update(graph.predecessors(node))
        elif attrs["op"] == "relu":
            kept.add(node)
    return kept


def layer_stats(graph: nx.DiGraph, convention: Convention = Convention()) -> list[LayerStats]:
    """Per-node costs, in execution order."""
    kept = saved_nodes(graph)
    scale = 2 if convention.flops_as_2x_macs else 1
    layers = []
    for node, attrs in graph.nodes(data=True):
        shape = attrs["shape"]
        if shape is None:
            raise ValueError(f"stats: {attrs['path']} has no shape; run the checks first")
        inputs = [graph.nodes[p]["shape"] for p in graph.predecessors(node)]
        macs = macs_of(attrs, inputs)
        elements = math.prod(shape)
        # max pool also keeps its argmax indices, one per output element (int64)
        saved = (elements if node in kept else 0) + (elements if attrs["op"] == "maxpool" else 0)
        layers.append(
            LayerStats(
                node=node,
                path=attrs["path"],
                op=attrs["op"],
                section=attrs["section"],
                stage=attrs.get("stage"),
                shape=tuple(shape),
                params=params_of(attrs),
                macs=macs,
                flops=scale * macs if convention.counts(attrs["op"]) else 0,
                activations=elements if attrs["op"] in ("conv", "fc") else 0,
                saved=saved,
                line=attrs["span"].line,
            )
        )
    return layers


def stage_stats(graph: nx.DiGraph, layers: Iterable[LayerStats]) -> tuple[StageStats, ...]:
    """Sum the layers by section: stem, each stage, head. The input node counts with the stem,
    whose first convolution keeps the image for its weight gradient."""
    groups: dict[str, list[LayerStats]] = {}
    for layer in layers:
        section = "stem" if layer.section == "input" else layer.section
        key = f"layer{layer.stage}" if section == "stage" else section
        groups.setdefault(key, []).append(layer)
    infos = {info.path: info for info in graph.graph["stages"]}
    stages = []
    for key, members in groups.items():
        info = infos.get(key)
        stages.append(
            StageStats(
                name=key,
                title=info.title if info else key,
                section=members[-1].section,
                blocks=info.blocks if info else 0,
                shape=members[-1].shape,
                params=sum(m.params for m in members),
                flops=sum(m.flops for m in members),
                activations=sum(m.activations for m in members),
                saved=sum(m.saved for m in members),
            )
        )
    return tuple(stages)


def network_stats(graph: nx.DiGraph, convention: Convention = Convention()) -> NetworkStats:
    """The stats of one checked, shaped network (from :func:`resdsl.pipeline.check_or_raise`).

    >>> network_stats(graph).flops                                   # doctest: +SKIP
    1814073344
    >>> network_stats(graph, Convention(flops_as_2x_macs=True)).flops  # doctest: +SKIP
    3628146688
    """
    layers = layer_stats(graph, convention)
    info = graph.graph
    return NetworkStats(
        name=info["name"],
        file=str(info.get("file", "")),
        convention=convention,
        input=tuple(info["input"]),
        classes=info["classes"],
        params=sum(layer.params for layer in layers),
        flops=sum(layer.flops for layer in layers),
        activations=sum(layer.activations for layer in layers),
        saved=sum(layer.saved for layer in layers),
        stages=stage_stats(graph, layers),
        layers=tuple(layers),
    )


def file_stats(path: str | Path, convention: Convention = Convention()) -> list[NetworkStats]:
    """Stats of every concrete network in one spec file (raises ResdslError on a bad spec)."""
    from resdsl.pipeline import check_or_raise  # the pass itself needs only the graph

    return [network_stats(graph, convention) for graph in check_or_raise(path)]
