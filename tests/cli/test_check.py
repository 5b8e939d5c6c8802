"""The check and ir commands, the torch-free front end, and the installed package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from tests.conftest import ROOT


def test_check_all_bundled_specs(runner, at_root):
    specs = sorted(str(p.relative_to(at_root)) for p in (at_root / "specs").glob("*.res"))
    result = runner.invoke(cli, ["check", *specs])
    assert result.exit_code == 0, result.output
    assert "specs/resnet34.res: ok: resnet34 (34 layers)" in result.stdout
    assert result.stdout.count(": ok: ") == len(specs)


def test_check_goes_on_after_a_bad_file_and_exits_1(runner, at_root):
    result = runner.invoke(
        cli, ["check", "tests/golden/errors/zero_stage.res", "specs/resnet18.res"]
    )
    assert result.exit_code == 1
    assert "specs/resnet18.res: ok" in result.stdout and "zero_stage.res: 1 error" in result.stderr


def test_missing_file_is_a_diagnostic(runner, at_root):
    result = runner.invoke(cli, ["check", "specs/nope.res"])
    assert result.exit_code == 1 and "specs/nope.res:1:1: error: no such file" in result.stderr


def test_ir_lists_nodes_with_op_path_shape_and_line(runner, at_root):
    result = runner.invoke(cli, ["ir", "specs/cifar.res", "--network", "resnet20"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("network resnet20  input 3x32x32  classes 10")
    assert lines[3].split() == ["1", "conv", "conv1", "16x32x32", "6"]
    assert lines[-1].split() == [str(len(lines) - 3), "fc", "fc", "10", "15"]
    assert any(line.split()[1:3] == ["pad", "layer2.0.shortcut"] for line in lines[2:])


def test_ir_of_a_wrong_spec_exits_1_with_diagnostics(runner, at_root):
    result = runner.invoke(cli, ["ir", "tests/golden/errors/unknown_block.res"])
    assert result.exit_code == 1 and "unknown block basik" in result.stderr


@pytest.mark.parametrize("command", [["check", "specs/resnet152.res"], ["ir", "specs/cifar.res"]])
def test_front_end_never_imports_torch(command):
    code = (
        "import sys\nfrom resdsl.cli import cli\n"
        f"try:\n    cli({command!r})\nexcept SystemExit as e:\n    assert e.code in (0, None), e\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_console_script_prints_no_traceback_on_bad_input(tmp_path):
    bad = tmp_path / "bad.res"
    bad.write_bytes(b"network \xff {")
    done = subprocess.run(
        [sys.executable, "-m", "resdsl", "check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "not UTF-8" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_wheel_carries_the_grammar_and_works_outside_the_checkout(tmp_path):
    """Build the wheel from a clean copy of the sources (a build/ folder left in the checkout
    would leak stale modules into it), unpack it elsewhere, and use it from there."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "dist", "runs", "*.egg-info", "__pycache__"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("resdsl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "resdsl/grammars/res.lark" in names
    assert "resdsl/codegen/templates/module.py.jinja" in names
    assert "resdsl/ops/layers.py" in names and not any("tests/" in n for n in names)
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    spec = tmp_path / "alone.res"
    spec.write_text((ROOT / "specs" / "resnet50.res").read_text())
    done = subprocess.run(
        [sys.executable, "-c", "from resdsl.cli import main; main()", "check", str(spec)],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "resnet50 (50 layers)" in done.stdout
    # The notebook user's two lines (docs/api.md), from the installed package alone.
    tiny = "network n { input 3x8x8 classes 2 stage 1 x 4 head { avgpool fc } }"
    code = (
        "import resdsl\n"
        f"assert resdsl.__file__.startswith({str(tmp_path / 'site')!r}), resdsl.__file__\n"
        "net = resdsl.build('alone.res')\n"
        "print(sum(p.numel() for p in net.parameters()))\n"
        f"print(resdsl.stats({tiny!r}).params)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["25557032", "298"]


def test_usage_errors_are_bad_input_not_bugs() -> None:
    """Exit status 2 is kept for bugs in resdsl: a wrong option is exit 1, with click's usage."""
    runner = CliRunner()
    for args in (["check"], ["stats", "--format", "yaml", "x.res"], ["nosuch"], ["ir", "a", "b"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert "Usage: " in result.output and "Traceback" not in result.output


def test_every_command_has_a_whole_summary_line() -> None:
    """`resdsl --help` lists each command with a sentence that is not cut off."""
    text = CliRunner().invoke(cli, ["--help"]).output
    commands = text.split("Commands:")[1].strip().splitlines()
    assert len(commands) >= 9
    for line in commands:
        assert not line.rstrip().endswith("..."), line
    experiment = CliRunner().invoke(cli, ["experiment", "--help"]).output
    assert "Plain against residual networks (Fig. 6 and 7)." in experiment
