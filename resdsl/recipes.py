"""Block recipes: each block kind, and each kind of shortcut, described once as data.

    >>> basic = recipe(BlockSpec("basic", 1, "1x1", False))
    >>> basic.cls, [step.name for step in basic.steps]
    ('BasicBlock', ['conv1', 'bn1', 'relu', 'conv2', 'bn2'])
    >>> [s.name for s in recipe(BlockSpec("bottleneck", 4, "3x3", False)).steps if s.stride]
    ['conv2']

A recipe lists a block's residual function F(x) step by step, in order, with torchvision's
module names and where the stride sits; a shortcut recipe does the same for the shortcut
branch. :mod:`resdsl.lower` reads a recipe to lay the block out as IR nodes (each step
answers :meth:`~ConvStep.op`), and :mod:`resdsl.codegen` reads the same recipe to write the
block's class (each step answers :meth:`~ConvStep.module`), so the IR and the generated
code cannot disagree. Adding a block kind is adding a recipe here (docs/architecture.md).

    y = relu(F(x) + shortcut(x))        shortcut: identity, projection (1x1 conv + BN),
                                        zero-padding (option A) or none (plain network)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from resdsl import ops
from resdsl.spec import BlockSpec, ShortcutOption

# The channels a step produces: the block's width (``planes``) or its output (width x expansion).
Channels = Literal["width", "out"]


@dataclass(frozen=True)
class ConvStep:
    """A convolution (k x k, padding k // 2, no bias)."""

    name: str
    kernel: int
    channels: Channels
    stride: bool = False  # carries the block's stride
    opens_group: ClassVar[bool] = True  # the generated forward starts a paragraph here

    def out(self, c_in: int, width: int, out: int) -> int:
        return width if self.channels == "width" else out

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        k, s = self.kernel, stride if self.stride else 1
        return ops.Conv(c_in, c_out, (k, k), (s, s), (k // 2, k // 2))

    def module(self, c_in: str, c_out: str) -> str:
        """The constructor in the block class, over its channel expressions."""
        stride = ", stride" if self.stride else ""
        if self.kernel in (1, 3):  # torchvision's helpers, which the module defines
            return f"conv{self.kernel}x{self.kernel}({c_in}, {c_out}{stride})"
        k, step = self.kernel, "stride" if stride else 1
        return f"nn.Conv2d({c_in}, {c_out}, {k}, stride={step}, padding={k // 2}, bias=False)"


@dataclass(frozen=True)
class NormStep:
    """Batch norm over the channels it is given."""

    name: str
    stride: ClassVar[bool] = False
    opens_group: ClassVar[bool] = False

    def out(self, c_in: int, width: int, out: int) -> int:
        return c_in

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        return ops.BatchNorm(c_in)

    def module(self, c_in: str, c_out: str) -> str:
        return f"nn.BatchNorm2d({c_in})"


@dataclass(frozen=True)
class ReluStep:
    """The ReLU; one shared ``nn.ReLU(inplace=True)`` module per block, as torchvision has it."""

    name: ClassVar[str] = "relu"
    stride: ClassVar[bool] = False
    opens_group: ClassVar[bool] = False

    def out(self, c_in: int, width: int, out: int) -> int:
        return c_in

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        return ops.ReLU()

    def module(self, c_in: str, c_out: str) -> str:
        return "nn.ReLU(inplace=True)"


@dataclass(frozen=True)
class PadStep:
    """Option A: subsample by the stride and append zero channels (:class:`resdsl.ops.ZeroPad`)."""

    name: ClassVar[str] = ""
    stride: ClassVar[bool] = True
    opens_group: ClassVar[bool] = False

    def out(self, c_in: int, width: int, out: int) -> int:
        return out

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        return ops.ZeroPad(c_in, c_out, (stride, stride))

    def module(self, c_in: str, c_out: str) -> str:
        return f"ZeroPadShortcut({c_in}, {c_out}, stride)"


Step = ConvStep | NormStep | ReluStep | PadStep


@dataclass(frozen=True)
class BlockRecipe:
    """One block kind: the residual function's steps, and how its class is written."""

    kind: str
    cls: str  # the generated class: BasicBlock, Bottleneck
    steps: tuple[Step, ...]
    doc: tuple[str, ...]  # the class docstring, a line each
    relu_declared_last: bool  # torchvision declares a Bottleneck's self.relu after bn3

    @property
    def last_norm(self) -> str:
        """The module name of the last batch norm, which ``zero init`` sets to zero."""
        return [s.name for s in self.steps if isinstance(s, NormStep)][-1]


@dataclass(frozen=True)
class ShortcutRecipe:
    """A shortcut branch with parameters or work to do (an identity has no recipe)."""

    attr: str  # the block's attribute: downsample (torchvision's name), shortcut
    factory: str  # what the generated module calls to build it
    steps: tuple[Step, ...]

    def path(self, step: Step) -> str:
        return f"{self.attr}.{step.name}" if step.name else self.attr


@dataclass(frozen=True)
class BlockKind:
    """What the language allows a block kind: the ``block`` line's options."""

    build: Callable[[BlockSpec], BlockRecipe]
    default_expansion: int
    has_expansion: bool  # `expansion E` applies
    places_stride: bool  # `stride on 1x1 | 3x3` applies


def _basic(spec: BlockSpec) -> BlockRecipe:
    return BlockRecipe(
        kind="basic",
        cls="BasicBlock",
        steps=(
            ConvStep("conv1", 3, "width", stride=True),
            NormStep("bn1"),
            ReluStep(),
            ConvStep("conv2", 3, "out"),
            NormStep("bn2"),
        ),
        doc=("The basic block of He et al. 2015 (Fig. 5 left): two 3x3 convolutions.",),
        relu_declared_last=False,
    )


def _bottleneck(spec: BlockSpec) -> BlockRecipe:
    # The paper strides the first 1x1; torchvision's "v1.5" strides the 3x3.
    on_1x1 = spec.stride_on == "1x1"
    where = "the first 1x1, as the paper" if on_1x1 else "the 3x3 (v1.5)"
    return BlockRecipe(
        kind="bottleneck",
        cls="Bottleneck",
        steps=(
            ConvStep("conv1", 1, "width", stride=on_1x1),
            NormStep("bn1"),
            ReluStep(),
            ConvStep("conv2", 3, "width", stride=not on_1x1),
            NormStep("bn2"),
            ReluStep(),
            ConvStep("conv3", 1, "out"),
            NormStep("bn3"),
        ),
        doc=(
            "The bottleneck block of He et al. 2015 (Fig. 5 right): 1x1, 3x3, 1x1 convolutions.",
            f"The stride sits on {where}; the last 1x1 widens by `expansion`.",
        ),
        relu_declared_last=True,
    )


BLOCKS: dict[str, BlockKind] = {
    "basic": BlockKind(_basic, default_expansion=1, has_expansion=False, places_stride=False),
    "bottleneck": BlockKind(
        _bottleneck, default_expansion=4, has_expansion=True, places_stride=True
    ),
}

SHORTCUTS: dict[str, ShortcutRecipe] = {
    # Options B and C: a 1x1 convolution and batch norm, torchvision's `downsample`.
    "projection": ShortcutRecipe(
        "downsample", "projection", (ConvStep("0", 1, "out", stride=True), NormStep("1"))
    ),
    # Option A: zero padding, no parameters.
    "pad": ShortcutRecipe("shortcut", "ZeroPadShortcut", (PadStep(),)),
}


def recipe(spec: BlockSpec) -> BlockRecipe:
    """The recipe of a resolved ``block`` setting."""
    return BLOCKS[spec.kind].build(spec)


def block_shortcut(option: ShortcutOption, in_channels: int, out_channels: int, stride: int) -> str:
    """What a block's shortcut is under the paper's options A, B, C and none (sec. 3.3).

    >>> block_shortcut("B", 64, 128, 2), block_shortcut("B", 64, 64, 1)
    ('projection', 'identity')
    >>> block_shortcut("A", 16, 32, 2), block_shortcut("C", 64, 64, 1)
    ('pad', 'projection')
    """
    changes = stride != 1 or in_channels != out_channels
    if option == "none":
        return "none"
    if option == "C" or (option == "B" and changes):
        return "projection"
    if option == "A" and changes:
        return "pad"
    return "identity"
