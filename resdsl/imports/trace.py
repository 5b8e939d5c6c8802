"""Tracing: a PyTorch model to a flat tuple of :class:`Record` values, one per operation.

    >>> from resdsl import ops
    >>> record = Record(1, ops.ReLU(), "layer1.0.relu", "ReLU", (0,), "layer1.0")
    >>> record.where()
    'layer1.0.relu (ReLU)'

``torch.fx.symbolic_trace`` runs the model's ``forward`` on proxies, so nothing is computed
and a model built on the meta device traces as well as a real one. Every leaf module of
``torch.nn`` becomes a ``call_module`` node and everything else (an addition, option A's
slicing and padding, a flatten) a ``call_function`` or ``call_method`` node; each node here
becomes a record holding the :mod:`resdsl.ops` op it is, so that matching compares ops with
ops. The record keeps the module path (``layer2.0.conv1``, or for a function the module
whose ``forward`` called it) and the block module it sits in (its ``owner``), so that a
refusal can name the first layer it could not place.

NOTE: what a record may be. Only what the language can write becomes an op: a conv without
bias or dilation, batch norm as PyTorch builds it by default, ReLU, max and average pools,
the global average pool, a linear layer with a bias, dropout, an addition and option A's
zero padding. Flatten and ``nn.Identity`` pass their input on (``op`` None). Anything else
is refused here, at its module path, before any matching is tried.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resdsl import ops
from resdsl.diagnostics import ResdslError

if TYPE_CHECKING:
    from torch import fx, nn


class CannotExpress(ResdslError):
    """A model the language cannot write: ``cannot express PATH (Type): reason``."""

    def __init__(self, path: str, type_name: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot express {path or '<model>'} ({type_name}): {reason}")


def refuse(record: Record, reason: str) -> CannotExpress:
    """The refusal at ``record``: its module path and type."""
    return CannotExpress(record.path, record.type_name, reason)


@dataclass(frozen=True)
class Record:
    """One operation of the traced model."""

    index: int
    op: ops.Op | None  # None: passes its input on (flatten, nn.Identity)
    path: str  # module path: layer2.0.conv1 (a function: the module that called it)
    type_name: str  # Conv2d, BasicBlock, ...
    inputs: tuple[int, ...]  # indices of the records it reads
    owner: str  # the block module it sits in ("" for the stem and head)
    stride: int = 1  # option A's subsampling, before its padding is seen (op None)

    def where(self) -> str:
        return f"{self.path or '<model>'} ({self.type_name})"


def trace(model: nn.Module) -> tuple[Record, ...]:
    """The model's operations in execution order (the placeholder first, as an Input of
    unknown size: ``ops.Input(channels, 0, 0)``, filled in by matching)."""
    import torch
    from torch import fx

    root = type(model).__name__
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as error:  # fx raises whatever the model's forward raises on proxies
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CannotExpress("", root, f"torch.fx cannot trace it: {message}") from None
    modules = dict(model.named_modules())
    records: list[Record] = []
    index: dict[fx.Node, int] = {}
    channels: list[int] = []  # each record's output channels (or features)
    result = None
    for node in graph.nodes:
        if node.op == "output":
            result = node
            break
        path, type_name = _where(node, modules, root)
        owner = _owner(node)
        inputs = tuple(index[a] for a in node.all_input_nodes)
        made = _record(node, modules, records, channels, inputs, path, type_name, torch)
        record = Record(len(records), made[0], path, type_name, inputs, owner, made[1])
        index[node] = len(records)
        records.append(record)
        channels.append(made[2])
    if result is None or not isinstance(result.args[0], type(node)) or len(records) < 2:
        raise CannotExpress("", root, "its forward does not return one tensor")
    last = index[result.args[0]]
    if last != len(records) - 1:
        raise CannotExpress(records[-1].path, records[-1].type_name, "its output is not used")
    return tuple(records)


def _where(node: fx.Node, modules: dict[str, Any], root: str) -> tuple[str, str]:
    if node.op == "call_module":
        return str(node.target), type(modules[str(node.target)]).__name__
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", root
    path, cls = list(stack.values())[-1]
    return str(path), getattr(cls, "__name__", str(cls))


def _owner(node: fx.Node) -> str:
    """The outermost module around the node that is not one of torch.nn's (a block class:
    BasicBlock, timm's Bottleneck), so option A's ZeroPadShortcut counts as its block's; ""
    where there is none (the stem and head)."""
    stack = node.meta.get("nn_module_stack") or {}
    for module_path, cls in stack.values():
        module = getattr(cls, "__module__", "")
        if module_path and not module.startswith("torch.nn"):
            return str(module_path)
    return ""


_SUBSAMPLE = "subsample"


def _record(node, modules, records, channels, inputs, path, type_name, torch):
    """(op or None, option A's stride, output channels) of one fx node; refuses the rest."""
    from torch import nn
    from torch.nn import functional as F

    def refuse(reason: str) -> CannotExpress:
        return CannotExpress(path, type_name, reason)

    first = channels[inputs[0]] if inputs else 0
    if node.op == "placeholder":
        if records:
            raise refuse(f"its forward takes more than one input ({node.target})")
        return ops.Input(0, 0, 0), 1, 0
    if node.op == "get_attr":
        raise refuse(f"it reads the tensor {node.target} in its forward")
    if node.op == "call_module":
        module = modules[str(node.target)]
        op = _module_op(module, nn, refuse)
        if isinstance(op, ops.Conv):
            return op, 1, op.out_channels
        if isinstance(op, ops.Linear):
            return op, 1, op.out_features
        return op, 1, first
    function = node.target
    name = getattr(function, "__name__", str(function))
    if node.op == "call_method":
        if name in ("flatten",) and tuple(node.args[1:]) in ((1,), ()) and not node.kwargs:
            return None, 1, first
        if name in ("relu", "relu_") and len(node.args) == 1:
            return ops.ReLU(), 1, first
        if name in ("add", "add_") and len(node.args) == 2 and len(inputs) == 2:
            return ops.Add(), 1, first
        raise refuse(f"the tensor method .{name}() has no place in the language")
    adds = (operator.add, operator.iadd, torch.add)
    if function in adds and len(inputs) == 2 and len(node.args) == 2 and not node.kwargs:
        return ops.Add(), 1, first
    if function is torch.flatten and tuple(node.args[1:]) == (1,) and not node.kwargs:
        return None, 1, first
    if function in (F.relu, torch.relu) and len(node.args) == 1:
        return ops.ReLU(), 1, first
    if function is F.adaptive_avg_pool2d and node.args[1:] in ((1,), ((1, 1),)):
        return ops.GlobalAvgPool(), 1, first
    if function is operator.getitem and len(inputs) == 1:
        stride = _subsample(node.args[1])
        if stride is not None:
            return None, stride, first
    if function is F.pad and len(inputs) == 1 and records[inputs[0]].stride > 1:
        extra = _channel_padding(node)
        if extra is not None:
            s = records[inputs[0]].stride
            source = records[inputs[0]].inputs[0]
            return ops.ZeroPad(channels[source], channels[source] + extra, (s, s)), 1, first + extra
    raise refuse(f"the function {name}() has no place in the language")


def _module_op(module, nn, refuse) -> ops.Op | None:
    """The op of a leaf module, or a refusal saying what the language lacks."""
    kind = type(module)
    if kind is nn.Conv2d:
        if module.dilation != (1, 1):
            raise refuse(f"a dilated convolution (dilation {module.dilation[0]})")
        if module.bias is not None:
            raise refuse("a convolution with a bias (the language's convolutions have none)")
        if isinstance(module.padding, str) or module.padding_mode != "zeros":
            raise refuse(f"padding {module.padding!r}, mode {module.padding_mode}")
        return ops.Conv(
            module.in_channels,
            module.out_channels,
            tuple(module.kernel_size),
            tuple(module.stride),
            tuple(module.padding),
            module.groups,
        )
    if kind is nn.BatchNorm2d:
        if not (module.affine and module.track_running_stats):
            raise refuse("batch norm without affine parameters or running statistics")
        if module.eps != 1e-5 or module.momentum != 0.1:
            raise refuse(f"batch norm with eps {module.eps}, momentum {module.momentum}")
        return ops.BatchNorm(module.num_features)
    if kind is nn.ReLU:
        return ops.ReLU()
    if kind is nn.MaxPool2d:
        if _pair(module.dilation) != (1, 1) or module.ceil_mode or module.return_indices:
            raise refuse("a max pool with dilation, ceil_mode or indices")
        return ops.MaxPool(_pair(module.kernel_size), _pair(module.stride), _pair(module.padding))
    if kind is nn.AvgPool2d:
        # The stem's average pool is PyTorch's default; ResNet-D's (ceil_mode) counts no
        # padding: what resdsl's generated code writes for each (AvgPool.torch).
        padded = _pair(module.padding) != (0, 0)
        if module.divisor_override is not None or (
            padded and module.count_include_pad == module.ceil_mode
        ):
            raise refuse("an average pool counting padding otherwise than resdsl writes it")
        return ops.AvgPool(
            _pair(module.kernel_size), _pair(module.stride), _pair(module.padding), module.ceil_mode
        )
    if kind is nn.AdaptiveAvgPool2d:
        if _pair(module.output_size) != (1, 1):
            raise refuse(f"an adaptive pool to {module.output_size} (the language's is global)")
        return ops.GlobalAvgPool()
    if kind is nn.Linear:
        if module.bias is None:
            raise refuse("an fc without a bias")
        return ops.Linear(module.in_features, module.out_features)
    if kind is nn.Dropout:
        return ops.Dropout(module.p)
    if kind is nn.Identity or (
        kind is nn.Flatten and (module.start_dim, module.end_dim) == (1, -1)
    ):
        return None
    raise refuse("a module type the language has no word for")


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def _subsample(index: Any) -> int | None:
    """The stride of option A's ``x[:, :, ::s, ::s]``, or None for any other indexing."""
    if not isinstance(index, tuple) or len(index) != 4:
        return None
    full = slice(None, None, None)
    if index[0] != full or index[1] != full:
        return None
    strides = {(s.start, s.stop, s.step) for s in index[2:] if isinstance(s, slice)}
    if len(strides) != 1:
        return None
    ((start, stop, step),) = strides
    return step if start is None and stop is None and isinstance(step, int) else None


def _channel_padding(node: fx.Node) -> int | None:
    """The zero channels ``F.pad(x, (0, 0, 0, 0, 0, extra))`` appends, or None."""
    pad = node.args[1] if len(node.args) > 1 else node.kwargs.get("pad")
    mode = node.kwargs.get("mode", node.args[2] if len(node.args) > 2 else "constant")
    value = node.kwargs.get("value", node.args[3] if len(node.args) > 3 else None)
    if mode != "constant" or value not in (None, 0, 0.0):
        return None
    if not isinstance(pad, tuple | list) or tuple(pad[:5]) != (0, 0, 0, 0, 0) or len(pad) != 6:
        return None
    return pad[5] if isinstance(pad[5], int) and pad[5] > 0 else None
