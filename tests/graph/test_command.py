"""``resdsl graph``: rendering through Graphviz, the command's output and its errors, and the
committed docs/fig3.* being what the code draws."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from resdsl.graph import GraphvizNotFound, render, to_dot, write_output
from tests.conftest import ROOT
from tests.graph.dotfile import network, parse

SPEC = ["specs/cifar.res", "-n", "resnet20"]


def need_dot() -> str:
    """Graphviz's dot: skipped with a reason where it is absent, but never in CI, which has it."""
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Graphviz 'dot' is missing in CI; the Makefile's graphviz target installs it"
            )
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz)")
    return dot


def failing_dot(folder: Path) -> str:
    """A stand-in for ``dot`` that fails as Graphviz does: a message on stderr, status 1."""
    script = folder / "dot"
    script.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.chdir(ROOT)  # relative spec paths, as a user types them
    return CliRunner()


def test_svg_png_and_pdf_render() -> None:
    need_dot()
    source = to_dot([network("cifar", "resnet20")], "layer")
    svg = render(source, "svg").decode()
    assert "<svg" in svg and "3x3 conv, 32, /2" in svg
    assert "zero&#45;pad, 32, /2" in svg or "zero-pad, 32, /2" in svg
    assert render(source, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert render(source, "pdf")[:5] == b"%PDF-"


def test_render_without_dot(monkeypatch) -> None:
    monkeypatch.setattr("resdsl.graph.output.shutil.which", lambda name: None)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        render("digraph {}", "svg")


def test_cli_dot_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["graph", *SPEC])
    assert result.exit_code == 0, result.output
    nodes, edges = parse(result.stdout)
    # 31 boxes and 3 stage entries; a chain through them, 9 arcs, 2 of them through a label
    assert (len(nodes), len(edges)) == (34, 33 + 9 + 2)
    assert "xlabel=" in result.stdout
    compact = runner.invoke(cli, ["graph", *SPEC, "--no-shapes"])
    assert compact.exit_code == 0 and "xlabel=" not in compact.stdout
    assert parse(compact.stdout)[0].keys() == nodes.keys()


def test_cli_writes_dot_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r20.dot"
    result = runner.invoke(cli, ["graph", *SPEC, "--level", "network", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("digraph resdsl {")
    assert "resnet20 (network level)" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf"])
def test_cli_side_by_side_pictures(runner: CliRunner, tmp_path: Path, suffix: str) -> None:
    need_dot()
    out = tmp_path / f"fig3.{suffix}"
    args = ["graph", "specs/plain34.res", "specs/resnet34.res", "--no-shapes", "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    head = out.read_bytes()[:8]
    assert head.startswith({"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF-"}[suffix])
    if suffix == "svg":
        svg = out.read_text()
        assert "34&#45;layer plain" in svg or "34-layer plain" in svg
        assert "(resnet34)" in svg
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary file left


def test_cli_missing_dot(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no dot to be found
    out = tmp_path / "r20.png"
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(out)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "apt-get install graphviz" in result.stderr
    assert "brew install graphviz" in result.stderr
    assert not out.exists()
    dot = tmp_path / "r20.dot"  # .dot needs no Graphviz
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(dot)])
    assert result.exit_code == 0 and dot.exists()


def test_cli_bad_suffix_and_bad_network(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["graph", "specs/resnet34.res", "-o", "fig.jpg"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: fig.jpg: unknown suffix '.jpg'; use .dot, .gv, .svg, .png, .pdf\n"
    )
    result = runner.invoke(cli, ["graph", "specs/resnet34.res", "-n", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.stderr


def test_cli_output_that_is_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "adir.dot"
    folder.mkdir()
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(folder)])
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: {folder} is a folder; give a file name, e.g. {folder}/fig3.svg\n"
    )
    assert list(folder.iterdir()) == []


def test_cli_output_in_a_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "x.svg"
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: {out.parent} is no such folder\n"
    assert not (tmp_path / "missing").exists()  # nothing made
    beside_a_file = tmp_path / "notes.txt"
    beside_a_file.write_text("mine")
    out = beside_a_file / "x.dot"
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: {beside_a_file} is a file, not a folder\n"
    assert beside_a_file.read_text() == "mine"


def test_cli_output_in_an_unwritable_folder(runner: CliRunner, tmp_path: Path, monkeypatch):
    """As root, permissions do not stop a write; the refusal is simulated where it happens."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("resdsl.files.tempfile.mkstemp", refuse)
    out = tmp_path / "x.dot"
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: Permission denied\n"
    assert not out.exists()


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    old = tmp_path / "fig.svg"
    old.write_text("the figure I had")

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("resdsl.files.os.replace", full_disk)
    with pytest.raises(Exception, match=f"cannot write {old}: No space left on device"):
        write_output(b"<svg/>", str(old))
    assert old.read_text() == "the figure I had"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.svg"]  # the temporary file is gone


def test_cli_dot_that_fails_leaves_the_old_picture(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("resdsl.graph.output.shutil.which", lambda name: failing_dot(tmp_path))
    out = tmp_path / "r20.svg"
    out.write_text("the figure I had")
    result = runner.invoke(cli, ["graph", *SPEC, "-o", str(out)])
    assert result.exit_code == 1
    assert "dot -Tsvg failed: Error: syntax error in line 1" in result.stderr
    assert out.read_text() == "the figure I had"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot", "r20.svg"]


def test_written_pictures_are_readable_as_open_would_make_them(tmp_path: Path) -> None:
    path = write_output(b"digraph {}\n", str(tmp_path / "x.dot"))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_graph_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from resdsl.cli import cli\n"
        f"cli(['graph', 'specs/resnet34.res', '-o', {str(tmp_path / 'x.dot')!r}],"
        " standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_committed_figure_is_up_to_date() -> None:
    """docs/fig3.dot is the source of docs/fig3.svg/.png; a change to the drawing shows here."""
    committed = (ROOT / "docs" / "fig3.dot").read_text()
    fresh = to_dot([network("plain34"), network("resnet34")], "layer", shapes=False)
    assert fresh == committed, "regenerate docs/fig3.*: see docs/graph.md"


def test_cli_several_networks_of_one_file(runner: CliRunner) -> None:
    args = ["graph", "specs/cifar.res", "-n", "plain20", "-n", "resnet20", "--level", "network"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert 'label="20-layer plain\\n(plain20)"' in result.stdout
    assert result.stdout.index("(plain20)") < result.stdout.index("(resnet20)")
    assert '{ rank=same; "c0_n0" -> "c1_n0" [style=invis]; }' in result.stdout
