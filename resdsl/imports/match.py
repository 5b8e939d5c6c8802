"""Matching: traced records to the structure a spec writes (stem, stages of blocks, head).

    >>> from resdsl import ops
    >>> records = [Record(0, ops.Input(0, 0, 0), "", "Net", ()),
    ...            Record(1, None, "flatten", "Flatten", (0,)),
    ...            Record(2, ops.ReLU(), "relu", "ReLU", (1,))]
    >>> inputs_of(records, records[2])   # through what passes its input on
    (0,)

The model's blocks are the modules its layers sit in (each record's ``owner``, found by
:mod:`resdsl.imports.blocks`); the records before the first block are the stem, those after
the last one the head. Within a block the dataflow decides the rest: the addition's two
inputs are traced back to the block's input, the branch with the convolutions is F(x) and the
other the shortcut (an identity, a projection, option A's padding, ResNet-D's pooled
projection); where the stride sits, the groups, the widths, a dropout and a channel gate
(:mod:`resdsl.imports.gates`: SE or ECA, and the layer it follows) are read off the modules.
:mod:`resdsl.imports.layout` makes the block line, the shortcut option and the stages of it.

NOTE: reading is a guess; verifying makes it exact. What the records suggest is written as a
spec, checked by resdsl's own front end, and its IR compared with the records op by op along
the dataflow (:mod:`resdsl.imports.verify`: each operation's digest covers its op and,
recursively, its inputs; an addition's and a product's inputs in either order). Anything the
guess missed (a shortcut that reads the wrong tensor, a ReLU too many, a padding the language
would write otherwise) is then refused at the first record the spec's IR does not hold, so an
import either gives a spec whose network computes exactly what the model computes, or a
located refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from resdsl import ops
from resdsl.imports import layout, stem_head
from resdsl.imports.attention import GateDraft
from resdsl.imports.gates import Gate, effective
from resdsl.imports.stem_head import StemLayer
from resdsl.imports.trace import CannotExpress, Record, refuse
from resdsl.lang.spec import ShortcutOption

# What opens a pre-activation unit: a norm (with its ReLU after it, or an activation of its
# own: EvoNorm-S0, FRN's TLU).
NORMS = (ops.BatchNorm, ops.GroupNorm, ops.EvoNormS0, ops.FRN)


@dataclass(frozen=True)
class StageDraft:
    label: str | None
    blocks: int
    width: int
    stride: int


@dataclass(frozen=True)
class BlockDraft:
    """The ``block`` line read from a model: a prelude block, the values of its options, and
    the channel gate inserted into it (if any)."""

    kind: str  # basic, bottleneck, preact, preact_bottleneck
    expansion: int
    stride_on: str  # 1x1 or 3x3
    zero_init: bool
    groups: int = 1
    width_per_group: int = 64
    dropout: float = 0.0
    gate: GateDraft | None = None


@dataclass(frozen=True)
class Draft:
    """Everything a spec of one network says, as read from a model."""

    name: str
    input: tuple[int, int, int]
    classes: int
    stem: tuple[StemLayer, ...]
    deep_stem: bool
    block: BlockDraft
    shortcut: ShortcutOption
    stages: tuple[StageDraft, ...]


@dataclass(frozen=True)
class Hints:
    """What the model's classes say beyond its modules (tie-breakers, never structure)."""

    expansion: int | None = None  # the block class's `expansion` attribute
    zero_init: bool = False  # the network class's zero_init_residual / zero_init_last default
    input: tuple[int, int, int] | None = None  # the size the records were read at


@dataclass(frozen=True)
class Block:
    """One block as the dataflow shows it."""

    first: Record  # its first record, where a refusal points
    owner: str
    kind: str
    convs: tuple[ops.Conv, ...]
    stride: int
    stride_on: str
    dropout: float
    shortcut: str  # none, identity, projection, pad, avgdown
    in_channels: int
    inner: int
    out_channels: int
    groups: int
    main: tuple[Record, ...] = field(repr=False)  # F(x), in order
    after: tuple[Record, ...] = field(repr=False)  # what follows the addition
    gate: Gate | None = None
    gate_at: tuple[str, int] = ("main", 0)  # after main[k], or after[k] ("after", k)
    short: tuple[Record, ...] = field(default=(), repr=False)  # the shortcut's layers
    last: int = 0  # the index of its last record


