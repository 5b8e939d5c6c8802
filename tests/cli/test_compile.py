"""``resdsl compile`` through click's CliRunner: writing, --check, --network, and odd names."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent.parent
CIFAR = (ROOT / "specs" / "cifar.res").read_text()
LOCATED = re.compile(r"^\S+\.res:\d+:\d+: error: ", re.MULTILINE)


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cifar.res").write_text(CIFAR)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, ["compile", *args])


def test_compile_writes_every_network_then_leaves_them(workdir):
    first = run("cifar.res", "-o", "out")
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in (workdir / "out").iterdir()) == sorted(
        f"{n}{d}.py" for n in ("resnet", "plain") for d in (20, 32, 44, 56)
    )
    assert "out/resnet20.py: written" in first.output
    second = run("cifar.res", "-o", "out")
    assert second.exit_code == 0 and "written" not in second.output
    assert "out/resnet20.py: unchanged" in second.output


def test_network_option_compiles_one(workdir):
    result = run("cifar.res", "--network", "resnet56")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (workdir / "generated").iterdir()] == ["resnet56.py"]
    missing = run("cifar.res", "--network", "resnet57")
    assert missing.exit_code == 1 and LOCATED.search(missing.output)


def test_check_names_stale_files_and_writes_nothing(workdir):
    stale = run("cifar.res", "--network", "resnet20", "--check")
    assert stale.exit_code == 1
    assert "generated/resnet20.py: out of date" in stale.output
    assert not (workdir / "generated").exists()
    assert run("cifar.res", "-n", "resnet20").exit_code == 0
    assert run("cifar.res", "-n", "resnet20", "--check").exit_code == 0
    target = workdir / "generated" / "resnet20.py"
    target.write_text(target.read_text().replace("kaiming_normal_", "kaiming_uniform_"))
    edited = run("cifar.res", "-n", "resnet20", "--check")
    assert edited.exit_code == 1 and "resnet20.py: out of date" in edited.output
    assert "kaiming_uniform_" in target.read_text()  # --check did not repair it


def test_a_spec_error_writes_nothing(workdir):
    (workdir / "broken.res").write_text(CIFAR.replace("stage n x 32", "stage n x 8"))
    result = run("cifar.res", "broken.res")
    assert result.exit_code == 1 and LOCATED.search(result.output)
    assert not (workdir / "generated").exists()  # cifar.res was fine, but nothing is written


ODD_NAMES = [
    '"quoted"',
    "it's",
    "two\nlines",
    "class",
    "match",
    "__init__",
    "_private",
    "print",
    "résnet",
    "ネット",
    "import os",
    "os; import os",
    "conv3x3",
    "ResNet",
    "BasicBlock",
    "META",
    "nn",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_network_names_are_refused_with_a_location(workdir, name):
    """Each either fails at the parser/validator or at the emitter's namespace: located."""
    (workdir / "odd.res").write_text(f'use "cifar.res"\n\nnetwork {name} = cifar_resnet(n=3)\n')
    result = run("odd.res", "-o", "out")
    assert result.exit_code == 1, result.output
    assert LOCATED.search(result.output), result.output
    assert "Traceback" not in result.output
    assert not (workdir / "out").exists()


def test_compile_does_not_import_torch(workdir):
    import subprocess

    code = (
        "import sys; from resdsl.codegen.emit import compile_specs; "
        "compile_specs(['cifar.res'], 'out'); print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
