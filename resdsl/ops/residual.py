"""The residual connection: option A's zero-padding shortcut and the addition y = F(x) + x."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Drawn, Op, Pair, Shape, downsampling, show


@dataclass(frozen=True, slots=True)
class ZeroPad(Op):
    """Option A's shortcut (sec. 3.3): subsample by the stride, append zero channels.

    Its size is ceil(H / s), which equals the strided 3x3 (padding 1) and 1x1 (padding 0)
    convolutions of the main path. No parameters, no arithmetic, nothing kept for backward.
    """

    in_channels: int
    out_channels: int
    stride: Pair
    kind: ClassVar[str] = "pad"

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        _, h, w = inputs[0]
        return (self.out_channels, math.ceil(h / self.stride[0]), math.ceil(w / self.stride[1]))

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0  # subsampling and zero-filling: no arithmetic

    def grad_steps(self, inputs: Sequence[Shape], out: Shape) -> tuple[Shape, ...]:
        # torch: the padding's backward narrows to the input's channels, then each strided
        # slice's backward (W, then H: the reverse of x[:, :, ::s, ::s]) scatters into zeros.
        c, h, w = inputs[0]
        _, h_out, w_out = out
        steps = [(c, h_out, w_out)]
        if self.stride[1] > 1:
            steps.append((c, h_out, w))
        if self.stride[0] > 1:
            steps.append((c, h, w))
        return tuple(steps)

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if self.out_channels >= self.in_channels:
            return None
        return (
            f"shortcut A pads with zeros, so it cannot take {self.in_channels} channels down "
            f"to {self.out_channels}"
        )

    def label(self) -> str:
        return f"zero-pad, {self.out_channels}{downsampling(self.stride)}"

    def torch(self, classes: str = "num_classes") -> str:
        stride = f", stride={self.stride[0]}" if self.stride[0] != 1 else ""
        return f"ZeroPadShortcut({self.in_channels}, {self.out_channels}{stride})"


@dataclass(frozen=True, slots=True)
class Add(Op):
    """The residual addition y = F(x) + x; its inputs are F(x) first, the shortcut second."""

    kind: ClassVar[str] = "add"
    counted: ClassVar[Counted] = "add"
    drawn: ClassVar[Drawn] = "circle"
    in_place: ClassVar[bool] = True  # out += identity

    def grad_steps(self, inputs: Sequence[Shape], out: Shape) -> tuple[Shape, ...]:
        return ()  # both inputs receive the output's gradient itself

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(out)  # one addition an element

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        main, shortcut = inputs
        if main is None or shortcut is None or main == shortcut:
            return None
        return (
            f"block {block} adds F(x) of shape {show(main)} to a shortcut of shape "
            f"{show(shortcut)}; use shortcut B or C to project"
        )

    def label(self) -> str:
        return "+"
