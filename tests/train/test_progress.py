"""The plan before step 1 (with a probe-based estimate), and progress people can read: a bar on a
terminal, plain timed lines in a log, one line per evaluation."""

from __future__ import annotations

import io
import itertools
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from rich.console import Console

from resdsl.cli.train import train as train_command
from resdsl.train import probe as probe_module
from resdsl.train import progress as progress_module
from resdsl.train.estimate import Plan
from resdsl.train.module import load_generated
from resdsl.train.probe import Probe, extrapolate, probe
from resdsl.train.progress import Progress, choose_mode, duration
from tests.train import gated
from tests.train.conftest import DEVICE_FLAGS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "0.2 s"), (42, "42 s"), (200, "3 min 20 s"), (3000, "50 min"), (22080, "6 h 8 min")],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text
    assert duration(2 * 86400 + 3 * 3600) == "2 d 3 h"


def test_mode_follows_the_terminal_unless_turned_off() -> None:
    assert choose_mode(None, True) == "bar" and choose_mode(None, False) == "lines"
    assert choose_mode(False, True) == choose_mode(False, False) == "off"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines_progress(monkeypatch, **overrides) -> tuple[Progress, Clock, io.StringIO]:
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    text = io.StringIO()
    values = dict(
        mode="lines",
        console=Console(file=text, width=300),
        total=100,
        start=0,
        every_s=20.0,
        evaluations=2,
        step_estimate_s=5.0,
        eval_estimate_s=30.0,
    )
    values.update(overrides)
    return Progress(**values), clock, text  # type: ignore[arg-type]


STATS = {"loss": 2.0, "error": 0.5, "lr": 0.1, "images_per_s": 12.8}


def test_plain_lines_come_after_the_first_iteration_then_every_n_seconds(monkeypatch) -> None:
    progress, clock, text = _lines_progress(monkeypatch)
    assert progress.due()  # the first iteration is always shown: a log shows life at once
    clock.now += 50  # the first iteration pays for warm-up: it is left out of the rate later
    progress.update(1, STATS)
    for step in range(2, 12):
        clock.now += 5
        assert progress.due() == (step in (5, 9))  # every 20 s after the first line
        if progress.due():
            progress.update(step, STATS)
        else:
            progress.update(step)
    lines = text.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/100", "5/100", "9/100"]
    # 5 s per iteration measured after the first: 95 left = 475 s, plus 2 evaluations at 30 s
    assert "5.00 s/it" in lines[1] and "ETA 8 min 55 s" in lines[1]
    assert "loss 2.000  err 50.0%  lr 0.1  12.8 img/s" in lines[1]


def test_the_eta_counts_evaluations_as_measured(monkeypatch) -> None:
    progress, clock, text = _lines_progress(monkeypatch, total=10, evaluations=1)
    assert progress.eta_s() == pytest.approx(10 * 5.0 + 30.0)  # the plan's estimate, before any
    clock.now += 2
    progress.update(1)
    clock.now += 2
    progress.update(2)
    clock.now += 7  # an evaluation that took 7 s is not iteration time
    progress.evaluated(
        {"step": 2, "train_error": 0.25, "train_loss": 0.7, "val_error": None, "test_error": 0.3},
        7.0,
    )
    assert progress.step_s() == pytest.approx(2.0) and progress.eta_s() == pytest.approx(16.0)
    assert "eval at step 2/10: train err 25.00% (loss 0.700)  test err 30.00%  (7.0 s)" in (
        text.getvalue()
    )


def test_an_experiment_label_and_overall_eta(monkeypatch) -> None:
    progress, clock, text = _lines_progress(
        monkeypatch, total=10, evaluations=0, label="run 2/4 plain56-seed0", later_s=lambda r: 600
    )
    clock.now += 1
    progress.update(1, STATS)
    line = text.getvalue()
    assert line.startswith("run 2/4 plain56-seed0 step 1/10") and "overall ETA 10 min" in line


def test_off_and_other_ranks_print_no_progress_lines(monkeypatch) -> None:
    progress, _, text = _lines_progress(monkeypatch, mode="off")
    assert not progress.due()
    progress.update(1, STATS)
    assert text.getvalue() == ""
    quiet, _, quiet_text = _lines_progress(monkeypatch, leader=False)
    quiet.update(1, STATS)
    quiet.evaluated({"step": 1, "train_error": 0, "train_loss": 0, "test_error": 0}, 1.0)
    assert quiet_text.getvalue() == ""


