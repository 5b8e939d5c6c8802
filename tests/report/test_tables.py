"""``resdsl stats`` and ``resdsl diff`` through click's CliRunner, and the no-torch promise."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from resdsl.report.tables import paper_flops

ROOT = Path(__file__).resolve().parent.parent.parent


def spec(name: str) -> str:
    return str(ROOT / "specs" / f"{name}.res")


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    return result


def test_json_is_a_list_of_networks_with_stages() -> None:
    result = run("stats", spec("resnet18"), spec("resnet50"), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(d["name"], d["params"], d["flops"]) for d in data] == [
        ("resnet18", 11_689_512, 1_814_073_344),
        ("resnet50", 25_557_032, 3_857_973_248),
    ]
    assert data[0]["convention"]["counted"] == ["conv", "fc"]
    assert [s["title"] for s in data[0]["stages"]][1:5] == [
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
    ]
    assert sum(s["flops"] for s in data[1]["stages"]) == data[1]["flops"]
    assert "layers" not in data[0]


def test_json_per_layer_and_flags() -> None:
    result = run("stats", spec("resnet18"), "--format", "json", "--per-layer", "--flops-2x")
    (data,) = json.loads(result.output)
    assert data["flops"] == 2 * 1_814_073_344
    assert data["convention"]["flops_as_2x_macs"] is True
    fc = data["layers"][-1]
    assert (fc["path"], fc["params"], fc["flops"], fc["line"]) == ("fc", 513_000, 1_024_000, 21)
    result = run("stats", spec("resnet18"), "--format", "json", "--count-all")
    assert json.loads(result.output)[0]["convention"]["counted"][2:] == [
        "bn",
        "relu",
        "pool",
        "add",
    ]


def test_default_table_prints_totals_and_convention() -> None:
    result = run("stats", spec("resnet34_a"))
    assert result.exit_code == 0, result.output
    assert "21,623,848" in result.output and "3,644,493,824" in result.output
    assert "conv5_x" in result.output
    assert "counted: multiply-adds of conv and fc" in result.output


def test_per_layer_table_names_spec_lines() -> None:
    result = run("stats", spec("cifar"), "-n", "resnet20", "--per-layer")
    assert result.exit_code == 0, result.output
    assert "layer3.2.conv2" in result.output and "2,359,296" in result.output


def test_csv_and_markdown() -> None:
    rows = list(
        csv.DictReader(io.StringIO(run("stats", spec("resnet18"), "--format", "csv").output))
    )
    total = rows[-1]
    assert (total["row"], total["params"], total["flops"]) == ("total", "11689512", "1814073344")
    markdown = run("stats", spec("resnet18"), "--format", "markdown").output
    assert "| **total** | 3x224x224 |  | 11,689,512 | 1,814,073,344 |" in markdown


def test_table1_side_by_side() -> None:
    names = ("resnet18", "resnet34_a", "resnet50", "resnet101", "resnet152")
    result = run("stats", "--table", *(spec(n) for n in names))
    assert result.exit_code == 0, result.output
    out = result.output
    for cell in (
        "7x7, 64, stride 2",
        "3x3 max pool, stride 2",
        "[3x3, 64; 3x3, 64] x 2",
        "[3x3, 512; 3x3, 512] x 3",
        "[1x1, 64; 3x3, 64; 1x1, 256] x 3",
        "[1x1, 256; 3x3, 256; 1x1, 1024] x 36",
        "average pool, 1000-d fc, softmax",
        "112x112",
        "7x7",
    ):
        assert cell in out, cell
    flops = next(line for line in out.splitlines() if "FLOPs" in line)
    # the paper writes 3.8 for ResNet-50 (3.86x10^9); everything else rounds the same
    for figure in ("1.8x10^9", "3.6x10^9", "3.9x10^9", "7.6x10^9", "11.3x10^9"):
        assert figure in flops


def test_paper_flops() -> None:
    assert paper_flops(1_814_073_344) == "1.8x10^9"
    assert paper_flops(40_551_040) == "40.6x10^6"


def test_diff_stage_by_stage() -> None:
    result = run("diff", spec("resnet50"), spec("resnet50_v1_5"))
    assert result.exit_code == 0, result.output
    assert "+231,211,008 (+6.0%)" in result.output  # the v1.5 placement costs 6% more
    assert "+77,070,336" in result.output  # in each of conv3_x, conv4_x, conv5_x
    result = run("diff", spec("resnet34_a"), spec("resnet34_c"))
    assert "+1,092,992" in result.output  # option C's projections on every shortcut


def test_diff_asks_which_network() -> None:
    result = run("diff", spec("cifar"), spec("cifar"))
    assert result.exit_code == 1 and "pick one with -a/-b" in result.output
    result = run("diff", spec("cifar"), spec("cifar"), "-a", "plain20", "-b", "resnet20")
    assert result.exit_code == 0 and "=" in result.output  # option A adds no parameters


def test_bad_spec_is_a_diagnostic(tmp_path: Path) -> None:
    result = run("stats", str(tmp_path / "missing.res"))
    assert result.exit_code == 1
    assert "missing.res" in result.output


@pytest.mark.parametrize("command", [["stats", "--format", "json"], ["diff"]])
def test_stats_never_imports_torch(command: list[str]) -> None:
    files = [spec("resnet50")] * (2 if command == ["diff"] else 1)
    code = (
        "import sys; from click.testing import CliRunner; from resdsl.cli import cli; "
        f"r = CliRunner().invoke(cli, {command + files!r}); "
        "assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_table1_writes_the_family_as_their_papers_do() -> None:
    resnext = run("stats", "--table", spec("resnext"))
    assert "[1x1, 128; 3x3, 128, C=32; 1x1, 256] x 3" in resnext.output  # ResNeXt's Table 1
    assert "4.2x10^9" in resnext.output  # resnext50_32x4d, torchvision's 4.23 GFLOPS
    others = run("stats", "--table", spec("resnet_d"), spec("preact_resnet"))
    assert others.exit_code == 0, others.output
    assert "3x3, 32, stride 2" in others.output  # the deep stem's first conv
    assert "[1x1, 16; 3x3, 16; 1x1, 64] x 18" in others.output  # ResNet-164's units


def test_diff_of_the_tricks() -> None:
    result = run("diff", spec("resnet50_v1_5"), spec("resnet_d"), "-b", "resnet50d")
    assert result.exit_code == 0, result.output
    assert "+19,232" in result.output  # the deep stem's parameters over the 7x7's
    assert "+239,640,576 (+5.9%)" in result.output
