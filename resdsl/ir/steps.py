"""The steps a block recipe is written in: one class per kind of step.

    >>> step = ConvStep("conv2", 3, "width", stride=True, groups=32)
    >>> step.op(128, 128, 2).label(), step.module("width", "width")
    ('3x3 conv, 128, /2, 32 groups', 'conv3x3(width, width, stride, self.groups)')
    >>> AvgDownStep("0").op(256, 256, 1) is None
    True

Each step answers :meth:`~ConvStep.op` (the op lowering puts in the IR, given the channels
it reads and writes and the block's stride; None where the step does nothing at that stride)
and :meth:`~ConvStep.module` (the constructor the generated block class writes, over its
channel expressions), so that :mod:`resdsl.ir.lower` and :mod:`resdsl.codegen` read one
description. ``opens_group`` says where the generated ``forward`` starts a paragraph: at
each convolution in torchvision's post-activation blocks, at each batch norm in the
pre-activation ones (BN, ReLU, conv read as one unit of He et al. 2016's Fig. 4(e)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from resdsl import ops

# The channels a step produces: the block's inner width (``planes``, or a bottleneck's
# ``width``) or its output (planes x expansion).
Channels = Literal["width", "out"]


@dataclass(frozen=True)
class ConvStep:
    """A convolution (k x k, padding k // 2, no bias), grouped where ``groups`` > 1."""

    name: str
    kernel: int
    channels: Channels
    stride: bool = False  # carries the block's stride
    groups: int = 1
    opens_group: bool = True  # the generated forward starts a paragraph here

    def out(self, c_in: int, width: int, out: int) -> int:
        return width if self.channels == "width" else out

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        k, s = self.kernel, stride if self.stride else 1
        return ops.Conv(c_in, c_out, (k, k), (s, s), (k // 2, k // 2), self.groups)

    def module(self, c_in: str, c_out: str) -> str:
        """The constructor in the block class, over its channel expressions."""
        stride = ", stride" if self.stride else ""
        if self.kernel in (1, 3):  # torchvision's helpers, which the module defines
            # A grouped conv is always a 3x3 (the block class holds `groups`), so the stride
            # is written out before it even at stride 1, as torchvision's helper takes it.
            grouped = f"{stride or ', 1'}, self.groups" if self.groups != 1 else stride
            return f"conv{self.kernel}x{self.kernel}({c_in}, {c_out}{grouped})"
        k, step = self.kernel, "stride" if stride else 1
        grouped = ", groups=self.groups" if self.groups != 1 else ""
        return (
            f"nn.Conv2d({c_in}, {c_out}, {k}, stride={step}, padding={k // 2}{grouped}, bias=False)"
        )


@dataclass(frozen=True)
class NormStep:
    """Batch norm over the channels it is given."""

    name: str
    opens_group: bool = False
    stride: ClassVar[bool] = False

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
class DropoutStep:
    """Dropout with probability ``p`` (WRN's, between a block's two convolutions)."""

    p: float
    name: ClassVar[str] = "dropout"
    stride: ClassVar[bool] = False
    opens_group: ClassVar[bool] = False

    def out(self, c_in: int, width: int, out: int) -> int:
        return c_in

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op:
        return ops.Dropout(self.p)

    def module(self, c_in: str, c_out: str) -> str:
        return f"nn.Dropout(p={float(self.p)!r})"


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


@dataclass(frozen=True)
class AvgDownStep:
    """ResNet-D's striding (He et al. 2019, sec. 4.1): a 2x2 average pool with the block's
    stride, rounding up as the strided 3x3 beside it does; nothing at stride 1."""

    name: str
    stride: ClassVar[bool] = True
    opens_group: ClassVar[bool] = False

    def out(self, c_in: int, width: int, out: int) -> int:
        return c_in

    def op(self, c_in: int, c_out: int, stride: int) -> ops.Op | None:
        if stride == 1:
            return None
        return ops.AvgPool((2, 2), (stride, stride), (0, 0), ceil_mode=True)

    def module(self, c_in: str, c_out: str) -> str:
        return "nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)"


Step = ConvStep | NormStep | ReluStep | DropoutStep | PadStep | AvgDownStep
