"""Training and test error against iterations, drawn like Fig. 6 of the paper.

Thin dashed lines for training error, bold lines for test error, iterations in units of 1e4 on the
x axis, error in percent on the y axis. :func:`draw_runs` draws runs on one axis (one colour each),
each run one curve or the mean of several seeds with their range shaded; :func:`plot_runs` makes a
figure of it (every run's ``errors.png``), and the degradation experiment's Fig. 6 puts plain and
residual runs on two axes with it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt

from resdsl.train.checkpoint import atomic_write

Records = Sequence[Mapping[str, Any]]


def draw_runs(
    ax: Any,
    runs: Mapping[str, Records],
    longest: int,
    seeds: Mapping[str, Sequence[Records]] | None = None,
    fontsize: float = 8,
) -> None:
    """Each run's train (thin dashed) and test (bold) error on ``ax``, in percent; the x axis in
    units of 1e4 iterations once ``longest`` (the longest run's steps) reaches 2e4.

    ``seeds`` maps a run's label to the curves it is the mean of: their range (lowest to highest
    at each evaluation) is shaded around the mean, the test error's darker than the training's.
    """
    scale = 1e4 if longest >= 2e4 else 1.0
    for colour, (label, records) in zip(plt.cm.tab10.colors, runs.items(), strict=False):
        steps = [r["step"] / scale for r in records]
        train = [100 * r["train_error"] for r in records]
        test = [100 * r["test_error"] for r in records]
        ax.plot(steps, train, linestyle="--", linewidth=1, color=colour)
        ax.plot(steps, test, linestyle="-", linewidth=2, color=colour, label=label)
        curves = (seeds or {}).get(label, ())
        if len(curves) > 1:
            for key, alpha in (("train_error", 0.10), ("test_error", 0.22)):
                values = [[100 * r[key] for r in c] for c in curves]
                low = [min(v) for v in zip(*values, strict=True)]
                high = [max(v) for v in zip(*values, strict=True)]
                ax.fill_between(steps, low, high, color=colour, alpha=alpha, linewidth=0)
    ax.set_xlabel("iter. (1e4)" if scale > 1 else "iter.", fontsize=fontsize + 1)
    ax.set_ylabel("error (%)", fontsize=fontsize + 1)
    ax.tick_params(labelsize=fontsize)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(title="dashed: train, bold: test", fontsize=fontsize, title_fontsize=fontsize)


def plot_runs(runs: Mapping[str, Records], path: Path, title: str = "") -> Path:
    """Write a PNG of every run's train (dashed) and test (bold) error; returns ``path``."""
    png = runs_png(runs, title)
    atomic_write(path, lambda f: f.write(png))
    return path


def runs_png(runs: Mapping[str, Records], title: str = "") -> bytes:
    """The PNG bytes :func:`plot_runs` writes (rendered first, so a failed write leaves no half)."""
    longest = max((r["step"] for records in runs.values() for r in records), default=1)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    draw_runs(ax, runs, longest)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def plot_run(records: Records, path: Path, label: str) -> Path:
    """One run's curves, the ``errors.png`` of every output folder."""
    return plot_runs({label: records}, path, title=label)
