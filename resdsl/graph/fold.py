"""Folding: IR -> a drawing of the network, as the paper's Figure 3 draws it.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet34.res")
    >>> diagram = fold(net, level="block")
    >>> diagram.caption, diagram.boxes[1].label
    ('34-layer residual', '7x7 conv, 64, /2')
    >>> [arrow.label for arrow in diagram.arrows if arrow.style == "projection"]
    ['1x1 conv, 128, /2', '1x1 conv, 256, /2', '1x1 conv, 512, /2']

Two steps, both pure: :func:`fold` turns one IR into a :class:`Diagram` (boxes and arrows at
the chosen level of detail), and :func:`resdsl.graph.dot.write_dot` turns diagrams into DOT
text, one column per network. Only rendering to SVG/PNG needs Graphviz.

NOTE: what is drawn, and why.

- Boxes are labelled as the paper labels them (each op's :meth:`~resdsl.ops.Op.label`):
  ``7x7 conv, 64, /2``, ``pool, /2``, ``avg pool``, ``fc 1000``. Batch norm and ReLU have no
  box of their own: they fold into the box of the layer before them, as in the paper's
  figures (each "conv" there is conv-BN-ReLU); an op says how it is drawn.
- A residual block ends in an addition, drawn as a small ``+`` circle (the ReLU after it folds
  into it, as Fig. 2 draws it). The shortcut is one arc from the block's input to that circle:
  solid for an identity, dashed for a projection (option B/C, the paper's convention; the arc
  is labelled with the projection, ``1x1 conv, 128, /2``, which has no box of its own, as in
  Fig. 3), dotted and labelled ``zero-pad, 128, /2`` for option A. A plain network has none.
- Levels: ``layer`` draws every layer; ``block`` (alias ``stage``) folds each block's
  residual function F into one box, keeping the ``+`` and the shortcut arcs; ``network``
  folds each stage into one box, summarised as Table 1 writes it, and draws no arcs.
- Every arrow carries the shape it transports (``128x28x28``); the DOT writer leaves it off
  identity arcs, where it repeats the arrow beside them, and off every arrow in its compact
  mode. Each stage is a cluster titled with its name and output size (``conv3_x, 28x28``).
- The column enters each stage through a point of its own (an ``entry`` box), inside the
  stage; the first block's shortcut leaves from there (the point is then a ``fork``, drawn as
  a dot), so that no arc starts in the stage before and crosses its frame.
- Every box has a row (:attr:`Box.row`) that names its place in terms every network shares,
  so that side-by-side networks can be aligned layer for layer, as Fig. 3 aligns plain-34
  with ResNet-34.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from resdsl.ir.network import Network, Node
from resdsl.ops import downsampling

Level = Literal["network", "stage", "block", "layer"]
LEVELS: tuple[str, ...] = ("network", "stage", "block", "layer")
Kind = Literal["input", "layer", "block", "stage", "add", "entry", "fork"]
ArrowStyle = Literal["main", "identity", "projection", "pad"]

# How a stage box names its blocks' shortcuts (BlockInfo.shortcut -> the paper's words).
_SHORTCUT_NAMES = {"identity": "identity", "projection": "projection", "pad": "zero-pad"}
# The box kind of an op's way of being drawn.
_BOX_KINDS: dict[str, Kind] = {"circle": "add", "caption": "input"}


@dataclass(frozen=True)
class Box:
    """One drawn node. ``key`` is unique within its diagram; ``stage`` picks its cluster.

    ``row`` says which row of the figure the box sits on, in terms every network shares:
    ``(0,)`` the input, ``(1, i)`` the i-th stem box, ``(2, s, b, 0, 0)`` the fork of block b
    of stage s, ``(2, s, b, 1, i)`` its i-th layer, ``(2, s, b, 2, 0)`` its ``+``, ``(2, s)``
    a whole stage, ``(3, i)`` the i-th head box. Rows increase along the data flow, so boxes of
    side-by-side networks with equal rows can share a rank (plain-34's and ResNet-34's i-th
    layers side by side, as in Fig. 3).
    """

    key: str
    label: str
    kind: Kind
    stage: int | None
    row: tuple[int, ...] = ()


@dataclass(frozen=True)
class Arrow:
    """One drawn edge: the data flow (``main``) or a block's shortcut arc."""

    tail: str
    head: str
    shape: tuple[int, ...] | None
    style: ArrowStyle = "main"
    label: str = ""  # what a shortcut does to its input, for projection and pad


@dataclass(frozen=True)
class Cluster:
    """A stage's boundary: its title (``conv3_x``) and output size (``28x28``)."""

    stage: int
    title: str


@dataclass(frozen=True)
class Diagram:
    """One network, folded to one level of detail, ready to be written as a DOT column."""

    name: str
    caption: str  # "34-layer residual", as the columns of Fig. 3 are titled
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    clusters: tuple[Cluster, ...]


