"""Reading the DOT that resdsl.graph writes back into nodes, edges and rank groups, for the
graph tests: one statement per line makes that a few regular expressions."""

from __future__ import annotations

import functools
import re

from resdsl.ir.network import Network
from resdsl.pipeline import check_or_raise
from tests.conftest import ROOT

NODE = re.compile(r'^\s*"([^"]+)" \[(.*)\];$')
EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$')
RANK = re.compile(r"^\s*\{ rank=same; (.*) \}$")
CLUSTER = re.compile(r'^\s*subgraph "(cluster_[^"]+)" \{$')
# Node ids are c<column>_<key>: t<stage> is a stage's title, l<arrow> a shortcut's label;
# every other node is a box of the diagram (e<stage>: where the column enters a stage).
TEXT = re.compile(r"^c\d+_[tl]\d+$")

Edges = list[tuple[str, str, str]]


@functools.cache
def network(spec: str, name: str | None = None) -> Network:
    (graph,) = check_or_raise(ROOT / "specs" / f"{spec}.res", name)
    return graph


def parse(dot: str) -> tuple[dict[str, str], Edges]:
    """The DOT's boxes (id -> attributes; titles and labels left out) and edges (tail, head,
    attributes), line by line."""
    nodes = {m[1]: m[2] for line in dot.splitlines() if (m := NODE.match(line))}
    edges = [(m[1], m[2], m[3]) for line in dot.splitlines() if (m := EDGE.match(line))]
    return {k: v for k, v in nodes.items() if not TEXT.match(k)}, edges


def texts(dot: str) -> dict[str, str]:
    """Stage titles and shortcut labels: id -> attributes."""
    nodes = {m[1]: m[2] for line in dot.splitlines() if (m := NODE.match(line))}
    return {k: v for k, v in nodes.items() if TEXT.match(k)}


def ranks(dot: str) -> list[set[str]]:
    """Every ``rank=same`` group, as the set of node ids it names."""
    return [
        set(re.findall(r'"([^"]+)"', m[1])) for line in dot.splitlines() if (m := RANK.match(line))
    ]


def clusters(dot: str) -> dict[str, str]:
    """Node id -> the innermost cluster it is declared in."""
    where, stack = {}, []
    for line in dot.splitlines():
        if m := CLUSTER.match(line):
            stack.append(m[1])
        elif line.strip() == "}" and stack:
            stack.pop()
        elif (m := NODE.match(line)) and stack:
            where[m[1]] = stack[-1]
    return where


def label(attrs: str) -> str:
    return re.search(r'label="((?:[^"\\]|\\.)*)"', attrs)[1]  # type: ignore[index]


def column(edges: Edges) -> Edges:
    """The column's arrows, the only edges that weigh 100."""
    return [e for e in edges if "weight=100" in e[2]]


def styled(edges: Edges, style: str) -> Edges:
    return [e for e in edges if f"style={style}" in e[2]]


def arcs(edges: Edges) -> Edges:
    """Shortcut arcs: the edges that end on the right of a ``+``, beside the column (a labelled
    arc is two edges, the first to its label; this is the second)."""
    return [e for e in edges if "headport=e" in e[2]]


def blocks_with_shortcuts(graph: Network) -> int:
    """One arc per block of a residual network (16 in a 34-layer one), none in a plain one."""
    return sum(b.shortcut != "none" for b in graph.blocks)
