"""The paper's Table 1 for any set of networks: a row per stage, blocks written as the paper
writes them, the FLOPs row at the bottom.

    >>> from resdsl.pipeline import check_or_raise
    >>> from resdsl.report.tables import to_text
    >>> from resdsl.ir.costs import network_stats
    >>> nets = [*check_or_raise("specs/resnet18.res"), *check_or_raise("specs/resnet50.res")]
    >>> text = to_text(table1(nets, [network_stats(net) for net in nets]))
    >>> rows = [line.split("│") for line in text.splitlines()]
    >>> [[c.strip() for c in row[1:-1]] for row in rows if len(row) > 4 and "conv2_x" in row[1]]
    [['conv2_x', '56x56', '3x3 max pool, stride 2', '3x3 max pool, stride 2']]
    >>> [row[4].strip() for row in rows if len(row) > 4 and "x 3" in row[4]]
    ['[1x1, 64; 3x3, 64; 1x1, 256] x 3', '[1x1, 512; 3x3, 512; 1x1, 2048] x 3']

The notation is read off the IR (the first block of each stage, its main branch; each op's
:meth:`~resdsl.ops.Op.table_entry`), not from the spec text, so a derived network
(``resnet34 with shortcut A``) is written correctly too.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from resdsl.graph.fold import side_branches
from resdsl.ir.costs import NetworkStats
from resdsl.ir.network import Network
from resdsl.report.tables import paper_flops


def table1(nets: Sequence[Network], reports: Sequence[NetworkStats]) -> Table:
    """Table 1 with one column per network; ``reports`` are the stats of ``nets``."""
    columns = [_column(net) for net in nets]
    table = Table(title="Table 1 (He et al. 2015), from the specs")
    table.add_column("layer name")
    table.add_column("output size")
    for net in nets:
        table.add_column(f"{net.name}\n{net.depth}-layer", justify="center")
    rows = max(len(c) for c in columns)
    for i in range(rows):
        cells = [c[i] if i < len(c) else ("", "", "") for c in columns]
        sizes = list(dict.fromkeys(size for _, size, _ in cells if size))
        name = next((n for n, _, _ in cells if n), "")
        table.add_row(name, " / ".join(sizes), *(text for _, _, text in cells))
        table.add_section()
    table.add_row("FLOPs", "", *(paper_flops(r.flops) for r in reports))
    return table


def _column(net: Network) -> list[tuple[str, str, str]]:
    """(layer name, output size, cell text) rows for one network: stem, stages, head."""
    stem = [n for n in net.nodes if n.section == "stem"]
    convs = [n for n in stem if n.op.shown]
    pools = [n for n in stem if n.op.pool]
    last_conv = convs[-1] if convs else stem[-1]
    rows = [("conv1", _size(last_conv.shape), "\n".join(n.op.table_entry() for n in convs))]
    for info in net.stages:
        members = [n for n in net.nodes if n.stage == info.index]
        first = [n.op for n in members if n.block == 0 and n.branch == "main" and n.op.shown]
        entries = [op.table_entry(stride=False) for op in first]
        block = [i for i, n in enumerate(net.nodes) if n.stage == info.index and n.block == 0]
        entries += side_branches(net, block)  # SE's fc layers, as Hu et al. 2018's Table 1
        text = f"[{'; '.join(entries)}] x {info.blocks}"
        if info.index == 1 and pools:  # the paper lists the stem's pool in conv2_x's row
            text = "\n".join([*(p.op.table_entry() for p in pools), text])
        rows.append((info.title, _size(members[-1].shape), text))
    head = [n for n in net.nodes if n.section == "head"]
    words = [n.op.table_entry() for n in head]
    rows.append(("", _size(head[0].shape) if head else "", ", ".join([*words, "softmax"])))
    return rows


def _size(shape: tuple[int, ...] | None) -> str:
    return "x".join(str(d) for d in shape[1:]) if shape and len(shape) == 3 else "1x1"
