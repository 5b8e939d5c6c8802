from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resdsl.train.errors import TrainError
from resdsl.train.runner import RunSummary, train
from tests.train import gated

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("images_per_s", "seconds")


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


@pytest.mark.slow
def test_digits_training_error_falls_far_below_chance(tmp_path: Path, small_config) -> None:
    out = tmp_path / "run"
    config = small_config(out=str(out), steps=300)
    summary = train(config)
    assert isinstance(summary, RunSummary) and summary.out_dir == out and summary.steps == 300
    assert summary.final_train_error < 0.2  # chance is 0.9
    assert summary.final_test_error < 0.3
    assert summary.best_test_error <= summary.final_test_error
    records = _records(out)
    assert [r["step"] for r in records] == [100, 200, 300]
    assert records[-1]["train_error"] < records[0]["train_error"]
    assert records[-1]["lr"] == pytest.approx(config.lr / 10)  # divided by 10 at step 200
    assert set(records[0]) >= {
        "step",
        "epoch",
        "lr",
        "train_loss",
        "train_error",
        "test_error",
        "images_per_s",
        "seconds",
    }
    assert (out / "errors.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {p.name for p in out.iterdir()} == {"metrics.jsonl", "last.pt", "best.pt", "errors.png"}


def test_train_is_repeatable_in_process(tmp_path: Path, small_config) -> None:
    first = train(small_config(out=str(tmp_path / "a"), steps=12, eval_every=6))
    second = train(small_config(out=str(tmp_path / "b"), steps=12, eval_every=6))
    assert _without_timing(_records(first.out_dir)) == _without_timing(_records(second.out_dir))
    third = train(small_config(out=str(tmp_path / "c"), steps=12, eval_every=6, seed=1))
    assert _without_timing(_records(third.out_dir)) != _without_timing(_records(first.out_dir))


def test_cifar_format_folder_trains(tmp_path: Path, cifar10_dir: Path, small_config) -> None:
    config = small_config(
        data=f"cifar10:{cifar10_dir}",
        verify=False,
        out=str(tmp_path / "run"),
        steps=60,
        batch_size=30,
        eval_every=30,
        crop_pad=0,
        lr=0.05,
        milestones=(),
    )
    summary = train(config)
    assert summary.steps == 60 and summary.network == "resnet8"
    assert summary.final_train_error < 0.6  # the class is a visible stripe; chance is 0.9
    assert len(_records(summary.out_dir)) == 2


def test_warmup_holds_lr_until_training_error_drops(tmp_path: Path, small_config) -> None:
    summary = train(
        small_config(
            out=str(tmp_path / "run"),
            steps=60,
            eval_every=20,
            warmup="on",
            warmup_lr=0.01,
            warmup_error=0.05,
            milestones=(),
        )
    )
    assert [r["lr"] for r in _records(summary.out_dir)] == [0.01, 0.01, 0.01]  # never below 5%
    summary = train(
        small_config(
            out=str(tmp_path / "run2"),
            steps=60,
            eval_every=20,
            lr=0.1,
            warmup="on",
            warmup_error=0.99,
            milestones=(),
        )
    )
    # the first window (20 iterations) ran at 0.01; its error was below 99%, so 0.1 from then on
    assert [r["lr"] for r in _records(summary.out_dir)] == [0.01, 0.1, 0.1]


def test_bad_inputs_leave_earlier_outputs_untouched(tmp_path: Path, small_config) -> None:
    out = tmp_path / "run"
    train(small_config(out=str(out), steps=4, eval_every=2))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(TrainError, match="already holds a run"):
        train(small_config(out=str(out), steps=4))
    with pytest.raises(TrainError, match="no such data folder"):
        train(small_config(out=str(out), data=f"cifar10:{tmp_path / 'nowhere'}"))
    other = tmp_path / "wider.py"
    other.write_text(
        (ROOT / "tests/fixtures/tiny_resnet.py")
        .read_text()
        .replace("blocks_per_stage=1, num_classes", "blocks_per_stage=2, num_classes")
    )
    with pytest.raises(TrainError, match=r"checkpoint is for resnet8 \(19954 parameters\)"):
        train(small_config(resume=str(out), module=str(other)))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "resdsl", "train", *args]


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(
    tmp_path: Path, small_config, fixture_module
) -> None:
    steps, args = (
        100,
        [
            "--steps",
            "100",
            "--eval-every",
            "20",
            "--ckpt-every",
            "5",
            "--seed",
            "3",
            "--threads",
            "1",
            "--no-progress",
            "--milestones",
            "40,80",
        ],
    )
    reference = train(
        small_config(
            out=str(tmp_path / "ref"),
            steps=steps,
            eval_every=20,
            ckpt_every=5,
            seed=3,
            milestones=(40, 80),
        )
    )
    killed = tmp_path / "killed"
    # It waits at a gate before iteration 23 (tests/train/gated.py): the evaluation at 20 wrote
    # last.pt, 21 and 22 are done and in no checkpoint, 25 would be the next. The kill lands
    # there, between checkpoints, on any machine.
    command = ["train", str(fixture_module), "--out", str(killed), *args]
    with gated.start(23, *command, cwd=ROOT) as proc:
        gated.read_until(proc, gated.GATE)
        gated.kill(proc)
    stopped_at = torch.load(killed / "last.pt", weights_only=True)["step"]
    assert stopped_at == 20
    resumed = subprocess.run(
        _command("--resume", str(killed), "--threads", "1", "--no-progress"),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming {killed} at iteration {stopped_at} of 100" in resumed.stderr
    assert _without_timing(_records(killed)) == _without_timing(_records(reference.out_dir))
    a = torch.load(killed / "last.pt", weights_only=True)["model"]
    b = torch.load(reference.out_dir / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_compiled_run_on_the_cpu(tmp_path: Path, small_config) -> None:
    summary = train(small_config(out=str(tmp_path / "run"), steps=4, eval_every=2, compile=True))
    records = _records(summary.out_dir)
    assert [r["step"] for r in records] == [2, 4]
    assert all(0 <= r["test_error"] <= 1 and r["train_loss"] > 0 for r in records)


def test_trains_what_resdsl_compile_writes(tmp_path: Path, small_config) -> None:
    """The contract end to end: compile the paper's CIFAR spec, then train its ResNet-20."""
    from click.testing import CliRunner

    from resdsl.cli import cli

    spec = ROOT / "specs" / "cifar.res"
    if not spec.is_file():
        pytest.skip("specs/cifar.res is not in this checkout")
    compiled = CliRunner().invoke(cli, ["compile", str(spec), "-o", str(tmp_path / "gen")])
    assert compiled.exit_code == 0, compiled.output
    module = tmp_path / "gen" / "resnet20.py"
    summary = train(
        small_config(
            module=str(module), out=str(tmp_path / "run"), steps=2, eval_every=2, batch_size=16
        )
    )
    assert summary.network == "resnet20" and summary.steps == 2
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["params"] == 269722 and "layer3.2.conv2.weight" in state["model"]
