"""The intermediate representation: one :class:`Network` of :class:`Node` values per network.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> node = net.node("layer2.0.downsample.0")
    >>> node.op.label(), node.shape, node.branch
    ('1x1 conv, 128, /2', (128, 28, 28), 'shortcut')
    >>> net.depth, len(net.nodes)
    (18, 69)

NOTE: the shape of the IR, which every later pass reads. ``nodes`` is a tuple in execution
order; a node's ``inputs`` are the indices of the nodes it reads, so data flows from lower
to higher indices (as in torch.fx's graph, and unlike a general graph library, which the
front end does not need: the IR is always a chain of blocks). An addition's inputs are
F(x) first and the shortcut second. Each node holds its op (:mod:`resdsl.ops`, which answers
every question about it), its dotted module path in the generated code (``layer2.0.conv1``:
torchvision's names, so ``state_dict`` keys match its ResNet), where it sits (section,
stage, block, branch), the span of the statement it came from and, once
:func:`resdsl.ir.shapes.infer_shapes` has run, its output shape. Everything is frozen: a pass
that adds to the IR returns a new one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from resdsl.diagnostics import Span
from resdsl.lang.spec import BlockSpec, NetworkSpec, ShortcutOption, StageInfo
from resdsl.ops import Op, Shape

Section = Literal["input", "stem", "stage", "head"]
Branch = Literal["main", "shortcut"]
# What a block's shortcut is, once the network's option (A, B, C, none) meets its shapes.
BlockShortcut = Literal["identity", "projection", "pad", "none"]


@dataclass(frozen=True, slots=True)
class Node:
    """One operation of the network, where it sits, and (after shapes) its output shape."""

    op: Op
    path: str  # module path in the generated code: layer2.0.conv1
    inputs: tuple[int, ...]  # indices of the nodes it reads
    section: Section
    span: Span
    stage: int | None = None  # 1-based stage index (layer{stage}), or None outside stages
    block: int | None = None  # 0-based block index within its stage
    branch: Branch | None = None  # main (the residual function F) or shortcut, inside blocks
    shape: Shape | None = None  # (C, H, W) or (features,); None before shapes or where unknown


@dataclass(frozen=True)
class BlockInfo:
    """One block of a stage, as lowering laid it out."""

    stage: int
    index: int
    in_channels: int
    width: int
    out_channels: int
    stride: int
    shortcut: BlockShortcut
    span: Span
    # A pre-activation unit whose shortcut reads after its BN and ReLU (resdsl.ir.recipes, NOTE).
    preactivated: bool = False

    @property
    def path(self) -> str:
        return f"layer{self.stage}.{self.index}"


@dataclass(frozen=True)
class Network:
    """The IR of one concrete network: its resolved description, blocks and nodes."""

    spec: NetworkSpec
    blocks: tuple[BlockInfo, ...]
    nodes: tuple[Node, ...]

    # The description's fields, read often enough to be spelled short.
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def file(self) -> str:
        return self.spec.file

    @property
    def name_span(self) -> Span:
        return self.spec.name_span

    @property
    def input(self) -> tuple[int, int, int]:
        return self.spec.input

    @property
    def classes(self) -> int:
        return self.spec.classes

    @property
    def block(self) -> BlockSpec:
        return self.spec.block

    @property
    def shortcut(self) -> ShortcutOption:
        return self.spec.shortcut

    @property
    def stages(self) -> tuple[StageInfo, ...]:
        return self.spec.stages

    @property
    def spec_sha256(self) -> str:
        return self.spec.spec_sha256

    @property
    def base(self) -> str | None:
        return self.spec.base

    @property
    def arguments(self) -> Mapping[str, int]:
        return self.spec.arguments

    @property
    def depth(self) -> int:
        """Weighted layers on the main path, as the paper counts them (resnet34: 33 convs + fc)."""
        return sum(1 for n in self.nodes if n.op.weighted and n.branch != "shortcut")

    def node(self, path: str) -> Node:
        """The first node with module path ``path``."""
        for node in self.nodes:
            if node.path == path:
                return node
        raise KeyError(path)

    def edges(self) -> list[tuple[int, int, Branch | None]]:
        """Every data-flow edge (source, target, branch), by source then target. An addition's
        first input arrives on the ``main`` branch and its second on the ``shortcut``."""
        found = []
        for target, node in enumerate(self.nodes):
            merge = len(node.inputs) > 1
            for position, source in enumerate(node.inputs):
                branch: Branch | None = ("main", "shortcut")[position] if merge else None
                found.append((source, target, branch))
        return sorted(found, key=lambda edge: (edge[0], edge[1]))

    def inputs(self, node: Node) -> Iterator[Node]:
        """The nodes ``node`` reads, in order."""
        return (self.nodes[i] for i in node.inputs)

    def stage(self, index: int) -> StageInfo:
        """Stage ``index`` (1-based, as ``layer{index}``)."""
        return self.spec.stages[index - 1]

    def _repr_html_(self) -> str:  # Jupyter: the diagram and the stats
        return importlib.import_module("resdsl.report.notebook").network_html(self)

    def _repr_svg_(self) -> str | None:  # Jupyter: the diagram alone
        return importlib.import_module("resdsl.report.notebook").network_svg(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython: one line, not every node
        printer.text(importlib.import_module("resdsl.report.notebook").headline(self))
