"""``resdsl export``: ONNX and torch.export files, written only once they compute what the
module computes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from resdsl.export import ExportError, export
from tests.conftest import ROOT

RESNET20 = str(ROOT / "generated" / "resnet20.py")


def test_resnet20_to_onnx_and_torch_export(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "export",
            RESNET20,
            "--onnx",
            str(tmp_path / "r.onnx"),
            "--exported",
            str(tmp_path / "r.pt2"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "onnxruntime matches the module on a batch of 3" in result.output
    assert "torch.export, " in result.output and "reloaded, matches" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.onnx", "r.pt2"]  # nothing else
    assert (tmp_path / "r.onnx").stat().st_mode & 0o044  # readable like any file the user writes


@pytest.mark.slow
def test_resnet50_exports_check(tmp_path: Path) -> None:
    done = export(
        ROOT / "generated" / "resnet50.py", onnx=tmp_path / "r.onnx", exported=tmp_path / "r.pt2"
    )
    assert [d.kind for d in done] == ["onnx", "torch.export"]
    assert all(d.max_difference is not None and d.max_difference < 1e-3 for d in done)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to export"),
        (["--onnx", "x.onx"], "should end in .onnx"),
        (["--exported", "missing/x.pt2"], "the folder missing does not exist"),
        (["--onnx", "x.onnx", "--batch", "0"], "--batch must be positive"),
    ],
)
def test_mistakes_are_one_line_and_exit_1(tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", RESNET20, *args])
    assert result.exit_code == 1 and message in result.output
    assert result.output.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_not_a_generated_module(tmp_path: Path) -> None:
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["export", str(other), "--onnx", str(tmp_path / "o.onnx")])
    assert result.exit_code == 1 and "not a generated resdsl module" in result.output


def test_an_export_that_differs_is_not_written_and_leaves_the_old_file(
    tmp_path, monkeypatch
) -> None:
    import resdsl.export

    target = tmp_path / "r.pt2"
    target.write_bytes(b"the user's previous export")
    monkeypatch.setattr(resdsl.export, "TOLERANCE", -1.0)  # nothing can match
    with pytest.raises(ExportError, match="does not compute what the module does"):
        export(RESNET20, exported=target)
    assert target.read_bytes() == b"the user's previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["r.pt2"]  # no temporary left behind


def test_without_onnxruntime_the_file_is_validated_and_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    (done,) = export(RESNET20, onnx=tmp_path / "r.onnx")
    assert done.max_difference is None and "onnxruntime is not installed" in done.note


def test_without_onnxscript_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ExportError, match=r"pip install 'resdsl\[export\]'"):
        export(RESNET20, onnx=tmp_path / "r.onnx")
    assert list(tmp_path.iterdir()) == []
