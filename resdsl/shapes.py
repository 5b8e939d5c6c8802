"""Stage 3: annotate every node and edge of the IR with its tensor shape.

    >>> graph = infer_shapes(graph)                      # doctest: +SKIP
    >>> graph.nodes[len(graph) - 1]["shape"]             # the fc's output
    (1000,)

Shapes are (C, H, W) up to the fc, then (features,). Output sizes follow PyTorch's
floor rule, ``(H + 2p - k) // s + 1``; the option-A shortcut subsamples with stride s, so
its size is ``ceil(H / s)``, which equals the strided 3x3 (padding 1) and 1x1 (padding 0)
convolutions of the main path. A node whose size would not be positive gets ``None`` and so
does everything after it; :mod:`resdsl.validate` reports where that began.
"""

from __future__ import annotations

import math

import networkx as nx

Shape = tuple[int, ...]


def infer_shapes(graph: nx.DiGraph) -> nx.DiGraph:
    """Return a copy of ``graph`` with ``shape`` on every node and edge."""
    graph = graph.copy()
    for node, attrs in graph.nodes(data=True):
        inputs = [graph.nodes[p]["shape"] for p in graph.predecessors(node)]
        attrs["shape"] = None if None in inputs else output_shape(attrs, inputs)
    for source, _, attrs in graph.edges(data=True):
        attrs["shape"] = graph.nodes[source]["shape"]
    return graph


def output_shape(attrs: dict, inputs: list[Shape]) -> Shape | None:
    """The shape one operation produces from its input shapes (None if not positive)."""
    op = attrs["op"]
    if op == "input":
        return (attrs["channels"], attrs["height"], attrs["width"])
    (c, h, w), *_ = inputs
    if op in ("bn", "relu", "add"):
        return inputs[0]
    if op in ("conv", "maxpool") or (op == "avgpool" and not attrs.get("global")):
        out_c = attrs["out_channels"] if op == "conv" else c
        size = sliding(h, w, attrs["kernel"], attrs["stride"], attrs["padding"])
        return None if size is None else (out_c, *size)
    if op == "avgpool":
        return (c, 1, 1)
    if op == "pad":
        sh, sw = attrs["stride"]
        return (attrs["out_channels"], math.ceil(h / sh), math.ceil(w / sw))
    if op == "fc":
        return (attrs["out_features"],)
    raise ValueError(f"shapes: unknown op {op!r}")  # a closed set; a new op must be added here


def sliding(h: int, w: int, kernel, stride, padding) -> tuple[int, int] | None:
    """Output size of a convolution or pooling window, or None if the window does not fit."""
    out_h = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    out_w = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        return None
    return (out_h, out_w)
