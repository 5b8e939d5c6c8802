"""Pooling: max and average over a window, the blur pool, and the global average."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import (
    Counted,
    Op,
    Pair,
    Shape,
    Window,
    downsampling,
    pair,
    show,
    with_stride,
)
from resdsl.ops.helpers import BLUR_POOL2D


@dataclass(frozen=True, slots=True)
class MaxPool(Window):
    """Max pooling over a window (the ImageNet stem's 3x3, stride 2). ``ceil_mode`` is
    PyTorch's, as for :class:`AvgPool` (the legacy SENet's unpadded 3x3 of stride 2, kept from
    Caffe).
    """

    kernel: Pair
    stride: Pair
    padding: Pair
    ceil_mode: bool = False
    kind: ClassVar[str] = "maxpool"
    counted: ClassVar[Counted] = "pool"
    pool: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True

    def window(self, shape: Shape) -> tuple[int, int] | None:
        size = Window.window(self, shape)
        if size is None or not self.ceil_mode:
            return size
        _, h, w = shape
        return (
            _ceil_size(h, self.kernel[0], self.stride[0], self.padding[0]),
            _ceil_size(w, self.kernel[1], self.stride[1], self.padding[1]),
        )

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        size = self.window(inputs[0])
        return None if size is None else (inputs[0][0], *size)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.kernel[0] * self.kernel[1] * math.prod(out)  # ptflops: k*k comparisons

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return math.prod(out)  # the argmax indices, one per output element

    def label(self) -> str:
        return f"pool{downsampling(self.stride)}"

    def table_entry(self, stride: bool = True) -> str:
        return with_stride(f"{self._kernel_text()} max pool", self.stride, stride)

    def torch(self, classes: str = "num_classes") -> str:
        ceil = ", ceil_mode=True" if self.ceil_mode else ""
        return f"nn.MaxPool2d({self._torch_window()}{ceil})"


@dataclass(frozen=True, slots=True)
class AvgPool(Window):
    """Average pooling over a window (a stem may use one; ResNet-D's shortcut does).

    ``ceil_mode`` is PyTorch's: the last window may hang over the edge, so that a 2x2 pool of
    stride 2 gives ceil(H / 2), the size of the strided 3x3 beside it on odd inputs (timm's
    ``downsample_avg``, which also leaves padding out of the average).
    """

    kernel: Pair
    stride: Pair
    padding: Pair
    ceil_mode: bool = False
    kind: ClassVar[str] = "avgpool"
    counted: ClassVar[Counted] = "pool"
    pool: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True

    def window(self, shape: Shape) -> tuple[int, int] | None:
        size = Window.window(self, shape)
        if size is None or not self.ceil_mode:
            return size
        _, h, w = shape
        return (
            _ceil_size(h, self.kernel[0], self.stride[0], self.padding[0]),
            _ceil_size(w, self.kernel[1], self.stride[1], self.padding[1]),
        )

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        size = self.window(inputs[0])
        return None if size is None else (inputs[0][0], *size)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.kernel[0] * self.kernel[1] * math.prod(out)  # each input added per window

    def label(self) -> str:
        return f"avg pool{downsampling(self.stride)}"

    def table_entry(self, stride: bool = True) -> str:
        return with_stride(f"{self._kernel_text()} average pool", self.stride, stride)

    def torch(self, classes: str = "num_classes") -> str:
        ceil = ", ceil_mode=True, count_include_pad=False" if self.ceil_mode else ""
        return f"nn.AvgPool2d({self._torch_window()}{ceil})"

    def module(self) -> str:
        if self.padding != (0, 0):
            return self.torch()
        ceil = ", ceil_mode=True, count_include_pad=False" if self.ceil_mode else ""
        return f"nn.AvgPool2d({pair(self.kernel)}, {pair(self.stride)}{ceil})"


def _ceil_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """PyTorch's output size with ``ceil_mode``: rounded up, but no window may start in the
    right padding (``pooling_output_shape`` in ATen).

    >>> _ceil_size(7, 2, 2, 0), _ceil_size(56, 2, 2, 0), _ceil_size(5, 3, 2, 1)
    (4, 28, 3)
    """
    out = -(-(size + 2 * padding - kernel) // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


@dataclass(frozen=True, slots=True)
class GlobalAvgPool(Op):
    """Global average pooling, (C, H, W) to (C, 1, 1): the head's, or on a block's side branch
    (Squeeze-and-Excitation's squeeze, ECA's), where it is written inline.

        >>> GlobalAvgPool().inline("out")
        'out.mean((2, 3), keepdim=True)'
    """

    kind: ClassVar[str] = "avgpool"
    counted: ClassVar[Counted] = "pool"
    pools_globally: ClassVar[bool] = True
    # torch computes a 1x1 adaptive average as mean(), whose backward needs only the shape
    keeps_input: ClassVar[bool] = False

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][0], 1, 1)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(inputs[0])  # fvcore, ptflops: each input element added once

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        shape = inputs[0]
        if shape is None or len(shape) == 3:
            return None
        return f"a global average pool reads a map (CxHxW), not {show(shape)}"

    def label(self) -> str:
        return "avg pool"

    def table_entry(self, stride: bool = True) -> str:
        return "average pool"

    def torch(self, classes: str = "num_classes") -> str:
        return "nn.AdaptiveAvgPool2d((1, 1))"

    def inline(self, x: str) -> str | None:
        return f"{x}.mean((2, 3), keepdim=True)"  # timm's SE and ECA; the same mean() in torch


@dataclass(frozen=True, slots=True)
class BlurPool(Op):
    """Anti-aliased downsampling (Zhang 2019; timm's ``BlurPool2d``): a fixed binomial filter
    of ``filt_size`` taps a side, applied to each channel apart after reflect padding of
    (stride - 1 + filt_size - 1) // 2 a side, subsampled by ``stride``. No parameters: the
    filter is a buffer, outside the state_dict.

        >>> blur = BlurPool(64)
        >>> blur.shape([(64, 56, 56)]), blur.macs([(64, 56, 56)], (64, 28, 28)), blur.label()
        ((64, 28, 28), 451584, 'blur pool, /2')
        >>> blur.torch()
        'BlurPool2d(64, filt_size=3, stride=2)'

    Memory: two autograd steps (:meth:`parts`). The padding keeps its input (the CPU's bf16
    autocast pads in fp32, keeping an fp32 copy); the depthwise convolution keeps the padded
    copy (under autocast, its bf16 cast) and, under autocast, the bf16 copy of the filter it
    casts on every call. The backward makes the padded copy's gradient, then the input's.
    """

    channels: int
    filt_size: int = 3
    stride: int = 2
    kind: ClassVar[str] = "blurpool"
    counted: ClassVar[Counted] = "always"  # flop_counter counts its convolution
    pool: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True
    helper_source: ClassVar[str | None] = BLUR_POOL2D

    @property
    def padding(self) -> int:
        """On every side: timm's ``get_padding(filt_size, stride)``."""
        return (self.stride - 1 + self.filt_size - 1) // 2

    def padded(self, shape: Shape) -> Shape:
        """The shape of its input once reflect-padded."""
        c, h, w = shape
        return (c, h + 2 * self.padding, w + 2 * self.padding)

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        c, h, w = self.padded(inputs[0])
        k, s = self.filt_size, self.stride
        return None if min(h, w) < k else (c, (h - k) // s + 1, (w - k) // s + 1)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # flop_counter's conv_flop (halved) of the depthwise convolution: every output
        # element a dot product of k*k terms (one input channel per group).
        return self.filt_size * self.filt_size * math.prod(out)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        if inputs is None:
            raise TypeError("a blur pool's saved padded copy is sized by its input: pass inputs")
        return math.prod(self.padded(inputs[0]))

    def buffer_bytes(self) -> int:
        return 4 * self.channels * self.filt_size * self.filt_size  # the fp32 (C, 1, k, k) filter

    def parts(self, inputs: Sequence[Shape]) -> tuple[tuple[Op, Shape], ...]:
        padded = self.padded(inputs[0])
        blur = _Blur(self.channels, self.filt_size, self.stride)
        return ((_ReflectPad(self.padding), padded), (blur, blur.shape([padded])))

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if self.filt_size < 2 or self.stride < 1:
            return f"a blur pool needs a filter of 2 taps or more, not {self.filt_size}"
        shape = inputs[0]
        if shape is None:
            return None
        if len(shape) != 3 or shape[0] != self.channels:
            return f"a blur pool of {self.channels} channels is given {show(shape)}"
        if min(shape[1:]) <= self.padding:  # reflect padding needs that many rows to mirror
            return f"a blur pool pads by {self.padding}, too much for its input ({show(shape)})"
        if self.shape([shape]) is None:
            k = self.filt_size
            return f"a blur pool's {k}x{k} filter is larger than its padded input ({show(shape)})"
        return None

    def label(self) -> str:
        return f"blur pool{downsampling((self.stride, self.stride))}"

    def table_entry(self, stride: bool = True) -> str:
        k = self.filt_size
        return with_stride(f"{k}x{k} blur pool", (self.stride, self.stride), stride)

    def torch(self, classes: str = "num_classes") -> str:
        return f"BlurPool2d({self.channels}, filt_size={self.filt_size}, stride={self.stride})"


@dataclass(frozen=True, slots=True)
class _ReflectPad(Op):
    """Blur pool's first step, ``F.pad(x, ..., mode="reflect")``: keeps its input for backward
    (``reflection_pad2d``); the CPU's autocast runs it in fp32 (CUDA's leaves it be)."""

    padding: int
    kind: ClassVar[str] = "reflectpad"
    keeps_input: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = inputs[0]
        return (c, h + 2 * self.padding, w + 2 * self.padding)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0

    def runs_in_fp32(self, kernels: str) -> bool:
        return kernels == "cpu"  # reflection_pad2d is on the CPU autocast's fp32 list


@dataclass(frozen=True, slots=True)
class _Blur(Op):
    """Blur pool's second step: the depthwise convolution of the padded map by the fixed filter,
    a buffer; autocast lowers it (casting the filter each call), and it keeps its input."""

    channels: int
    filt_size: int
    stride: int
    kind: ClassVar[str] = "blur"
    keeps_input: ClassVar[bool] = True
    lowers: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = inputs[0]
        k, s = self.filt_size, self.stride
        return (c, (h - k) // s + 1, (w - k) // s + 1)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.filt_size * self.filt_size * math.prod(out)

    def kept_params(self) -> int:
        return 0

    def buffer_weight(self) -> int:
        return self.channels * self.filt_size * self.filt_size
