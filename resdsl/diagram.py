"""The graph pass: IR -> a drawing of the network, as the paper's Figure 3 draws it.

    >>> graphs = check_or_raise("specs/resnet34.res")        # doctest: +SKIP
    >>> dot = to_dot(graphs, level="layer")                  # DOT source text, as a value
    >>> svg = render(dot, "svg")                             # resdsl.dot: runs Graphviz `dot`

Two steps, both pure: :func:`fold` turns one IR graph into a :class:`Diagram` (boxes and
arrows at the chosen level of detail), and :func:`resdsl.dot.write_dot` turns diagrams into DOT
text, one column per network. Only rendering to SVG/PNG needs Graphviz.

NOTE: what is drawn, and why.

- Boxes are labelled as the paper labels them: ``7x7 conv, 64, /2``, ``pool, /2``,
  ``avg pool``, ``fc 1000``. Batch norm and ReLU have no box of their own: they fold into the
  box of the layer before them, as in the paper's figures (each "conv" there is conv-BN-ReLU).
- A residual block ends in an addition, drawn as a small ``+`` circle (the ReLU after it folds
  into it, as Fig. 2 draws it). The shortcut is one arc from the block's input to that circle:
  solid for an identity, dashed for a projection (option B/C, the paper's convention; the arc
  is labelled with the projection, ``1x1 conv, 128, /2``, which has no box of its own, as in
  Fig. 3), dotted and labelled ``zero-pad, 128, /2`` for option A. A plain network has none.
- Levels: ``layer`` draws every layer; ``block`` (alias ``stage``) folds each block's
  residual function F into one box, keeping the ``+`` and the shortcut arcs; ``network``
  folds each stage into one box, summarised as Table 1 writes it, and draws no arcs.
- Every arrow carries the shape it transports (``128x28x28``); the DOT writer leaves it off
  identity arcs only, where it repeats the arrow beside them. Each stage is a cluster titled
  with its name and output size (``conv3_x, 28x28``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from resdsl.ir import depth

Level = Literal["network", "stage", "block", "layer"]
LEVELS: tuple[str, ...] = ("network", "stage", "block", "layer")
Kind = Literal["input", "layer", "block", "stage", "add"]
ArrowStyle = Literal["main", "identity", "projection", "pad"]

# How a stage box names its blocks' shortcuts (BlockInfo.shortcut -> the paper's words).
_SHORTCUT_NAMES = {"identity": "identity", "projection": "projection", "pad": "zero-pad"}

# Ops that fold into the box of the op before them (the paper draws conv-BN-ReLU as one box).
_FOLDED = ("bn", "relu")


@dataclass(frozen=True)
class Box:
    """One drawn node. ``key`` is unique within its diagram; ``stage`` picks its cluster."""

    key: str
    label: str
    kind: Kind
    stage: int | None


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


def to_dot(graphs: Iterable[nx.DiGraph], level: Level = "layer") -> str:
    """DOT source for shaped IR graphs, side by side in the order given. Pure: no Graphviz."""
    from resdsl.dot import write_dot  # here, not at the top: resdsl.dot imports this module

    return write_dot([fold(graph, level) for graph in graphs])


def fold(graph: nx.DiGraph, level: Level = "layer") -> Diagram:
    """Fold one shaped IR graph into the boxes and arrows drawn at ``level``."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    group = _groups(graph, level)
    members: dict[str, list[int]] = {}
    for node, key in group.items():
        if key is not None:
            members.setdefault(key, []).append(node)
    boxes = tuple(_box(graph, level, key, nodes) for key, nodes in members.items())
    arrows = _main_arrows(graph, group)
    if level != "network":
        arrows += tuple(_shortcut_arc(graph, group, n) for n in graph if _op(graph, n) == "add")
    info = graph.graph
    kind = "plain" if info["shortcut"] == "none" else "residual"
    return Diagram(
        name=info["name"],
        caption=f"{depth(graph)}-layer {kind}",
        boxes=boxes,
        arrows=arrows,
        clusters=_clusters(graph) if level != "network" else (),
    )


def _groups(graph: nx.DiGraph, level: Level) -> dict[int, str | None]:
    """The box every IR node belongs to; None for shortcut-branch nodes, drawn as the arc."""
    group: dict[int, str | None] = {}
    for node, a in graph.nodes(data=True):
        preds = list(graph.predecessors(node))
        if a.get("branch") == "shortcut":
            group[node] = None
        elif a["op"] in _FOLDED and len(preds) == 1 and group.get(preds[0]) is not None:
            group[node] = group[preds[0]]
        elif a["section"] == "stage" and level == "network":
            group[node] = f"s{a['stage']}"
        elif a["section"] == "stage" and level != "layer" and a["op"] != "add":
            group[node] = f"b{a['stage']}.{a['block']}"
        else:
            group[node] = f"n{node}"
    return group


