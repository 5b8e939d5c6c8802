"""Real 2-process DistributedDataParallel runs on the CPU (gloo), launched by torchrun: one trains
and writes one set of outputs; a second, SIGKILLed mid-run and resumed, ends identical to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
ARGS = [
    "--steps",
    "60",
    "--eval-every",
    "20",
    "--ckpt-every",
    "5",
    "--threads",
    "1",
    "--no-progress",
]


def _torchrun(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "resdsl",
        "train",
        *args,
    ]


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "seconds")} for r in records]


def _kill_when_logging(launcher: subprocess.Popen, out: Path) -> None:
    """SIGKILL the workers and the launcher once a first evaluation is logged (workers would
    outlive a killed launcher otherwise)."""
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    listed = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(launcher.pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    workers = [int(pid) for pid in listed.stdout.split()]
    assert workers and launcher.poll() is None, "the run finished before it could be killed"
    for pid in [*workers, launcher.pid]:
        os.kill(pid, signal.SIGKILL)
    launcher.wait()
    time.sleep(0.5)


@pytest.mark.slow
def test_two_process_gloo_run_trains_writes_once_and_resumes_exactly(
    tmp_path: Path, fixture_module: Path
) -> None:
    out = tmp_path / "ddp"
    done = subprocess.run(
        _torchrun(str(fixture_module), "--out", str(out), *ARGS),
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"ddp"}  # nothing written beside --out
    assert {p.name for p in out.iterdir()} == {"metrics.jsonl", "last.pt", "best.pt", "errors.png"}
    records = _records(out)
    assert [r["step"] for r in records] == [20, 40, 60]  # one line per evaluation, not per rank
    assert records[-1]["train_error"] < 0.5  # chance is 0.9
    assert done.stderr.count("resnet8 on digits: 60 iterations") == 1  # only rank 0 reports
    assert "cpu x2" in done.stderr
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 60 and state["config"]["batch_size"] == 64

    killed = tmp_path / "killed"
    launcher = subprocess.Popen(
        _torchrun(str(fixture_module), "--out", str(killed), *ARGS),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _kill_when_logging(launcher, killed)
    assert 0 < torch.load(killed / "last.pt", weights_only=True)["step"] < 60
    resumed = subprocess.run(
        _torchrun("--resume", str(killed), "--threads", "1", "--no-progress"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _without_timing(_records(killed)) == _without_timing(records)
