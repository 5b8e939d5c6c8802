"""Block recipes: each block kind, and each kind of shortcut, described once as data.

    >>> basic = recipe(BlockSpec("basic", 1, "1x1", False))
    >>> basic.cls, [step.name for step in basic.steps]
    ('BasicBlock', ['conv1', 'bn1', 'relu', 'conv2', 'bn2'])
    >>> [s.name for s in recipe(BlockSpec("bottleneck", 4, "3x3", False)).steps if s.stride]
    ['conv2']
    >>> preact = recipe(BlockSpec("preact", 1, "1x1", False, dropout=0.3))
    >>> [step.name for step in preact.steps], preact.preactivation, preact.relu_after_add
    (['bn1', 'relu', 'conv1', 'bn2', 'relu', 'dropout', 'conv2'], 2, False)

A recipe lists a block's residual function F(x) step by step (:mod:`resdsl.ir.steps`), in
order, with torchvision's module names and where the stride sits; a shortcut recipe does the
same for the shortcut branch. :mod:`resdsl.ir.lower` reads a recipe to lay the block out as IR
nodes (each step answers ``op``), and :mod:`resdsl.codegen` reads the same recipe to write
the block's class (each step answers ``module``), so the IR and the generated code cannot
disagree. Adding a block kind is adding a recipe here (docs/architecture.md).

    y = relu(F(x) + shortcut(x))        He et al. 2015; shortcut: identity, projection
                                        (1x1 conv + BN), zero-padding (option A) or none
    y = F(x) + shortcut(x)              the pre-activation unit of He et al. 2016, F opening
                                        with BN and ReLU; a projection is a bare 1x1 conv

NOTE: where a pre-activation unit's shortcut reads. The unit opens with BN and ReLU (its
``preactivation`` steps); a shortcut that does work (projection, zero-padding) reads their
output, as the authors' code has it (``resnet-pre-act.lua``, ``preresnet.lua``,
``wide-resnet.lua``: "common BN, ReLU" before the split), and so does the identity shortcut
of the network's first unit, which He et al. 2016's appendix splits "right after" the
activation that follows conv1. Every other identity reads the unit's raw input.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from resdsl.ir.steps import AvgDownStep, ConvStep, DropoutStep, NormStep, PadStep, ReluStep, Step
from resdsl.lang.spec import BlockSpec, ShortcutOption

__all__ = [
    "BLOCKS",
    "BlockKind",
    "BlockRecipe",
    "ConvStep",
    "NormStep",
    "ReluStep",
    "ShortcutRecipe",
    "Step",
    "block_shortcut",
    "recipe",
]


@dataclass(frozen=True)
class ShortcutRecipe:
    """A shortcut branch with parameters or work to do (an identity has no recipe)."""

    attr: str  # the block's attribute: downsample (torchvision's name), shortcut
    factory: str  # what the generated module calls to build it
    steps: tuple[Step, ...]

    def path(self, step: Step) -> str:
        return f"{self.attr}.{step.name}" if step.name else self.attr


# Options B and C: a 1x1 convolution and batch norm, torchvision's `downsample`.
PROJECTION = ShortcutRecipe(
    "downsample", "projection", (ConvStep("0", 1, "out", stride=True), NormStep("1"))
)
# A pre-activation unit's projection: the 1x1 convolution alone (the next unit's BN follows).
PREACT_PROJECTION = ShortcutRecipe(
    "downsample", "preact_projection", (ConvStep("0", 1, "out", stride=True),)
)
# Option D (ResNet-D): average pooling strides, then the 1x1 conv and BN, at timm's indices.
AVG_DOWN = ShortcutRecipe(
    "downsample",
    "avg_down_projection",
    (AvgDownStep("0"), ConvStep("1", 1, "out"), NormStep("2")),
)
# Option A: zero padding, no parameters.
PAD = ShortcutRecipe("shortcut", "ZeroPadShortcut", (PadStep(),))


@dataclass(frozen=True)
class BlockRecipe:
    """One block kind: the residual function's steps, its shortcuts, how its class is written."""

    kind: str
    cls: str  # the generated class: BasicBlock, Bottleneck, PreActBasicBlock, ...
    steps: tuple[Step, ...]
    doc: tuple[str, ...]  # the class docstring, a line each
    relu_declared_last: bool  # torchvision declares a Bottleneck's self.relu after bn3
    spec: BlockSpec  # what the `block` line said (the inner width, groups)
    projection: ShortcutRecipe = PROJECTION  # the shortcut where the network projects
    preactivation: int = 0  # leading steps (BN, ReLU) a shortcut may read after: see NOTE
    relu_after_add: bool = True  # He et al. 2015: y = relu(F(x) + x); 2016: y = F(x) + x

    @property
    def last_norm(self) -> str:
        """The module name of the last batch norm, which ``zero init`` sets to zero."""
        return [s.name for s in self.steps if isinstance(s, NormStep)][-1]

    def shortcut(self, kind: str) -> ShortcutRecipe | None:
        """The recipe of a block shortcut (:func:`block_shortcut`); None for an identity."""
        return {"projection": self.projection, "pad": PAD}.get(kind)

    def reads_preactivation(self, kind: str, first: bool) -> bool:
        """Whether a block's shortcut reads its pre-activation (see NOTE); ``first``: the
        network's first block."""
        return self.preactivation > 0 and kind != "none" and (kind != "identity" or first)


