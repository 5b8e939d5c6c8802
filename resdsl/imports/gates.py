"""Channel gates in a traced model: squeeze-and-excitation and ECA, found along the dataflow.

    >>> from resdsl import ops
    >>> def at(i, op, path, inputs, shape):
    ...     return Record(i, op, path, "X", inputs, shape=shape)
    >>> se = [at(0, ops.Input(0, 0, 0), "", (), (64, 8, 8)),
    ...       at(1, ops.GlobalAvgPool(), "se", (0,), (64, 1, 1)),
    ...       at(2, ops.Conv(64, 4, (1, 1), (1, 1), (0, 0), 1, True), "se.fc1", (1,), (4, 1, 1)),
    ...       at(3, ops.ReLU(), "se", (2,), (4, 1, 1)),
    ...       at(4, ops.Conv(4, 64, (1, 1), (1, 1), (0, 0), 1, True), "se.fc2", (3,), (64, 1, 1)),
    ...       at(5, ops.Sigmoid(), "se", (4,), (64, 1, 1)),
    ...       at(6, ops.Multiply(), "se", (0, 5), (64, 8, 8))]
    >>> _, matched, gates = find(se)
    >>> gates[6].kind, gates[6].width, gates[6].prefix, gates[6].layers, matched[6].op
    ('se', 4, 'se', ('fc1', 'fc2'), None)

A gate is a product of a map and a sigmoid of that map's pooled channels: through two 1x1
convolutions (or linear layers, the same thing on a pooled vector) around a ReLU for
squeeze-and-excitation (Hu et al. 2018: timm's ``SEModule``, SENet's and every CIFAR
repository's), through one 1-D convolution across the channels for ECA (Wang et al. 2020,
timm's ``EcaModule``), however the forward writes it (``x.mean((2, 3), keepdim=True)`` or
``F.avg_pool2d(x, x.size(2))``, ``y.view(...)``, ``y.expand_as(x)``). The language writes each
as a block definition (``block se(...) as SEModule``, as specs/seresnet.res does); matching
reads the block around it as if the gate passed its map on, and :mod:`resdsl.imports.attention`
writes the definitions. Any other product is refused at the product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from resdsl import ops
from resdsl.imports.trace import Record, refuse

NOT_A_GATE = (
    "a product that is no channel gate the language writes (squeeze-and-excitation's or "
    "ECA's: the map times a sigmoid of its own pooled channels)"
)


@dataclass(frozen=True)
class Gate:
    """One gate: where it is in the records, and what its definition needs."""

    kind: str  # se, eca
    multiply: int  # the product's record
    main: int  # the record whose map it scales (reshapes skipped)
    side: tuple[int, ...]  # the records of its branch, pool to sigmoid
    channels: int
    width: int  # SE: the squeezed width; ECA: the 1-d convolution's size
    prefix: str  # the module path its weighted layers sit under ("" for the model's own)
    layers: tuple[str, ...]  # their paths below it: fc1, fc2 (SE), conv (ECA)
    biases: tuple[bool, ...]  # whether each has a bias (SE)
    cls: str  # the class of the module at prefix, module.QualName ("" if none)


def effective(records: Sequence[Record], index: int) -> int:
    """The record whose value ``index`` passes on (through reshapes and option A's slicing,
    which its padding's op accounts for)."""
    while records[index].op is None and records[index].inputs:
        index = records[index].inputs[0]
    return index


def find(records: Sequence[Record]) -> tuple[tuple[Record, ...], tuple[Record, ...], dict]:
    """(the records verify reads: linear layers of a gate as the 1x1 convolutions they are;
    the records matching reads: each product passing its map on, its branch gone; the gates,
    by their product's index)."""
    verified = list(records)
    matched = list(records)
    gates: dict[int, Gate] = {}
    for r in records:
        if not isinstance(r.op, ops.Multiply):
            continue
        gate, convs = _gate(records, r)
        for index, conv in convs.items():
            verified[index] = replace(records[index], op=conv)
        gates[r.index] = gate
        raw_main = next(i for i in r.inputs if effective(records, i) == gate.main)
        matched[r.index] = replace(r, op=None, inputs=(raw_main,))
        for i in gate.side:
            matched[i] = replace(records[i], op=None)
    return tuple(verified), tuple(matched), gates


def _gate(records: Sequence[Record], product: Record) -> tuple[Gate, dict[int, ops.Conv]]:
    if len(product.inputs) != 2:
        raise refuse(product, NOT_A_GATE)
    ends = [effective(records, i) for i in product.inputs]
    sigmoids = [i for i in ends if isinstance(records[i].op, ops.Sigmoid)]
    if len(sigmoids) != 1:
        raise refuse(product, NOT_A_GATE)
    main = ends[1 - ends.index(sigmoids[0])]
    side, layers = [], []
    at = sigmoids[0]
    while True:
        r = records[at]
        side.append(at)
        if isinstance(r.op, ops.GlobalAvgPool):
            break
        if r.op is not None and not isinstance(r.op, ops.Sigmoid):
            layers.append(r)
        if not r.inputs or len(side) > 12:
            raise refuse(product, NOT_A_GATE)
        at = r.inputs[0]
    if effective(records, records[at].inputs[0]) != main:
        raise refuse(product, f"{NOT_A_GATE}; this one pools another map than it scales")
    layers.reverse()
    channels = records[main].shape[0] if records[main].shape else 0
    kind, width, convs = _kind(layers, channels, product)
    weighted = [r for r in layers if not isinstance(r.op, ops.ReLU)]
    pool = records[side[-1]]
    parents = [r.path.rpartition(".")[0] for r in weighted]
    parents += [product.path, pool.path if pool.type_name == product.type_name else
                pool.path.rpartition(".")[0]]  # fmt: skip
    prefix = _common(parents)
    labels = tuple(r.path[len(prefix) + 1 :] if prefix else r.path for r in weighted)
    if not all(label.isidentifier() for label in labels):  # nn.Sequential's fc.0, fc.2
        labels = ("conv",) if kind == "eca" else ("fc1", "fc2")
    scoped = [zip(r.scopes, r.classes, strict=True) for r in weighted]
    cls = next((c for pairs in scoped for p, c in pairs if p == prefix), "")
    biases = tuple(bool(getattr(c, "bias", False)) for c in convs.values())
    gate = Gate(kind, product.index, main, tuple(side), channels, width, prefix, labels,
                biases, cls)  # fmt: skip
    return gate, convs


def _kind(layers: list[Record], channels: int, product: Record) -> tuple[str, int, dict]:
    """SE (two 1x1 convolutions around a ReLU) or ECA (one 1-d convolution)."""
    ops_ = [r.op for r in layers]
    if len(ops_) == 1 and isinstance(ops_[0], ops.ChannelConv):
        return "eca", ops_[0].kernel, {}
    if len(ops_) == 3 and isinstance(ops_[1], ops.ReLU):
        first, second = (_as_conv(layers[0]), _as_conv(layers[2]))
        if (
            first is not None
            and second is not None
            and first.in_channels == second.out_channels == channels
            and first.out_channels == second.in_channels
        ):
            return "se", first.out_channels, {layers[0].index: first, layers[2].index: second}
    raise refuse(product, NOT_A_GATE)


def _as_conv(record: Record) -> ops.Conv | None:
    """A 1x1 convolution of a gate (a linear layer on the pooled vector is one)."""
    op = record.op
    if isinstance(op, ops.Linear):
        return ops.Conv(op.in_features, op.out_features, (1, 1), (1, 1), (0, 0), 1, record.bias)
    if isinstance(op, ops.Conv) and (op.kernel, op.stride, op.padding, op.groups) == (
        (1, 1), (1, 1), (0, 0), 1,
    ):  # fmt: skip
        return op
    return None


def _common(paths: list[str]) -> str:
    """The longest dotted prefix the paths share."""
    parts = [p.split(".") if p else [] for p in paths]
    shared = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        shared.append(names[0])
    return ".".join(shared)