def _plan(**overrides) -> Plan:
    values = dict(
        network="resnet152",
        params=58_164_298,
        multiply_adds=11_282_415_616,
        input_shape=(3, 224, 224),
        data="digits 1x8x8 → scaled to 3x224x224, 10 classes (1,497 train / 300 test images)",
        batch=64,
        world=1,
        done=0,
        total=400,
        steps_per_epoch=23,
        eval_every=100,
        eval_images=300,
        device=torch.device("cpu"),
        threads=2,
        compiled=None,
        amp=False,
        channels_last=False,
        out=Path("runs/resnet152-x"),
        probe=Probe(1.0, 4, 2.0, "from batches 2 and 4, extrapolated to 64"),
    )
    values.update(overrides)
    return Plan(**values)  # type: ignore[arg-type]


def test_the_plan_says_what_where_and_how_long() -> None:
    plan = _plan()
    assert plan.step_s == 64.0 and plan.evaluations == 4 and plan.eval_s == 100.0
    assert plan.estimate_s == 400 * 64 + 4 * 100
    text = "\n".join(plan.lines())
    assert "plan: resnet152, 58,164,298 parameters, 11.28 G multiply-adds per image" in text
    assert "digits 1x8x8 → scaled to 3x224x224" in text
    assert "400 iterations of batch 64 (17.4 epochs), evaluation every 100" in text
    assert "cpu, 2 threads, fp32, eager (no compile)" in text
    assert "probe   1.0 images/s, 67.7 GFLOP/s, from batches 2 and 4, extrapolated to 64" in text
    assert "about 1 min 4 s per iteration" in text
    assert "time    about 7 h 13 min" in text


def test_an_imagenet_sized_network_on_the_cpu_gets_a_warning_and_alternatives() -> None:
    warning = "\n".join(_plan().warning("generated/resnet152.py"))
    assert warning.startswith("warning: resnet152 is ImageNet-sized (3x224x224)")
    assert "about 7 h 13 min" in warning
    assert "resdsl train generated/resnet20.py: 278x fewer multiply-adds" in warning
    assert "--steps 9 (about 9 min 36 s)" in warning and "--device cuda" in warning
    assert _plan(device=torch.device("cuda", 0)).warning("m.py") == []
    small = _plan(input_shape=(3, 32, 32), probe=Probe(5000.0, 64, 1.0))
    assert small.warning("m.py") == []  # CIFAR-sized and quick: nothing to warn about
    long = _plan(input_shape=(3, 32, 32), total=64000, probe=Probe(400.0, 64, 1.0))
    assert "has 64000 iterations to run" in long.warning("m.py")[0]


def test_the_probe_extrapolates_with_a_fixed_cost_per_pass() -> None:
    # ResNet-152 on an idle 2-core CPU: 2 images in 1.5 s, 4 in 2.8 s -> 0.65 s an image + 0.2 s
    seconds, how = extrapolate({2: 1.5, 4: 2.8}, 64)
    assert seconds == pytest.approx(41.8) and how == "from batches 2 and 4, extrapolated to 64"
    assert extrapolate({2: 0.01, 32: 0.15, 64: 0.3}, 64) == (0.3, "at batch 64")
    assert extrapolate({2: 3.5, 8: 3.0}, 64) == (3.0, "at batch 8 (no slower than batch 2)")
    assert extrapolate({2: 1.5}, 64) == (48.0, "at batch 2, scaled to 64")


def test_the_probe_leaves_the_model_and_rng_untouched(fixture_module: Path, monkeypatch) -> None:
    generated = load_generated(fixture_module)
    torch.manual_seed(0)
    model = generated.build(10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    # The probe's clock, not the machine's: every pass takes 0.45 s, each short enough for the
    # batch to grow (2, 4, ... 64), so that its budget, not this machine's speed, ends the probe.
    clock = Clock()
    monkeypatch.setattr(probe_module, "time", SimpleNamespace(perf_counter=clock))

    def a_pass(module: torch.nn.Module, inputs: tuple) -> None:
        clock.now += 0.45

    hook = model.register_forward_pre_hook(a_pass)  # the probe's copy has it too
    measured = probe(
        model, (3, 16, 16), 10, 64, device=torch.device("cpu"), amp=False,
        channels_last=False, network="resnet8",
    )  # fmt: skip
    hook.remove()
    assert measured.images_per_s > 0 and 1 <= measured.batch <= 64
    # an uncounted pass, then 2, 4, 8, 16, 32 and 64: 3.15 s, and the budget of 3 s is spent
    assert measured.seconds == pytest.approx(7 * 0.45) and measured.seconds < 10
    assert measured.batch == 64 and measured.images_per_s == pytest.approx(64 / 0.45)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())


