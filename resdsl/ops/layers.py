"""The layers: the image, convolution, batch norm, ReLU and the fully connected layer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from resdsl.ops.base import (
    Counted,
    Drawn,
    Op,
    Pair,
    Shape,
    Window,
    downsampling,
    pair,
    with_stride,
)


@dataclass(frozen=True, slots=True)
class Input(Op):
    """The image, channels x height x width."""

    channels: int
    height: int
    width: int
    kind: ClassVar[str] = "input"
    drawn: ClassVar[Drawn] = "caption"

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.channels, self.height, self.width)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0

    def label(self) -> str:
        return "image"


@dataclass(frozen=True, slots=True)
class Conv(Window):
    """A convolution, without bias by default (batch norm follows every one, as in the paper,
    sec. 3.4).

    With ``groups`` G > 1 (ResNeXt's cardinality, Xie et al. 2017) the channels split into G
    groups convolved apart: each output channel reads C_in / G input channels, so parameters
    and multiply-adds are 1/G of the ungrouped convolution's. With ``bias`` (the 1x1
    convolutions of Squeeze-and-Excitation, Hu et al. 2018, which no batch norm follows) each
    output channel has one more parameter; its additions are not multiply-adds, and fvcore and
    flop_counter leave them out too.

        >>> fc1 = Conv(256, 16, (1, 1), (1, 1), (0, 0), bias=True)
        >>> fc1.params(), fc1.kept_params(), fc1.label()
        (4112, 4096, '1x1 conv, 16')
        >>> fc1.torch()
        'nn.Conv2d(256, 16, kernel_size=1, stride=1, padding=0, bias=True)'
    """

    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair
    padding: Pair
    groups: int = 1
    bias: bool = False
    kind: ClassVar[str] = "conv"
    counted: ClassVar[Counted] = "always"
    counts_in_depth: ClassVar[bool] = True
    shown: ClassVar[bool] = True
    counts_activations: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True  # for the weight gradient
    lowers: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        size = self.window(inputs[0])
        return None if size is None else (self.out_channels, *size)

    def params(self) -> int:
        return self.kept_params() + (self.out_channels if self.bias else 0)

    def kept_params(self) -> int:
        # the weight: the bias gradient (a sum of the output's gradient) never reads the bias
        return self.kernel[0] * self.kernel[1] * self.in_channels // self.groups * self.out_channels

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # The paper (Table 1), fvcore's conv_flop_count, flop_counter's conv_flop (which
        # doubles it): every output element is a dot product of kh*kw*C_in/groups terms
        # (the weight's shape, C_out x C_in/groups x kh x kw, is what fvcore and torch read).
        return self.kernel[0] * self.kernel[1] * self.in_channels // self.groups * math.prod(out)

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        if self.in_channels % self.groups or self.out_channels % self.groups:
            return (
                f"a conv of {self.groups} groups needs channels divisible by {self.groups}, "
                f"not {self.in_channels} -> {self.out_channels}"
            )
        return Window.problem(self, inputs, block)

    def label(self) -> str:
        grouped = f", {self.groups} groups" if self.groups != 1 else ""
        return (
            f"{self._kernel_text()} conv, {self.out_channels}{downsampling(self.stride)}{grouped}"
        )

    def table_entry(self, stride: bool = True) -> str:
        # ResNeXt's Table 1 writes a grouped convolution "3x3, 128, C=32".
        text = with_stride(f"{self._kernel_text()}, {self.out_channels}", self.stride, stride)
        return f"{text}, C={self.groups}" if self.groups != 1 else text

    def torch(self, classes: str = "num_classes") -> str:
        channels = f"{self.in_channels}, {self.out_channels}"
        grouped = f", groups={self.groups}" if self.groups != 1 else ""
        return f"nn.Conv2d({channels}, {self._torch_window()}{grouped}, bias={bool(self.bias)})"

    def module(self) -> str:
        # torchvision's conv3x3 and conv1x1 helpers, which the generated module defines; the
        # stride is written out before the groups even where it is 1, as the helper takes it.
        k = self.kernel[0]
        if self.kernel in ((1, 1), (3, 3)) and self.padding == (k // 2, k // 2) and not self.bias:
            args = [str(self.in_channels), str(self.out_channels)]
            if self.stride[0] != 1 or self.groups != 1:
                args.append(str(self.stride[0]))
            if self.groups != 1:
                args.append(str(self.groups))
            return f"conv{k}x{k}({', '.join(args)})"
        # otherwise nn.Conv2d with what differs from its defaults (a bias is one)
        written = [f"{self.in_channels}, {self.out_channels}, kernel_size={pair(self.kernel)}"]
        if self.stride != (1, 1):
            written.append(f"stride={pair(self.stride)}")
        if self.padding != (0, 0):
            written.append(f"padding={pair(self.padding)}")
        if self.groups != 1:
            written.append(f"groups={self.groups}")
        if not self.bias:
            written.append("bias=False")
        return f"nn.Conv2d({', '.join(written)})"


@dataclass(frozen=True, slots=True)
class BatchNorm(Op):
    """Batch normalisation (Ioffe & Szegedy 2015): gamma and beta per channel."""

    channels: int
    kind: ClassVar[str] = "bn"
    counted: ClassVar[Counted] = "bn"
    drawn: ClassVar[Drawn] = "folded"
    keeps_input: ClassVar[bool] = True

    def params(self) -> int:
        return 2 * self.channels

    def stats_saved(self) -> int:
        return 2 * self.channels  # the batch's mean and inverse std, fp32 even under autocast

    def buffer_bytes(self) -> int:
        return 4 * 2 * self.channels + 8  # running mean and var; num_batches_tracked (int64)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # ptflops/thop: x * a + b once folded, one multiply-add an element (fvcore says 2).
        return math.prod(out)

    def torch(self, classes: str = "num_classes") -> str:
        return f"nn.BatchNorm2d({self.channels})"


@dataclass(frozen=True, slots=True)
class ReLU(Op):
    """The rectifier, in place: autograd keeps its output (which overwrote the BN output)."""

    kind: ClassVar[str] = "relu"
    counted: ClassVar[Counted] = "relu"
    drawn: ClassVar[Drawn] = "folded"
    keeps_output: ClassVar[bool] = True
    in_place: ClassVar[bool] = True

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return math.prod(out)  # one comparison an element

    def torch(self, classes: str = "num_classes") -> str:
        return "nn.ReLU(inplace=True)"


@dataclass(frozen=True, slots=True)
class Dropout(Op):
    """Dropout (Srivastava et al. 2014) with probability ``p``: WRN puts it between a block's
    two convolutions (Zagoruyko & Komodakis 2016). At inference it is the identity."""

    p: float
    kind: ClassVar[str] = "dropout"
    drawn: ClassVar[Drawn] = "folded"

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        # One multiply an element while training; torch's counters and fvcore count none,
        # nor does any Convention flag (the identity at inference, where FLOPs are counted).
        return math.prod(out)

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        return math.prod(out)  # the mask, one element per output element

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        # CUDA's fused kernel keeps a bool mask; on the CPU torch draws the mask as a tensor of
        # the input's dtype and multiplies by it (measured: benchmarks/memory.py, wrn28_10).
        return 1 if kernels == "cuda" else itemsize

    def label(self) -> str:
        return f"dropout {self.p:g}"

    def torch(self, classes: str = "num_classes") -> str:
        return f"nn.Dropout(p={self.p!r})"


@dataclass(frozen=True, slots=True)
class Linear(Op):
    """The fully connected layer, to ``classes`` outputs; weight and bias."""

    in_features: int
    out_features: int
    kind: ClassVar[str] = "fc"
    counted: ClassVar[Counted] = "always"
    counts_in_depth: ClassVar[bool] = True
    shown: ClassVar[bool] = True
    counts_activations: ClassVar[bool] = True
    keeps_input: ClassVar[bool] = True
    flattens: ClassVar[bool] = True
    lowers: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (self.out_features,)

    def params(self) -> int:
        return self.in_features * self.out_features + self.out_features

    def kept_params(self) -> int:
        return self.in_features * self.out_features  # the bias gradient never reads the bias

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return self.in_features * self.out_features  # fvcore addmm; the bias add not counted

    def label(self) -> str:
        return f"fc {self.out_features}"

    def table_entry(self, stride: bool = True) -> str:
        return f"{self.out_features}-d fc"

    def torch(self, classes: str = "num_classes") -> str:
        return f"nn.Linear({self.in_features}, {classes})"


@dataclass(frozen=True, slots=True)
class Flatten(Op):
    """(C, 1, 1) to (C,): what follows a classifier written as a 1x1 convolution (timm's
    ``ClassifierHead(use_conv=True)``: BiT's head). A view: nothing allocated or kept, and
    its gradient is the output's, reshaped.

        >>> Flatten().shape([(1000, 1, 1)]), Flatten().torch()
        ((1000,), 'nn.Flatten(1)')
    """

    kind: ClassVar[str] = "flatten"
    drawn: ClassVar[Drawn] = "folded"
    view: ClassVar[bool] = True

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        return (math.prod(inputs[0]),)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0  # a view

    def grad_steps(self, inputs: Sequence[Shape], out: Shape) -> tuple[Shape, ...]:
        return ()  # the output's gradient, viewed as the input's shape

    def torch(self, classes: str = "num_classes") -> str:
        return "nn.Flatten(1)"


@dataclass(frozen=True, slots=True)
class ConstantPad(Op):
    """Zeros around the map, ``padding`` rows and columns a side (``nn.ConstantPad2d(p, 0.0)``):
    BiT's stem pads so before its unpadded max pool (a zero, not the -inf a max pool's own
    padding would be). A new tensor; nothing kept; its gradient is the output's, cropped (a
    new tensor of the input's shape).

        >>> pad = ConstantPad(1)
        >>> pad.shape([(64, 112, 112)]), pad.torch(), pad.label()
        ((64, 114, 114), 'nn.ConstantPad2d(1, 0.0)', 'zero pad 1')
    """

    padding: int
    kind: ClassVar[str] = "zeropad"
    drawn: ClassVar[Drawn] = "folded"

    def shape(self, inputs: Sequence[Shape]) -> Shape:
        c, h, w = inputs[0]
        return (c, h + 2 * self.padding, w + 2 * self.padding)

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        return 0  # zero-filling and a copy: no arithmetic

    def label(self) -> str:
        return f"zero pad {self.padding}"

    def torch(self, classes: str = "num_classes") -> str:
        return f"nn.ConstantPad2d({self.padding}, 0.0)"
