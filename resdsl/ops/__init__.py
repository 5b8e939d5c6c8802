"""The op table: one frozen dataclass per operation, and everything each one means.

    >>> conv = Conv(64, 128, kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    >>> conv.shape([(64, 56, 56)]), conv.params(), conv.label()
    ((128, 28, 28), 73728, '3x3 conv, 128, /2')
    >>> conv.macs([(64, 56, 56)], (128, 28, 28)), conv.table_entry()
    (57802752, '3x3, 128, stride 2')
    >>> conv.torch()
    'nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1, bias=False)'

NOTE: one place per operation. An op answers every question a pass asks of it: its output
shape (:mod:`resdsl.ir.lower`), what is wrong with its inputs (:mod:`resdsl.ir.validate`), its
parameters, multiply-adds, which counting convention counts it and what autograd keeps for
backward (:mod:`resdsl.ir.costs`), what it allocates, overwrites and frees in a training step
(:mod:`resdsl.memory`), its label as the paper's figures write it
(:mod:`resdsl.graph`), as Table 1 writes it (:mod:`resdsl.report.table1`), and its PyTorch
constructor (:mod:`resdsl.codegen`). Those passes ask; none of them branches on an op's kind.
It is pycls's builder beside its cost twin, made one object. Adding an operation is adding
one class (docs/architecture.md has the checklist):

    base.py      Op (what every op answers, with its defaults), InputGrad, the window helpers
    layers.py    Input, Conv (grouped, with bias too), BatchNorm, ReLU, Dropout, Linear, Flatten,
                 ConstantPad (a spatial zero padding)
    pools.py     MaxPool, AvgPool, GlobalAvgPool, BlurPool (anti-aliased downsampling)
    residual.py  ZeroPad (option A's shortcut), Add (y = F(x) + x), DropPath (stochastic depth)
    attention.py Sigmoid, Multiply, ChannelConv (SE's and ECA's channel attention)
    channels.py  ChannelSlice, Concat (Res2Net's split and join)
    norms.py     GroupNorm, StdConv (BiT's weight-standardised convolution), EvoNormS0,
                 FRN (normalisation-activation layers)
    helpers.py   the source of the helper classes some ops' PyTorch forms name

An op also says how generated code writes it: :meth:`Op.torch` (its module's constructor; a
helper class it names is ``Op.helper_source``), :meth:`Op.call` (applying that module),
:meth:`Op.inline` (an expression without a module) and, for several inputs, :meth:`Op.merge`.

Shapes are (C, H, W) per sample, or (features,) after the fc. Every figure is per sample.
"""

from __future__ import annotations

from resdsl.ops.attention import ChannelConv, Multiply, Sigmoid
from resdsl.ops.base import (
    Counted,
    Drawn,
    InputGrad,
    Op,
    Pair,
    Shape,
    Window,
    downsampling,
    pair,
    show,
    sliding,
)
from resdsl.ops.channels import ChannelSlice, Concat
from resdsl.ops.layers import BatchNorm, ConstantPad, Conv, Dropout, Flatten, Input, Linear, ReLU
from resdsl.ops.norms import FRN, EvoNormS0, GroupNorm, StdConv
from resdsl.ops.pools import AvgPool, BlurPool, GlobalAvgPool, MaxPool
from resdsl.ops.residual import Add, DropPath, ZeroPad

__all__ = [
    "FRN",
    "Add",
    "AvgPool",
    "BatchNorm",
    "BlurPool",
    "ChannelConv",
    "ChannelSlice",
    "Concat",
    "ConstantPad",
    "Conv",
    "Counted",
    "Drawn",
    "DropPath",
    "Dropout",
    "EvoNormS0",
    "Flatten",
    "GlobalAvgPool",
    "GroupNorm",
    "Input",
    "InputGrad",
    "Linear",
    "MaxPool",
    "Multiply",
    "Op",
    "Pair",
    "ReLU",
    "Shape",
    "Sigmoid",
    "StdConv",
    "Window",
    "ZeroPad",
    "downsampling",
    "pair",
    "show",
    "sliding",
]
