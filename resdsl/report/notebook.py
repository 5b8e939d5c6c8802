"""How networks, their stats and diffs show in Jupyter: HTML tables and the Fig. 3 diagram.

    >>> import resdsl
    >>> report = resdsl.stats("specs/resnet18.res")
    >>> html = stats_html(report)
    >>> html.count("<tr"), "11,689,512" in html  # the header, 6 sections, the total
    (8, True)

The classes call in here from one-line ``_repr_html_`` (and, for a network, ``_repr_svg_``)
methods, so that a cell ending in ``resdsl.network(...)``, ``resdsl.stats(...)`` or a
:class:`~resdsl.report.diff.Diff` shows it. A network is its Fig. 3-style diagram
(:mod:`resdsl.graph`, drawn by Graphviz's ``dot``) beside its stats table; without ``dot`` it
is the table alone and a line saying why. The tables have the columns ``resdsl stats`` and
``resdsl diff`` print. Nothing here imports torch.

NOTE: the level of the diagram. Every layer for a network of up to 60 layers (ResNet-56: 170
boxes), one box per block up to 200 (ResNet-152), one per stage beyond (ResNet-1202 would be
4,000 boxes: a picture no notebook wants, and seconds of layout).
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Sequence

from resdsl.graph import GraphvizFailed, render, to_dot
from resdsl.ir.costs import NetworkStats, network_stats
from resdsl.ir.network import Network
from resdsl.report.diff import Diff
from resdsl.report.tables import caption, shape, unit_of

_STYLE = (
    "<style>.resdsl td,.resdsl th{padding:2px 8px;font-family:monospace;text-align:right}"
    ".resdsl td:first-child,.resdsl th:first-child,.resdsl td.l{text-align:left}"
    ".resdsl tr.total td{font-weight:bold;border-top:1px solid #999}</style>"
)
NO_DOT = (
    "Graphviz 'dot' was not found on PATH, so the diagram is left out "
    "(apt-get install graphviz, or brew install graphviz)."
)


def level(net: Network) -> str:
    """The diagram's level of detail for ``net`` (see the module's note).

    >>> import resdsl
    >>> level(resdsl.network("specs/cifar.res", "resnet56"))
    'layer'
    >>> level(resdsl.network("specs/resnet152.res")), level(resdsl.network("specs/resnet1202.res"))
    ('block', 'stage')
    """
    if net.depth <= 60:
        return "layer"
    return "block" if net.depth <= 200 else "stage"


def network_svg(net: Network) -> str | None:
    """The network drawn as the paper's Fig. 3 draws it, as SVG text; None without ``dot``."""
    if shutil.which("dot") is None:
        return None
    try:
        picture = render(to_dot([net], level(net), shapes=False), "svg")  # type: ignore[arg-type]
    except GraphvizFailed:
        return None
    text = picture.decode("utf-8")
    return text[text.find("<svg") :]  # without the XML prolog and doctype, to sit inline


def headline(net: Network) -> str:
    """One line for a network (IPython's plain-text form, the HTML's first line).

    >>> import resdsl
    >>> headline(resdsl.network("specs/cifar.res", "resnet20"))
    'network resnet20: 20 layers, input 3x32x32, 10 classes (specs/cifar.res)'
    """
    return (
        f"network {net.name}: {net.depth} layers, input {shape(net.input)}, "
        f"{net.classes} classes ({net.file})"
    )


def network_html(net: Network) -> str:
    """A network's headline, its diagram (where ``dot`` is found) and its stats table."""
    stats = network_stats(net)
    title = (
        f"<p><b>{html.escape(net.name)}</b>: {net.depth} layers, input {shape(net.input)}, "
        f"{net.classes} classes, {stats.params:,} parameters, {stats.flops:,} multiply-adds "
        f"<span style='color:#777'>({html.escape(net.file)})</span></p>"
    )
    svg = network_svg(net)
    table = stats_html(stats)
    if svg is None:
        return f"{title}<p style='color:#a60'>{html.escape(NO_DOT)}</p>{table}"
    figure = f"<div style='flex:0 0 auto'>{svg}</div>"
    return (
        f"{title}<div style='display:flex;gap:24px;align-items:flex-start'>{figure}"
        f"<div>{table}</div></div>"
    )


def stats_html(report: NetworkStats) -> str:
    """The stages and the total, with ``resdsl stats``'s columns and its caption."""
    unit = unit_of(report)
    columns = ("stage", "output", "blocks", "params", unit, f"training {unit}", "saved")
    rows = [
        (s.title, shape(s.shape), str(s.blocks) if s.blocks else "", f"{s.params:,}",
         f"{s.flops:,}", f"{3 * s.flops:,}", _mib(s.saved))
        for s in report.stages
    ]  # fmt: skip
    total = ("total", shape(report.input), "", f"{report.params:,}", f"{report.flops:,}")
    rows.append((*total, f"{report.training_flops:,}", _mib(report.saved)))
    title = f"{report.name} ({report.file})"
    return _table(title, columns, rows, left=2, note=caption(report))


def diff_html(found: Diff) -> str:
    """``resdsl diff``'s table: each stage's parameters and multiply-adds, before and after."""
    title = f"{found.a.name} -> {found.b.name}"
    return _table(title, found.columns(), list(found.rows()), left=1)


def _table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], left: int, note: str = ""
) -> str:
    """An HTML table whose last row is a total; the first ``left`` columns are text."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for number, row in enumerate(rows):
        cells = "".join(
            f"<td{' class=l' if i < left else ''}>{html.escape(str(c))}</td>"
            for i, c in enumerate(row)
        )
        total = " class=total" if number == len(rows) - 1 else ""
        body.append(f"<tr{total}>{cells}</tr>")
    foot = f"<p style='color:#555;font-size:smaller'>{html.escape(note)}</p>" if note else ""
    return (
        f"{_STYLE}<table class=resdsl><caption style='text-align:left'>"
        f"{html.escape(title)}</caption><tr>{head}</tr>{''.join(body)}</table>{foot}"
    )


def _mib(elements: int) -> str:
    return f"{4 * elements / 2**20:.2f} MiB"
