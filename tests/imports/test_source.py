"""Where ``resdsl import`` gets its model from: user code that exits, parses the command line
or prints while it is imported or called; modules of the current directory; old checkpoints;
and the defects each of these once had."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.cli import cli  # noqa: E402
from resdsl.imports import ImportFailed, import_model, load  # noqa: E402
from tests.fixtures import import_models  # noqa: E402
from tests.imports.test_roundtrip import comparable  # noqa: E402

RESDSL = Path(sys.executable).parent / "resdsl"  # the console script, as a user runs it
HEADER = "from tests.fixtures.import_models import small_resnet as net\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import sys\nsys.exit(3)\n", "called sys.exit(3) (exit status 3)"),
        (
            "import argparse\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--lr', type=float, required=True)\nparser.parse_args()\n",
            "called sys.exit(2) (exit status 2)",  # argparse: --lr is required
        ),
    ],
)
def test_a_module_that_exits_while_imported(runner, at_root, tmp_path, code, message):
    path = _write(tmp_path, "train.py", HEADER + code)
    result = runner.invoke(cli, ["import", f"{path}:net"])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    # after what the user's code wrote (argparse's usage), resdsl's one line
    assert result.stderr.endswith(
        f"\nError: loading {path} {message}; resdsl reads models without running their "
        "command lines\n"
    ) or result.stderr.startswith(f"Error: loading {path} {message};")
    assert result.stderr.count("Error: ") == 1


def test_argparse_sees_no_resdsl_options(runner, at_root, tmp_path):
    """An argparse at import time parses an empty command line, as `python train.py` would."""
    code = "import argparse\nARGS = argparse.ArgumentParser().parse_args()\n"
    path = _write(tmp_path, "train.py", HEADER + code)
    result = runner.invoke(cli, ["import", f"{path}:net", "--name", "mine"])
    assert result.exit_code == 0, result.output
    assert "network mine {" in result.stdout


def test_what_user_code_prints_goes_to_stderr(runner, at_root, tmp_path):
    code = """\
        print("loading the module")
        from tests.fixtures.import_models import SmallResNet

        class Chatty(SmallResNet):
            def forward(self, x):
                print("forward on", type(x).__name__)
                return super().forward(x)

        def net():
            print("building")
            return Chatty()
        """
    path = _write(tmp_path, "chatty.py", code)
    result = runner.invoke(cli, ["import", f"{path}:net"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Imported by resdsl")  # the spec, and only the spec
    assert "loading the module\n" in result.stderr and "building\n" in result.stderr


def test_a_factory_that_exits(runner, at_root, tmp_path):
    path = _write(tmp_path, "exits.py", "import sys\ndef net():\n    sys.exit('no GPU')\n")
    result = runner.invoke(cli, ["import", f"{path}:net"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {path}:net() called sys.exit('no GPU') (exit status 1)"
    )


def test_modules_of_the_current_directory_as_python_m(tmp_path):
    """`pkg.mod:fn` finds pkg in the current directory, and a file's siblings import."""
    _write(tmp_path, "mymodels/__init__.py", "")
    _write(tmp_path, "mymodels/nets.py", HEADER)
    _write(tmp_path, "helpers.py", HEADER)
    _write(tmp_path, "scripts/train.py", "from helpers import net\n")
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    for source in ("mymodels.nets:net", "scripts/train.py:net"):
        if source.startswith("scripts"):  # the file's folder, not the cwd, holds its siblings
            (tmp_path / "scripts" / "helpers.py").write_text(HEADER)
        done = subprocess.run(
            [str(RESDSL), "import", source], cwd=tmp_path, capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        assert "    block basic\n    shortcut B\n" in done.stdout


def test_old_checkpoints_without_batch_norm_counters(runner, at_root, tmp_path):
    """Files saved before BN kept num_batches_tracked load as load_state_dict(strict=True)
    loads them."""
    state = import_models.small_resnet().state_dict()
    old = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    import_models.small_resnet().load_state_dict(old, strict=True)  # torch accepts it
    weights = tmp_path / "old.pt"
    torch.save(old, weights)
    hint = "tests/fixtures/import_models.py:small_resnet"
    result = runner.invoke(cli, ["import", "--state-dict", str(weights), "--hint", hint])
    assert result.exit_code == 0, result.output
    model = load(hint, state_dict=str(weights))
    assert int(model.bn1.num_batches_tracked) == 0
    torch.testing.assert_close(model.conv1.weight, old["conv1.weight"])
    del old["bn1.running_var"]  # a key torch would miss is still one
    torch.save(old, weights)
    with pytest.raises(ImportFailed, match=r"missing key bn1\.running_var$"):
        load(hint, state_dict=str(weights))


WIDENING = """\
network widen {
    input 3x32x32
    classes 10
    stem {
        conv 3x3, 16
    }
    block basic
    shortcut A
    stage 2 x 16
    stage 2 x 32
    stage 2 x 64, stride 2
    head {
        avgpool
        fc
    }
}
"""


def test_option_a_widening_at_stride_one_comes_back():
    """`shortcut A` widening 16 -> 32 at stride 1 pads without subsampling: imported as
    written (it was refused: "pad() has no place")."""
    with torch.device("meta"):
        model = resdsl.build(WIDENING)
    text = import_model(model, name="widen")
    assert comparable(resdsl.network(text)) == comparable(resdsl.network(WIDENING))
    assert "    shortcut A\n    stage 2 x 16\n    stage 2 x 32\n" in text
