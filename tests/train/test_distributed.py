"""Real 2-process DistributedDataParallel runs on the CPU (gloo), launched by torchrun: one trains
and writes one set of outputs; a second, SIGKILLed mid-run and resumed, ends identical to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train import gated

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


TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")


def _torchrun(*args: str) -> list[str]:
    return [*TORCHRUN, "-m", "resdsl", "train", *args]


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "seconds")} for r in records]


def _kill_at_the_gate(launcher: subprocess.Popen) -> None:
    """SIGKILL the workers and the launcher once both workers wait at the gate."""
    ranks = set()
    while ranks != {0, 1}:
        line = gated.read_until(launcher, gated.GATE)[-1]
        ranks.add(int(line.rsplit("rank ", 1)[1].rstrip(")\n")))
    assert len(gated.children(launcher)) == 2 and launcher.poll() is None
    gated.kill(launcher)


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
    # Both workers wait at a gate before iteration 23 (tests/train/gated.py): the evaluation at 20
    # wrote last.pt, 21 and 22 are done and in no checkpoint. The kill lands there on any machine.
    command = ["train", str(fixture_module), "--out", str(killed), *ARGS]
    with gated.start(
        23, *command, launcher=TORCHRUN, env=ENV, stdout=subprocess.DEVNULL
    ) as launcher:
        _kill_at_the_gate(launcher)
    assert torch.load(killed / "last.pt", weights_only=True)["step"] == 20
    resumed = subprocess.run(
        _torchrun("--resume", str(killed), "--threads", "1", "--no-progress"),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _without_timing(_records(killed)) == _without_timing(records)
