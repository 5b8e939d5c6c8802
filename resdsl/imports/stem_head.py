"""The stem and the head of an imported model, as the language writes them.

    >>> from resdsl import ops
    >>> from resdsl.imports.trace import Record
    >>> convs = [Record(1, ops.Conv(3, 16, (3, 3), (1, 1), (1, 1)), "conv1", "Conv2d", (0,), ""),
    ...          Record(2, ops.BatchNorm(16), "bn1", "BatchNorm2d", (1,), ""),
    ...          Record(3, ops.ReLU(), "relu", "ReLU", (2,), "")]
    >>> stem(convs, preact=False)
    [StemLayer(kind='conv', kernel=(3, 3), channels=16, stride=(1, 1), padding=(1, 1))]

In a stem, ``conv K, C`` is a convolution, its batch norm and its ReLU (the last
convolution's bare in a pre-activation network, whose first unit opens with them), and
``maxpool``/``avgpool`` a window; the head is the global average pool and one fc, after the
final BN and ReLU of pre-activation blocks (:mod:`resdsl.lang.sections`, which reads them from a
spec).
"""

from __future__ import annotations

from dataclasses import dataclass

from resdsl import ops
from resdsl.imports.trace import CannotExpress, Record, refuse
from resdsl.lang import syntax as s
from resdsl.lang.load import prelude

Pair = tuple[int, int]


@dataclass(frozen=True)
class StemLayer:
    """One line of a ``stem { ... }``: ``conv 7x7, 64, stride 2`` or ``maxpool 3x3, ...``."""

    kind: str  # conv, maxpool, avgpool
    kernel: Pair
    channels: int | None
    stride: Pair
    padding: Pair


def stem(records: list[Record], preact: bool) -> list[StemLayer]:
    """The stem's lines, read from the records before the first block."""
    layers: list[StemLayer] = []
    convs = [i for i, r in enumerate(records) if isinstance(r.op, ops.Conv)]
    i = 0
    while i < len(records):
        r, op = records[i], records[i].op
        if isinstance(op, ops.Conv):
            if op.groups != 1:
                raise refuse(r, "a grouped convolution in the stem")
            if not _writable(op):
                raise refuse(r, "a stride or padding that differs by axis")
            if op.bias:
                raise refuse(
                    r, "a stem convolution with a bias (the language's has none: BN follows)"
                )
            layers.append(StemLayer("conv", op.kernel, op.out_channels, op.stride, op.padding))
            bare = preact and i == convs[-1]
            expect = [] if bare else [ops.BatchNorm(op.out_channels), ops.ReLU()]
            for k, want in enumerate(expect, start=1):
                if i + k >= len(records) or records[i + k].op != want:
                    found = records[i + k] if i + k < len(records) else r
                    raise refuse(
                        found,
                        f"the stem's conv is followed by {want.kind} in the language",
                    )
            i += 1 + len(expect)
            continue
        if isinstance(op, ops.MaxPool | ops.AvgPool) and not getattr(op, "ceil_mode", False):
            if not _writable(op):
                raise refuse(r, "a stride or padding that differs by axis")
            layers.append(StemLayer(op.kind, op.kernel, None, op.stride, op.padding))
            i += 1
            continue
        if preact and isinstance(op, ops.BatchNorm | ops.ReLU):
            raise refuse(
                r,
                "a pre-activation network's stem ends at its last convolution (its first unit "
                f"opens with BN and ReLU); this one goes on with {op.kind}",
            )
        raise refuse(r, f"a stem {op.kind} the language does not write")
    return layers


def _writable(op: ops.Conv | ops.MaxPool | ops.AvgPool) -> bool:
    """Whether `stride S` and `padding P` (or its default, kernel // 2 each way) write it."""
    default = (op.kernel[0] // 2, op.kernel[1] // 2)
    return op.stride[0] == op.stride[1] and (
        op.padding == default or op.padding[0] == op.padding[1]
    )


def head(records: list[Record], preact: bool) -> int:
    """The classes of the head (pre-activation: BN and ReLU first; then the global pool, fc)."""
    expect: list[type] = [ops.BatchNorm, ops.ReLU] if preact else []
    expect += [ops.GlobalAvgPool, ops.Linear]
    for k, r in enumerate(records):
        if k >= len(expect) or not isinstance(r.op, expect[k]):
            raise refuse(r, _head_problem(r, expect[k] if k < len(expect) else None, preact))
    if len(records) < len(expect):
        where = records[-1] if records else None
        raise CannotExpress(
            where.path if where else "",
            where.type_name if where else "model",
            "the head lacks the global average pool or the fc",
        )
    if not records[-1].bias:
        raise refuse(records[-1], "an fc without a bias (the language's fc has one)")
    return records[-1].op.out_features  # type: ignore[union-attr]


_NAMES = {ops.GlobalAvgPool: "the global average pool", ops.AvgPool: "an average pool",
          ops.Linear: "the fc"}  # fmt: skip
_HEAD = (
    "the head is the global average pool then one fc (after pre-activation blocks: BN, ReLU, "
    "the pool, the fc)"
)


def _head_problem(r: Record, expected: type | None, preact: bool) -> str:
    """Why the head's record ``r`` is not the one the language has there."""
    op = r.op
    if expected is None:
        return f"a {op.kind} after the fc (the language's head ends with it)"
    if preact and expected is ops.BatchNorm:
        return (
            "after pre-activation units the language's head opens with BN and ReLU (He et al. "
            f"2016); this one goes on with {_NAMES.get(type(op), op.kind)}"
        )
    if isinstance(op, ops.AvgPool):
        shown = "x".join(map(str, r.shape))
        return (
            f"an average pool of {op.kernel[0]}x{op.kernel[1]} that leaves a {shown} map at "
            "this input size (the language's head pools the whole map; give the size the model "
            "was written for with --input)"
        )
    if isinstance(op, ops.Linear) and expected is ops.GlobalAvgPool:
        return (
            f"an fc of {op.in_features} features that no global average pool precedes (the "
            "language's head pools the map to 1x1, then one fc)"
        )
    if isinstance(op, ops.Dropout):
        return "dropout before the fc (the language's head is the global average pool, then one fc)"
    return _HEAD


def default_size(layers: list[StemLayer]) -> tuple[int, int]:
    """Without META or --input: CIFAR's 32x32 behind a stem that keeps the size, else 224."""
    strided = any(layer.stride != (1, 1) for layer in layers)
    return (224, 224) if strided else (32, 32)


def deep_stem(in_channels: int) -> tuple[StemLayer, ...]:
    """The prelude's ``stem deep`` as its layers."""
    (stem,) = (i for i in prelude().items if isinstance(i, s.StemDef) and i.name.text == "deep")
    layers = []
    for layer in stem.layers:
        kernel = tuple(part.value for part in layer.kernel.parts)  # type: ignore[union-attr]
        width = layer.channels.value if layer.channels is not None else None  # type: ignore[union-attr]
        stride = layer.stride.value if layer.stride is not None else 1  # type: ignore[union-attr]
        padding = (kernel[0] // 2, kernel[1] // 2)
        layers.append(StemLayer(layer.kind.text, kernel, width, (stride, stride), padding))  # type: ignore[arg-type]
    return tuple(layers)
