"""Drawing networks as the paper's Figure 3 does: fold the IR into boxes and arrows
(:mod:`resdsl.graph.fold`), write them as DOT (:mod:`resdsl.graph.dot`), render and write the
picture through Graphviz (:mod:`resdsl.graph.output`). Only pictures need Graphviz; torch never."""

from __future__ import annotations

from resdsl.graph.dot import to_dot, write_dot
from resdsl.graph.fold import LEVELS, Diagram, fold
from resdsl.graph.output import (
    FORMATS,
    GraphOutputError,
    GraphvizFailed,
    GraphvizNotFound,
    output_format,
    render,
    write_output,
)

__all__ = [
    "FORMATS",
    "LEVELS",
    "Diagram",
    "GraphOutputError",
    "GraphvizFailed",
    "GraphvizNotFound",
    "fold",
    "output_format",
    "render",
    "to_dot",
    "write_dot",
    "write_output",
]