def test_a_network_that_fails_on_its_input_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(
        (ROOT / "tests/fixtures/tiny_resnet.py")
        .read_text()
        .replace('"input": [3, 16, 16]', '"input": [1, 16, 16]')
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        train_command, [str(broken), "--out", str(out), "--no-progress", *DEVICE_FLAGS]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: resnet8 fails on a 2x1x16x16 batch (RuntimeError" in result.output
    assert not out.exists()


def test_a_piped_run_prints_the_plan_then_progress_lines_then_evaluations(
    tmp_path: Path, fixture_module: Path, monkeypatch
) -> None:
    # The progress lines' clock, not the machine's: each reading a second after the last, so that
    # every iteration is 0.01 s or more after the line before, however quick the machine is.
    ticks = itertools.count(100.0)
    monkeypatch.setattr(progress_module, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    args = [str(fixture_module), "--out", str(tmp_path / "run"), "--steps", "12", "--eval-every"]
    args += ["6", "--threads", "1", "--progress-every", "0.01", *DEVICE_FLAGS]
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("plan: resnet8, 19,954 parameters (3x16x16 input)")
    assert any(line.startswith("  time    about ") for line in lines[:8])
    first_step = next(i for i, line in enumerate(lines) if line.startswith("step "))
    assert lines[first_step].startswith("step 1/12 (8%)  loss ") and "ETA" in lines[first_step]
    assert sum(line.startswith("step ") for line in lines) >= 3
    evals = [line for line in lines if line.startswith("eval at step")]
    assert [line.split()[3] for line in evals] == ["6/12:", "12/12:"]
    assert "test err" in evals[0] and "train err" in evals[0]
    quiet = CliRunner().invoke(
        train_command, [*args[:2], str(tmp_path / "quiet"), *args[3:], "--no-progress"]
    )
    assert not any(line.startswith("step ") for line in quiet.output.splitlines())
    assert sum(line.startswith("eval at step") for line in quiet.output.splitlines()) == 2


@pytest.mark.slow
def test_resnet152_on_the_cpu_prints_its_plan_and_an_estimate_within_seconds(
    tmp_path: Path,
) -> None:
    """The issue's case: a new user trains resnet152 on a CPU. The plan and the warning must come
    before iteration 1; a double Ctrl-C during it then stops at once and leaves no folder behind.

    The run waits at a gate before iteration 1 (tests/train/gated.py), so each Ctrl-C lands where
    the test says, on any machine: the first once the run is there, the second once the run has
    said it got the first."""
    out = tmp_path / "run"
    args = ["train", "generated/resnet152.py", "--out", str(out)]
    args += ["--device", "cpu", "--threads", "1"]  # the CPU's case, wherever tests run; 1: below
    with gated.start(1, *args, cwd=ROOT) as proc:
        lines = gated.read_until(proc, gated.GATE)
        cpu_s = _cpu_seconds(proc.pid)  # all it has done: nothing more while it waits
        proc.send_signal(signal.SIGINT)
        lines += gated.read_until(proc, "SIGINT: finishing this iteration")
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        rest = proc.stderr.read()
        assert proc.wait() == 130, rest
    text = "".join(lines)
    plan = text[: text.index(gated.GATE)]  # all of it before iteration 1
    assert "plan: resnet152, 58,164,298 parameters, 11.28 G multiply-adds per image" in plan
    assert "digits 1x8x8 → scaled to 3x224x224" in plan and "time    about " in plan
    assert "warning: resnet152 is ImageNet-sized (3x224x224)" in plan
    assert "generated/resnet20.py: 278x fewer" in plan and "--device cuda" in plan
    # "Within seconds": torch, the digits, building the net and the probe, in CPU time, which other
    # jobs on the cores do not stretch (2-core machine, 2026-12-05): 10.8 s idle; 12.2 s at a load
    # average of 12.6, whose wall time was 165 s. One thread: two, waiting at each barrier for a
    # descheduled peer, spin, and that load made the same work 67.7 s.
    assert cpu_s < 60
    assert "nothing was left behind" in rest and not out.exists()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, all its threads (Linux's /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14 and 15
