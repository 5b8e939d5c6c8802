"""Drawing networks as the paper's Figure 3 does: fold the IR into boxes and arrows
(:mod:`resdsl.graph.fold`), write them as DOT and render through Graphviz
(:mod:`resdsl.graph.dot`). Only rendering to SVG or PNG needs Graphviz; torch never."""

from __future__ import annotations

from resdsl.graph.dot import FORMATS, GraphvizFailed, GraphvizNotFound, render, to_dot, write_dot
from resdsl.graph.fold import LEVELS, Diagram, fold

__all__ = [
    "FORMATS",
    "LEVELS",
    "Diagram",
    "GraphvizFailed",
    "GraphvizNotFound",
    "fold",
    "render",
    "to_dot",
    "write_dot",
]
