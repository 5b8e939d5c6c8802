"""What each leaf module of ``torch.nn`` is as an op of the language, or why it is none.

    >>> from torch import nn
    >>> module_op(nn.Conv2d(64, 16, 1), (64, 1, 1)).label()   # with a bias: SE's
    '1x1 conv, 16'
    >>> module_op(nn.AvgPool2d(4), (64, 4, 4))   # covers the whole map: the global pool
    GlobalAvgPool()
    >>> module_op(nn.Conv2d(64, 64, 3, padding=2, dilation=2), (64, 8, 8))
    Traceback (most recent call last):
    ...
    resdsl.imports.modules.Unreadable: a dilated convolution (dilation 2): the language's ...

A module is read at the size its input has when the model runs at the spec's input
(``shape``: channels, height, width), so that a window covering the whole map (CIFAR
ResNets' ``nn.AvgPool2d(8)`` on an 8x8 map) is the global pool it is at that size.
:class:`Unreadable` carries the reason in the language's terms; the tracer adds where.
"""

from __future__ import annotations

from typing import Any

from resdsl import ops

Shape = tuple[int, ...]


class Unreadable(ValueError):
    """Why a module or function is no op of the language (the caller says where)."""


_LEAVES = (
    "Conv2d", "Conv1d", "BatchNorm2d", "ReLU", "Sigmoid", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "Linear", "Dropout", "Identity", "Flatten", "GroupNorm",
    "ConstantPad2d",
)  # fmt: skip


def torch_kind(module: Any) -> type | None:
    """The ``torch.nn`` layer a module is: its class, or the one a subclass of the user's
    takes its ``forward`` from (``class Conv(nn.Conv2d)`` setting defaults), else None.

    >>> from torch import nn
    >>> class Conv(nn.Conv2d):
    ...     pass
    >>> torch_kind(Conv(3, 8, 3)) is nn.Conv2d, torch_kind(nn.GELU())
    (True, None)
    """
    from torch import nn

    for name in _LEAVES:
        base = getattr(nn, name)
        if isinstance(module, base) and type(module).forward is base.forward:
            return base
    return None


# timm's norm-and-activation layers (timm.layers.norm_act): a norm of torch.nn subclassed, its
# forward the norm's own function, then ``drop`` (nn.Identity unless a drop block is asked
# for), then ``act``. They are read as the two layers they compute, the norm then the ReLU;
# the class name, with the two children, is what says the forward is timm's.
_NORM_ACTS = {"BatchNormAct2d": "BatchNorm2d", "GroupNormAct": "GroupNorm"}


def norm_act(module: Any) -> tuple[type, Any] | None:
    """The ``torch.nn`` norm a timm norm-act layer subclasses and its activation module (a
    ReLU or nn.Identity), or None for any other module.

    >>> from torch import nn
    >>> class BatchNormAct2d(nn.BatchNorm2d):
    ...     def __init__(self, channels):
    ...         super().__init__(channels)
    ...         self.drop, self.act = nn.Identity(), nn.ReLU(inplace=True)
    ...     def forward(self, x):
    ...         return self.act(self.drop(super().forward(x)))
    >>> norm_act(BatchNormAct2d(8))[0] is nn.BatchNorm2d, norm_act(nn.BatchNorm2d(8))
    (True, None)
    """
    from torch import nn

    base = getattr(nn, _NORM_ACTS.get(type(module).__name__, ""), None)
    if base is None or not isinstance(module, base) or type(module).forward is base.forward:
        return None
    children = dict(module.named_children())
    if set(children) != {"act", "drop"} or type(children["drop"]) is not nn.Identity:
        return None
    return base, children["act"]


def norm_act_ops(module: Any, shape: Shape) -> tuple[ops.Op, ops.Op | None]:
    """A timm norm-act layer as its norm's op, then its activation's (None: nn.Identity)."""
    from torch import nn

    base, act = norm_act(module)
    norm = _norm(module, base)
    if type(act) is nn.Identity:
        return norm, None
    if type(act) is not nn.ReLU:
        raise Unreadable(
            f"a norm followed by {type(act).__name__} (the import reads norm-act layers "
            "whose activation is a ReLU)"
        )
    return norm, ops.ReLU()


