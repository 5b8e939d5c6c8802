"""The words a block definition writes its layers in, and the op each one makes.

    >>> conv = LAYERS["conv"].build(LayerArgs(64, (3, 3), 128, {"stride": 2}))
    >>> conv.label(), conv.padding
    ('3x3 conv, 128, /2', (1, 1))
    >>> LAYERS["avgpool"].build(LayerArgs(256, None, None, {})).kind
    'avgpool'

A layer of a definition is ``[label:] WORD [size] [, number] [, option ...]``: ``conv 3x3,
planes, stride stride, groups groups``, ``bn``, ``relu``, ``dropout, p``, ``avgpool 2x2, stride
2, ceil``. The op itself (its shape, cost, memory and PyTorch form) is the op table's
(:mod:`resdsl.ops`); this table says only how the language spells it: which word, whether it
takes a size, what its number means, which named options it takes, and how those values
become the op's fields. Adding an op to the language is one class in ``ops/`` and one entry
here (docs/architecture.md).

Sizes in a definition pad as PyTorch's "same" convolutions do, ``(k - 1) // 2`` (1 for a 3x3,
0 for a 1x1 or a 2x2 window), unless ``padding`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from resdsl import ops

Size = tuple[int, ...]
# What a layer's values evaluate to: a whole number, a fraction (dropout), a size (3x3), or
# a flag that is present (bias, ceil).
Number = int | float | Size | bool


class LayerError(ValueError):
    """A value a layer cannot take, in the user's words (the caller says where)."""


@dataclass(frozen=True)
class LayerArgs:
    """One layer's values, evaluated: the channels it reads, its size, its number, its options."""

    channels: int
    size: tuple[int, int] | None
    number: Number | None
    options: Mapping[str, Number]
    # Codegen builds each op with its varying values as Python source (`planes`, `stride`);
    # those pass through unchecked, the elaborated ops having been checked.
    symbolic: bool = False


@dataclass(frozen=True)
class LayerKind:
    """How the language spells one op."""

    build: Callable[[LayerArgs], ops.Op]
    size: str | None = None  # what its size is ("a kernel", "a window"), None if it takes none
    number: str | None = None  # what its number is ("its width"), None if it takes none
    options: frozenset[str] = frozenset()  # the named options and flags it takes
    norm: bool = False  # a normalisation: a block that opens with one is pre-activated
    example: str = ""  # how a layer of it is written, for messages

    @property
    def widens(self) -> bool:
        """Whether its number is the width it makes (else it keeps its input's channels)."""
        return self.number is not None and "width" in self.number


def _int(value: Number | None, what: str, minimum: int = 1) -> int:
    if isinstance(value, str):  # source, from codegen
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayerError(f"{what} must be a whole number, not {_show(value)}")
    if value < minimum:
        raise LayerError(f"{what} must be at least {minimum}, not {value}")
    return value


def _show(value: Number | None) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pair(value: int) -> tuple[int, int]:
    return (value, value)


