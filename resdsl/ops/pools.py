"""Pooling: max and average over a window, and the head's global average."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import Counted, Op, Pair, Shape, Window, downsampling, pair, with_stride


@dataclass(frozen=True, slots=True)
class MaxPool(Window):
    """Max pooling over a window (the ImageNet stem's 3x3, stride 2)."""

    kernel: Pair
    stride: Pair
    padding: Pair
    kind: ClassVar[str] = "maxpool"
    counted: ClassVar[Counted] = "pool"
    pool: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        size = self.window(inputs[0])
        return None if size is None else (inputs[0][0], *size)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.kernel[0] * self.kernel[1] * math.prod(out)  # ptflops: k*k comparisons

    def extra_saved(self, out: Shape) -> int:
        return math.prod(out)  # the argmax indices, one per output element

    def label(self) -> str:
        return f"pool{downsampling(self.stride)}"

    def table_entry(self, stride: bool = True) -> str:
        return with_stride(f"{self._kernel_text()} max pool", self.stride, stride)

    def torch(self, classes: str = "num_classes") -> str:
        return f"nn.MaxPool2d({self._torch_window()})"


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
    """The head's global average pooling: (C, H, W) to (C, 1, 1)."""

    kind: ClassVar[str] = "avgpool"
    counted: ClassVar[Counted] = "pool"
    pools_globally: ClassVar[bool] = True
    # torch computes a 1x1 adaptive average as mean(), whose backward needs only the shape
    keeps_input: ClassVar[bool] = False

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (inputs[0][0], 1, 1)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(inputs[0])  # fvcore, ptflops: each input element added once

    def label(self) -> str:
        return "avg pool"

    def table_entry(self, stride: bool = True) -> str:
        return "average pool"

    def torch(self, classes: str = "num_classes") -> str:
        return "nn.AdaptiveAvgPool2d((1, 1))"
