"""Diagrams -> DOT source text, laid out as the paper's Figure 3: pure, no Graphviz needed.

    >>> from resdsl.pipeline import check_or_raise
    >>> source = to_dot(check_or_raise("specs/resnet18.res"), level="stage")
    >>> source.splitlines()[0], source.count("style=dashed")
    ('digraph resdsl {', 6)

NOTE: how the layout is steered. Graphviz's ``dot`` places nodes by itself; the text says
only what it must respect. (1) Rows: boxes of different columns with the same
:attr:`~resdsl.graph.fold.Box.row` (the same layer of the same block) go into one
``{ rank=same; ... }`` group, so plain-34's i-th layer sits beside ResNet-34's, as in Fig. 3;
rows only one column has (a residual net's ``+``) leave a gap in the others. (2) Straight
columns: the column's arrows weigh 100 (Graphviz's default is 1) and share a ``group``, so
that a wide box or a title does not bend them. (3) Nothing crosses a title: a stage's title
is a text node left of the point where the column enters the stage, not the cluster's own
label, which sits on the frame's top edge where the arrow comes in. (4) Shortcut arcs leave
and enter on the right (ports ``e``) without constraining the ranks; a labelled one
(projection, zero padding) runs from its tail to its label, a text node right of the box
after the tail, then down to its ``+``: the label sits inside the stage's frame and takes no
rank of its own (an edge label proper would double every rank's height; a label on the tail's
own row would need a flat edge, which Graphviz 2.43 draws with a stray arrowhead). (5) Shapes
are ``xlabel``s, placed after layout, so they move nothing; ``shapes=False`` leaves them out
and more than halves the rank separation, for a compact figure.

The DOT is written by hand rather than through the ``graphviz`` PyPI package: a few dozen
lines of text with one quoting rule, one statement per line, stable and diffable, so tests can
read nodes, edges and rank groups back. Rendering is :mod:`resdsl.graph.output`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from resdsl.graph.fold import Arrow, Box, Diagram, Level, fold
from resdsl.ir.network import Network

# Fill colours per stage, pastel like the stage colours of Fig. 3; index 0 is the stem/head.
_PALETTE = ("#eeeeee", "#dae8fc", "#d5e8d4", "#ffe6cc", "#e1d5e7", "#fff2cc", "#f8cecc")
_INK = "#333333"

# Rank separation (inches): room for a shape label beside every arrow, or compact without.
_RANKSEP = {True: 0.3, False: 0.12}
_HEADER = """\
digraph resdsl {
  graph [rankdir=TB, newrank=true, fontname="Helvetica", fontsize=11, nodesep=0.2,
         ranksep=%s];
  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, height=0.26,
        margin="0.1,0.03", color="#555555"];
  edge [fontname="Helvetica", fontsize=8, fontcolor="#555555", color="#333333",
        arrowsize=0.5];"""

# A stage's frame: thin and rounded (penwidth set again: the column's penwidth=0 inherits),
# untitled (its title is a node, see the module's note).
_STAGE_CLUSTER = 'label=""; style=rounded; color="#999999"; penwidth=1;'
_TEXT = 'shape=plaintext, style="", margin="0.02,0"'
_TITLE = f'{_TEXT}, fontsize=10, fontcolor="#444444"'
_ARC_LABEL = f'{_TEXT}, fontsize=8, fontcolor="#555555", height=0.15'

# Shortcut arcs, the paper's convention (solid identity, dashed projection), plus dotted for
# option A's zero padding; beside the column, on the right, not constraining the ranks.
_ARC = "tailport=e, headport=e, constraint=false"
_ARC_STYLES = {
    "identity": 'color="#1f5fa8"',
    "projection": 'style=dashed, color="#1f5fa8"',
    "pad": 'style=dotted, penwidth=1.5, color="#b5471b"',
}


def to_dot(nets: Iterable[Network], level: Level = "layer", shapes: bool = True) -> str:
    """DOT source for checked networks, side by side in the order given."""
    return write_dot([fold(net, level) for net in nets], shapes)


def write_dot(diagrams: Sequence[Diagram], shapes: bool = True) -> str:
    """DOT source for the diagrams, one column per network, left to right in order.

    Corresponding layers share a rank (see the module's note); ``shapes`` writes the tensor
    shape beside every arrow (C x H x W), and beside labelled shortcuts.
    """
    lines = [_HEADER % _RANKSEP[shapes]]
    for column, diagram in enumerate(diagrams):
        lines += _column(column, diagram, shapes)
    lines += _rows(diagrams)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _column(column: int, diagram: Diagram, shapes: bool) -> list[str]:
    """One network: a cluster titled like Fig. 3's columns, its stages as nested clusters."""
    title = f"{diagram.caption}\n({diagram.name})"
    lines = [
        f"  subgraph {quote(f'cluster_c{column}')} {{",
        f"    label={quote(title)}; labeljust=c; fontsize=13; penwidth=0;",
    ]
    stage_of = {box.key: box.stage for box in diagram.boxes}
    in_stage: dict[int | None, list[str]] = {}
    for box in diagram.boxes:
        in_stage.setdefault(box.stage, []).append(_node(column, box))
    for index, arrow in enumerate(diagram.arrows):
        if arrow.label:
            text = f"{arrow.label}, {_shape(arrow)}" if shapes else arrow.label
            node = f"{_label_id(column, index)} [label={quote(text)}, {_ARC_LABEL}];"
            in_stage.setdefault(stage_of[arrow.tail], []).append(node)
    lines += [f"    {node}" for node in in_stage.pop(None, [])]
    for cluster in diagram.clusters:
        title = f"{_title_id(column, cluster.stage)} [label={quote(cluster.title)}, {_TITLE}];"
        lines += [
            f"    subgraph {quote(f'cluster_c{column}_s{cluster.stage}')} {{",
            f"      {_STAGE_CLUSTER}",
            f"      {title}",
            *(f"      {node}" for node in in_stage.pop(cluster.stage, [])),
            "    }",
        ]
    lines += [f"    {node}" for nodes in in_stage.values() for node in nodes]  # unframed
    lines.append("  }")
    points = {box.key for box in diagram.boxes if box.kind in ("entry", "fork")}
    for index, arrow in enumerate(diagram.arrows):
        lines += _edges(column, index, arrow, shapes, points)
    return lines


def _rows(diagrams: Sequence[Diagram]) -> list[str]:
    """The rank groups: every row two or more columns share; each stage's title left of the
    point where its column enters the stage; each shortcut's label right of the box after its
    tail. The first row also orders the columns left to right. Flat invisible edges give the
    order."""
    rows: dict[tuple[int, ...], list[str]] = {}
    beside: dict[tuple[int, ...], list[str]] = {}
    for column, diagram in enumerate(diagrams):
        boxes = {box.key: box for box in diagram.boxes}
        for box in diagram.boxes:
            rows.setdefault(box.row, []).append(_id(column, box))
        for cluster in diagram.clusters:
            first = next((b for b in diagram.boxes if b.stage == cluster.stage), None)
            if first is not None:
                pair = f"{_title_id(column, cluster.stage)} -> {_id(column, first)}"
                beside.setdefault(first.row, []).append(f"{pair} [style=invis];")
        after = dict(itertools.pairwise(diagram.boxes))
        for index, arrow in enumerate(diagram.arrows):
            if arrow.label:
                box = after[boxes[arrow.tail]]
                pair = f"{_id(column, box)} -> {_label_id(column, index)}"
                beside.setdefault(box.row, []).append(f"{pair} [style=invis];")
    lines = []
    for index, (row, ids) in enumerate(sorted(rows.items())):
        if len(ids) < 2 and row not in beside:
            continue
        chain = [" -> ".join(ids) + " [style=invis];"] if index == 0 and len(ids) > 1 else []
        members = chain or [f"{i};" for i in ids]
        lines.append("  { rank=same; " + " ".join([*members, *beside.get(row, [])]) + " }")
    return lines


def _node(column: int, box: Box) -> str:
    fill = _PALETTE[(box.stage or 0) % len(_PALETTE)]
    attrs = [f"label={quote(box.label)}", f'group="c{column}"']
    if box.kind == "add":
        attrs += ["shape=circle", "width=0.2", "height=0.2", "fixedsize=true", "margin=0"]
    elif box.kind in ("fork", "entry"):
        # A fork is where a stage's first shortcut leaves the column, drawn as a small dot. An
        # entry (no shortcut leaves) is as wide as the arrow, covering the 2pt gap dot leaves.
        width = "0.05" if box.kind == "fork" else "0.028"
        attrs += ["shape=point", f"width={width}", f'color="{_INK}"']
        fill = _INK
    elif box.kind == "input":
        attrs += ["shape=plaintext", "style=solid"]
    attrs.insert(1, f'fillcolor="{fill}"')
    return f"{_id(column, box)} [{', '.join(attrs)}];"


def _edges(column: int, index: int, arrow: Arrow, shapes: bool, points: set[str]) -> list[str]:
    """An arrow's DOT edges: one, or two for a labelled shortcut (to its label, then on)."""
    tail, head = quote(f"c{column}_{arrow.tail}"), quote(f"c{column}_{arrow.head}")
    if arrow.style != "main":
        style = _ARC_STYLES[arrow.style]
        if not arrow.label:
            return [f"  {tail} -> {head} [{style}, {_ARC}];"]
        label = _label_id(column, index)
        return [
            f"  {tail} -> {label} [{style}, tailport=e, headport=n, arrowhead=none];",
            f"  {label} -> {head} [{style}, tailport=s, headport=e];",
        ]
    attrs = ["weight=100"]
    if arrow.head in points:  # the first half of an arrow into a stage: its shape on the second
        attrs.append("arrowhead=none, headclip=false")
    elif shapes:
        attrs.append(f"xlabel={quote(_shape(arrow))}")
    if arrow.tail in points:
        attrs.append("tailclip=false")
    return [f"  {tail} -> {head} [{', '.join(attrs)}];"]


def _shape(arrow: Arrow) -> str:
    return "x".join(str(d) for d in arrow.shape) if arrow.shape else "?"


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as centred breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _id(column: int, box: Box) -> str:
    return quote(f"c{column}_{box.key}")


def _title_id(column: int, stage: int) -> str:
    return quote(f"c{column}_t{stage}")


def _label_id(column: int, arrow: int) -> str:
    return quote(f"c{column}_l{arrow}")