def _same(size: tuple[int, int], args: LayerArgs) -> tuple[int, int]:
    """The padding: written, or PyTorch's "same" for an odd size."""
    if "padding" in args.options:
        return _pair(_int(args.options["padding"], "padding", 0))
    return ((size[0] - 1) // 2, (size[1] - 1) // 2)


def _stride(args: LayerArgs) -> tuple[int, int]:
    return _pair(_int(args.options.get("stride", 1), "a stride"))


def _conv_fields(args: LayerArgs, what: str) -> tuple:
    size = _window(args, f"a {what} kernel") or (1, 1)
    width = _int(args.number, f"a {what}'s width")
    groups = _int(args.options.get("groups", 1), "groups")
    if not args.symbolic and (args.channels % groups or width % groups):
        raise LayerError(
            f"a {what} of {groups} groups needs channels divisible by {groups}, "
            f"not {args.channels} -> {width}"
        )
    bias = bool(args.options.get("bias", False))
    return (args.channels, width, size, _stride(args), _same(size, args), groups, bias)


def _conv(args: LayerArgs) -> ops.Op:
    return ops.Conv(*_conv_fields(args, "conv"))


def _stdconv(args: LayerArgs) -> ops.Op:
    return ops.StdConv(*_conv_fields(args, "stdconv"))


def _conv1d(args: LayerArgs) -> ops.Op:
    k = _int(args.number, "a 1-d conv's size")
    if not args.symbolic and k % 2 == 0:
        raise LayerError(f"a 1-d conv across channels needs an odd size, not {k}")
    return ops.ChannelConv(k)


def _groupnorm(args: LayerArgs) -> ops.Op:
    groups = _int(args.number, "a group norm's groups")
    if not args.symbolic and args.channels % groups:
        raise LayerError(
            f"a group norm of {groups} groups needs channels divisible by {groups}, "
            f"not {args.channels}"
        )
    return ops.GroupNorm(groups, args.channels)


def _evonorm(args: LayerArgs) -> ops.Op:
    groups = _int(args.number, "an EvoNorm's groups")
    if not args.symbolic and args.channels % groups:
        raise LayerError(
            f"an EvoNorm of {groups} groups needs channels divisible by {groups}, "
            f"not {args.channels}"
        )
    return ops.EvoNormS0(groups, args.channels)


def _blurpool(args: LayerArgs) -> ops.Op:
    size = _window(args, "a blur pool's filter") or (3, 3)
    if size[0] != size[1]:
        raise LayerError("a blur pool's filter is square, like 3x3")
    return ops.BlurPool(args.channels, size[0], _int(args.options.get("stride", 2), "a stride"))


def _probability(args: LayerArgs) -> float:
    value = args.number
    if args.symbolic:
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise LayerError(f"a probability is a number from 0 to below 1, not {_show(value)}")
    return float(value)


def _window(args: LayerArgs, what: str) -> tuple[int, int] | None:
    if args.size is not None and len(args.size) != 2:
        raise LayerError(f"{what} is written as height x width, like 3x3")
    return args.size


def _avgpool(args: LayerArgs) -> ops.Op:
    size = _window(args, "an avgpool window")
    if size is None:  # global: (C, H, W) -> (C, 1, 1)
        return ops.GlobalAvgPool()
    ceil = bool(args.options.get("ceil", False))
    return ops.AvgPool(size, _stride(args), _same(size, args), ceil_mode=ceil)


def _maxpool(args: LayerArgs) -> ops.Op:
    size = _window(args, "a maxpool window")
    if size is None:
        raise LayerError("maxpool needs a window, like `maxpool 3x3, stride 2`")
    ceil = bool(args.options.get("ceil", False))
    return ops.MaxPool(size, _stride(args), _same(size, args), ceil_mode=ceil)


def _pad(args: LayerArgs) -> ops.Op:
    width = _int(args.number, "the padded width")
    return ops.ZeroPad(args.channels, width, _stride(args))


LAYERS: dict[str, LayerKind] = {
    "conv": LayerKind(
        _conv,
        size="a kernel",
        number="its width (output channels)",
        options=frozenset({"stride", "padding", "groups", "bias"}),
        example="conv 3x3, planes, stride stride",
    ),
    # BiT's weight-standardised convolution (Qiao et al. 2019; timm's StdConv2d)
    "stdconv": LayerKind(
        _stdconv,
        size="a kernel",
        number="its width (output channels)",
        options=frozenset({"stride", "padding", "groups", "bias"}),
        example="stdconv 3x3, planes, stride stride",
    ),
    # ECA's 1-d convolution across a pooled map's channels (Wang et al. 2020)
    "conv1d": LayerKind(_conv1d, number="its size", example="conv1d, 5"),
    "sigmoid": LayerKind(lambda args: ops.Sigmoid()),
    "gn": LayerKind(_groupnorm, number="its groups", norm=True, example="gn, 32"),
    # anti-aliased downsampling (Zhang 2019; timm's BlurPool2d)
    "blurpool": LayerKind(
        _blurpool, size="a filter", options=frozenset({"stride"}), example="blurpool 3x3, stride 2"
    ),
    # stochastic depth (Huang et al. 2016) on a residual branch
    "droppath": LayerKind(
        lambda args: ops.DropPath(_probability(args)),
        number="its probability",
        example="droppath, 0.1",
    ),
    "bn": LayerKind(lambda args: ops.BatchNorm(args.channels), norm=True),
    # normalisation and activation in one layer: EvoNorm-S0 (Liu et al. 2020; timm's
    # EvoNorm2dS0) and filter response normalisation with its TLU (Singh & Krishnan 2020)
    "evonorm_s0": LayerKind(_evonorm, number="its groups", norm=True, example="evonorm_s0, 32"),
    "frn": LayerKind(lambda args: ops.FRN(args.channels), norm=True),
    # (C, 1, 1) to (C,), after a classifier written as a 1x1 convolution (BiT's head)
    "flatten": LayerKind(lambda args: ops.Flatten()),
    # zeros around the map, its number of rows and columns a side (BiT's stem)
    "zeropad": LayerKind(
        lambda args: ops.ConstantPad(_int(args.number, "a zero padding", 0)),
        number="its rows and columns a side",
        example="zeropad, 1",
    ),
    "relu": LayerKind(lambda args: ops.ReLU()),
    "dropout": LayerKind(
        lambda args: ops.Dropout(_probability(args)),
        number="its probability",
        example="dropout 0.3",
    ),
    "avgpool": LayerKind(
        _avgpool, size="a window", options=frozenset({"stride", "padding", "ceil"})
    ),
    "maxpool": LayerKind(
        _maxpool, size="a window", options=frozenset({"stride", "padding", "ceil"})
    ),
    # Option A of He et al. 2015: subsample by the stride, append zero channels.
    "pad": LayerKind(
        _pad,
        number="its width (output channels)",
        options=frozenset({"stride"}),
        example="pad, out_planes, stride stride",
    ),
}


def words() -> list[str]:
    """Every layer word, for messages and completion."""
    return sorted(LAYERS)


# The parameters of a block that its use sets block by block; every other one is the same in
# every block of a network. `channels` is what the block reads, `planes` and `stride` what a
# stage gives it (its width; its stride on the first block, 1 on the rest), `out_planes` what
# a shortcut must make.
PER_BLOCK = frozenset({"channels", "planes", "stride", "out_planes"})