def fold(net: Network, level: Level = "layer") -> Diagram:
    """Fold one shaped IR into the boxes and arrows drawn at ``level``."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    group = _groups(net, level)
    members: dict[str, list[int]] = {}
    for node, key in enumerate(group):
        if key is not None:
            members.setdefault(key, []).append(node)
    boxes = _boxes(net, level, members)
    arrows = _main_arrows(net, group)
    if level != "network":
        # The residual additions: the merges one of whose inputs is the shortcut (a side
        # branch's product or sum is data flow like any other).
        merges = [i for i, n in enumerate(net.nodes) if "shortcut" in n.roles]
        entries = _entries(boxes, arrows)
        arcs = tuple(_shortcut_arc(net, group, i, entries) for i in merges)
        forks = {arc.tail for arc in arcs}
        entries = {
            tail: dataclasses.replace(e, kind="fork") if e.key in forks else e
            for tail, e in entries.items()
        }
        boxes = tuple(sorted((*boxes, *entries.values()), key=lambda b: b.row))
        arrows = _through_entries(arrows, entries) + arcs
    kind = "plain" if net.shortcut == "none" else "residual"
    return Diagram(
        name=net.name,
        caption=f"{net.depth}-layer {kind}",
        boxes=boxes,
        arrows=arrows,
        clusters=_clusters(net) if level != "network" else (),
    )


def _groups(net: Network, level: Level) -> list[str | None]:
    """The box every IR node belongs to; None for shortcut-branch nodes, drawn as the arc."""
    group: list[str | None] = []
    for index, node in enumerate(net.nodes):
        inputs = node.inputs
        if node.branch == "shortcut":
            key = None
        elif node.op.drawn == "folded" and len(inputs) == 1 and group[inputs[0]] is not None:
            key = group[inputs[0]]
        elif node.section == "stage" and level == "network":
            key = f"s{node.stage}"
        elif node.section == "stage" and level != "layer" and "shortcut" not in node.roles:
            key = f"b{node.stage}.{node.block}"
        else:
            key = f"n{index}"
        group.append(key)
    return group


def _main_arrows(net: Network, group: list[str | None]) -> tuple[Arrow, ...]:
    """Data flow between boxes: every IR edge that crosses from one box to another, once."""
    arrows: dict[tuple[str, str], Arrow] = {}
    for u, v, branch in net.edges():
        tail, head = group[u], group[v]
        if tail is None or head is None or tail == head or branch == "shortcut":
            continue
        arrows.setdefault((tail, head), Arrow(tail, head, net.nodes[u].shape))
    return tuple(arrows.values())


def _shortcut_source(net: Network, add: int) -> tuple[int, list[Node]]:
    """The node a block's shortcut reads, and the shortcut branch's ops (projection conv + BN,
    or pad; none for an identity), from the addition back."""
    source = net.nodes[add].inputs[net.nodes[add].roles.index("shortcut")]
    chain: list[Node] = []
    while net.nodes[source].branch == "shortcut":
        chain.append(net.nodes[source])
        (source,) = net.nodes[source].inputs
    return source, chain


def _entries(boxes: Sequence[Box], arrows: Sequence[Arrow]) -> dict[str, Box]:
    """A point where the column enters each stage, keyed by the box before it (the stem's last
    box, or the previous stage's last). The stage's title sits beside it, and the first block's
    shortcut leaves from it (then it is a ``fork``): so that arc stays beside its block and
    inside its stage's frame, instead of starting in the stage before."""
    by_key = {box.key: box for box in boxes}
    entries = {}
    for arrow in arrows:
        tail, head = by_key[arrow.tail], by_key[arrow.head]
        if head.stage is not None and tail.stage != head.stage:
            row = (*head.row[:3], 0, 0)
            entries[arrow.tail] = Box(f"e{head.stage}", "", "entry", head.stage, row)
    return entries


def _through_entries(arrows: tuple[Arrow, ...], entries: dict[str, Box]) -> tuple[Arrow, ...]:
    """The main arrows, with the arrow into each stage passing through its entry point."""
    routed: list[Arrow] = []
    for arrow in arrows:
        entry = entries.get(arrow.tail)
        if entry is None:
            routed.append(arrow)
        else:
            routed += [
                Arrow(arrow.tail, entry.key, arrow.shape),
                Arrow(entry.key, arrow.head, arrow.shape),
            ]
    return tuple(routed)


def _shortcut_arc(
    net: Network, group: list[str | None], add: int, entries: dict[str, Box]
) -> Arrow:
    """The arc from a block's input to its addition, styled by what the shortcut does; from
    the stage's entry point where the input is the stage before's last box."""
    source, chain = _shortcut_source(net, add)
    shape = chain[0].shape if chain else net.nodes[source].shape
    tail, head = group[source], group[add]
    assert tail is not None and head is not None  # neither is on a shortcut branch
    if tail in entries and entries[tail].stage == net.nodes[add].stage:
        tail = entries[tail].key
    if not chain:
        return Arrow(tail, head, shape, "identity")
    label = " + ".join(n.op.label() for n in reversed(chain) if n.op.drawn != "folded")
    style: ArrowStyle = "projection" if any(n.op.shown and n.op.params() for n in chain) else "pad"
    return Arrow(tail, head, shape, style, label)


def _boxes(net: Network, level: Level, members: dict[str, list[int]]) -> tuple[Box, ...]:
    """A box per group of IR nodes, each on its row (see :class:`Box`): stem and head boxes
    counted in order, a block's layers counted from its first, its ``+`` after them."""
    counts: dict[tuple[int, ...], int] = {}
    boxes = []
    for key, nodes in members.items():
        box, node = _box(net, key, nodes), net.nodes[nodes[0]]
        if node.section == "input":
            row: tuple[int, ...] = (0,)
        elif node.section != "stage":
            section = (1,) if node.section == "stem" else (3,)
            row = (*section, counts.get(section, 0))
        elif level == "network":
            row = (2, node.stage or 0)
        elif box.kind == "add" and "shortcut" in node.roles:
            row = (2, node.stage or 0, node.block or 0, 2, 0)
        else:
            block = (2, node.stage or 0, node.block or 0, 1)
            row = (*block, counts.get(block, 0))
        counts[row[:-1]] = row[-1] + 1
        boxes.append(dataclasses.replace(box, row=row))
    return tuple(boxes)


def _box(net: Network, key: str, nodes: Sequence[int]) -> Box:
    head = net.nodes[nodes[0]]
    stage = head.stage if head.section == "stage" else None
    if key.startswith("s"):
        return Box(key, _stage_label(net, stage), "stage", stage)  # type: ignore[arg-type]
    if key.startswith("b"):
        main = [
            net.nodes[n].op.label()
            for n in nodes
            if net.nodes[n].op.shown and net.nodes[n].branch == "main"
        ]
        return Box(key, "\n".join([*main, *side_branches(net, nodes)]), "block", stage)
    return Box(key, head.op.label(), _BOX_KINDS.get(head.op.drawn, "layer"), stage)


def side_branches(net: Network, members: Sequence[int]) -> list[str]:
    """A block's side branches, a line each, as the module they sit in and its layers:
    ``se: fc 16, fc 256`` for squeeze-and-excitation (Hu et al. 2018 write its two 1x1
    convolutions on the pooled map as fc layers), ``se: 1-d conv, k=5`` for ECA."""
    found: dict[str, list[str]] = {}
    for n in members:
        node = net.nodes[n]
        if node.branch != "side" or not node.op.shown:
            continue
        module = node.path.split(".")[2] if node.path.count(".") > 2 else node.path
        found.setdefault(module, []).append(_side_label(net, node))
    return [f"{module}: {', '.join(labels)}" for module, labels in found.items()]


def _side_label(net: Network, node: Node) -> str:
    shape = net.nodes[node.inputs[0]].shape
    pooled = shape is not None and len(shape) == 3 and shape[1:] == (1, 1)
    kernel = getattr(node.op, "kernel", None)
    if pooled and kernel == (1, 1) and node.shape is not None:
        return f"fc {node.shape[0]}"
    return node.op.label()


def _stage_label(net: Network, stage: int) -> str:
    """A stage as Table 1 writes it: its name, then one block's layers, times the block count."""
    info = net.stage(stage)
    first = [
        n.op
        for n in net.nodes
        if n.op.shown and n.stage == stage and n.block == 0 and n.branch == "main"
    ]
    lines = [f"{info.title}{downsampling((info.stride, info.stride))}"]
    lines += [op.table_entry(stride=False) for op in first]
    block = [i for i, n in enumerate(net.nodes) if n.stage == stage and n.block == 0]
    lines += side_branches(net, block)
    lines[-1] += f"  x {info.blocks}"
    kinds = [b.shortcut for b in net.blocks if b.stage == stage and b.shortcut != "none"]
    if kinds:
        counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
        lines.append(", ".join(f"{n} {_SHORTCUT_NAMES[k]}" for k, n in counts.items()))
    return "\n".join(lines)


def _clusters(net: Network) -> tuple[Cluster, ...]:
    """Each stage's title with its output size, read from the shape of its last node."""
    sizes = {n.stage: n.shape for n in net.nodes if n.section == "stage"}
    clusters = []
    for info in net.stages:
        shape = sizes.get(info.index)
        size = "" if not shape or len(shape) != 3 else f", {shape[1]}x{shape[2]}"
        clusters.append(Cluster(info.index, f"{info.title}{size}"))
    return tuple(clusters)
