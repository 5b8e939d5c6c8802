"""The torch-free reporting helpers: META read without running a module, and an experiment's
progress over several runs."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from rich.console import Console

from resdsl.train import report
from resdsl.train.report import ExperimentProgress, static_meta

ROOT = Path(__file__).resolve().parents[2]


def test_static_meta_reads_without_running_the_module(tmp_path: Path) -> None:
    meta = static_meta(ROOT / "generated" / "resnet20.py")
    assert meta["network"] == "resnet20" and meta["flops"] == 40_551_040
    hostile = tmp_path / "hostile.py"
    hostile.write_text(f"open({str(tmp_path / 'ran')!r}, 'w')\nMETA = {{'flops': 7}}\n")
    assert static_meta(hostile) == {"flops": 7} and not (tmp_path / "ran").exists()
    (tmp_path / "computed.py").write_text("META = dict(flops=2 * 3)\n")
    assert static_meta(tmp_path / "computed.py") == {}  # not a literal: not evaluated
    assert static_meta(tmp_path / "missing.py") == {}


def test_experiment_progress_counts_runs_and_gives_an_overall_eta(monkeypatch) -> None:
    clock = iter([0.0, 0.0, 60.0])  # made, run 1 starts, run 2 starts
    monkeypatch.setattr(report.time, "perf_counter", lambda: next(clock))
    text = io.StringIO()
    module = str(ROOT / "generated" / "resnet20.py")
    tracker = ExperimentProgress(
        [("plain20-seed0", module, 100, 64), ("resnet20-seed0", module, 300, 64)],
        Console(file=text, width=200),
    )
    first = tracker.start(0)
    assert first.label == "run 1/2 plain20-seed0"
    assert first.later_flops == 6 * 40_551_040 * 300 * 64  # what the second run will compute
    tracker.finish(0)  # at 60 s
    second = tracker.start(1)
    assert second.later_flops == 0
    # 1 run of 100 iterations took 60 s; the second has 300: about 3 min
    assert "run 2/2 resnet20-seed0; 1 done in 1 min 0 s, overall ETA about 3 min 0 s" in (
        text.getvalue()
    )
    tracker.stopped(1, Path("out"))
    assert (
        "experiment stopped during run 2/2 resnet20-seed0; the 1 finished run(s) stay in out/runs"
        in (text.getvalue())
    )


def test_report_does_not_import_torch() -> None:
    import subprocess

    code = "import resdsl.train.report, resdsl.train.progress, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
