"""Ctrl-C and extension: a stopped run saves a consistent last.pt and says how to go on; a run
that never saved leaves nothing; --resume DIR --steps N extends a run exactly, never shrinks it."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from resdsl.cli.train import train as train_command
from resdsl.train import loop as loop_module
from resdsl.train.errors import TrainError
from resdsl.train.progress import Interrupted
from resdsl.train.runner import train
from tests.train import gated
from tests.train.conftest import DEVICE_FLAGS

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("images_per_s", "seconds")


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "last.pt", weights_only=True)["model"]


def _signal_at(monkeypatch, step: int, times: int = 1) -> None:
    """Deliver a real SIGINT (``times`` of them) to this process during iteration ``step``."""
    assert threading.current_thread() is threading.main_thread()  # signals reach only this one
    real = loop_module._iteration

    def iteration(run, state, batch):
        if state.step + 1 == step:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return real(run, state, batch)

    monkeypatch.setattr(loop_module, "_iteration", iteration)


def test_ctrl_c_saves_the_current_iteration_and_resume_is_exact(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    settings = dict(steps=12, eval_every=5, milestones=(8,), seed=2)
    reference = train(small_config(out=str(tmp_path / "ref"), **settings))
    out = tmp_path / "stopped"
    _signal_at(monkeypatch, 7)
    with pytest.raises(Interrupted) as stopped:
        train(small_config(out=str(out), **settings))
    assert (stopped.value.step, stopped.value.total, stopped.value.saved) == (7, 12, True)
    assert isinstance(stopped.value, KeyboardInterrupt)  # code that cleans up on Ctrl-C still does
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 7  # mid-window, not at 5
    assert [r["step"] for r in _records(out)] == [5]
    monkeypatch.undo()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the loop restored it; be sure
    train(small_config(resume=str(out)))
    assert _without_timing(_records(out)) == _without_timing(_records(reference.out_dir))
    a, b = _weights(out), _weights(reference.out_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_signal_handlers_are_restored(tmp_path: Path, small_config) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    train(small_config(out=str(tmp_path / "run"), steps=2, eval_every=2))
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_second_ctrl_c_stops_at_once_and_a_run_that_never_saved_leaves_nothing(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    out = tmp_path / "never-saved"
    _signal_at(monkeypatch, 3, times=2)
    with pytest.raises(Interrupted) as stopped:
        train(small_config(out=str(out), steps=20, eval_every=10))
    assert not stopped.value.saved and not out.exists()
    # a folder the user made stays (empty), only what the run wrote goes
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(Interrupted):
        train(small_config(out=str(mine), steps=20, eval_every=10))
    assert mine.is_dir() and list(mine.iterdir()) == []


def test_a_second_ctrl_c_keeps_an_earlier_checkpoint(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    out = tmp_path / "run"
    _signal_at(monkeypatch, 8, times=2)
    with pytest.raises(Interrupted) as stopped:
        train(small_config(out=str(out), steps=20, eval_every=5))
    assert stopped.value.saved and stopped.value.step is None  # no new checkpoint: the one at 5
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 5


def test_ctrl_c_before_training_starts_writes_nothing(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    from resdsl.train import estimate

    def interrupted_probe(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(estimate, "probe", interrupted_probe)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        train_command,
        [str(ROOT / "tests/fixtures/tiny_resnet.py"), "--out", str(out), *DEVICE_FLAGS],
    )
    assert result.exit_code == 130, result.output
    assert "stopped before anything was saved; nothing was left behind" in result.output
    assert "Aborted!" not in result.output and not out.exists()


@pytest.mark.slow
def test_sigint_to_the_command_saves_says_how_to_continue_and_exits_130(
    tmp_path: Path, fixture_module: Path
) -> None:
    """The real thing: a process running `resdsl train`, piped (no terminal), gets SIGINT. It
    waits at a gate before iteration 2 (tests/train/gated.py) until it has said it got the signal,
    so the stop lands at the same iteration on any machine."""
    out = tmp_path / "run"
    args = ["--out", str(out), "--steps", "2000", "--eval-every", "1000", "--threads", "1"]
    args += DEVICE_FLAGS
    with gated.start(2, "train", str(fixture_module), *args, cwd=ROOT) as proc:
        lines = gated.read_until(proc, gated.GATE)
        # the first progress line comes after iteration 1
        assert any(line.startswith("step 1/2000") for line in lines), "".join(lines)
        proc.send_signal(signal.SIGINT)
        gated.read_until(proc, "SIGINT: finishing this iteration, then saving last.pt")
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.close()  # the gate opens: iteration 2 runs, then the run stops
        rest = proc.stderr.read()
        assert proc.wait() == 130, rest
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 2
    assert f"stopped at iteration 2 of 2000; saved {out / 'last.pt'}" in rest
    assert f"continue with: resdsl train --resume {out}" in rest
    assert "Traceback" not in rest and "Aborted!" not in rest
    assert not (out / "metrics.jsonl").exists()  # no evaluation yet: nothing else was written


# -- extending a run ---------------------------------------------------------------------------


def test_resume_with_more_steps_extends_the_run_exactly(tmp_path: Path, small_config) -> None:
    settings = dict(eval_every=4, milestones=(6, 10), seed=1)
    straight = train(small_config(out=str(tmp_path / "straight"), steps=12, **settings))
    out = tmp_path / "extended"
    train(small_config(out=str(out), steps=8, **settings))
    summary = train(small_config(resume=str(out)), steps=12)
    assert summary.steps == 12
    records = _records(out)
    assert _without_timing(records) == _without_timing(_records(straight.out_dir))
    # the milestones stayed at their absolute iterations: 0.05 until 6, /10 until 10, /100 after
    assert [r["lr"] for r in records] == pytest.approx([0.05, 0.005, 0.0005])
    a, b = _weights(out), _weights(straight.out_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["config"]["steps"] == 12  # a plain --resume later goes on towards 12


def test_resume_refuses_to_shrink_a_run(tmp_path: Path, small_config, fixture_module) -> None:
    out = tmp_path / "run"
    train(small_config(out=str(out), steps=6, eval_every=3))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(TrainError, match=r"already done 6 iterations; .* --steps 6 or more"):
        train(small_config(resume=str(out)), steps=4)
    result = CliRunner().invoke(
        train_command,
        ["--resume", str(out), "--steps", "3", "--threads", "1", "--no-progress", *DEVICE_FLAGS],
    )
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert result.output.count("\n") == 1 and "cannot be shortened to 3" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_extends_by_epochs_from_the_command_line(tmp_path: Path, fixture_module) -> None:
    out = tmp_path / "run"
    fast = ["--threads", "1", "--no-progress", *DEVICE_FLAGS]
    first = CliRunner().invoke(
        train_command,
        [str(fixture_module), "--out", str(out), "--steps", "4", "--eval-every", "2", *fast],
    )
    assert first.exit_code == 0, first.output
    # 1,497 digits / batch 64 = 23 iterations per epoch: 0.25 epochs is ceil(5.75) = 6 in total
    more = CliRunner().invoke(train_command, ["--resume", str(out), "--epochs", "0.25", *fast])
    assert more.exit_code == 0, more.output
    assert [r["step"] for r in _records(out)] == [2, 4, 6]
    both = CliRunner().invoke(
        train_command, ["--resume", str(out), "--steps", "9", "--epochs", "1", *fast]
    )
    assert both.exit_code == 2 and "--steps or --epochs, not both" in both.output
