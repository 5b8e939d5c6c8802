"""The intermediate representation: one ``networkx.DiGraph`` per concrete network.

NOTE: the shape of the IR, which every later pass (shapes, validate, stats, codegen, graph)
reads. Nodes are integers in execution order (``G.nodes`` iterates them in that order); an
edge ``u -> v`` means v reads u's output. Node attributes:

=============  =====================================================================
``op``         one of :data:`OPS`
``path``       dotted module path in the generated code (``layer2.0.downsample.0``);
               torchvision's names, so ``state_dict`` keys match its ResNet
``section``    ``input``, ``stem``, ``stage`` or ``head``
``stage``      1-based stage index (``layer{stage}``) or None
``block``      0-based block index within the stage, or None
``branch``     ``main`` (the residual function F), ``shortcut``, or None outside blocks
``span``       the :class:`~resdsl.diagnostics.Span` of the statement it came from
conv           ``in_channels out_channels kernel stride padding`` (kernel/stride/padding
               are (h, w) pairs; no bias: batch norm follows every convolution)
bn             ``channels``
maxpool        ``kernel stride padding``;  avgpool: the same, or ``global=True``
pad            option A shortcut: ``in_channels out_channels stride`` (subsample, zero
               channels; no parameters)
fc             ``in_features out_features``
input          ``channels height width``
``shape``      (added by :func:`resdsl.shapes.infer_shapes`) the output shape, (C, H, W)
               or (features,) after fc; None where it could not be computed
=============  =====================================================================

Edges into an ``add`` carry ``branch`` (``main`` or ``shortcut``); after shape inference
every edge carries ``shape``, its source's output shape.

Graph attributes (``G.graph``): ``name``, ``file``, ``name_span``, ``input`` (C, H, W),
``classes``, ``block`` (:class:`BlockSpec`), ``shortcut``, ``stages`` (tuple of
:class:`StageInfo`), ``blocks`` (tuple of :class:`BlockInfo`), ``spec_sha256``, ``base``
(the family or network it was derived from, or None) and ``arguments``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from resdsl.diagnostics import Span

Op = Literal["input", "conv", "bn", "relu", "maxpool", "avgpool", "pad", "add", "fc"]
OPS: tuple[str, ...] = ("input", "conv", "bn", "relu", "maxpool", "avgpool", "pad", "add", "fc")

BlockKind = Literal["basic", "bottleneck"]
ShortcutOption = Literal["A", "B", "C", "none"]
BlockShortcut = Literal["identity", "projection", "pad", "none"]


@dataclass(frozen=True)
class BlockSpec:
    """The resolved ``block`` setting."""

    kind: BlockKind
    expansion: int  # output channels = width * expansion (1 for basic, 4 by default)
    stride_on: Literal["1x1", "3x3"]  # bottleneck: where the stride sits (paper: 1x1)
    zero_init: bool  # start each block's last BN at weight 0


@dataclass(frozen=True)
class StageInfo:
    index: int  # 1-based: generated module ``layer{index}``
    label: str | None  # the paper's name (conv2_x), if written
    blocks: int
    width: int  # as Table 1 writes it: a bottleneck's inner width
    out_channels: int
    stride: int  # of its first block
    span: Span

    @property
    def path(self) -> str:
        return f"layer{self.index}"

    @property
    def title(self) -> str:
        return self.label or self.path


@dataclass(frozen=True)
class BlockInfo:
    stage: int
    index: int
    in_channels: int
    width: int
    out_channels: int
    stride: int
    shortcut: BlockShortcut
    span: Span

    @property
    def path(self) -> str:
        return f"layer{self.stage}.{self.index}"


def ops(graph: nx.DiGraph) -> Iterator[tuple[int, dict[str, Any]]]:
    """Nodes with their attributes, in execution order."""
    yield from graph.nodes(data=True)


def stage_info(graph: nx.DiGraph, stage: int) -> StageInfo:
    return graph.graph["stages"][stage - 1]


def depth(graph: nx.DiGraph) -> int:
    """Weighted layers on the main path, as the paper counts them (resnet34: 33 convs + fc)."""
    return sum(
        1
        for _, a in graph.nodes(data=True)
        if a["op"] in ("conv", "fc") and a.get("branch") != "shortcut"
    )
