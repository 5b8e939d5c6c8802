"""Channel attention: the sigmoid gate, the product that applies it, and ECA's 1-D convolution.

Squeeze-and-Excitation (Hu et al. 2018) pools a block's map to (C, 1, 1), passes it through
two 1x1 convolutions with bias (:class:`~resdsl.ops.layers.Conv` with ``bias``) and a ReLU,
then :class:`Sigmoid`, and scales the map by the result (:class:`Multiply`). ECA (Wang et al.
2020) replaces the two convolutions by one 1-D convolution across the channels
(:class:`ChannelConv`).

    >>> gate, scale = Sigmoid(), Multiply()
    >>> scale.shape([(256, 56, 56), (256, 1, 1)]), scale.merge(["out", "gate"])
    ((256, 56, 56), 'out * gate')
    >>> eca = ChannelConv(5)
    >>> eca.params(), eca.macs([(256, 1, 1)], (256, 1, 1)), eca.label()
    (5, 1280, '1-d conv, k=5')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Drawn, InputGrad, Op, Shape, show


@dataclass(frozen=True, slots=True)
class Sigmoid(Op):
    """The logistic function, the gate of SE and ECA. The ``relu`` flag of
    :class:`~resdsl.ir.costs.Convention` counts the activations, this one as the ReLU.

    Not in place: autograd keeps its output (sigmoid's derivative is y (1 - y)), so the
    input it was computed from is left alone.
    """

    kind: ClassVar[str] = "sigmoid"
    counted: ClassVar[Counted] = "relu"
    drawn: ClassVar[Drawn] = "folded"  # part of the box before it, as the paper's ReLU is
    keeps_output: ClassVar[bool] = True

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # One operation an element, as ptflops counts an activation; flop_counter counts none.
        return math.prod(out)

    def label(self) -> str:
        return "sigmoid"

    def torch(self, classes: str = "num_classes") -> str:
        return "nn.Sigmoid()"


@dataclass(frozen=True, slots=True)
class Multiply(Op):
    """The product of a map and a scale broadcast over it: inputs ``main`` (C, H, W) first and
    ``scale`` second, (C, 1, 1) per channel (SE and ECA) or (C, H, W); main's shape out.

    Autograd keeps both inputs, each for the other's gradient: d main = g * scale, a new
    tensor of main's shape; d scale = g * main summed over the positions the scale was
    broadcast to (torch makes the main-shaped product, then reduces it).
    """

    kind: ClassVar[str] = "mul"
    counted: ClassVar[Counted] = "add"  # the merge flag: one elementwise op, as the addition
    drawn: ClassVar[Drawn] = "circle"
    keeps_input: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(out)  # one multiply an element (flop_counter counts none)

    def input_grads(self, inputs: Sequence[Shape], out: Shape) -> tuple[InputGrad, ...]:
        main, scale = inputs
        reduced = (main, scale) if scale != main else (scale,)
        return (InputGrad((main,)), InputGrad(reduced))

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if len(inputs) != 2:
            return f"a product takes a map and a scale, not {len(inputs)} inputs"
        main, scale = inputs
        if main is None or scale is None:
            return None
        if len(main) == len(scale) == 3 and main[0] == scale[0] and scale[1:] in ((1, 1), main[1:]):
            return None
        return (
            f"a product scales a map of shape {show(main)} by a scale of its channels "
            f"({main[0]}x1x1) or of its shape; not by {show(scale)}"
        )

    def label(self) -> str:
        return "x"

    def merge(self, inputs: Sequence[str]) -> str:
        return " * ".join(inputs)


@dataclass(frozen=True, slots=True)
class ChannelConv(Op):
    """ECA's 1-D convolution across the channels of a pooled (C, 1, 1) map (Wang et al. 2020;
    timm's ``EcaModule``): the map viewed as one length-C sequence, one ``kernel``-tap filter
    without bias, zero padding (k - 1) // 2, so each channel's output reads its k neighbours.

        >>> ChannelConv(3).torch()
        'nn.Conv1d(1, 1, kernel_size=3, padding=1, bias=False)'
        >>> ChannelConv(3).call("self.conv", "y")
        'self.conv(y.flatten(1)[:, None]).view_as(y)'
    """

    kernel: int
    kind: ClassVar[str] = "conv1d"
    counted: ClassVar[Counted] = "always"
    shown: ClassVar[bool] = True  # a layer of SE's or ECA's box; not one of the paper's depth
    counts_activations: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True  # for the weight gradient (the view shares its storage)
    lowers: ClassVar[bool] = True

    def params(self) -> int:
        return self.kernel

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # flop_counter's conv_flop (halved), fvcore's conv count: each of the C outputs is a
        # dot product of k terms, the padding's zeros included.
        return self.kernel * math.prod(out)

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        shape = inputs[0]
        if self.kernel < 1 or self.kernel % 2 == 0:
            return f"a 1-d conv across channels needs an odd kernel, not {self.kernel}"
        if shape is None or shape[1:] == (1, 1):
            return None
        return f"a 1-d conv across channels reads a pooled map (Cx1x1), not {show(shape)}"

    def label(self) -> str:
        return f"1-d conv, k={self.kernel}"

    def torch(self, classes: str = "num_classes") -> str:
        padding = (self.kernel - 1) // 2
        return f"nn.Conv1d(1, 1, kernel_size={self.kernel}, padding={padding}, bias=False)"

    def module(self) -> str:
        if isinstance(self.kernel, int):
            return self.torch()
        # in a block's class the size may be source (ECA's `k`, computed from the channels)
        k = self.kernel
        return f"nn.Conv1d(1, 1, kernel_size={k}, padding=({k} - 1) // 2, bias=False)"

    def call(self, module: str, x: str) -> str:
        # (N, C, 1, 1) -> (N, 1, C): the channels become the sequence; then back
        return f"{module}({x}.flatten(1)[:, None]).view_as({x})"
