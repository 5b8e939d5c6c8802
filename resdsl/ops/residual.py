"""The residual connection: option A's zero-padding shortcut, the addition y = F(x) + x, and
stochastic depth's drop path on F(x)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Drawn, Op, Pair, Shape, downsampling, show
from resdsl.ops.helpers import DROP_PATH, ZERO_PAD_SHORTCUT


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
    helper_source: ClassVar[str | None] = ZERO_PAD_SHORTCUT

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
    """The residual addition y = F(x) + x; its inputs are F(x) first, the shortcut second.

    ``in_place`` (the residual addition's ``out += identity``, torchvision's) writes the sum
    over F(x), which nothing keeps for backward; an addition whose first input autograd keeps
    (Res2Net's ``sp + spx[i]``, a ReLU's output) makes a new tensor instead.

        >>> Add().merge(["out", "identity"]), Add(in_place=False).merge(["sp", "part"])
        ('out.add_(identity)', 'sp + part')
    """

    in_place: bool = True  # type: ignore[misc]
    kind: ClassVar[str] = "add"
    counted: ClassVar[Counted] = "add"
    drawn: ClassVar[Drawn] = "circle"

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

    def merge(self, inputs: Sequence[str]) -> str:
        main, shortcut = inputs
        return f"{main}.add_({shortcut})" if self.in_place else f"{main} + {shortcut}"


@dataclass(frozen=True, slots=True)
class DropPath(Op):
    """Stochastic depth (Huang et al. 2016; timm's ``DropPath``) on a residual branch: while
    training, each sample's F(x) is zeroed with probability ``p`` and kept ones are scaled by
    1 / (1 - p); the identity at inference, and always at ``p`` = 0 (timm then builds
    ``nn.Identity()``, and so does :meth:`torch`).

        >>> DropPath(0.1).torch(), DropPath(0.1).label(), DropPath(0.0).torch()
        ('DropPath(0.1)', 'drop path 0.1', 'nn.Identity()')

    Training, it draws one number per sample (kept for backward, in the input's dtype), and
    its output is a new tensor, x times that mask; at ``p`` = 0 its output is its input.
    """

    p: float
    kind: ClassVar[str] = "droppath"
    drawn: ClassVar[Drawn] = "folded"
    helper_source: ClassVar[str | None] = DROP_PATH

    @property  # the class attribute of Op, answered per instance
    def view(self) -> bool:  # timm returns x itself
        return self.p == 0

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # Training: one multiply an element (x * mask), which no counter counts and no
        # Convention flag counts either: at inference, where FLOPs are counted, it is free.
        return 0 if self.p == 0 else math.prod(out)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return 0 if self.p == 0 else 1  # the sample's draw: x * mask keeps the mask only

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        return itemsize  # x.new_empty: the input's dtype

    def grad_steps(self, inputs: Sequence[Shape], out: Shape) -> tuple[Shape, ...]:
        return () if self.p == 0 else (inputs[0],)  # no autograd node at p = 0

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if 0 <= self.p < 1:
            return None
        return f"drop path's probability must be at least 0 and below 1, not {self.p:g}"

    def label(self) -> str:
        return f"drop path {self.p:g}"

    def torch(self, classes: str = "num_classes") -> str:
        return f"DropPath({self.p!r})" if self.p else "nn.Identity()"
