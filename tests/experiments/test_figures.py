"""The degradation experiment's figures: Fig. 6 and Fig. 7 read back from their matplotlib
Figures (titles, axis labels, one line per network, bands for seeds), fig7.json, and
``--redraw`` from a finished experiment's files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from resdsl.cli import cli
from resdsl.experiments.degradation import DegradationPlan
from resdsl.experiments.figures import (
    degradation_figure,
    layer_std_figure,
    read_stds,
    redraw,
    write_stds,
)
from resdsl.train.errors import TrainError

PLAN = DegradationPlan(depths=(20, 56), seeds=3)
NETWORKS = ("plain20", "resnet20", "plain56", "resnet56")


def curve(final: float, seed: int) -> list[dict]:
    """Twelve evaluations decaying to ``final`` (a different level per seed)."""
    level = final * (1 + 0.2 * (seed - 1))
    return [
        dict(
            step=25 * k,
            train_error=level + 0.8 * math.exp(-k),
            test_error=level + 0.9 * math.exp(-k),
        )
        for k in range(1, 13)
    ]


def responses(network: str, seed: int) -> list[float]:
    """19 stds for a 20-layer net, 55 for a 56-layer; plain-56's first ones ten times larger."""
    count = 19 if network.endswith("20") else 55
    big = network == "plain56"
    return [1 + 0.01 * seed + (10 * math.exp(-i) if big else 0.001 * i) for i in range(count)]


CURVES = {n: [curve(0.4 if n == "plain56" else 0.01, s) for s in range(3)] for n in NETWORKS}
STDS = {n: {s: responses(n, s) for s in range(3)} for n in NETWORKS}


def labelled_lines(ax) -> dict[str, object]:
    return {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def test_fig6_plain_left_residual_right_means_with_bands() -> None:
    fig = degradation_figure(CURVES, PLAN)
    plain, residual = fig.axes
    assert (plain.get_title(), residual.get_title()) == ("plain networks", "residual networks")
    assert plain.get_ylabel() == "error (%)" and plain.get_xlabel() == "iter."
    assert "mean of 3 seeds" in fig._suptitle.get_text()
    assert set(labelled_lines(plain)) == {"plain-20", "plain-56"}
    assert set(labelled_lines(residual)) == {"ResNet-20", "ResNet-56"}
    # test error bold and labelled, training error dashed: two lines per network
    assert len(plain.get_lines()) == 4
    assert {line.get_linestyle() for line in plain.get_lines()} == {"-", "--"}
    # the bold line is the seeds' mean, in percent
    line = labelled_lines(plain)["plain-56"]
    mean = sum(c[-1]["test_error"] for c in CURVES["plain56"]) / 3
    assert line.get_ydata()[-1] == pytest.approx(100 * mean)
    assert len(plain.collections) == 4  # a band for training and one for test, per network
    assert fig.get_size_inches()[0] * fig.dpi == 1200  # README-sized
    assert plain.title.get_fontsize() >= 11 and plain.xaxis.label.get_fontsize() >= 10


def test_fig6_of_one_seed_has_no_bands() -> None:
    one = {n: c[:1] for n, c in CURVES.items()}
    fig = degradation_figure(one, DegradationPlan(depths=(20, 56), seeds=1))
    assert all(not ax.collections for ax in fig.axes)
    assert "seed 0" in fig._suptitle.get_text()


def test_fig7_both_panels_per_depth_name_the_quantity() -> None:
    fig = layer_std_figure(STDS, PLAN)
    (top20, top56), (bottom20, bottom56) = fig.axes[:2], fig.axes[2:]
    assert (top20.get_title(), top56.get_title()) == ("20 layers", "56 layers")
    assert top20.get_xlabel() == "layer index (original)"
    assert bottom56.get_xlabel() == "layer index (sorted by magnitude)"
    assert top20.get_ylabel() == bottom20.get_ylabel() == "std of the BN output"
    title = fig._suptitle.get_text()
    assert "3x3 layer's response" in title and "before ReLU" in title and "3 seeds" in title
    for ax, depth in ((top20, 20), (bottom20, 20), (top56, 56), (bottom56, 56)):
        lines = labelled_lines(ax)
        assert set(lines) == {f"plain-{depth}", f"ResNet-{depth}"}  # every network visible
        assert len(lines[f"ResNet-{depth}"].get_xdata()) == (19 if depth == 20 else 55)
        assert len(ax.collections) == 2  # each network's seed range
    sorted_ys = labelled_lines(bottom56)["plain-56"].get_ydata()
    assert list(sorted_ys) == sorted(sorted_ys, reverse=True)
    assert labelled_lines(top56)["plain-56"].get_ydata()[0] == pytest.approx(11.01)  # mean
    # plain-56's first responses are ten times the rest: that column is drawn on a log scale
    assert top56.get_yscale() == "log" and top20.get_yscale() == "linear"


def test_fig7_json_keeps_every_seed_and_reads_the_old_form(tmp_path: Path) -> None:
    path = write_stds(STDS, tmp_path / "fig7.json")
    data = json.loads(path.read_text())
    assert "BN output" in data["quantity"]
    assert sorted(data["stds"]["plain20"]) == ["0", "1", "2"]
    assert read_stds(path) == {n: {s: v for s, v in by.items()} for n, by in STDS.items()}
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"plain20": [1.0, 2.0]}))  # seed 0 only, as first committed
    assert read_stds(old) == {"plain20": {0: [1.0, 2.0]}}
    old.write_text("[1, 2]")
    with pytest.raises(TrainError, match=r"not a fig7\.json"):
        read_stds(old)


