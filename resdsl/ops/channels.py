"""Splitting a map by channels and joining maps along them (Res2Net's split and concatenation).

Res2Net (Gao et al. 2019) splits a bottleneck's map into s groups of channels
(:class:`ChannelSlice`, one per group: views, nothing copied), convolves them in a chain and
joins the results (:class:`Concat`).

    >>> split = [ChannelSlice(i * 26, (i + 1) * 26) for i in range(4)]
    >>> [part.shape([(104, 56, 56)]) for part in split][-1], split[1].inline("out")
    ((26, 56, 56), 'out[:, 26:52]')
    >>> Concat().shape([(26, 56, 56)] * 4), Concat().merge(["a", "b"])
    ((104, 56, 56), 'torch.cat([a, b], 1)')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Drawn, InputGrad, Op, Shape, show


@dataclass(frozen=True, slots=True)
class Concat(Op):
    """Maps of equal height and width joined along the channels, in input order.

    Its output is a new tensor (a copy, no arithmetic: 0 multiply-adds, as thop, ptflops and
    flop_counter count it; the ``add`` flag of the Convention would count its merge). Autograd
    keeps nothing: each input's gradient is a view of the output's channels for it.
    """

    kind: ClassVar[str] = "cat"
    counted: ClassVar[Counted] = "add"
    drawn: ClassVar[Drawn] = "box"

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (sum(shape[0] for shape in inputs), *inputs[0][1:])

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0

    def input_grads(self, inputs: Sequence[Shape], out: Shape) -> tuple[InputGrad, ...]:
        return (InputGrad(view=True),) * len(inputs)  # grad.narrow(1, ...): no copy

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        known = [shape for shape in inputs if shape is not None]
        if any(len(shape) != 3 for shape in known):
            flat = next(shape for shape in known if len(shape) != 3)
            return f"a concatenation joins maps (CxHxW), not {show(flat)}"
        sizes = {shape[1:] for shape in known}
        if len(sizes) <= 1:
            return None
        listed = ", ".join(show(shape) for shape in known)
        return f"a concatenation joins maps of one height and width, not {listed}"

    def label(self) -> str:
        return "concat"

    def merge(self, inputs: Sequence[str]) -> str:
        return f"torch.cat([{', '.join(inputs)}], 1)"


@dataclass(frozen=True, slots=True)
class ChannelSlice(Op):
    """Channels [start, stop) of its input: a view (nothing allocated, nothing kept).

    Its backward makes a zero tensor of the input's shape and copies the gradient into the
    slice's channels (torch's ``slice_backward``); slices of one map each do, and the map's
    gradient is their sum.
    """

    start: int
    stop: int
    kind: ClassVar[str] = "slice"
    drawn: ClassVar[Drawn] = "folded"  # part of the arrow out of the layer it splits
    view: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.stop - self.start, *inputs[0][1:])

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0  # a view

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        shape = inputs[0]
        if not 0 <= self.start < self.stop:
            return f"a slice of channels {self.start}:{self.stop} is empty"
        if shape is None or (len(shape) == 3 and self.stop <= shape[0]):
            return None
        return f"a slice of channels {self.start}:{self.stop} reaches past its input, {show(shape)}"

    def label(self) -> str:
        return f"slice {self.start}:{self.stop}"

    def inline(self, x: str) -> str | None:
        return f"{x}[:, {self.start}:{self.stop}]"