def _norm(module: Any, kind: type) -> ops.Op:
    from torch import nn

    if kind is nn.GroupNorm:
        if not module.affine or module.eps != 1e-5:
            raise Unreadable(
                f"a group norm with eps {module.eps:g} or without affine parameters (the "
                "language's `gn` is PyTorch's default, eps 1e-05, affine)"
            )
        return ops.GroupNorm(module.num_groups, module.num_channels)
    if not (module.affine and module.track_running_stats):
        raise Unreadable("batch norm without affine parameters or running statistics")
    if module.eps != 1e-5 or module.momentum != 0.1:
        raise Unreadable(
            f"batch norm with eps {module.eps:g}, momentum {module.momentum} (the "
            "language's `bn` is PyTorch's default, eps 1e-05, momentum 0.1)"
        )
    return ops.BatchNorm(module.num_features)


# timm's normalisation-activation layers that are one op of the language each: EvoNorm-S0
# (``evonorm_s0``) and filter response normalisation with its TLU (``frn``). As for the
# norm-act layers, the class name with timm's attributes says the forward is timm's.
_OWN_NORMS = {"EvoNorm2dS0": "v", "FilterResponseNormTlu2d": "tau"}


def own_norm(module: Any) -> bool:
    """Whether a module is timm's ``EvoNorm2dS0`` or ``FilterResponseNormTlu2d``."""
    extra = _OWN_NORMS.get(type(module).__name__)
    return extra is not None and all(
        hasattr(module, name) for name in ("weight", "bias", "eps", "apply_act", extra)
    )


def _own_norm_op(module: Any) -> ops.Op:
    name = type(module).__name__
    if not module.apply_act or module.eps != 1e-5 or not getattr(module, "rms", True):
        raise Unreadable(
            f"a {name} without its activation, with eps {module.eps:g} or without rms (the "
            "language's is timm's default: its activation, eps 1e-05)"
        )
    channels = module.weight.shape[0]
    if name == "EvoNorm2dS0":
        return ops.EvoNormS0(module.groups, channels)
    return ops.FRN(channels)


def std_conv(module: Any) -> bool:
    """Whether a module is timm's ``StdConv2d``: an ``nn.Conv2d`` whose forward standardises
    its weight (each output channel to zero mean and unit variance, ``eps`` added to the
    variance) before the convolution. Its record holds the plain convolution, which matching
    reads, and says it is standardised (``Record.standardised``), which verifying and the
    spec's text read: the language's ``stdconv``."""
    from torch import nn

    return (
        type(module).__name__ == "StdConv2d"
        and isinstance(module, nn.Conv2d)
        and type(module).forward is not nn.Conv2d.forward
        and isinstance(getattr(module, "eps", None), float)
    )


def module_op(module: Any, shape: Shape) -> ops.Op | None:
    """The op of a leaf module reading a map of ``shape`` (None: passes its input on)."""
    from torch import nn

    if norm_act(module) is not None:  # its ReLU: a record of its own (trace._act)
        return norm_act_ops(module, shape)[0]
    if own_norm(module):
        return _own_norm_op(module)
    if std_conv(module):
        if module.eps != 1e-8:
            raise Unreadable(
                f"a weight-standardised convolution with eps {module.eps:g} (the language's "
                "`stdconv` is BiT's, eps 1e-08)"
            )
        return _conv(module)
    kind = torch_kind(module) or type(module)
    if kind is nn.Conv2d:
        return _conv(module)
    if kind is nn.ConstantPad2d:
        return _constant_pad(module)
    if kind is nn.Conv1d:
        return _channel_conv(module)
    if kind is nn.BatchNorm2d or kind is nn.GroupNorm:
        return _norm(module, kind)
    if kind is nn.ReLU:
        return ops.ReLU()
    if kind is nn.Sigmoid:
        return ops.Sigmoid()
    if kind is nn.MaxPool2d:
        return max_pool(module.kernel_size, module.stride, module.padding, module.dilation,
                        module.ceil_mode, module.return_indices)  # fmt: skip
    if kind is nn.AvgPool2d:
        return avg_pool(module.kernel_size, module.stride, module.padding, module.ceil_mode,
                        module.count_include_pad, module.divisor_override, shape)  # fmt: skip
    if kind is nn.AdaptiveAvgPool2d:
        return adaptive_pool(module.output_size)
    if kind is nn.Linear:
        return ops.Linear(module.in_features, module.out_features)
    if kind is nn.Dropout:  # of p 0 (timm's head's default): the identity, as reshapes are
        return ops.Dropout(module.p) if module.p else None
    if kind is nn.Identity or (
        kind is nn.Flatten and (module.start_dim, module.end_dim) == (1, -1)
    ):
        return None
    raise Unreadable(f"a module type the language has no word for ({type(module).__name__})")


