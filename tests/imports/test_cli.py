"""``resdsl import`` on the command line: stdout, -o (atomic, never over a file without
--force), -k, --state-dict with --hint, and one line with exit status 1 for every error."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from resdsl.cli import cli  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.fixtures import import_models  # noqa: E402

FIXTURE = "tests/fixtures/import_models.py"


def test_prints_the_spec(runner, at_root):
    result = runner.invoke(cli, ["import", "generated/resnet34_c.py:resnet34_c"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Imported by resdsl 0.1.0 from generated/resnet34_c.py")
    assert "    block basic\n    shortcut C\n    stage conv2_x: 3 x 64\n" in result.stdout


def test_writes_once_then_needs_force(runner, at_root, tmp_path):
    out = tmp_path / "net.res"
    args = ["import", f"{FIXTURE}:small_resnet", "-o", str(out), "--name", "mine"]
    assert runner.invoke(cli, args).exit_code == 0
    first = out.read_text()
    assert "network mine {" in first
    check = runner.invoke(cli, ["check", str(out)])
    assert check.exit_code == 0, check.output

    out.write_text("# mine, by hand\n")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {out} exists; pass --force to overwrite it\n"
    assert out.read_text() == "# mine, by hand\n"  # never lose what the user had
    assert runner.invoke(cli, [*args, "-k", "num_classes=5", "--force"]).exit_code == 0
    assert "classes 5\n" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.res"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([f"{FIXTURE}:dilated"], "cannot express layer2.1.conv2 (Conv2d): a dilated convolution"),
        ([f"{FIXTURE}:gelu_gate"], "cannot express layer2.0 (Block): gelu() has no word"),
        (["missing.py:net"], "missing.py: no such file"),
        ([f"{FIXTURE}:Block"], f"{FIXTURE}:Block(): TypeError: Block.__init__() missing"),
        ([f"{FIXTURE}:NOT_A_FACTORY"], f"{FIXTURE} has no factory NOT_A_FACTORY"),
        (["no_such_package:net"], "cannot import no_such_package: ModuleNotFoundError"),
        (["resnet50"], "resnet50: expected package.module:factory or path/to/file.py:factory"),
        ([f"{FIXTURE}:small_resnet", "--input", "3x0x1"], "--input 3x0x1: expected channels"),
        (["--state-dict", "x.pt"], "--state-dict needs --hint SOURCE"),
        ([f"{FIXTURE}:small_resnet", "-o", "no/such/dir/x.res"], "cannot write no/such/dir/x.res"),
    ],
)
def test_errors_are_one_line(runner, at_root, args, message):
    result = runner.invoke(cli, ["import", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {message}")
    assert result.stderr.count("\n") == 1


def test_state_dict_with_a_hint(runner, at_root, tmp_path):
    weights = tmp_path / "model.pt"
    torch.save(import_models.small_resnet(num_classes=7).state_dict(), weights)
    args = ["import", "--state-dict", str(weights), "--hint", f"{FIXTURE}:small_resnet"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "    classes 7\n" in result.stdout  # from the fc's weight, not the factory's 10

    state = import_models.small_resnet().state_dict()
    del state["layer2.0.downsample.1.running_mean"]
    torch.save({"state_dict": state}, weights)
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {weights} does not fit {FIXTURE}:small_resnet: "
        "missing key layer2.0.downsample.1.running_mean\n"
    )
    weights.write_bytes(b"not a pickle")
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {weights}: not a state dict torch can load")


def test_check_and_help_never_import_torch():
    code = (
        "import sys\n"
        "from resdsl.cli import cli\n"
        "for args in (['--help'], ['import', '--help'], ['check', 'specs/resnet18.res']):\n"
        "    try:\n"
        "        cli(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "import resdsl.imports, resdsl.imports.match, resdsl.imports.unparse\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
