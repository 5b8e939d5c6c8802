from __future__ import annotations

from pathlib import Path

from resdsl.train.plot import plot_run, plot_runs


def _records(scale: float) -> list[dict]:
    return [{"step": s, "train_error": scale / s, "test_error": 1.2 * scale / s} for s in (1, 2, 3)]


def test_one_run_and_an_overlay_are_pngs(tmp_path: Path) -> None:
    one = plot_run(_records(0.5), tmp_path / "one.png", "resnet20")
    many = plot_runs({"plain-20": _records(0.6), "plain-56": _records(0.8)}, tmp_path / "many.png")
    for path in (one, many):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert many.stat().st_size != one.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.png", "one.png"]  # no temp files
