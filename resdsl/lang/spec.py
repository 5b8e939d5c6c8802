"""What resolving a network yields: a frozen, typed description of one concrete network.

    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.resolve import resolve
    >>> (spec,) = resolve(load("specs/resnet34_a.res")).networks
    >>> spec.name, spec.shortcut, [stage.blocks for stage in spec.stages]
    ('resnet34_a', 'A', [3, 4, 6, 3])
    >>> [layer.name for layer in spec.stem]
    ['conv1', 'bn1', 'relu', 'maxpool']

Families are bound, derivations applied, defaults filled in, every number evaluated and every
language rule checked: what is left is plain data that :mod:`resdsl.ir.lower` expands into the
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

# A, B, C and none are He et al. 2015's options (sec. 3.3); D is B with ResNet-D's projection
# (He et al. 2019): a 2x2 average pool does the striding, then the 1x1 conv and BN.
ShortcutOption = Literal["A", "B", "C", "D", "none"]


@dataclass(frozen=True)
class BlockSpec:
    """The resolved ``block`` setting.

    >>> BlockSpec("bottleneck", 4, "3x3", False, groups=32, width_per_group=4).inner_width(64)
    128
    >>> BlockSpec("bottleneck", 4, "3x3", False, width_per_group=128).inner_width(512)
    1024
    """

    kind: str  # a key of resdsl.ir.recipes.BLOCKS: basic, bottleneck, preact, preact_bottleneck
    expansion: int  # output channels = planes * expansion (1 for basic, 4 by default)
    stride_on: Literal["1x1", "3x3"]  # bottleneck: where the stride sits (paper: 1x1)
    zero_init: bool  # start each block's last BN at weight 0
    groups: int = 1  # the bottleneck 3x3's groups (ResNeXt's cardinality)
    width_per_group: int = 64  # torchvision's width_per_group (base_width)
    dropout: float = 0.0  # a pre-activation basic block's dropout between its convs (WRN)

    def inner_width(self, planes: int) -> int:
        """The channels of a bottleneck's 1x1 and 3x3 for a stage of width ``planes``:
        torchvision's ``int(planes * (width_per_group / 64.0)) * groups``, so that
        ``groups 32, width per group 4`` is ResNeXt's 32x4d (4 channels a group where
        planes is 64, doubling with the stage widths) and ``width per group 128`` the wide
        ResNet-50-2. Without either it is ``planes``."""
        return planes * self.width_per_group // 64 * self.groups


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
    width: int  # as written (torchvision's planes); a bottleneck's 3x3 has BlockSpec.inner_width
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
