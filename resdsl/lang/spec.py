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
from resdsl.lang.definitions import Definition
from resdsl.lang.elaborate import Elaborated
from resdsl.lang.vocabulary import Number
from resdsl.ops import Op

# A, B, C and none are He et al. 2015's options (sec. 3.3); D is B with ResNet-D's projection
# (He et al. 2019): a 2x2 average pool does the striding, then the 1x1 conv and BN.
ShortcutOption = Literal["A", "B", "C", "D", "none"]


@dataclass(frozen=True)
class BlockSpec:
    """The resolved ``block`` setting: the definition a network's stages use and the values
    its line and its defaults give the definition's network-wide parameters.

    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.resolve import resolve
    >>> (spec,) = resolve(load("specs/resnext.res"), "resnext50_32x4d").networks
    >>> spec.block.kind, spec.block.value("groups"), spec.block.value("stride_on")
    ('bottleneck', 32, (3, 3))
    """

    kind: str  # the definition's name: basic, bottleneck, preact, preact_bottleneck, ...
    definition: Definition = field(compare=False, repr=False)
    values: tuple[tuple[str, Number], ...]  # each network-wide parameter, in its order
    zero_init: bool  # start each block's last BN at weight 0
    spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)

    def value(self, name: str, default: Number | None = None) -> Number | None:
        """The value of parameter ``name`` (``default`` where the definition has none)."""
        return dict(self.values).get(name, default)

    def as_dict(self) -> dict[str, object]:
        """As ``resdsl ir --format json`` writes it: the kind, each value, ``zero_init``."""
        shown = {k: "x".join(map(str, v)) if isinstance(v, tuple) else v for k, v in self.values}
        return {"kind": self.kind, **shown, "zero_init": self.zero_init}


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
    width: int  # as written: the blocks' planes (a bottleneck's 3x3 is its `width`)
    in_channels: int  # of its first block
    out_channels: int
    stride: int  # of its first block
    span: Span
    # Its first block and (with more than one) each later one, elaborated from the definition.
    first: Elaborated = field(compare=False, repr=False, default=None)  # type: ignore[assignment]
    rest: Elaborated | None = field(compare=False, repr=False, default=None)
    # Where the stage line gives block parameters (`width1 [47, 52, 64]`): every block's
    # layout, and the values the line gives each; empty otherwise.
    layouts: tuple[Elaborated, ...] = field(compare=False, repr=False, default=())
    values: tuple[tuple[tuple[str, object], ...], ...] = ()

    def layout(self, block: int) -> Elaborated | None:
        """Block ``block``'s layout (0 is the first)."""
        if self.layouts:
            return self.layouts[block]
        return self.first if block == 0 else self.rest

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
    # Every block definition the network can reach (its block's, those its layers name, the
    # shortcuts'), for codegen; and which shortcut block each kind of shortcut is built from.
    definitions: Mapping[str, Definition] = field(default_factory=dict, compare=False, repr=False)
    shortcuts: Mapping[str, Definition] = field(default_factory=dict, compare=False, repr=False)
    # `modules "stages.{stage}.blocks.{block}"`: where the stages' blocks live (timm's
    # ResNetStage), both counted from 0; None: torchvision's layer1.0, layer1.1 ...
    modules: str | None = None

    def block_path(self, stage: int, block: int) -> str:
        """The module path of block ``block`` (from 0) of stage ``stage`` (from 1).

        >>> spec = NetworkSpec.__new__(NetworkSpec)
        >>> object.__setattr__(spec, "modules", "stages.{stage}.blocks.{block}")
        >>> spec.block_path(1, 2)
        'stages.0.blocks.2'
        """
        if self.modules is None:
            return f"layer{stage}.{block}"
        return self.modules.replace("{stage}", str(stage - 1)).replace("{block}", str(block))

    def stage_modules(self) -> tuple[str, str | None] | None:
        """The ``modules`` pattern's parts: the container of the stages and the attribute of
        a stage that holds its blocks (``("stages", "blocks")``), or None for torchvision's."""
        if self.modules is None:
            return None
        container, _, rest = self.modules.partition(".{stage}.")
        inner = rest.removesuffix("{block}").rstrip(".")
        return container, inner or None
