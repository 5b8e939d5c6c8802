"""What a run tells the world: ``metrics.jsonl``, the closing summary, and an experiment's
progress over several runs (:class:`ExperimentProgress`). A single run's live progress is in
``progress.py``. Only rank 0 reports.

torch-free: the experiment command imports this before deciding to train.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from resdsl.train.progress import duration

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
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            break
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            break  # not a line this runner wrote: what follows cannot be trusted either
        records.append(record)
    return records


class MetricsLog:
    """metrics.jsonl, rewritten whole at each evaluation (staged with that evaluation's
    checkpoints, so a failed write changes nothing) and cut back to a checkpoint's step on resume.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def kept_until(self, step: int) -> list[dict[str, Any]]:
        """The evaluations up to ``step``: those a killed run logged after its last checkpoint
        are forgotten, and will be redone."""
        return [r for r in read_metrics(self.path) if r["step"] <= step]

    def writer(self, records: Sequence[dict[str, Any]]) -> Any:
        """A ``write(file)`` (for ``checkpoint.Staged``) of ``records``, one JSON line each."""
        text = "".join(
            json.dumps({key: r.get(key) for key in METRIC_FIELDS}) + "\n" for r in records
        )
        return lambda f: f.write(text.encode())


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


def static_meta(path: str | Path) -> dict[str, Any]:
    """A generated module's ``META`` read without running the module (``ast.literal_eval``): for
    planning an experiment before torch is imported. Empty when it cannot be read."""
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "META" for t in node.targets
        ):
            try:
                meta = ast.literal_eval(node.value)
            except ValueError:
                return {}
            return meta if isinstance(meta, dict) else {}
    return {}


@dataclass(frozen=True)
class RunContext:
    """How an enclosing job (an experiment) wants one of its runs reported."""

    label: str  # prefixes the run's progress lines: "run 2/4 plain56-seed0"
    # training FLOPs (6 x multiply-adds x images) of the runs still to come after this one; with
    # this run's measured speed it gives the overall ETA
    later_flops: float = 0.0


class ExperimentProgress:
    """Progress over an experiment's runs: "run 2/4 plain56-seed0 ..., overall ETA ...".

    The overall ETA converts the runs still to come into training FLOPs (multiply-adds per image
    from each module's META, x 6, x iterations x batch) and divides by the FLOP rate measured so far
    (first from the running run's own images/s). Evaluations and start-up are not in the FLOPs, so
    it is a floor on small networks; it improves as runs finish.
    """

    def __init__(
        self, runs: Sequence[tuple[str, str, int, int]], console: Console | None = None
    ) -> None:
        # each run: (label, module path, iterations, batch)
        self.labels = [label for label, _, _, _ in runs]
        self.flops = [
            6.0 * int(static_meta(module).get("flops", 0) or 0) * steps * batch
            for _, module, steps, batch in runs
        ]
        self.console = console or stderr_console()
        self.started = time.perf_counter()
        self.done_flops = 0.0

    def start(self, index: int) -> RunContext:
        """Announce run ``index`` and return the context its progress lines are labelled with."""
        total = len(self.labels)
        label = f"run {index + 1}/{total} {self.labels[index]}"
        elapsed = time.perf_counter() - self.started
        later = sum(self.flops[index + 1 :])
        if index and self.done_flops:
            left = (self.flops[index] + later) / (self.done_flops / elapsed)
            eta = f"; {index} done in {duration(elapsed)}, overall ETA about {duration(left)}"
        else:
            eta = ""
        self.console.print(f"[bold]{label}[/]{eta}", highlight=False)
        return RunContext(label, later)

    def finish(self, index: int) -> None:
        self.done_flops += self.flops[index]

    def stopped(self, index: int, out: Path) -> None:
        """Say what a Ctrl-C during run ``index`` leaves: the first run takes back everything;
        later ones leave the finished runs (the experiment itself does not resume)."""
        label = f"run {index + 1}/{len(self.labels)} {self.labels[index]}"
        if index == 0:
            kept = "nothing was left behind"
        else:
            kept = f"the {index} finished run(s) stay in {out / 'runs'}"
        self.console.print(f"experiment stopped during {label}; {kept}", highlight=False)
