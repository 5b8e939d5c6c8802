"""What a function or tensor method a forward calls is as an op of the language.

    >>> read("mean", [(64, 8, 8)], {"dim": (2, 3), "keepdim": True}, (64, 1, 1))
    Read(op=GlobalAvgPool(), stride=0, extra=0)
    >>> read("view", [(64, 1, 1)], {}, (64,))   # x.view(x.size(0), -1): passes it on
    Read(op=None, stride=0, extra=0)
    >>> read("pad", [(16, 16, 16)], {"pad": (0, 0, 0, 0, 8, 8)}, (32, 16, 16))
    Traceback (most recent call last):
    ...
    resdsl.imports.modules.Unreadable: option A's zero channels on both sides (8 before ...

torch.fx records a call of ``torch.*``, ``torch.nn.functional.*`` or a tensor method as one
node; each is read here by its name and its arguments, bound by the function's parameter
names (:data:`SIGNATURES`) with every size already a number (the model has run at the spec's
input, so ``out.size(2)`` is 8). ``shapes`` are the tensor inputs' and ``out`` the result's
shapes without the batch axis. Reshapes that only change how a vector or a 1x1 map is viewed
(``view``, ``reshape``, ``flatten``, ``squeeze``, ``expand_as`` ...) pass their input on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resdsl import ops
from resdsl.imports.modules import Shape, Unreadable, adaptive_pool, avg_pool, max_pool


@dataclass(frozen=True)
class Read:
    """A node read: its op (None: passes its first tensor input on); ``stride`` > 0 marks
    option A's ``x[:, :, ::s, ::s]``; ``extra`` the zero channels its padding appends."""

    op: ops.Op | None
    stride: int = 0
    extra: int = 0


# Each function's parameters after its input, in order, as PyTorch names them.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "avg_pool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "adaptive_avg_pool2d": ("output_size",),
    "mean": ("dim", "keepdim"),
    "pad": ("pad", "mode", "value"),
    "dropout": ("p", "training", "inplace"),
    "relu": ("inplace",),
    "flatten": ("start_dim", "end_dim"),
    "add": ("other",),
    "mul": ("other",),
}  # fmt: skip
_ALIASES = {
    "iadd": "add", "add_": "add", "__add__": "add", "__iadd__": "add", "__radd__": "add",
    "imul": "mul", "mul_": "mul", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul",
    "relu_": "relu", "sigmoid_": "sigmoid", "_max_pool2d": "max_pool2d",
    "max_pool2d_with_indices": "max_pool2d", "concat": "cat", "concatenate": "cat",
}  # fmt: skip
# Reshapes: they move no value, so they pass their input on where the language's ops read
# the same numbers (checked by _reshaped).
RESHAPES = frozenset({
    "view", "reshape", "flatten", "squeeze", "unsqueeze", "expand_as", "expand",
    "contiguous", "view_as", "reshape_as", "clone",
})  # fmt: skip


def canonical(name: str) -> str:
    return _ALIASES.get(name, name)


def read(name: str, shapes: list[Shape], args: dict[str, Any], out: Shape) -> Read:
    """The op of a call of ``name`` on tensors of ``shapes`` (``args``: its other arguments,
    by parameter name)."""
    name = canonical(name)
    if name in RESHAPES:
        _reshaped(name, shapes[0], out)
        return Read(None)
    if name in ("add", "mul"):
        if len(shapes) != 2:
            what = "adds" if name == "add" else "scales by"
            raise Unreadable(f"{what} a constant (the language's {name} merges two maps)")
        if name == "add" and args.get("alpha", 1) != 1:
            raise Unreadable("an addition with alpha")
        return Read(ops.Add() if name == "add" else ops.Multiply())
    if name == "relu":
        return Read(ops.ReLU())
    if name == "sigmoid":
        return Read(ops.Sigmoid())
    if name == "mean":
        return Read(_mean(shapes[0], args))
    if name == "adaptive_avg_pool2d":
        return Read(adaptive_pool(args.get("output_size")))
    if name == "avg_pool2d":
        return Read(avg_pool(args.get("kernel_size"), args.get("stride"), args.get("padding", 0),
                             args.get("ceil_mode", False), args.get("count_include_pad", True),
                             args.get("divisor_override"), shapes[0]))  # fmt: skip
    if name == "max_pool2d":
        return Read(max_pool(args.get("kernel_size"), args.get("stride"), args.get("padding", 0),
                             args.get("dilation", 1), args.get("ceil_mode", False),
                             args.get("return_indices", False)))  # fmt: skip
    if name == "dropout":
        p = args.get("p", 0.5)
        return Read(ops.Dropout(float(p)) if args.get("training", True) and p else None)
    if name == "pad":
        return Read(None, extra=_channel_padding(args))
    if name == "cat":
        raise Unreadable(
            "a concatenation (the language's `concat` merges a block definition's branches, "
            "which the import does not write)"
        )
    raise Unreadable(f"{name}() has no word in the language")


