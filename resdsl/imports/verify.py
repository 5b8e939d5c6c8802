"""Verifying: the IR of the spec read from a model against the model's traced records.

    >>> from resdsl import ops
    >>> _digest(ops.Add(), [2, 1]) == _digest(ops.Add(), [1, 2])
    True

The draft :mod:`resdsl.imports.match` reads is a guess from the modules; this makes it
exact. Each operation gets a digest of its op (a frozen dataclass of kernel, stride,
padding, groups, channels ...) and, recursively, of its inputs' digests, an addition's and a
product's in either order (F(x) + x and x + F(x) are one network; ``out += x`` and
``out + x`` one sum). The spec's IR is digested node by node, the records likewise (through
reshapes and ``nn.Identity``, which pass their input on; a channel gate's linear layers as
the 1x1 convolutions they are on a pooled map), and the first record whose digest the IR
lacks is where the model leaves the language: its op, or what it reads, is not what any spec
would put there. Equal output digests mean the same computation, whatever the order the
model's forward runs its branches in.
"""

from __future__ import annotations

from collections.abc import Sequence

from resdsl import ops
from resdsl.imports.match import inputs_of
from resdsl.imports.trace import Record, refuse
from resdsl.ir.network import Network


def verify(records: Sequence[Record], net: Network) -> None:
    """Refuse at the first record the IR of the spec read from them does not hold (NOTE)."""
    ir_digest = _ir_digests(net)
    known = set(ir_digest)
    mine: dict[int, int] = {}
    for r in records:
        if r.op is None:
            continue
        op = net.nodes[0].op if isinstance(r.op, ops.Input) else r.true_op()
        mine[r.index] = _digest(op, [mine[i] for i in inputs_of(records, r)])
        if mine[r.index] not in known:
            article = "an" if r.op.kind[:1] in "aeiou" else "a"
            raise refuse(
                r,
                f"no network the language writes has {article} {r.op.kind} here (read as "
                f"block {net.block.kind}, shortcut {net.shortcut})",
            )
    last = max(mine)
    if mine[last] != ir_digest[-1]:
        r = records[last]
        raise refuse(r, "the spec read from the model has more layers")


def correspondence(records: Sequence[Record], net: Network) -> dict[int, int]:
    """Each record's node in the IR of a spec that verified against them (record index ->
    node index): the node computing what the record computes. It lets a model's weights be
    placed in the spec's module whatever either calls its layers (benchmarks/import_fuzz.py).
    """
    ir_digest = _ir_digests(net)
    where: dict[int, int] = {}
    for index, digest in enumerate(ir_digest):
        where.setdefault(digest, index)
    mine: dict[int, int] = {}
    found: dict[int, int] = {}
    for r in records:
        if r.op is None:
            continue
        op = net.nodes[0].op if isinstance(r.op, ops.Input) else r.true_op()
        mine[r.index] = _digest(op, [mine[i] for i in inputs_of(records, r)])
        if mine[r.index] in where:
            found[r.index] = where[mine[r.index]]
    return found


def _ir_digests(net: Network) -> list[int]:
    """Each IR node's digest; a flatten's is its input's, as a reshape's record passes its
    input on (the flatten after a classifier that is a 1x1 conv: timm's ResNetV2 head)."""
    digests: list[int] = []
    for node in net.nodes:
        inputs = [digests[i] for i in node.inputs]
        digests.append(inputs[0] if isinstance(node.op, ops.Flatten) else _digest(node.op, inputs))
    return digests


def _digest(op: ops.Op, inputs: list[int]) -> int:
    if isinstance(op, ops.Add | ops.Multiply):
        inputs = sorted(inputs)
        if isinstance(op, ops.Add):
            op = ops.Add()  # in place or not, the same sum
    return hash((op, tuple(inputs)))