@dataclass(frozen=True)
class BlockKind:
    """What the language allows a block kind: the ``block`` line's options."""

    build: Callable[[BlockSpec], list[Step]]
    default_expansion: int
    has_expansion: bool  # `expansion E` applies
    places_stride: bool  # `stride on 1x1 | 3x3` applies
    grouped: bool = False  # `groups G`, `width per group W` apply (to the 3x3)
    has_dropout: bool = False  # `dropout P` applies
    preactivated: bool = False  # BN and ReLU before each conv (He et al. 2016)


def _basic(spec: BlockSpec) -> list[Step]:
    return [
        ConvStep("conv1", 3, "width", stride=True),
        NormStep("bn1"),
        ReluStep(),
        ConvStep("conv2", 3, "out"),
        NormStep("bn2"),
    ]


def _bottleneck(spec: BlockSpec) -> list[Step]:
    # The paper strides the first 1x1; torchvision's "v1.5" strides the 3x3.
    on_1x1 = spec.stride_on == "1x1"
    return [
        ConvStep("conv1", 1, "width", stride=on_1x1),
        NormStep("bn1"),
        ReluStep(),
        ConvStep("conv2", 3, "width", stride=not on_1x1, groups=spec.groups),
        NormStep("bn2"),
        ReluStep(),
        ConvStep("conv3", 1, "out"),
        NormStep("bn3"),
    ]


def _preact(spec: BlockSpec) -> list[Step]:
    # He et al. 2016, Fig. 4(e): BN, ReLU, conv, twice; WRN's dropout sits before the second.
    dropout = [DropoutStep(spec.dropout)] if spec.dropout else []
    return [
        NormStep("bn1", opens_group=True),
        ReluStep(),
        ConvStep("conv1", 3, "width", stride=True, opens_group=False),
        NormStep("bn2", opens_group=True),
        ReluStep(),
        *dropout,
        ConvStep("conv2", 3, "out", opens_group=False),
    ]


def _preact_bottleneck(spec: BlockSpec) -> list[Step]:
    # The stride on the first 1x1, as resnet-pre-act.lua has it, unless `stride on 3x3`.
    on_1x1 = spec.stride_on == "1x1"
    return [
        NormStep("bn1", opens_group=True),
        ReluStep(),
        ConvStep("conv1", 1, "width", stride=on_1x1, opens_group=False),
        NormStep("bn2", opens_group=True),
        ReluStep(),
        ConvStep("conv2", 3, "width", not on_1x1, spec.groups, opens_group=False),
        NormStep("bn3", opens_group=True),
        ReluStep(),
        ConvStep("conv3", 1, "out", opens_group=False),
    ]


BLOCKS: dict[str, BlockKind] = {
    "basic": BlockKind(_basic, default_expansion=1, has_expansion=False, places_stride=False),
    "bottleneck": BlockKind(
        _bottleneck, default_expansion=4, has_expansion=True, places_stride=True, grouped=True
    ),
    "preact": BlockKind(
        _preact, 1, has_expansion=False, places_stride=False, has_dropout=True, preactivated=True
    ),
    "preact_bottleneck": BlockKind(
        _preact_bottleneck,
        4,
        has_expansion=True,
        places_stride=True,
        grouped=True,
        preactivated=True,
    ),
}

