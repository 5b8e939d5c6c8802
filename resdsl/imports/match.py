"""Matching: traced records to the structure a spec writes (stem, stages of blocks, head).

    >>> from resdsl import ops
    >>> _wpg([(64, 256, 1)])       # ResNeXt-free wide ResNet-50-2: 256 = 64 * 256 // 64
    256
    >>> _wpg([(64, 128, 32), (128, 256, 32)])   # ResNeXt 32x4d
    4

The model's blocks are the modules its layers sit in (each record's ``owner``: torchvision's,
timm's and resdsl's ``layer2.0``, whatever the class is called); the records before the
first block are the stem, those after the last one the head. Within a block the dataflow
decides the rest: the addition's two inputs are traced back to the block's input, the
branch with the convolutions is F(x) and the other the shortcut (an identity, a projection,
option A's padding, ResNet-D's pooled projection); where the stride sits, the groups, the
widths and a dropout are read off the modules' attributes. Stages are runs of blocks in one
container that only the first one strides or widens.

NOTE: reading is a guess; verifying makes it exact. What the records suggest is written as a
spec, checked by resdsl's own front end, and its IR compared with the records op by op along
the dataflow (:mod:`resdsl.imports.verify`: each operation's digest covers its op and,
recursively, its inputs; an addition's inputs in either order). Anything the guess missed (a
shortcut that reads the wrong tensor, a ReLU too many, a padding the language would write
otherwise) is then refused at the first record the spec's IR does not hold, so an import
either gives a spec whose network computes exactly what the model computes, or a located
refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from resdsl import ops
from resdsl.imports import stem_head
from resdsl.imports.stem_head import StemLayer
from resdsl.imports.trace import CannotExpress, Record, refuse
from resdsl.lang.spec import ShortcutOption


@dataclass(frozen=True)
class StageDraft:
    label: str | None
    blocks: int
    width: int
    stride: int


@dataclass(frozen=True)
class BlockDraft:
    """The ``block`` line read from a model: a prelude block and the values of its options."""

    kind: str  # basic, bottleneck, preact, preact_bottleneck
    expansion: int
    stride_on: str  # 1x1 or 3x3
    zero_init: bool
    groups: int = 1
    width_per_group: int = 64
    dropout: float = 0.0


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
    input: tuple[int, int, int] | None = None  # META["input"] or --input


@dataclass(frozen=True)
class _Block:
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
    nodes: tuple[int, ...] = field(repr=False)


def match(records: Sequence[Record], name: str, hints: Hints) -> Draft:
    """The spec's structure, read from the records; a located refusal where it cannot be."""
    nodes = _effective(records)
    groups = _groups(records, nodes)
    if not groups:
        raise CannotExpress("", records[0].type_name, "found no blocks (no module holds convs)")
    first, last = min(groups[0]), max(groups[-1])
    blocks = [_block(records, g) for g in groups]
    kind = blocks[0].kind
    preact = kind.startswith("preact")
    stem = stem_head.stem([records[i] for i in nodes if 0 < i < first], preact)
    classes = stem_head.head([records[i] for i in nodes if i > last], preact)
    block, shortcut = _block_spec(blocks, hints)
    stages = _stages(blocks, block.expansion, any(s.kind != "conv" for s in stem))
    in_channels = next((r.op.in_channels for r in records if isinstance(r.op, ops.Conv)), 3)
    size = hints.input or (in_channels, *stem_head.default_size(stem))
    deep = tuple(stem) == stem_head.deep_stem(in_channels)
    return Draft(name, size, classes, tuple(stem), deep, block, shortcut, tuple(stages))


def _effective(records: Sequence[Record]) -> list[int]:
    """The records that are ops (flatten and nn.Identity pass their input on); option A's
    slicing must feed its padding."""
    for r in records:
        if r.op is None and r.stride > 1:
            users = [u for u in records if r.index in u.inputs]
            if not users or any(not isinstance(u.op, ops.ZeroPad) for u in users):
                raise refuse(r, "slicing that is not option A's")
    return [r.index for r in records if r.op is not None]


def inputs_of(records: Sequence[Record], record: Record) -> tuple[int, ...]:
    found = []
    for i in record.inputs:
        r = records[i]
        while r.op is None:
            r = records[r.inputs[0]]
        found.append(r.index)
    return tuple(found)


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


