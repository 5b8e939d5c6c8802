"""Which module is a block: the owner of each record, found from the modules around it.

    >>> from resdsl import ops
    >>> conv = ops.Conv(8, 8, (3, 3), (1, 1), (1, 1))
    >>> def at(i, op, scopes, inputs=()):
    ...     return Record(i, op, scopes[-1] if scopes else "", "X", inputs, scopes=scopes)
    >>> wrapped = [at(1, conv, ("backbone", "backbone.stem")),     # a conv-bn-relu helper
    ...            at(2, conv, ("backbone", "backbone.layer1.0")),
    ...            at(3, ops.Add(), ("backbone", "backbone.layer1.0"), (1, 2)),
    ...            at(4, conv, ("backbone", "backbone.layer1.1")),
    ...            at(5, ops.Add(), ("backbone", "backbone.layer1.1"), (3, 4))]
    >>> [r.owner for r in owners(wrapped)]
    ['', 'backbone.layer1.0', 'backbone.layer1.0', 'backbone.layer1.1', 'backbone.layer1.1']

A block is a module of the user's (not one of ``torch.nn``'s: torchvision's ``BasicBlock``,
timm's ``Bottleneck``, resdsl's, anyone's ``Block``, whatever the class is called) holding one
residual addition; in a network without additions (the plain networks), a module of one to
three convolutions. A module holding more (a wrapper around the backbone, a stage class
around its blocks, ``torchvision``'s segmentation backbone) is looked into, a module holding
fewer (an SE module, a conv-bn-relu helper) belongs to the block around it, if any. A module
before the first block or after the last that cannot be one (without an addition where the
network has them, of one convolution where it has none: a stem helper) is the stem's or the
head's. The convolutions of channel gates (SE, ECA:
``gated``) are not counted: they are part of their block.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from resdsl import ops
from resdsl.imports.trace import Record


def owners(records: Sequence[Record], gated: frozenset[int] = frozenset()) -> tuple[Record, ...]:
    """The records with ``owner`` set to the block module each sits in ("" for none)."""
    adds: Counter[str] = Counter()
    convs: Counter[str] = Counter()
    children: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for outer, inner in zip(r.scopes, r.scopes[1:], strict=False):
            children[outer].add(inner)
        for scope in r.scopes:
            adds[scope] += isinstance(r.op, ops.Add)
            convs[scope] += isinstance(r.op, ops.Conv) and r.index not in gated
    residual = any(isinstance(r.op, ops.Add) for r in records)

    def block(scopes: tuple[str, ...]) -> str:
        for scope in scopes:
            if adds[scope] >= 2 or (adds[scope] == 0 and convs[scope] > 3):
                continue  # a stage, a wrapper: its blocks are further in
            if adds[scope] == 1 and any(adds[c] == 1 and convs[c] for c in children[scope]):
                continue  # the block is the module inside that holds the addition
            if any((adds[c], convs[c]) == (adds[scope], convs[scope]) for c in children[scope]):
                continue  # a stage of one block: the block is the module inside
            return scope if convs[scope] else ""
        return ""

    found = [replace(r, owner=block(r.scopes)) for r in records]
    # Modules before the first block and after the last that cannot be blocks (without an
    # addition where the network has them; of one convolution where it has none): stem, head.
    if residual:
        holding = {r.owner for r in found if isinstance(r.op, ops.Add)}
    else:
        holding = {r.owner for r in found if r.owner and convs[r.owner] >= 2}
    first = min((r.index for r in found if r.owner in holding), default=len(found))
    last = max((r.index for r in found if r.owner in holding), default=-1)
    return tuple(
        replace(r, owner="") if r.owner not in holding and not first <= r.index <= last else r
        for r in found
    )
