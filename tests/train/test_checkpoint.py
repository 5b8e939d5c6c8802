from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resdsl.train.checkpoint import atomic_write, check_matches, load_checkpoint, save_checkpoint
from resdsl.train.errors import TrainError


def _state() -> dict:
    return dict(
        network="resnet8",
        params=10,
        config={"lr": 0.1},
        step=7,
        model={"w": torch.ones(3)},
        optimizer={"state": {}, "param_groups": []},
    )


def test_round_trip(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "last.pt", _state())
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == 7 and torch.equal(state["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, _state())
    before = path.read_bytes()

    def explode(f) -> None:
        f.write(b"half a checkpoint")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, explode)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated zip"])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "last.pt").write_bytes(content)
    with pytest.raises(TrainError, match="corrupt or unreadable checkpoint"):
        load_checkpoint(tmp_path / "last.pt")


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "last.pt", _state())
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(TrainError, match="corrupt or unreadable"):
        load_checkpoint(tmp_path / "last.pt")


def test_code_in_a_checkpoint_is_refused(tmp_path: Path) -> None:
    torch.save({"format": "resdsl-train-1", "evil": Path("x")}, tmp_path / "last.pt")
    with pytest.raises(TrainError, match="corrupt or unreadable"):
        load_checkpoint(tmp_path / "last.pt")


def test_foreign_and_mismatched_checkpoints(tmp_path: Path) -> None:
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(TrainError, match="not a resdsl training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(TrainError, match="no checkpoint there"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(
        TrainError, match=r"checkpoint is for resnet8 \(10 parameters\), not resnet20"
    ):
        check_matches(tmp_path / "last.pt", _state(), "resnet20", 269722)
