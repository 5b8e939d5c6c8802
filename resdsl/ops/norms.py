"""Normalisation without batch statistics: group norm, the weight-standardised convolution, and
two normalisation-activation layers (EvoNorm-S0, filter response normalisation).

BiT's ResNet-V2 (Kolesnikov et al. 2020) pairs them: every convolution standardises its
weights (:class:`StdConv`, Qiao et al. 2019) and every batch norm becomes a group norm of 32
groups (:class:`GroupNorm`, Wu & He 2018), so that nothing depends on the batch.

    >>> gn = GroupNorm(32, 256)
    >>> gn.params(), gn.label(), gn.torch()
    (512, 'gn, 32 groups', 'nn.GroupNorm(32, 256)')
    >>> conv = StdConv(64, 128, (3, 3), (2, 2), (1, 1))
    >>> conv.shape([(64, 56, 56)]), conv.params(), conv.label()
    ((128, 28, 28), 73728, '3x3 std conv, 128, /2')
    >>> conv.torch()
    'StdConv2d(64, 128, kernel_size=3, stride=2, padding=1, bias=False, eps=1e-08)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Drawn, Op, Pair, Shape, Window, show
from resdsl.ops.helpers import EVO_NORM2D_S0, FILTER_RESPONSE_NORM_TLU2D, STD_CONV2D
from resdsl.ops.layers import Conv


@dataclass(frozen=True, slots=True)
class GroupNorm(Op):
    """Group normalisation (Wu & He 2018): each sample's channels in ``groups`` groups, each
    group normalised by its own mean and variance, then gamma and beta per channel.

    Autograd keeps its input and, per sample, each group's mean and inverse standard
    deviation (torch's ``native_group_norm``: two (N, G) tensors, fp32 even for a bf16 input).
    CUDA's bf16 autocast runs it in fp32 (its fp32 list); the CPU's runs it in bf16.
    """

    groups: int
    channels: int
    eps: float = 1e-5
    kind: ClassVar[str] = "gn"
    counted: ClassVar[Counted] = "bn"  # the normalisation flag, as for batch norm
    drawn: ClassVar[Drawn] = "folded"
    keeps_input: ClassVar[bool] = True

    def params(self) -> int:
        return 2 * self.channels

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # ptflops counts a group norm as batch norm (one hook): normalise, then scale and
        # shift, one multiply-add an element; flop_counter counts none.
        return math.prod(out)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return 2 * self.groups  # each group's mean and inverse std, per sample

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        return 4  # the fp32 parameters' dtype, whatever the input's

    def runs_in_fp32(self, kernels: str) -> bool:
        return kernels == "cuda"  # group_norm is on CUDA autocast's fp32 list, not the CPU's

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if self.groups < 1 or self.channels % self.groups:
            return (
                f"a group norm of {self.groups} groups needs channels divisible by "
                f"{self.groups}, not {self.channels}"
            )
        shape = inputs[0]
        if shape is None or shape[0] == self.channels:
            return None
        return f"a group norm of {self.channels} channels is given {show(shape)}"

    def label(self) -> str:
        return f"gn, {self.groups} groups"

    def torch(self, classes: str = "num_classes") -> str:
        eps = f", eps={self.eps!r}" if self.eps != 1e-5 else ""
        return f"nn.GroupNorm({self.groups}, {self.channels}{eps})"


@dataclass(frozen=True, slots=True)
class StdConv(Window):
    """A weight-standardised convolution (Qiao et al. 2019; BiT's, timm's ``StdConv2d``):
    before each use, every output channel's weights are normalised to zero mean and unit
    variance (``eps`` added to it: 1e-8 in BiT). Its shape, parameters and multiply-adds are
    the plain :class:`~resdsl.ops.layers.Conv`'s (standardising the weights is a few
    operations per weight, whatever the input: no counter counts them).

    Its memory differs: the forward makes the standardised weight (a batch norm over the
    weight, keeping each output channel's mean and inverse std) and the convolution keeps it
    (under bf16 autocast, the bf16 copy it casts; no parameter's copy is cached). The
    backward goes back through the standardisation, one more weight-sized gradient.
    """

    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair
    padding: Pair
    groups: int = 1
    bias: bool = False
    eps: float = 1e-8
    kind: ClassVar[str] = "stdconv"
    counted: ClassVar[Counted] = "always"
    counts_in_depth: ClassVar[bool] = True
    shown: ClassVar[bool] = True
    counts_activations: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True
    lowers: ClassVar[bool] = True
    helper_source: ClassVar[str | None] = STD_CONV2D

    def plain(self) -> Conv:
        """The convolution it standardises the weights of."""
        return Conv(
            self.in_channels, self.out_channels, self.kernel, self.stride, self.padding,
            self.groups, self.bias,
        )  # fmt: skip

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        return self.plain().shape(inputs)

    def params(self) -> int:
        return self.plain().params()

    def kept_params(self) -> int:
        return 0  # the convolution reads the standardised weight, made anew, not a parameter

    def made_weight(self) -> int:
        return self.plain().kept_params()

    def stats_saved(self) -> int:
        return 2 * self.out_channels  # the standardisation's mean and inverse std

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.plain().macs(inputs, out)

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        return self.plain().problem(inputs, block)

    def label(self) -> str:
        return self.plain().label().replace(" conv,", " std conv,", 1)

    def table_entry(self, stride: bool = True) -> str:
        return self.plain().table_entry(stride)

    def torch(self, classes: str = "num_classes") -> str:
        channels = f"{self.in_channels}, {self.out_channels}"
        grouped = f", groups={self.groups}" if self.groups != 1 else ""
        return (
            f"StdConv2d({channels}, {self._torch_window()}{grouped}, bias={bool(self.bias)}, "
            f"eps={self.eps!r})"
        )


@dataclass(frozen=True, slots=True)
class EvoNormS0(Op):
    """EvoNorm-S0 (Liu et al. 2020; timm's ``EvoNorm2dS0``): normalisation and activation in
    one layer, ``x * sigmoid(v * x) / group_std(x) * gamma + beta`` with the standard
    deviation of each sample's group of channels. No batch statistics: 3 parameters a channel.

    Autograd keeps its input and four tensors of its size (the sigmoid's output, the gated
    input, the group standard deviation expanded to the map, the quotient), and each sample's
    group standard deviations.

        >>> evo = EvoNormS0(32, 256)
        >>> evo.params(), evo.label(), evo.torch()
        (768, 'evonorm s0, 32 groups', 'EvoNorm2dS0(256, groups=32)')
    """

    groups: int
    channels: int
    kind: ClassVar[str] = "evonorm_s0"
    counted: ClassVar[Counted] = "bn"  # the normalisation flag, as for batch norm
    drawn: ClassVar[Drawn] = "folded"
    keeps_input: ClassVar[bool] = True
    helper_source: ClassVar[str | None] = EVO_NORM2D_S0

    def params(self) -> int:
        return 3 * self.channels

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(out)  # as a norm: one multiply-add an element (no counter counts it)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return 4 * math.prod(out) + self.groups  # and each group's standard deviation

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        return itemsize  # tensors of its input's dtype

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        return GroupNorm(self.groups, self.channels).problem(inputs, block)

    def label(self) -> str:
        return f"evonorm s0, {self.groups} groups"

    def torch(self, classes: str = "num_classes") -> str:
        return f"EvoNorm2dS0({self.channels}, groups={self.groups})"


@dataclass(frozen=True, slots=True)
class FRN(Op):
    """Filter response normalisation with its thresholded linear unit (Singh & Krishnan 2020;
    timm's ``FilterResponseNormTlu2d``): each channel of each sample divided by its root mean
    square over the map, scaled and shifted, then ``max(x, tau)``. 3 parameters a channel.

    Autograd keeps its input, two tensors of its size (the normalised map, the shifted one the
    threshold compares) and each sample's inverse RMS per channel.

        >>> frn = FRN(64)
        >>> frn.params(), frn.label(), frn.torch()
        (192, 'frn', 'FilterResponseNormTlu2d(64)')
    """

    channels: int
    kind: ClassVar[str] = "frn"
    counted: ClassVar[Counted] = "bn"
    drawn: ClassVar[Drawn] = "folded"
    keeps_input: ClassVar[bool] = True
    helper_source: ClassVar[str | None] = FILTER_RESPONSE_NORM_TLU2D

    def params(self) -> int:
        return 3 * self.channels

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(out)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return 2 * math.prod(out) + self.channels  # and each channel's inverse RMS

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        return itemsize

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        shape = inputs[0]
        if shape is None or shape[0] == self.channels:
            return None
        return f"a filter response norm of {self.channels} channels is given {show(shape)}"

    def torch(self, classes: str = "num_classes") -> str:
        return f"FilterResponseNormTlu2d({self.channels})"
