"""What resolving a network yields: a frozen, typed description of one concrete network.

    >>> from resdsl.load import load
    >>> from resdsl.resolve import resolve
    >>> (spec,) = resolve(load("specs/resnet34_a.res")).networks
    >>> spec.name, spec.shortcut, [stage.blocks for stage in spec.stages]
    ('resnet34_a', 'A', [3, 4, 6, 3])
    >>> [layer.name for layer in spec.stem]
    ['conv1', 'bn1', 'relu', 'maxpool']

Families are bound, derivations applied, defaults filled in, every number evaluated and every
language rule checked: what is left is plain data that :mod:`resdsl.lower` expands into the
IR without any way to fail. The stem and head are already ops with their module names
(``conv 7x7, 64`` in a stem means conv, batch norm and ReLU); the stages stay compact
(``stage conv4_x: 6 x 256``) until lowering expands them with the block's recipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from resdsl.diagnostics import Span
from resdsl.ops import Op

ShortcutOption = Literal["A", "B", "C", "none"]


@dataclass(frozen=True)
class BlockSpec:
    """The resolved ``block`` setting."""

    kind: str  # a key of resdsl.recipes.BLOCKS: basic, bottleneck
    expansion: int  # output channels = width * expansion (1 for basic, 4 by default)
    stride_on: Literal["1x1", "3x3"]  # bottleneck: where the stride sits (paper: 1x1)
    zero_init: bool  # start each block's last BN at weight 0


@dataclass(frozen=True)
class Layer:
    """One op of the stem or head, with its module name (``conv1``, ``bn1``, ``maxpool``)."""

    name: str
    op: Op
    span: Span  # the spec line it came from


@dataclass(frozen=True)
class StageInfo:
    """One ``stage`` line: ``blocks`` blocks of ``width``, the first one strided."""

    index: int  # 1-based: generated module ``layer{index}``
    label: str | None  # the paper's name (conv2_x), if written
    blocks: int
    width: int  # as Table 1 writes it: a bottleneck's inner width
    in_channels: int  # of its first block
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
class NetworkSpec:
    """One concrete network, resolved: every setting known, every size an int."""

    name: str
    file: str
    name_span: Span
    input: tuple[int, int, int]
    input_span: Span
    classes: int
    block: BlockSpec
    shortcut: ShortcutOption
    stem: tuple[Layer, ...]
    stages: tuple[StageInfo, ...]
    head: tuple[Layer, ...]
    spec_sha256: str  # of every source file the network depends on
    base: str | None = None  # the family or network it was derived from
    arguments: Mapping[str, int] = field(default_factory=dict)  # the family's, if any