def match(records: Sequence[Record], gates: dict[int, Gate], name: str, hints: Hints) -> Draft:
    """The spec's structure, read from the records (with owners, gates passing their map on);
    a located refusal where it cannot be."""
    nodes = [r.index for r in records if r.op is not None]
    blocks = find_blocks(records, gates)
    first, last = blocks[0].first.index, blocks[-1].last
    preact = blocks[0].kind.startswith("preact")
    stem = stem_head.stem([records[i] for i in nodes if 0 < i < first], preact)
    classes = stem_head.head([records[i] for i in nodes if i > last], preact)
    block, shortcut = layout.block_spec(blocks, hints)
    stages = layout.stages(blocks, block.expansion, any(s.kind != "conv" for s in stem))
    in_channels = records[0].shape[0] if records[0].shape else 3
    size = hints.input or (in_channels, *stem_head.default_size(stem))
    deep = tuple(stem) == stem_head.deep_stem(in_channels)
    return Draft(name, size, classes, tuple(stem), deep, block, shortcut, tuple(stages))


def find_blocks(records: Sequence[Record], gates: dict[int, Gate]) -> list[Block]:
    """The model's blocks, in order (a located refusal where there are none)."""
    _check_slices(records)
    groups = _groups(records, [r.index for r in records if r.op is not None])
    if not groups:
        raise CannotExpress("", records[0].type_name, _no_blocks(records))
    return [_block(records, g, gates) for g in groups]


def _no_blocks(records: Sequence[Record]) -> str:
    if any(isinstance(r.op, ops.Add) for r in records):
        return (
            "its residual additions are not inside block modules (resdsl reads each block as "
            "a module of its own, such as torchvision's BasicBlock)"
        )
    return "found no blocks (no module holds convolutions)"


def _check_slices(records: Sequence[Record]) -> None:
    """Option A's slicing must feed its padding."""
    for r in records:
        if r.op is None and r.stride:
            users = [u for u in records if r.index in u.inputs and u.op is not None]
            if not users or any(not isinstance(u.op, ops.ZeroPad) for u in users):
                raise refuse(r, "slicing that is not option A's (x[:, :, ::s, ::s] then zeros)")


def inputs_of(records: Sequence[Record], record: Record) -> tuple[int, ...]:
    return tuple(effective(records, i) for i in record.inputs)


def _groups(records: Sequence[Record], nodes: list[int]) -> list[list[int]]:
    """The records of each block module holding a convolution, in order."""
    by_owner: dict[str, list[int]] = {}
    for i in nodes:
        if records[i].owner:
            by_owner.setdefault(records[i].owner, []).append(i)
    groups = [g for g in by_owner.values() if any(isinstance(records[i].op, ops.Conv) for i in g)]
    groups.sort(key=min)
    # Each block's records run without a break: nothing of another module inside a block,
    # nothing between two blocks (one pass over the records).
    group = {i: k for k, g in enumerate(groups) for i in g}
    current, done = -1, set()
    for i in nodes:
        if not groups or i < groups[0][0] or i > groups[-1][-1]:
            continue
        k = group.get(i)
        if k is None or k in done:
            where = "between two blocks" if k is None else "after its block's next block"
            if k is None and i < groups[current][-1]:
                where = f"inside block {records[groups[current][0]].owner} but not of it"
            raise refuse(records[i], f"a layer {where}")
        if k != current:
            done.add(current)
            current = k
    return groups


def _chain(records: Sequence[Record], start: int, inside: set[int]) -> list[int]:
    """The records from ``start`` back to the block's input (first input at each step)."""
    chain = []
    while start in inside:
        chain.append(start)
        start = inputs_of(records, records[start])[0]
    return chain[::-1]


