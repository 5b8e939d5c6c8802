"""What a run tells the world: ``metrics.jsonl``, the progress bar, and the closing summary.

Only rank 0 reports. The progress bar (rich) is shown only when stderr is a terminal, so logs and
CI output stay quiet; the closing summary is always printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from resdsl.train.checkpoint import atomic_write

# The fields of one metrics.jsonl line, in order; every evaluation writes one.
METRIC_FIELDS = (
    "step",
    "epoch",
    "lr",
    "train_loss",
    "train_error",
    "val_error",
    "test_error",
    "images_per_s",
    "seconds",
)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl; a torn last line (a killed writer) is dropped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


class MetricsLog:
    """Append-only metrics.jsonl that can be cut back to a checkpoint's step on resume."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate_after(self, step: int) -> None:
        """Forget evaluations a killed run made after its last checkpoint; they will be redone."""
        kept = [r for r in read_metrics(self.path) if r["step"] <= step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(self.path, lambda f: f.write(text.encode()))

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({key: record.get(key) for key in METRIC_FIELDS})
        with self.path.open("a") as f:
            f.write(line + "\n")
            f.flush()


class ProgressBar:
    """A rich progress bar with loss, error, lr and images/s; a no-op when disabled."""

    def __init__(self, total: int, start: int, enabled: bool, console: Console) -> None:
        self.enabled = enabled
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task("train", total=total, completed=start, stats="")
        self.progress.start()

    def update(self, step: int, stats: dict[str, float] | None = None) -> None:
        if not self.enabled:
            return
        text = None
        if stats:
            text = (
                f"loss {stats['loss']:.3f}  err {100 * stats['error']:.1f}%  "
                f"lr {stats['lr']:.4g}  {stats['images_per_s']:,.0f} img/s"
            )
        if text is None:
            self.progress.update(self.task, completed=step)
        else:
            self.progress.update(self.task, completed=step, stats=text)

    def log(self, message: str) -> None:
        if self.enabled:
            self.progress.console.print(message)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()


def stderr_console() -> Console:
    return Console(file=sys.stderr, soft_wrap=True)  # log lines stay whole when piped


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def print_summary(console: Console, summary: Any) -> None:
    """The closing lines: what was trained, how well, how fast, and where the outputs are."""
    lines = [
        f"[bold]{summary.network}[/] on {summary.data}: {summary.steps} iterations "
        f"in {summary.seconds:.1f}s ({summary.images_per_s:,.0f} images/s, {summary.device}"
        f"{f' x{summary.world_size}' if summary.world_size > 1 else ''})",
        f"  train error {percent(summary.final_train_error)}  "
        f"val error {percent(summary.final_val_error)}  "
        f"test error {percent(summary.final_test_error)}  "
        f"best {percent(summary.best_test_error)}",
        f"  outputs in {summary.out_dir}: metrics.jsonl, last.pt, best.pt, errors.png",
    ]
    for line in lines:
        console.print(line, highlight=False)
