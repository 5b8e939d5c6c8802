"""Presentation of :mod:`resdsl.memory` reports: a table, JSON, CSV and Markdown.

    >>> from resdsl.pipeline import check_or_raise
    >>> from resdsl.memory import training_memory
    >>> (net,) = check_or_raise("specs/cifar.res", "resnet20")
    >>> report = training_memory(net, batch=128)
    >>> line = peak_line(report)
    >>> line[: line.index(" (")]
    'peak 191.58 MiB in the backward at layer3.2.relu'

Only strings come out of here, as from :mod:`resdsl.report.tables`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from resdsl.memory import ASSUMPTIONS, CheckpointStudy, Fit, MemoryReport, MemoryView, Peak
from resdsl.report.tables import Format, to_text

OPTIMIZER_NAMES = {"sgd": "SGD", "sgd-momentum": "SGD with momentum", "adam": "Adam"}
_PHASES = {"forward": "forward", "backward": "backward", "step": "optimiser step"}


def render(views: Sequence[MemoryView], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps([as_dict(v) for v in views], indent=2)
    if fmt == "csv":
        return as_csv(views)
    if fmt == "markdown":
        return "\n\n".join(as_markdown(v) for v in views)
    return "\n\n".join(as_text(v) for v in views)


def size(count: int) -> str:
    """Bytes as MiB below a GiB, else GiB: ``159.39 MiB``, ``2.85 GiB``."""
    if abs(count) < 2**30:
        return f"{count / 2**20:.2f} MiB"
    return f"{count / 2**30:.2f} GiB"


def title(r: MemoryReport) -> str:
    kernels = "" if r.kernels == "cuda" else f", {r.kernels} kernels"
    optimizer = OPTIMIZER_NAMES[r.optimizer]
    return f"{r.name}  ({r.file}): batch {r.batch}, {r.precision}, {optimizer}{kernels}"


def peak_line(r: MemoryReport) -> str:
    p = r.peak
    each = ", ".join(f"{_PHASES[q.phase]} {size(q.bytes)}" for q in r.phases)
    return f"peak {size(p.bytes)} in the {_PHASES[p.phase]} at {p.at} ({each})"


def fit_line(fit: Fit, label: str = "fits") -> str:
    d = fit.device
    head = (
        f"{label} {d.name} ({size(d.capacity)}; {size(d.usable)} usable after a "
        f"{size(d.reserved)} reserve)"
    )
    if not fit.batch:
        return f"{head}: not even batch 1 (peak {size(fit.peak)} at batch 1)"
    return f"{head}: batch {fit.batch} (peak {size(fit.peak)})"


_COLUMNS = ("stage", "params", "grads", "optimiser", "saved", "forward peak", "backward peak")


def _stage_cells(r: MemoryReport) -> list[tuple[str, ...]]:
    rows = []
    for s in r.stages:
        figures = (s.params, s.grads, s.optimizer, s.saved, s.forward_peak, s.backward_peak)
        rows.append((s.title, *map(size, figures)))
    total = (r.params, r.grads, r.optimizer_state, r.saved, r.phases[0].bytes, r.phases[1].bytes)
    rows.append(("total", *map(size, total)))
    return rows


def _notes(view: MemoryView) -> list[str]:
    r = view.report
    lines = [
        peak_line(r),
        f"before the step: {size(r.resident)} (weights, batch norm buffers "
        f"{size(r.buffers)}, optimiser state, last step's gradients, the batch {size(r.inputs)})",
    ]
    if view.fit:
        lines.append(fit_line(view.fit))
    if view.checkpoint:
        c = view.checkpoint
        lines.append(
            f"checkpointing every stage: peak {size(c.report.peak.bytes)} "
            f"({size(c.report.peak.bytes - r.peak.bytes)}), recomputing "
            f"{c.recompute:,} multiply-adds (+{100 * c.recompute / c.training:.0f}% of the step's)"
        )
        if view.checkpoint_fit:
            lines.append(fit_line(view.checkpoint_fit, "checkpointed, fits"))
    lines += [f"assumes: {ASSUMPTIONS[0]}", ASSUMPTIONS[1]]
    return lines


def as_text(view: MemoryView) -> str:
    r = view.report
    table = Table(title=title(r))
    for column in _COLUMNS:
        table.add_column(column, justify="left" if column == "stage" else "right")
    rows = _stage_cells(r)
    for row in rows[:-1]:
        table.add_row(*row)
    table.add_section()
    table.add_row(*rows[-1], style="bold")
    parts = [to_text(table)]
    if view.checkpoint:
        parts.append(to_text(_checkpoint_table(view.checkpoint)))
    return "\n".join([*parts, *_notes(view)])


def _checkpoint_rows(c: CheckpointStudy) -> list[tuple[str, ...]]:
    return [
        (row.title, size(row.saved), size(row.saved_checkpointed), f"{row.recompute:,}")
        for row in c.rows
    ]


def _checkpoint_table(c: CheckpointStudy) -> Table:
    table = Table(title="activation checkpointing per stage")
    for column in ("stage", "saved", "saved, checkpointed", "recomputed multiply-adds"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in _checkpoint_rows(c):
        table.add_row(*row)
    return table


def as_markdown(view: MemoryView) -> str:
    r = view.report
    lines = [f"### {title(r)}", "", "| " + " | ".join(_COLUMNS) + " |"]
    lines.append("| --- |" + " ---: |" * (len(_COLUMNS) - 1))
    lines += ["| " + " | ".join(row) + " |" for row in _stage_cells(r)]
    if view.checkpoint:
        lines += ["", "| stage | saved | saved, checkpointed | recomputed multiply-adds |"]
        lines.append("| --- | ---: | ---: | ---: |")
        lines += ["| " + " | ".join(row) + " |" for row in _checkpoint_rows(view.checkpoint)]
    lines += ["", *(f"- {note}" for note in _notes(view))]
    return "\n".join(lines)


_CSV_FIELDS = (
    "network", "batch", "precision", "optimizer", "row", "params", "grads", "optimizer_state",
    "saved", "forward_peak", "backward_peak",
)  # fmt: skip


def as_csv(views: Sequence[MemoryView]) -> str:
    """One row per stage and a ``total`` row per network, in bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for view in views:
        r = view.report
        head = (r.name, r.batch, r.precision, r.optimizer)
        for s in r.stages:
            cells = (s.params, s.grads, s.optimizer, s.saved, s.forward_peak, s.backward_peak)
            writer.writerow((*head, s.name, *cells))
        total = (r.params, r.grads, r.optimizer_state, r.saved)
        writer.writerow((*head, "total", *total, r.phases[0].bytes, r.phases[1].bytes))
    return out.getvalue().rstrip("\n")