def _block(records: Sequence[Record], group: list[int], gates: dict[int, Gate]) -> Block:
    inside = set(group)
    first = records[group[0]]
    adds = [i for i in group if isinstance(records[i].op, ops.Add)]
    if len(adds) > 1:
        raise refuse(records[adds[1]], "a second addition in one block")
    shortcut_chain: list[int] = []
    if adds:
        a, b = (_chain(records, i, inside) for i in inputs_of(records, records[adds[0]]))
        count = [sum(isinstance(records[i].op, ops.Conv) for i in c) for c in (a, b)]
        main, shortcut_chain = (a, b) if count[0] >= count[1] else (b, a)
        shortcut_chain = [i for i in shortcut_chain if i not in main]
        after = [i for i in group if i > adds[0] and i not in main and i not in shortcut_chain]
    else:
        main, after = list(group), []
    convs = tuple(records[i].op for i in main if isinstance(records[i].op, ops.Conv))
    where = (first.path, first.type_name)
    preact = bool(main) and isinstance(records[main[0]].op, NORMS)
    if len(convs) not in (2, 3):
        raise CannotExpress(*where, _not_a_block(len(convs), bool(adds)))
    kind = ("preact" if preact else "basic") if len(convs) == 2 else (
        "preact_bottleneck" if preact else "bottleneck"
    )  # fmt: skip
    _check_convs(records, main, shortcut_chain, len(convs))
    strides = [c.stride[0] for c in convs]
    stride = max(strides)
    stride_on = "1x1"
    if stride > 1 and len(convs) == 3:
        stride_on = {0: "1x1", 1: "3x3"}.get(strides.index(stride), "?")
        if stride_on == "?":
            raise CannotExpress(*where, "a bottleneck strided on its last 1x1")
    dropout = next((records[i].op.p for i in main if isinstance(records[i].op, ops.Dropout)), 0.0)
    kinds = {type(records[i].op) for i in shortcut_chain}
    short = "none" if not adds else "identity"
    if ops.ZeroPad in kinds:
        short = "pad"
    elif ops.AvgPool in kinds:
        short = "avgdown"
    elif ops.Conv in kinds:
        short = "projection"
    inner = convs[1].out_channels if len(convs) == 3 else convs[0].out_channels
    gate, gate_at = _gate_of(records, group, gates, main, adds, after)
    return Block(
        first, first.owner, kind, convs, stride, stride_on, dropout, short,
        convs[0].in_channels, inner, convs[-1].out_channels, convs[1].groups,
        tuple(records[i] for i in main), tuple(records[i] for i in after), gate, gate_at,
        tuple(records[i] for i in shortcut_chain), max(group),
    )  # fmt: skip


def _check_convs(records, main: list[int], shortcut: list[int], convs: int) -> None:
    """No bias in a block; only a bottleneck's 3x3 grouped (ResNeXt)."""
    for i in main + shortcut:
        op = records[i].op
        if isinstance(op, ops.Conv) and op.bias:
            raise refuse(
                records[i], "a convolution with a bias in a block (the language's have none)"
            )
        grouped = isinstance(op, ops.Conv) and op.groups != 1 and i in main
        if grouped and (convs == 2 or op.kernel == (1, 1)):
            raise refuse(
                records[i], "a grouped convolution (the language groups a bottleneck's 3x3)"
            )


def _not_a_block(convs: int, residual: bool) -> str:
    if residual:
        return (
            f"a block of {convs} convolutions on its residual branch (the language's have 2 or 3)"
        )
    return f"a module of {convs} convolutions without a residual addition, among blocks"


def _gate_of(records, group, gates, main, adds, after) -> tuple[Gate | None, tuple[str, int]]:
    """The block's gate and where it sits: after ``main[k]`` (k = -1: before the first
    layer), or after the addition's k-th follower (("after", 0): right after the addition)."""
    products = [gates[i] for i in gates if records[i].owner == records[group[0]].owner]
    if not products:
        return None, ("main", 0)
    gate = products[0]
    if len(products) > 1:
        raise refuse(records[products[1].multiply], "a second channel gate in one block")
    if gate.main in main:
        return gate, ("main", main.index(gate.main))
    if adds and gate.main == adds[0]:
        return gate, ("after", 0)
    if gate.main in after:
        return gate, ("after", after.index(gate.main) + 1)
    if main and gate.main == inputs_of(records, records[main[0]])[0]:
        return gate, ("main", -1)
    raise refuse(records[gate.multiply], "a channel gate on the shortcut")
