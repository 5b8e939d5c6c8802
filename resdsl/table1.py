"""The paper's Table 1 for any set of networks: a row per stage, blocks written as the paper
writes them, the FLOPs row at the bottom.

    >>> print(to_text(table1(graphs, reports)))            # doctest: +SKIP
    layer name | output size | resnet18                 | resnet34 ...
    conv1      | 112x112     | 7x7, 64, stride 2        | 7x7, 64, stride 2
    conv2_x    | 56x56       | 3x3 max pool, stride 2   | ...
               |             | [3x3, 64; 3x3, 64] x 2   | [3x3, 64; 3x3, 64] x 3
    ...
    FLOPs      |             | 1.8x10^9                 | 3.6x10^9

The notation is read off the IR (the first block of each stage, its main branch), not from
the spec text, so a derived network (``resnet34 with shortcut A``) is written correctly too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
from rich.table import Table

from resdsl.report import paper_flops
from resdsl.stats import NetworkStats


def table1(graphs: Sequence[nx.DiGraph], reports: Sequence[NetworkStats]) -> Table:
    """Table 1 with one column per network; ``reports`` are the stats of ``graphs``."""
    columns = [_column(g) for g in graphs]
    table = Table(title="Table 1 (He et al. 2015), from the specs")
    table.add_column("layer name")
    table.add_column("output size")
    for graph in graphs:
        table.add_column(f"{graph.graph['name']}\n{_depth(graph)}-layer", justify="center")
    rows = max(len(c) for c in columns)
    for i in range(rows):
        cells = [c[i] if i < len(c) else ("", "", "") for c in columns]
        sizes = list(dict.fromkeys(size for _, size, _ in cells if size))
        name = next((n for n, _, _ in cells if n), "")
        table.add_row(name, " / ".join(sizes), *(text for _, _, text in cells))
        table.add_section()
    table.add_row("FLOPs", "", *(paper_flops(r.flops) for r in reports))
    return table


def _column(graph: nx.DiGraph) -> list[tuple[str, str, str]]:
    """(layer name, output size, cell text) rows for one network: stem, stages, head."""
    nodes = [a for _, a in graph.nodes(data=True)]
    stem = [a for a in nodes if a["section"] == "stem"]
    convs = [a for a in stem if a["op"] == "conv"]
    pools = [a for a in stem if a["op"] in ("maxpool", "avgpool")]
    last_conv = convs[-1] if convs else stem[-1]
    rows = [("conv1", _size(last_conv["shape"]), "\n".join(_layer(a) for a in convs))]
    for info in graph.graph["stages"]:
        members = [a for a in nodes if a.get("stage") == info.index]
        first = [a for a in members if a["block"] == 0 and a["branch"] == "main"]
        block = "; ".join(_layer(a, stride=False) for a in first if a["op"] == "conv")
        text = f"[{block}] x {info.blocks}"
        if info.index == 1 and pools:  # the paper lists the stem's pool in conv2_x's row
            text = "\n".join([*(_layer(p) for p in pools), text])
        rows.append((info.title, _size(members[-1]["shape"]), text))
    head = [a for a in nodes if a["section"] == "head"]
    words = [_head(a) for a in head if a["op"] in ("avgpool", "fc")]
    rows.append(("", _size(head[0]["shape"]) if head else "", ", ".join([*words, "softmax"])))
    return rows


def _layer(attrs: dict[str, Any], stride: bool = True) -> str:
    kh, kw = attrs["kernel"]
    if attrs["op"] == "conv":
        text = f"{kh}x{kw}, {attrs['out_channels']}"
    else:
        text = f"{kh}x{kw} {'max' if attrs['op'] == 'maxpool' else 'average'} pool"
    step = attrs["stride"][0]
    return f"{text}, stride {step}" if stride and step != 1 else text


def _head(attrs: dict[str, Any]) -> str:
    return f"{attrs['out_features']}-d fc" if attrs["op"] == "fc" else "average pool"


def _size(shape: tuple[int, ...] | None) -> str:
    return "x".join(str(d) for d in shape[1:]) if shape and len(shape) == 3 else "1x1"


def _depth(graph: nx.DiGraph) -> int:
    from resdsl.ir import depth

    return depth(graph)