def _conv(module: Any) -> ops.Conv:
    if module.dilation != (1, 1):
        raise Unreadable(
            f"a dilated convolution (dilation {module.dilation[0]}): the language's "
            "convolutions are not dilated (it would need a `dilation` option on conv, and a "
            "stage that dilates in place of its stride, as torchvision's "
            "replace_stride_with_dilation)"
        )
    if module.padding_mode != "zeros":
        raise Unreadable(
            f"a convolution padding with {module.padding_mode!r} (the language pads zeros)"
        )
    padding = module.padding
    if isinstance(padding, str):  # "same" at stride 1 (odd kernels) or "valid"
        kernel = module.kernel_size
        if padding == "valid":
            padding = (0, 0)
        elif all(k % 2 for k in kernel):
            padding = (kernel[0] // 2, kernel[1] // 2)
        else:
            raise Unreadable(f"padding 'same' with an even kernel {kernel[0]}x{kernel[1]}")
    return ops.Conv(
        module.in_channels,
        module.out_channels,
        tuple(module.kernel_size),
        tuple(module.stride),
        tuple(padding),
        module.groups,
        module.bias is not None,
    )


def _constant_pad(module: Any) -> ops.ConstantPad:
    """Zeros around the map, as many a side (BiT's stem: ``nn.ConstantPad2d(1, 0.)``)."""
    padding = module.padding
    if module.value != 0 or len(set(padding)) != 1:
        raise Unreadable(
            f"a constant padding of {module.value:g}, {tuple(padding)} (the language's "
            "`zeropad` puts zeros, as many on each side)"
        )
    return ops.ConstantPad(padding[0])


def _channel_conv(module: Any) -> ops.ChannelConv:
    """ECA's 1-d convolution across channels (one filter, zero padding (k - 1) // 2)."""
    (k,) = module.kernel_size
    if (
        (module.in_channels, module.out_channels, module.groups) != (1, 1, 1)
        or module.bias is not None
        or module.stride != (1,)
        or module.dilation != (1,)
        or module.padding != ((k - 1) // 2,)
        or module.padding_mode != "zeros"
        or k % 2 == 0
    ):
        raise Unreadable(
            "a 1-d convolution other than ECA's (one odd filter across the channels, no bias, "
            "zero padding (k - 1) // 2)"
        )
    return ops.ChannelConv(k)


def pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def max_pool(kernel, stride, padding, dilation, ceil_mode, indices) -> ops.MaxPool:
    if pair(dilation) != (1, 1) or indices:
        raise Unreadable("a max pool with dilation or indices")
    if ceil_mode:
        raise Unreadable(
            "a max pool with ceil_mode (the language's maxpool rounds down; it would need a "
            "`ceil` option on maxpool, as avgpool has)"
        )
    stride = kernel if stride is None or stride == [] or stride == () else stride
    return ops.MaxPool(pair(kernel), pair(stride), pair(padding))


def avg_pool(kernel, stride, padding, ceil_mode, include_pad, divisor, shape: Shape) -> ops.Op:
    """An average pool; the global pool where its one window covers the whole map."""
    kernel, padding = pair(kernel), pair(padding)
    stride = kernel if stride is None or stride == [] or stride == () else pair(stride)
    if divisor is not None:
        raise Unreadable("an average pool with divisor_override")
    if len(shape) == 3 and kernel == tuple(shape[1:]) and padding == (0, 0):
        return ops.GlobalAvgPool()
    # The stem's average pool is PyTorch's default; ResNet-D's (ceil_mode) counts no
    # padding: what resdsl's generated code writes for each (AvgPool.torch).
    if padding != (0, 0) and include_pad == ceil_mode:
        raise Unreadable("an average pool counting padding otherwise than resdsl writes it")
    return ops.AvgPool(kernel, stride, padding, bool(ceil_mode))


def adaptive_pool(size: Any) -> ops.GlobalAvgPool:
    if size not in (1, (1, 1), [1, 1], (1,), [1]):
        raise Unreadable(f"an adaptive pool to {size} (the language's is global, to 1x1)")
    return ops.GlobalAvgPool()
