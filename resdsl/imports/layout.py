"""From the blocks a model shows to the spec's block line, shortcut option and stages.

    >>> _wpg([(64, 256, 1)])       # ResNeXt-free wide ResNet-50-2: 256 = 64 * 256 // 64
    256
    >>> _wpg([(64, 128, 32), (128, 256, 32)])   # ResNeXt 32x4d
    4
    >>> [(label, word) for label, word in layers("basic", 0.0)[0]]
    [('conv1', 'conv'), ('bn1', 'bn'), (None, 'relu'), ('conv2', 'conv'), ('bn2', 'bn')]

Every block of a network is one kind with one set of options (the language's ``block`` line
is the network's); where blocks differ the first that does is refused. A channel gate is
placed by the labels of the prelude block's layers (:func:`layers`): inserted after the layer
it follows where that one has a label (``bn3``), else before the next one.
"""

from __future__ import annotations

from resdsl import ops
from resdsl.imports import attention
from resdsl.imports.trace import CannotExpress, refuse
from resdsl.lang import syntax as s
from resdsl.lang.elaborate import bind
from resdsl.lang.evaluate import holds
from resdsl.lang.load import prelude
from resdsl.lang.spec import ShortcutOption

_WORDS = {"conv": ops.Conv, "bn": ops.BatchNorm, "relu": ops.ReLU, "dropout": ops.Dropout}


def block_spec(blocks: list, hints) -> tuple:
    """The ``BlockDraft`` and shortcut option every block fits; a refusal at the first that
    does not."""
    from resdsl.imports.match import BlockDraft

    head = blocks[0]
    for b in blocks:
        for what, mine, theirs in (
            ("kind", b.kind, head.kind),
            ("dropout", b.dropout, head.dropout),
            ("groups", b.groups, head.groups),
        ):
            if mine != theirs and what == "groups":
                conv = next(r for r in b.main if getattr(r.op, "groups", 1) == mine)
                raise refuse(
                    conv,
                    f"{mine} groups of {b.inner // mine} channels where {head.owner} has "
                    f"{theirs} of {head.inner // theirs}: the language's `groups` is one number "
                    "for the network (a fixed width per group, as RegNet's, would need groups "
                    "that follow each stage's width)",
                )
            if mine != theirs:
                raise refuse(b.first, f"its {what} ({mine}) differs from {head.owner}'s ({theirs})")
    strided = {b.stride_on for b in blocks if b.stride > 1} or {"1x1"}
    if len(strided) > 1:
        b = next(b for b in blocks if b.stride > 1 and b.stride_on != blocks[0].stride_on)
        raise refuse(b.first, "blocks stride on different convs")
    expansion, width_per_group = _widths(blocks, hints)
    spec = BlockDraft(
        head.kind, expansion, strided.pop(), hints.zero_init, head.groups, width_per_group,
        head.dropout, _gate(blocks),
    )  # fmt: skip
    return spec, _shortcut(blocks)


