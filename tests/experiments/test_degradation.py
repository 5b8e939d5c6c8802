"""The degradation experiment: the plan (no torch), and the whole pipeline on a tiny schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resdsl.cli import cli
from resdsl.experiments.figures import mean_curve, response_layers
from resdsl.experiments.plan import DegradationPlan, plan_runs, schedule
from resdsl.train.errors import TrainError

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_network_shares_one_recipe_and_the_milestones_scale_with_the_steps() -> None:
    plan = DegradationPlan(depths=(20, 56), seeds=2, steps=40)
    runs = plan_runs(plan, Path("out"))
    assert [r.label for r in runs] == [
        "plain20-seed0", "resnet20-seed0", "plain20-seed1", "resnet20-seed1",
        "plain56-seed0", "resnet56-seed0", "plain56-seed1", "resnet56-seed1",
    ]  # fmt: skip
    configs = {
        (r.config.steps, r.config.milestones, r.config.lr, r.config.batch_size) for r in runs
    }
    assert configs == {(40, (20, 30), 0.05, 64)}  # digits: 200, 300 of 400 -> 20, 30 of 40
    assert runs[0].config.out == str(Path("out") / "runs" / "plain20-seed0")
    assert schedule(DegradationPlan())["steps"] == 300  # the offline default


def test_bad_plans_are_train_errors() -> None:
    with pytest.raises(TrainError, match="seeds"):
        DegradationPlan(seeds=0)
    with pytest.raises(TrainError, match="depths"):
        DegradationPlan(depths=())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--depths", "20,x"], "not a comma-separated list of depths"),
        (["--depths", "0"], "depths must be positive"),
        (["--seeds", "0"], "seeds must be positive"),
        (["--depths", "1202"], "missing generated module(s): generated/plain1202.py"),
        (["--recipe", "imagenet", "--steps", "10"], "counts epochs"),
        (["--steps", "0"], "steps must be positive"),
        (["--depths", "20,56,20"], "depths must differ"),
        (["--data", "bogus", "--steps", "1"], "--data 'bogus' is not one of"),
        (["--data", "cifar10:/nonexistent", "--steps", "1"], "no such data folder"),
    ],
)
def test_bad_requests_are_one_line_errors_and_write_nothing(
    args: list[str], message: str, tmp_path: Path, runner, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exp"
    result = runner.invoke(cli, ["experiment", "degradation", *args, "--out", str(out)])
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_an_output_folder_that_holds_something_is_left_alone(
    tmp_path: Path, runner, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exp"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(cli, ["experiment", "degradation", "--out", str(out)])
    assert result.exit_code == 1 and "already holds something" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failed_first_run_takes_back_only_what_it_wrote(
    tmp_path: Path, runner, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exp"
    out.mkdir()  # the user's own empty folder: emptied of what the run wrote, not removed
    args = ["experiment", "degradation", "--data", "bogus", "--steps", "1", "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and "bogus" in result.output
    assert out.is_dir() and list(out.iterdir()) == []


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path, runner, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exp"
    out.write_text("mine")
    result = runner.invoke(cli, ["experiment", "degradation", "--out", str(out)])
    assert result.exit_code == 1 and "is a file, not a folder" in result.output
    assert out.read_text() == "mine"


def test_seeds_are_averaged_only_at_the_same_steps() -> None:
    a = [
        dict(step=10, train_error=0.2, test_error=0.4),
        dict(step=20, train_error=0.1, test_error=0.2),
    ]
    b = [
        dict(step=10, train_error=0.4, test_error=0.6),
        dict(step=20, train_error=0.3, test_error=0.4),
    ]
    assert [r["step"] for r in mean_curve([a, b])] == [10, 20]
    assert mean_curve([a, b])[0]["train_error"] == pytest.approx(0.3)
    with pytest.raises(TrainError, match="different steps"):
        mean_curve([a, b[:1]])


@pytest.mark.parametrize(
    ("network", "layers"),
    [
        ("plain20", 19),  # 3x3 stem + 9 basic blocks x two 3x3 layers
        ("resnet20", 19),
        ("resnet18", 16),  # 7x7 stem and projections' BNs left out: 8 blocks x 2
        ("resnet50", 16),  # one 3x3 layer per bottleneck; 1x1 layers left out
    ],
)
def test_fig7_measures_the_3x3_layers_only(network: str, layers: int) -> None:
    from resdsl.train.module import load_generated

    model = load_generated(ROOT / "generated" / f"{network}.py").build(10)
    names = response_layers(model)
    assert len(names) == layers
    if network == "resnet50":
        assert all(name.endswith(".bn2") for name in names)


@pytest.mark.slow
def test_degradation_pipeline_four_runs_figure_and_table(
    tmp_path: Path, runner, monkeypatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "exp"
    args = ["experiment", "degradation", "--depths", "20,56", "--steps", "2", "--batch-size", "8"]
    args += ["--out", str(out), "--device", "cpu", "--threads", "2"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output + str(result.exception)
    # progress per run and overall (stderr is not a terminal here: plain lines)
    output = result.output
    assert "run 1/4 plain20-seed0" in output and "run 1/4 plain20-seed0 step 1/2" in output
    assert "run 4/4 resnet56-seed0; 3 done in" in output and "overall ETA about" in output
    assert output.count("plan: ") == 4 and "run 2/4 resnet20-seed0 eval at step 2/2" in output
    networks = ["plain20", "plain56", "resnet20", "resnet56"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{n}-seed0" for n in networks]
    for name in networks:
        records = (out / "runs" / f"{name}-seed0" / "metrics.jsonl").read_text().splitlines()
        assert json.loads(records[-1])["step"] == 2
    for png in ("fig6.png", "fig7.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads((out / "table.json").read_text())
    assert [r["network"] for r in rows] == networks  # plain first, shallow first
    for row in rows:
        assert row["seeds"] == 1 and row["train_error_std"] is None
        assert 0 <= row["train_error_mean"] <= 1 and 0 <= row["test_error_mean"] <= 1
    table = (out / "table.md").read_text()
    assert all(f"| {n} |" in table for n in networks) and "training error" in table
    stds = json.loads((out / "fig7.json").read_text())["stds"]
    # stem + two 3x3 layers per block: 19 responses for 20 layers, 55 for 56; seed 0's
    assert {n: len(v["0"]) for n, v in stds.items()} == {
        "plain20": 19, "resnet20": 19, "plain56": 55, "resnet56": 55,
    }  # fmt: skip
    assert all(s > 0 for v in stds.values() for s in v["0"])