# The generated class of each kind, and the first line of its docstring.
_CLASSES = {
    "basic": (
        "BasicBlock",
        "The basic block of He et al. 2015 (Fig. 5 left): two 3x3 convolutions.",
    ),
    "bottleneck": (
        "Bottleneck",
        "The bottleneck block of He et al. 2015 (Fig. 5 right): 1x1, 3x3, 1x1 convolutions.",
    ),
    "preact": (
        "PreActBasicBlock",
        "The full pre-activation unit of He et al. 2016 (Fig. 4(e)): BN, ReLU, 3x3 conv, twice.",
    ),
    "preact_bottleneck": (
        "PreActBottleneck",
        "The pre-activation bottleneck of He et al. 2016: BN, ReLU, conv for a 1x1, 3x3, 1x1.",
    ),
}


def _doc(spec: BlockSpec, kind: BlockKind) -> tuple[str, ...]:
    """The class docstring, a line each: what the block is, then what its options make of it."""
    paragraphs = []
    if kind.places_stride:
        where = "the first 1x1, as the paper" if spec.stride_on == "1x1" else "the 3x3 (v1.5)"
        if kind.preactivated and spec.stride_on == "1x1":
            where = "the first 1x1, as resnet-pre-act.lua"
        paragraphs.append(f"The stride sits on {where}; the last 1x1 widens by `expansion`.")
    if spec.groups != 1:
        paragraphs.append("The 3x3 is a grouped convolution (ResNeXt, Xie et al. 2017).")
    if spec.groups != 1 or spec.width_per_group != 64:
        paragraphs.append(
            "The 1x1 and 3x3 are `width` wide: planes * width_per_group / 64 * groups, as "
            "torchvision computes it."
        )
    if kind.preactivated:
        paragraphs.append(
            "Nothing follows the addition. The shortcut reads the pre-activated input where it "
            "projects or pads, and in the network's first unit (that paper's appendix); the raw "
            "input elsewhere."
        )
    if spec.dropout:
        paragraphs.append(
            "Dropout sits between the two convolutions, as in the wide residual networks of "
            "Zagoruyko & Komodakis 2016."
        )
    # Each line of the generated docstring stays within ruff's 100 columns once indented.
    lines = [line for text in paragraphs for line in textwrap.wrap(text, 92)]
    return (_CLASSES[spec.kind][1], *lines)


def _projection(preactivated: bool, option: ShortcutOption) -> ShortcutRecipe:
    if option == "D":
        if preactivated:  # resolving refuses it; a recipe cannot be made up
            raise ValueError("shortcut D has no pre-activation form")
        return AVG_DOWN
    return PREACT_PROJECTION if preactivated else PROJECTION


def recipe(spec: BlockSpec, shortcut: ShortcutOption = "B") -> BlockRecipe:
    """The recipe of a resolved ``block`` setting, under the network's shortcut option."""
    kind = BLOCKS[spec.kind]
    return BlockRecipe(
        kind=spec.kind,
        cls=_CLASSES[spec.kind][0],
        steps=tuple(kind.build(spec)),
        doc=_doc(spec, kind),
        relu_declared_last=spec.kind == "bottleneck",
        spec=spec,
        projection=_projection(kind.preactivated, shortcut),
        preactivation=2 if kind.preactivated else 0,
        relu_after_add=not kind.preactivated,
    )


def block_shortcut(option: ShortcutOption, in_channels: int, out_channels: int, stride: int) -> str:
    """What a block's shortcut is under the paper's options A, B, C and none (sec. 3.3), and
    D (B's placement, ResNet-D's projection).

    >>> block_shortcut("B", 64, 128, 2), block_shortcut("B", 64, 64, 1)
    ('projection', 'identity')
    >>> block_shortcut("A", 16, 32, 2), block_shortcut("C", 64, 64, 1)
    ('pad', 'projection')
    """
    changes = stride != 1 or in_channels != out_channels
    if option == "none":
        return "none"
    if option == "C" or (option in ("B", "D") and changes):
        return "projection"
    if option == "A" and changes:
        return "pad"
    return "identity"