def _widths(blocks: list, hints) -> tuple[int, int]:
    head = blocks[0]
    if not head.kind.endswith("bottleneck"):
        for b in blocks:
            if b.inner != b.out_channels:
                raise refuse(b.first, "a basic block whose two convolutions differ in width")
        return 1, 64
    expansion = hints.expansion or 4
    for b in blocks:
        if b.out_channels % expansion:
            raise refuse(
                b.first, f"{b.out_channels} output channels, not a multiple of {expansion}"
            )
    wpg = _wpg([(b.out_channels // expansion, b.inner, b.groups) for b in blocks])
    if wpg is None:
        raise refuse(head.first, "bottleneck widths no `width per group` gives")
    return expansion, wpg


def _shortcut(blocks: list) -> ShortcutOption:
    kinds = [b.shortcut for b in blocks]
    if "none" in kinds and set(kinds) != {"none"}:
        b = blocks[kinds.index("none")]
        raise refuse(b.first, "a block without an addition among residual ones")
    if "none" in kinds:
        return "none"
    if "pad" in kinds:
        return "A"
    if "avgdown" in kinds:
        return "D"
    if any(
        b.shortcut == "projection" and b.stride == 1 and b.in_channels == b.out_channels
        for b in blocks
    ):
        return "C"
    return "B"


def layers(kind: str, dropout: float) -> tuple[list, list]:
    """The (label, word) of the prelude block's layers before its ``add shortcut`` and after
    it, as a network with this dropout has them."""
    (definition,) = (
        i for i in prelude().items if isinstance(i, s.BlockDef) and i.name.text == kind
    )
    env = bind(definition, {"planes": 64, "stride": 1, "channels": 64, "dropout": dropout})  # type: ignore[arg-type]
    before: list = []
    after: list = []
    current = before
    for statement in definition.body:
        if isinstance(statement, s.Merge) and statement.kind == "add":
            current = after
        elif isinstance(statement, s.BlockLayer) and (
            statement.condition is None or holds(statement.condition, env)
        ):
            current.append((statement.label.text if statement.label else None, statement.op.text))
    return before, after


def _gate(blocks: list) -> attention.GateDraft | None:
    """The gate every block has (SE or ECA, in one place), with its definition's parameters."""
    gated = [b for b in blocks if b.gate is not None]
    if not gated:
        return None
    if len(gated) != len(blocks):
        b = next(b for b in blocks if b.gate is None)
        where = f"{gated[0].gate.kind.upper()} in {gated[0].owner}"
        raise refuse(b.first, f"a block without the channel gate others have ({where})")
    places = [_place(b) for b in blocks]
    labels = [_label(b) for b in blocks]
    head = blocks[0]
    for b, place, label in zip(blocks, places, labels, strict=True):
        mine = (b.gate.kind, place, label, b.gate.layers, b.gate.biases)
        theirs = (head.gate.kind, places[0], labels[0], head.gate.layers, head.gate.biases)
        if mine != theirs:
            raise refuse(b.first, f"its channel gate differs from {head.owner}'s")
    try:
        return attention.fit(
            head.gate.kind, [(b.gate.channels, b.gate.width) for b in blocks], head.gate.cls,
            *places[0], labels[0], head.gate.layers, head.gate.biases,
        )  # fmt: skip
    except attention.NoFit as error:
        raise refuse(head.first, f"its channel gates have {error}") from None


def _label(block) -> str:
    """The gate's module name in its block: its path below the block's, else its kind."""
    prefix, owner = block.gate.prefix, block.owner
    label = prefix[len(owner) + 1 :] if prefix.startswith(owner + ".") else ""
    return label if label.isidentifier() else block.gate.kind


def _place(block) -> tuple[str, str]:
    """("after", label) or ("before", label): where the gate is inserted in the definition."""
    before, after = layers(block.kind, block.dropout)
    if block.shortcut == "none":  # a plain block: no addition between the two
        before, after = before + after, []
    _align(block, before)
    segment, k = block.gate_at
    found = before if segment == "main" else after
    k = k if segment == "main" else k - 1
    if 0 <= k < len(found) and found[k][0]:
        return "after", found[k][0]
    if k + 1 < len(found) and found[k + 1][0]:
        return "before", found[k + 1][0]
    where = "after its addition" if segment == "after" else "there"
    raise CannotExpress(
        block.first.path,
        block.first.type_name,
        f"a channel gate {where}, where the {block.kind} block has no named layer to insert it by",
    )


def _align(block, layers_: list) -> None:
    """Refuse a block whose residual branch is not the prelude block's, layer for layer (a
    gate is placed by their labels)."""
    for record, (_, word) in zip(block.main, layers_, strict=False):
        if not isinstance(record.op, _WORDS.get(word, ())):
            raise refuse(record, f"a {record.op.kind} where the {block.kind} block has {word}")
    if len(block.main) > len(layers_):
        extra = block.main[len(layers_)]
        raise refuse(
            extra, f"a {extra.op.kind} after the {block.kind} block's last {layers_[-1][1]}"
        )
    if len(block.main) < len(layers_):
        missing = layers_[len(block.main)][1]
        raise refuse(
            block.main[-1], f"its residual branch ends here; the {block.kind} block's goes on "
            f"with {missing}",
        )  # fmt: skip


def stages(blocks: list, expansion: int, pooled_stem: bool) -> list:
    """Runs of blocks in one container in which only the first strides or widens."""
    from resdsl.imports.match import StageDraft

    runs: list[list] = []
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


def _wpg(stages_: list[tuple[int, int, int]]) -> int | None:
    """The ``width per group`` W with ``planes * W // 64 * groups == inner`` for every
    (planes, inner, groups); 64 if it fits, else the smallest."""
    low, high = 1, 1 << 40
    for planes, inner, groups in stages_:
        if inner % groups:
            return None
        q = inner // groups
        low = max(low, -(-64 * q // planes))
        high = min(high, -(-64 * (q + 1) // planes) - 1)
    if low > high:
        return None
    return 64 if low <= 64 <= high else low