def experiment(folder: Path, seeds: int = 3) -> Path:
    """A finished experiment's files, as committed: no checkpoints."""
    plan = dict(depths=[20, 56], seeds=seeds, data="digits", recipe="digits", out="/elsewhere")
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({"plan": plan, "config": {}}))
    for network in NETWORKS:
        for seed in range(seeds):
            run = folder / "runs" / f"{network}-seed{seed}"
            run.mkdir(parents=True)
            lines = [json.dumps(r) for r in CURVES[network][seed]]
            (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    write_stds({n: {s: STDS[n][s] for s in range(seeds)} for n in NETWORKS}, folder / "fig7.json")
    return folder


def test_redraw_from_committed_files(tmp_path: Path, runner) -> None:
    folder = experiment(tmp_path / "seeds3")
    before = (folder / "fig7.json").read_text()
    result = runner.invoke(cli, ["experiment", "degradation", "--redraw", str(folder)])
    assert result.exit_code == 0, result.output
    for name in ("fig6.png", "fig7.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "fig7.json").read_text() == before  # nothing to measure, nothing changed
    assert result.output.splitlines() == [
        f"wrote {folder / 'fig6.png'}",
        f"wrote {folder / 'fig7.png'}",
        f"wrote {folder / 'fig7.json'}",
    ]


def test_redraw_names_what_is_missing(tmp_path: Path, runner) -> None:
    folder = experiment(tmp_path / "exp")
    stds = json.loads((folder / "fig7.json").read_text())
    del stds["stds"]["resnet56"]["2"]
    (folder / "fig7.json").write_text(json.dumps(stds))
    with pytest.raises(
        TrainError, match=r"no stds for resnet56-seed2, and .*last\.pt is not there"
    ):
        redraw(folder)
    (folder / "runs" / "plain56-seed1" / "metrics.jsonl").unlink()
    result = runner.invoke(cli, ["experiment", "degradation", "--redraw", str(folder)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {folder}/runs/plain56-seed1/metrics.jsonl: missing or empty; "
        "the figures need every run's metrics\n"
    )
    result = runner.invoke(cli, ["experiment", "degradation", "--redraw", str(tmp_path / "no")])
    assert result.exit_code == 1 and "plan.json: no such file" in result.output


def test_redraw_takes_no_training_option(tmp_path: Path, runner) -> None:
    folder = experiment(tmp_path / "exp")
    args = [
        "experiment",
        "degradation",
        "--redraw",
        str(folder),
        "--seeds",
        "2",
        "--recipe",
        "cifar",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == f"Error: --redraw takes the plan of {folder}; drop --seeds, --recipe\n"
    assert not (folder / "fig6.png").exists()