def as_dict(view: MemoryView) -> dict[str, Any]:
    """The JSON object of one network; every size is in bytes."""
    r = view.report
    data: dict[str, Any] = {
        "name": r.name,
        "file": r.file,
        "batch": r.batch,
        "precision": r.precision,
        "optimizer": r.optimizer,
        "kernels": r.kernels,
        "checkpointed": list(r.checkpointed),
        "bytes": {
            "params": r.params,
            "grads": r.grads,
            "optimizer_state": r.optimizer_state,
            "buffers": r.buffers,
            "inputs": r.inputs,
            "saved": r.saved,
            "resident": r.resident,
            "peak": r.peak.bytes,
        },
        "peak": _peak_dict(r.peak),
        "phases": {p.phase: _peak_dict(p) for p in r.phases},
        "stages": [
            {
                "name": s.name,
                "title": s.title,
                "params": s.params,
                "grads": s.grads,
                "optimizer_state": s.optimizer,
                "saved": s.saved,
                "forward_peak": s.forward_peak,
                "backward_peak": s.backward_peak,
            }
            for s in r.stages
        ],
        "assumptions": list(ASSUMPTIONS),
        "fits": _fit_dict(view.fit),
        "checkpoint": None,
    }
    if view.checkpoint:
        c = view.checkpoint
        data["checkpoint"] = {
            "peak": _peak_dict(c.report.peak),
            "saved": c.report.saved,
            "recompute_macs": c.recompute,
            "training_macs": c.training,
            "stages": [
                {
                    "name": row.name,
                    "title": row.title,
                    "saved": row.saved,
                    "saved_checkpointed": row.saved_checkpointed,
                    "recompute_macs": row.recompute,
                }
                for row in c.rows
            ],
            "fits": _fit_dict(view.checkpoint_fit),
        }
    return data


def _peak_dict(p: Peak) -> dict[str, Any]:
    return {"bytes": p.bytes, "phase": p.phase, "section": p.section, "at": p.at}


def _fit_dict(fit: Fit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    d = fit.device
    return {
        "device": d.name,
        "capacity": d.capacity,
        "reserved": d.reserved,
        "usable": d.usable,
        "batch": fit.batch,
        "peak": fit.peak,
    }
