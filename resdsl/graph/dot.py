"""Diagrams -> DOT source text (pure), and DOT -> SVG/PNG through the real Graphviz ``dot``.

    >>> from resdsl.pipeline import check_or_raise
    >>> source = to_dot(check_or_raise("specs/resnet18.res"), level="stage")
    >>> source.splitlines()[0], source.count(" -> ")
    ('digraph resdsl {', 28)

NOTE: the DOT is written by hand rather than through the ``graphviz`` PyPI package: it is a
few dozen lines of text with one quoting rule, the package would only wrap the same
``subprocess`` call that :func:`render` makes, and a dependency less keeps ``.dot`` output
working everywhere. One statement per line, so the text is stable and diffable, and tests can
count nodes and edges. Rendering needs the system's ``dot`` (``apt-get install graphviz``);
without it :func:`render` raises :class:`GraphvizNotFound`, which says how to install it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence

from resdsl.diagnostics import ResdslError
from resdsl.graph.fold import Arrow, Box, Diagram, Level, fold
from resdsl.ir import Network

FORMATS: tuple[str, ...] = ("svg", "png")
# PNG at 1.5x Graphviz's 96 dpi, so that 8-point shape labels stay legible in a README.
PNG_DPI = 144

# Fill colours per stage, pastel like the stage colours of Fig. 3; index 0 is the stem/head.
_PALETTE = ("#eeeeee", "#dae8fc", "#d5e8d4", "#ffe6cc", "#e1d5e7", "#fff2cc", "#f8cecc")

_HEADER = """\
digraph resdsl {
  graph [rankdir=TB, newrank=true, fontname="Helvetica", fontsize=11, nodesep=0.3,
         ranksep=0.3, labeljust=l];
  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, height=0.3,
        margin="0.12,0.04", color="#555555"];
  edge [fontname="Helvetica", fontsize=8, fontcolor="#555555", color="#333333",
        arrowsize=0.5];"""

# Stage clusters: a thin rounded frame (penwidth set again: the column's penwidth=0 inherits).
# Titles on the right: the shape labels of the arrows entering a stage sit on the left.
_STAGE_CLUSTER = 'style=rounded; color="#999999"; penwidth=1; fontsize=10; labeljust=r;'

# How each kind of arrow is drawn: the paper's convention (solid identity, dashed projection),
# plus a dotted arc for option A's zero padding. Shortcut arcs leave and enter on the right
# (ports e) so they curve beside the column, as in Fig. 3, and do not constrain the ranks.
_ARROW_ATTRS = {
    "main": "",
    "identity": 'tailport=e, headport=e, constraint=false, color="#1f5fa8"',
    "projection": 'style=dashed, tailport=e, headport=e, constraint=false, color="#1f5fa8"',
    "pad": 'style=dotted, penwidth=1.5, tailport=e, headport=e, constraint=false, color="#b5471b"',
}


class GraphvizNotFound(ResdslError):
    """SVG/PNG was asked for but Graphviz's ``dot`` is not on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz 'dot' was not found on PATH; it is needed for SVG and PNG output.\n"
            "Install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz;\n"
            "or run 'make graphviz'), or write DOT instead: -o FILE.dot, or no -o for stdout."
        )


class GraphvizFailed(ResdslError):
    """``dot`` ran and failed; carries its error output."""


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as centred breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def to_dot(nets: Iterable[Network], level: Level = "layer") -> str:
    """DOT source for checked networks, side by side in the order given. Pure: no Graphviz."""
    return write_dot([fold(net, level) for net in nets])


def write_dot(diagrams: Sequence[Diagram]) -> str:
    """DOT source for the diagrams, one column per network, left to right in order."""
    lines = [_HEADER]
    for column, diagram in enumerate(diagrams):
        lines += _column(column, diagram)
    if len(diagrams) > 1:  # the columns' first boxes on one rank, in order: top-aligned columns
        firsts = [_id(c, d.boxes[0]) for c, d in enumerate(diagrams) if d.boxes]
        lines.append("  { rank=same; " + " -> ".join(firsts) + " [style=invis]; }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _column(column: int, diagram: Diagram) -> list[str]:
    """One network: a cluster titled like Fig. 3's columns, its stages as nested clusters."""
    title = f"{diagram.caption}\n({diagram.name})"
    lines = [
        f"  subgraph {quote(f'cluster_c{column}')} {{",
        f"    label={quote(title)}; labeljust=c; fontsize=13; penwidth=0;",
    ]
    in_stage: dict[int | None, list[Box]] = {}
    for box in diagram.boxes:
        in_stage.setdefault(box.stage, []).append(box)
    lines += [_node(column, box, "    ") for box in in_stage.get(None, [])]
    for cluster in diagram.clusters:
        lines += [
            f"    subgraph {quote(f'cluster_c{column}_s{cluster.stage}')} {{",
            f"      label={quote(cluster.title)}; {_STAGE_CLUSTER}",
        ]
        lines += [_node(column, box, "      ") for box in in_stage.get(cluster.stage, [])]
        lines.append("    }")
    for stage, boxes in in_stage.items():  # stages without a cluster (the network level)
        if stage is not None and stage not in {c.stage for c in diagram.clusters}:
            lines += [_node(column, box, "    ") for box in boxes]
    lines.append("  }")
    lines += [_edge(column, arrow) for arrow in diagram.arrows]
    return lines


def _node(column: int, box: Box, indent: str) -> str:
    fill = _PALETTE[(box.stage or 0) % len(_PALETTE)]
    attrs = [f"label={quote(box.label)}", f'fillcolor="{fill}"']
    if box.kind == "add":
        attrs += ["shape=circle", "width=0.22", "height=0.22", "fixedsize=true", "margin=0"]
    elif box.kind == "input":
        attrs += ["shape=plaintext", "style=solid"]
    return f"{indent}{_id(column, box)} [{', '.join(attrs)}];"


def _edge(column: int, arrow: Arrow) -> str:
    shape = "x".join(str(d) for d in arrow.shape) if arrow.shape else "?"
    if arrow.style == "main":  # xlabel: placed after layout, so it does not bend the column
        label = f"xlabel={quote(shape)}"
    elif arrow.style == "identity":  # same shape as the arrow beside it: no label, less clutter
        label = ""
    else:
        label = f"label={quote(f'{arrow.label}, {shape}')}"
    attrs = ", ".join(a for a in (label, _ARROW_ATTRS[arrow.style]) if a)
    tail, head = quote(f"c{column}_{arrow.tail}"), quote(f"c{column}_{arrow.head}")
    return f"  {tail} -> {head} [{attrs}];"


def _id(column: int, box: Box) -> str:
    return quote(f"c{column}_{box.key}")


def render(source: str, fmt: str, dot: str | None = None) -> bytes:
    """Run Graphviz ``dot -T<fmt>`` over DOT source and return the picture's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    executable = dot or shutil.which("dot")
    if executable is None:
        raise GraphvizNotFound()
    command = [executable, f"-T{fmt}", *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    result = subprocess.run(command, input=source.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise GraphvizFailed(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout
