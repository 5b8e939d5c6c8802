"""``resdsl diff``'s table: what changes from one network to another, stage by stage.

>>> from resdsl.ir.costs import file_stats
>>> (a,), (b,) = file_stats("specs/resnet50.res"), file_stats("specs/resnet50_v1_5.res")
>>> print(to_text(diff(a, b)).splitlines()[-2].split("│")[6:8])
[' 4,089,184,256 ', ' +231,211,008 (+6.0%) ']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rich.table import Table

from resdsl.ir.costs import NetworkStats, StageStats
from resdsl.report.tables import to_text, unit_of

__all__ = ["Diff", "diff", "to_text"]


@dataclass(frozen=True)
class Diff:
    """Two networks' figures side by side: ``str()`` is ``resdsl diff``'s table, and in a
    notebook it shows as an HTML table (:mod:`resdsl.report.notebook`)."""

    a: NetworkStats
    b: NetworkStats

    def columns(self) -> tuple[str, ...]:
        unit = unit_of(self.a)
        left, right = (self.a.name, self.b.name) if self.a.name != self.b.name else ("A", "B")
        return ("stage", f"params {left}", right, "change", f"{unit} {left}", right, "change")

    def rows(self) -> Iterator[tuple[str, ...]]:
        """One row per stage (matched by name), then the total."""
        a, b = self.a, self.b
        names = [s.name for s in a.stages] + [s.name for s in b.stages if s.name not in _names(a)]
        for name in names:
            sa, sb = _find(a, name), _find(b, name)
            title = (sa or sb).title  # type: ignore[union-attr]
            pa, pb = (sa.params if sa else 0), (sb.params if sb else 0)
            fa, fb = (sa.flops if sa else 0), (sb.flops if sb else 0)
            yield (title, *_change(pa, pb), *_change(fa, fb))
        yield ("total", *_change(a.params, b.params), *_change(a.flops, b.flops))

    def __str__(self) -> str:
        return to_text(diff(self.a, self.b))

    def _repr_html_(self) -> str:
        from resdsl.report.notebook import diff_html

        return diff_html(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def diff(a: NetworkStats, b: NetworkStats) -> Table:
    """Parameters and multiply-adds of ``b`` against ``a``, stage by stage (matched by name)."""
    found = Diff(a, b)
    table = Table(title=f"{a.name} -> {b.name}")
    for index, column in enumerate(found.columns()):
        table.add_column(column, justify="right" if index else "left")
    *stages, total = found.rows()
    for row in stages:
        table.add_row(*row)
    table.add_section()
    table.add_row(*total, style="bold")
    return table


def _names(report: NetworkStats) -> set[str]:
    return {s.name for s in report.stages}


def _find(report: NetworkStats, name: str) -> StageStats | None:
    return next((s for s in report.stages if s.name == name), None)


def _change(old: int, new: int) -> tuple[str, str, str]:
    if old == new:
        return (f"{old:,}", f"{new:,}", "=")
    percent = f" ({100 * (new - old) / old:+.1f}%)" if old else ""
    return (f"{old:,}", f"{new:,}", f"{new - old:+,}{percent}")