def _mean(shape: Shape, args: dict[str, Any]) -> ops.GlobalAvgPool:
    dims = args.get("dim")
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    axes = {d % 4 for d in dims} if len(shape) == 3 else set()
    if axes != {2, 3}:
        raise Unreadable(f"a mean over axes {dims} (the language's pool averages height and width)")
    return ops.GlobalAvgPool()


def _squeezed(shape: Shape) -> Shape:
    return tuple(d for d in shape if d != 1)


def _reshaped(name: str, source: Shape, out: Shape) -> None:
    """Refuse a reshape the language's ops would not read the same: one that changes how a
    map's height and width are laid out, rather than viewing a vector or a 1x1 map otherwise
    (``(C, 1, 1)`` as ``(C,)`` or ``(1, C)``), flattening to a vector, or broadcasting a
    ``(C, 1, 1)`` scale over a map."""
    if out == source or _squeezed(out) == _squeezed(source) or len(out) == 1:
        return
    broadcast = len(out) == len(source) and all(
        s in (1, o) for s, o in zip(source, out, strict=False)
    )
    if name in ("expand", "expand_as") and broadcast:
        return
    shown = "x".join(map(str, source)), "x".join(map(str, out))
    raise Unreadable(f"a .{name}() of a {shown[0]} map to {shown[1]} (no word in the language)")


def subsample(index: Any) -> int | None:
    """The stride of option A's ``x[:, :, ::s, ::s]``, or None for any other indexing.

    >>> full = slice(None)
    >>> subsample((full, full, slice(None, None, 2), slice(None, None, 2)))
    2
    """
    if not isinstance(index, tuple) or len(index) != 4:
        return None
    full = slice(None, None, None)
    if index[0] != full or index[1] != full:
        return None
    strides = {(s.start, s.stop, s.step) for s in index[2:] if isinstance(s, slice)}
    if len(strides) != 1 or not all(isinstance(s, slice) for s in index[2:]):
        return None
    ((start, stop, step),) = strides
    if start is None and stop is None:
        return 1 if step is None else step if isinstance(step, int) and step > 0 else None
    return None


def _channel_padding(args: dict[str, Any]) -> int:
    """The zero channels ``F.pad(x, (0, 0, 0, 0, 0, extra))`` appends; a refusal for any
    other padding, saying what the language would need."""
    pad = args.get("pad")
    mode, value = args.get("mode", "constant"), args.get("value")
    if mode != "constant" or value not in (None, 0, 0.0):
        what = f"mode {mode!r}" if mode != "constant" else f"the value {value}"
        raise Unreadable(f"padding with {what} (the language's ops pad with zeros)")
    pad = tuple(pad) if isinstance(pad, tuple | list) else ()
    if len(pad) != 6 or any(p != 0 for p in pad[:4]):
        raise Unreadable(
            f"padding {pad} pads the map's height or width (the language pads channels only, "
            "for option A's shortcut)"
        )
    before, after = pad[4], pad[5]
    if before < 0 or after < 0:
        raise Unreadable(f"padding {pad} crops channels")
    if before > 0:
        raise Unreadable(
            f"option A's zero channels on both sides ({before} before the input's channels, "
            f"{after} after): the language's `pad` appends them after; it cannot say where the "
            f"zeros go (it would need a `pad` option placing them, such as `before {before}`)"
        )
    return after