def _block(records: Sequence[Record], group: list[int]) -> _Block:
    inside = set(group)
    first = records[group[0]]
    adds = [i for i in group if isinstance(records[i].op, ops.Add)]
    if len(adds) > 1:
        r = records[adds[1]]
        raise refuse(r, "a second addition in one block")
    shortcut_chain: list[int] = []
    if adds:
        a, b = (_chain(records, i, inside) for i in inputs_of(records, records[adds[0]]))
        count = [sum(isinstance(records[i].op, ops.Conv) for i in c) for c in (a, b)]
        main, shortcut_chain = (a, b) if count[0] >= count[1] else (b, a)
        shortcut_chain = [i for i in shortcut_chain if i not in main]
    else:
        main = [i for i in group]
    convs = tuple(records[i].op for i in main if isinstance(records[i].op, ops.Conv))
    where = (first.path, first.type_name)
    preact = isinstance(records[main[0]].op, ops.BatchNorm)
    if len(convs) not in (2, 3):
        raise CannotExpress(*where, f"a block of {len(convs)} convolutions on its main branch")
    kind = (
        ("preact" if preact else "basic")
        if len(convs) == 2
        else ("preact_bottleneck" if preact else "bottleneck")
    )
    for i in main:  # only a bottleneck's 3x3 may be grouped (ResNeXt)
        op = records[i].op
        if isinstance(op, ops.Conv) and op.groups != 1 and (len(convs) == 2 or op.kernel == (1, 1)):
            raise refuse(records[i], "a grouped convolution")
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
    return _Block(
        first,
        first.owner,
        kind,
        convs,
        stride,
        stride_on,
        dropout,
        short,
        convs[0].in_channels,
        inner,
        convs[-1].out_channels,
        convs[1].groups,
        tuple(group),
    )


def _block_spec(blocks: list[_Block], hints: Hints) -> tuple[BlockDraft, ShortcutOption]:
    head = blocks[0]
    for b in blocks:
        for what, mine, theirs in (
            ("kind", b.kind, head.kind),
            ("dropout", b.dropout, head.dropout),
            ("groups", b.groups, head.groups),
        ):
            if mine != theirs:
                raise refuse(
                    b.first,
                    f"its {what} ({mine}) differs from {head.owner}'s ({theirs})",
                )
    strided = {b.stride_on for b in blocks if b.stride > 1} or {"1x1"}
    if len(strided) > 1:
        b = next(b for b in blocks if b.stride > 1 and b.stride_on != blocks[0].stride_on)
        raise refuse(b.first, "blocks stride on different convs")
    bottleneck = head.kind.endswith("bottleneck")
    expansion = 1
    width_per_group = 64
    if bottleneck:
        expansion = hints.expansion or 4
        for b in blocks:
            if b.out_channels % expansion:
                raise refuse(
                    b.first,
                    f"{b.out_channels} output channels, not a multiple of {expansion}",
                )
        wpg = _wpg([(b.out_channels // expansion, b.inner, b.groups) for b in blocks])
        if wpg is None:
            b = blocks[0]
            raise refuse(b.first, "bottleneck widths no `width per group` gives")
        width_per_group = wpg
    else:
        for b in blocks:
            if b.inner != b.out_channels:
                raise refuse(
                    b.first,
                    "a basic block whose two convolutions differ in width",
                )
    spec = BlockDraft(
        head.kind,
        expansion,
        strided.pop(),
        hints.zero_init,
        head.groups,
        width_per_group,
        head.dropout,
    )
    kinds = [b.shortcut for b in blocks]
    if "none" in kinds and set(kinds) != {"none"}:
        b = blocks[kinds.index("none")]
        raise refuse(b.first, "a block without an addition among residual ones")
    option: ShortcutOption = "B"
    if "none" in kinds:
        option = "none"
    elif "pad" in kinds:
        option = "A"
    elif "avgdown" in kinds:
        option = "D"
    elif any(
        b.shortcut == "projection" and b.stride == 1 and b.in_channels == b.out_channels
        for b in blocks
    ):
        option = "C"
    return spec, option


def _wpg(stages: list[tuple[int, int, int]]) -> int | None:
    """The ``width per group`` W with ``planes * W // 64 * groups == inner`` for every
    (planes, inner, groups); 64 if it fits, else the smallest."""
    low, high = 1, 1 << 40
    for planes, inner, groups in stages:
        if inner % groups:
            return None
        q = inner // groups
        low = max(low, -(-64 * q // planes))
        high = min(high, -(-64 * (q + 1) // planes) - 1)
    if low > high:
        return None
    return 64 if low <= 64 <= high else low


def _stages(blocks: list[_Block], expansion: int, pooled_stem: bool) -> list[StageDraft]:
    runs: list[list[_Block]] = []
    for b in blocks:
        parent = b.owner.rpartition(".")[0]
        prev = runs[-1][-1] if runs else None
        if (
            prev is None
            or prev.owner.rpartition(".")[0] != parent
            or b.stride != 1
            or b.in_channels != b.out_channels
        ):
            runs.append([b])
        else:
            runs[-1].append(b)
    labels = (
        [f"conv{i + 2}_x" for i in range(len(runs))] if pooled_stem and len(runs) == 4 else None
    )
    return [
        StageDraft(
            labels[i] if labels else None, len(run), run[0].out_channels // expansion, run[0].stride
        )
        for i, run in enumerate(runs)
    ]
