"""A real 2-process DistributedDataParallel run on the CPU (gloo), launched by torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_gloo_run_trains_and_writes_one_set_of_outputs(
    tmp_path: Path, fixture_module: Path
) -> None:
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "resdsl.train.command", str(fixture_module), "--out", str(out),
        "--steps", "80", "--eval-every", "40", "--threads", "1", "--no-progress",
        "--milestones", "60",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"ddp"}  # nothing written beside --out
    assert {p.name for p in out.iterdir()} == {"metrics.jsonl", "last.pt", "best.pt", "errors.png"}
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [40, 80]  # one line per evaluation, not one per rank
    assert records[-1]["train_error"] < 0.5  # chance is 0.9
    assert done.stderr.count("resnet8 on digits: 80 iterations") == 1  # only rank 0 reports
    assert "cpu x2" in done.stderr
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 80 and state["config"]["batch_size"] == 64
