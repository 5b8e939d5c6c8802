"""Presentation of :mod:`resdsl.ir.costs` reports: rich tables, JSON, CSV and Markdown.

    >>> from resdsl.ir.costs import file_stats
    >>> reports = file_stats("specs/resnet18.res")
    >>> print("\\n".join(render(reports, "markdown").splitlines()[2:5]))
    | stage | output | blocks | params | mult-adds | training mult-adds | saved |
    | --- | --- | ---: | ---: | ---: | ---: | ---: |
    | stem | 64x56x56 |  | 9,536 | 118,013,952 | 354,041,856 | 8.23 MiB |

Only strings come out of here; the CLI echoes them. Tables are rendered to a string at a fixed
width so the output is the same in a terminal, a pipe and a test.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from resdsl.diagnostics import printable
from resdsl.ir.costs import NetworkStats, StageStats
from resdsl.report.serialize import stats_data

Format = Literal["table", "json", "csv", "markdown"]
WIDTH = 240  # wide enough for Table 1 with five networks side by side


def render(reports: Sequence[NetworkStats], fmt: Format, per_layer: bool = False) -> str:
    """All reports in one format; ``per_layer`` adds every layer with its spec line."""
    if fmt == "json":
        return json.dumps(stats_data(reports, per_layer), indent=2)
    if fmt == "csv":
        return as_csv(reports, per_layer)
    if fmt == "markdown":
        return "\n\n".join(as_markdown(r, per_layer) for r in reports)
    return "\n\n".join(
        "\n".join([*(to_text(t) for t in tables(r, per_layer)), caption(r)]) for r in reports
    )


_CSV_FIELDS = ("network", "row", "path", "op", "shape", "params", "flops", "saved", "line")


def as_csv(reports: Sequence[NetworkStats], per_layer: bool = False) -> str:
    """One row per stage and a ``total`` row per network (or one per layer with per_layer)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for r in reports:
        if per_layer:
            for x in r.layers:
                row = ("layer", x.path, x.op, shape(x.shape), x.params, x.flops, x.saved, x.line)
                writer.writerow((r.name, *row))
        else:
            for s in r.stages:
                cells = ("stage", s.name, "", shape(s.shape), s.params, s.flops, s.saved, "")
                writer.writerow((r.name, *cells))
        writer.writerow((r.name, "total", "", "", "", r.params, r.flops, r.saved, ""))
    return out.getvalue().rstrip("\n")


def tables(report: NetworkStats, per_layer: bool = False) -> list[Table]:
    """The rich tables of one network: stages with a total, then its layers if asked."""
    unit = unit_of(report)
    # Text, not a string: rich would read `[bold]` or `[/y]` in a file name as markup.
    table = Table(title=Text(f"{report.name}  ({printable(report.file)})"))
    for column in ("stage", "output", "blocks", "params", unit, f"training {unit}", "saved"):
        table.add_column(column, justify="left" if column in ("stage", "output") else "right")
    for s in report.stages:
        table.add_row(*_stage_cells(s))
    table.add_section()
    total = (report.params, report.flops, report.training_flops, report.saved)
    table.add_row("total", shape(report.input), "", *_cells(*total), style="bold")
    if not per_layer:
        return [table]
    layers = Table(title=Text(f"{report.name}: layers"))
    for column in ("path", "op", "output", "params", unit, "saved", "line"):
        layers.add_column(column, justify="left" if column in ("path", "op", "output") else "right")
    for x in report.layers:
        cells = (x.path, x.op, shape(x.shape), f"{x.params:,}", f"{x.flops:,}")
        layers.add_row(*cells, _mib(x.saved), str(x.line))
    return [table, layers]


def _stage_cells(s: StageStats) -> tuple[str, ...]:
    blocks = str(s.blocks) if s.blocks else ""
    return (s.title, shape(s.shape), blocks, *_cells(s.params, s.flops, 3 * s.flops, s.saved))


def _cells(params: int, flops: int, training: int, saved: int) -> tuple[str, ...]:
    return (f"{params:,}", f"{flops:,}", f"{training:,}", _mib(saved))


def as_markdown(report: NetworkStats, per_layer: bool = False) -> str:
    """A GitHub Markdown table of the stages (and the layers), the convention beneath."""
    unit = unit_of(report)
    lines = [
        f"### {report.name}",
        "",
        f"| stage | output | blocks | params | {unit} | training {unit} | saved |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += ["| " + " | ".join(_stage_cells(s)) + " |" for s in report.stages]
    total = _cells(report.params, report.flops, report.training_flops, report.saved)
    lines.append(f"| **total** | {shape(report.input)} |  | " + " | ".join(total) + " |")
    if per_layer:
        lines += ["", f"| path | op | output | params | {unit} | saved | line |"]
        lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        for x in report.layers:
            cells = (x.path, x.op, shape(x.shape), f"{x.params:,}", f"{x.flops:,}")
            lines.append("| " + " | ".join((*cells, _mib(x.saved), str(x.line))) + " |")
    lines += ["", caption(report)]
    return "\n".join(lines)


def unit_of(report: NetworkStats) -> str:
    return "FLOPs" if report.convention.flops_as_2x_macs else "mult-adds"


def caption(report: NetworkStats) -> str:
    """The convention line printed under every report."""
    return (
        f"per sample; counted: {report.convention.describe()}; training = 3 x forward; "
        "saved = activations kept for backward at fp32"
    )


def _mib(elements: int) -> str:
    return f"{4 * elements / 2**20:.2f} MiB"


def shape(dims: Sequence[int]) -> str:
    return "x".join(str(d) for d in dims)


def paper_flops(flops: int) -> str:
    """The paper's way of writing a count: ``1.8x10^9`` (one decimal, exponent a multiple of 3).

    >>> paper_flops(1_814_073_344), paper_flops(11_282_415_616), paper_flops(40_551_040)
    ('1.8x10^9', '11.3x10^9', '40.6x10^6')
    """
    exponent = 3 * (int(math.log10(flops)) // 3) if flops > 0 else 0
    return f"{flops / 10**exponent:.1f}x10^{exponent}"


def to_text(table: Table) -> str:
    """A rich table as plain text (no colour), as the CLI prints it."""
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, highlight=False)
    console.print(table)
    return console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined]