def _main_arrows(graph: nx.DiGraph, group: dict[int, str | None]) -> tuple[Arrow, ...]:
    """Data flow between boxes: every IR edge that crosses from one box to another, once."""
    arrows: dict[tuple[str, str], Arrow] = {}
    for u, v, a in graph.edges(data=True):
        tail, head = group[u], group[v]
        if tail is None or head is None or tail == head or a.get("branch") == "shortcut":
            continue
        arrows.setdefault((tail, head), Arrow(tail, head, a.get("shape")))
    return tuple(arrows.values())


def _shortcut_arc(graph: nx.DiGraph, group: dict[int, str | None], add: int) -> Arrow:
    """The arc from a block's input to its addition, styled by what the shortcut does."""
    (source,) = (u for u, _, b in graph.in_edges(add, data="branch") if b == "shortcut")
    chain: list[int] = []  # the shortcut branch's ops (projection conv + BN, or pad), if any
    while graph.nodes[source].get("branch") == "shortcut":
        chain.append(source)
        (source,) = graph.predecessors(source)
    ops = {_op(graph, n): graph.nodes[n] for n in chain}
    shape = graph.nodes[chain[0]]["shape"] if chain else graph.nodes[source]["shape"]
    tail, head = group[source], group[add]
    assert tail is not None and head is not None  # neither is on a shortcut branch
    if "conv" in ops:
        return Arrow(tail, head, shape, "projection", layer_label(ops["conv"]))
    if "pad" in ops:
        pad = ops["pad"]
        label = f"zero-pad, {pad['out_channels']}{_stride(pad['stride'])}"
        return Arrow(tail, head, shape, "pad", label)
    return Arrow(tail, head, shape, "identity")


def _box(graph: nx.DiGraph, level: Level, key: str, nodes: Sequence[int]) -> Box:
    head = graph.nodes[nodes[0]]
    stage = head["stage"] if head["section"] == "stage" else None
    if key.startswith("s"):
        return Box(key, _stage_label(graph, stage), "stage", stage)
    if key.startswith("b"):
        convs = [graph.nodes[n] for n in nodes if _op(graph, n) == "conv"]
        return Box(key, "\n".join(layer_label(c) for c in convs), "block", stage)
    kind: Kind = "add" if head["op"] == "add" else "input" if head["op"] == "input" else "layer"
    return Box(key, layer_label(head), kind, stage)


def layer_label(attrs: dict[str, Any]) -> str:
    """A layer as the paper's figures label it: ``3x3 conv, 128, /2``, ``pool, /2``, ``fc 10``."""
    op = attrs["op"]
    if op == "conv":
        kh, kw = attrs["kernel"]
        return f"{kh}x{kw} conv, {attrs['out_channels']}{_stride(attrs['stride'])}"
    if op == "maxpool":
        return f"pool{_stride(attrs['stride'])}"
    if op == "avgpool":
        return "avg pool" if attrs.get("global") else f"avg pool{_stride(attrs['stride'])}"
    if op == "fc":
        return f"fc {attrs['out_features']}"
    if op == "add":
        return "+"
    if op == "input":
        return "image"
    return op  # bn, relu, pad: drawn in a box only if something unusual precedes them


def _stage_label(graph: nx.DiGraph, stage: int) -> str:
    """A stage as Table 1 writes it: its name, then one block's layers, times the block count."""
    info = graph.graph["stages"][stage - 1]
    blocks = [b for b in graph.graph["blocks"] if b.stage == stage]
    first = [
        a
        for _, a in graph.nodes(data=True)
        if a["op"] == "conv" and a["stage"] == stage and a["block"] == 0 and a["branch"] == "main"
    ]
    lines = [f"{info.title}{_stride(info.stride)}"]
    lines += [f"{a['kernel'][0]}x{a['kernel'][1]}, {a['out_channels']}" for a in first]
    lines[-1] += f"  x {info.blocks}"
    kinds = [b.shortcut for b in blocks if b.shortcut != "none"]
    if kinds:
        counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
        lines.append(", ".join(f"{n} {_SHORTCUT_NAMES[k]}" for k, n in counts.items()))
    return "\n".join(lines)


def _clusters(graph: nx.DiGraph) -> tuple[Cluster, ...]:
    """Each stage's title with its output size, read from the shape of its last node."""
    sizes: dict[int, tuple[int, ...] | None] = {}
    for _, a in graph.nodes(data=True):
        if a["section"] == "stage":
            sizes[a["stage"]] = a.get("shape")
    clusters = []
    for info in graph.graph["stages"]:
        shape = sizes.get(info.index)
        size = "" if not shape or len(shape) != 3 else f", {shape[1]}x{shape[2]}"
        clusters.append(Cluster(info.index, f"{info.title}{size}"))
    return tuple(clusters)


def _op(graph: nx.DiGraph, node: int) -> str:
    return graph.nodes[node]["op"]


def _stride(stride: int | tuple[int, int]) -> str:
    """The paper's ``/2`` suffix for a downsampling layer; nothing for stride 1."""
    s = stride if isinstance(stride, int) else max(stride)
    return f", /{s}" if s > 1 else ""
