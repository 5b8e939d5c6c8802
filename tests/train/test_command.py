"""The ``resdsl train`` command through click's CliRunner: bad inputs exit 1 with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli.train import train
from tests.train.conftest import DEVICE_FLAGS

FAST = ["--threads", "1", "--no-progress", *DEVICE_FLAGS]


def _run(*args: str):
    return CliRunner().invoke(train, [*args, *FAST])


def _fails_cleanly(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") <= 2


def test_trains_from_the_command_line(tmp_path: Path, fixture_module: Path) -> None:
    out = tmp_path / "run"
    result = _run(str(fixture_module), "--out", str(out), "--steps", "6", "--eval-every", "3",
                  "--batch-size", "16", "--lr", "0.02", "--no-flip")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "resnet8 on digits: 6 iterations" in result.output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6] and records[0]["lr"] == 0.02


def test_not_a_generated_module(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("print('hello')\n")
    _fails_cleanly(_run(str(plain)), "is not a generated resdsl module: it has no META dict")
    _fails_cleanly(_run(str(tmp_path / "missing.py")), "missing.py: no such file")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("cifar10:{tmp}/nowhere", "no such data folder"),
        ("cifar10:{tmp}", "no cifar10 data"),
        ("cifar100:{tmp}", "no cifar100 data"),
        ("imagefolder:{tmp}/nowhere", "no such data folder"),
        ("imagefolder:{tmp}", "has no train/ folder"),
        ("mnist", "is not one of digits"),
    ],
)
def test_missing_or_malformed_data(tmp_path: Path, fixture_module: Path, data: str, message: str):
    out = tmp_path / "run"
    spec = data.format(tmp=tmp_path)
    _fails_cleanly(_run(str(fixture_module), "--data", spec, "--out", str(out)), message)
    assert not out.exists()  # nothing written


def test_bad_resume_and_existing_outputs_are_left_untouched(tmp_path: Path, fixture_module: Path):
    out = tmp_path / "run"
    assert (
        _run(str(fixture_module), "--out", str(out), "--steps", "2", "--eval-every", "2").exit_code
        == 0
    )
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fails_cleanly(_run(str(fixture_module), "--out", str(out)), "already holds a run")
    _fails_cleanly(_run("--resume", str(tmp_path / "elsewhere")), "no checkpoint there")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "last.pt").write_bytes(b"\x00" * 100)
    _fails_cleanly(_run("--resume", str(corrupt)), "corrupt or unreadable checkpoint")
    assert (corrupt / "last.pt").read_bytes() == b"\x00" * 100
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_bad_option_values(fixture_module: Path) -> None:
    _fails_cleanly(_run(str(fixture_module), "--batch-size", "0"), "batch_size must be positive")
    result = _run(str(fixture_module), "--milestones", "a,b")
    assert result.exit_code == 2 and "comma-separated list" in result.output
    result = _run()
    assert result.exit_code == 2 and "--resume DIR" in result.output


def test_registered_on_the_resdsl_cli() -> None:
    from resdsl.cli import cli

    assert cli.get_command(None, "train") is train  # a lazy group: looked up by name


def test_resume_refuses_changes_to_what_is_trained(tmp_path: Path) -> None:
    result = _run("--resume", str(tmp_path), "--lr", "0.3", "--batch-size", "8")
    assert result.exit_code == 2
    assert "--batch-size, --lr cannot change them" in result.output
    assert "--steps or --epochs to extend the run" in result.output
    assert "--compile-mode" in result.output and "Traceback" not in result.output
