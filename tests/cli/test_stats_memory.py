"""``resdsl stats --memory`` through CliRunner: output, JSON schema, bad values, no torch."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from resdsl.cli import cli
from tests.conftest import ROOT


def run(runner, *args: str):
    return runner.invoke(cli, ["stats", *args])


def test_table_has_the_stages_the_peak_and_the_assumptions(runner, at_root) -> None:
    result = run(runner, "specs/resnet50.res", "--memory", "--batch", "64")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "resnet50  (specs/resnet50.res): batch 64, fp32, SGD with momentum" in out
    for title in ("stem", "conv2_x", "conv5_x", "head", "total"):
        assert f"│ {title}" in out
    assert "peak " in out and " in the " in out and "optimiser step" in out
    assert "assumes: one step as resdsl's runner takes it" in out
    assert "not counted: the CUDA context" in out


def test_fits_a_device_with_the_reserve_stated(runner, at_root) -> None:
    result = run(runner, "specs/resnet50.res", "--fits", "h100", "--precision", "bf16-autocast")
    assert result.exit_code == 0, result.output
    assert "fits h100 (80.00 GiB; 71.10 GiB usable after a 8.90 GiB reserve): batch 1783" in (
        result.stdout
    )
    assert "batch 1783, bf16-autocast" in result.stdout  # reported at the largest batch


def test_checkpoint_stages_shows_savings_and_recompute(runner, at_root) -> None:
    result = run(runner, "specs/resnet18.res", "--batch", "32", "--checkpoint", "stages")
    assert result.exit_code == 0, result.output
    assert "activation checkpointing per stage" in result.stdout
    assert "checkpointing every stage: peak" in result.stdout and "recomputing" in result.stdout


SCHEMA = {
    "name": str,
    "file": str,
    "batch": int,
    "precision": str,
    "optimizer": str,
    "kernels": str,
    "checkpointed": list,
    "bytes": dict,
    "peak": dict,
    "phases": dict,
    "stages": list,
    "assumptions": list,
    "fits": dict,
    "checkpoint": dict,
}


def test_json_schema(runner, at_root) -> None:
    result = run(
        runner, "specs/cifar.res", "-n", "resnet56", "--batch", "128", "--fits", "24GiB",
        "--checkpoint", "stages", "--optimizer", "adam", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert {key: type(value) for key, value in data.items()} == SCHEMA
    assert (data["name"], data["batch"], data["optimizer"]) == ("resnet56", 128, "adam")
    assert set(data["bytes"]) == {
        "params", "grads", "optimizer_state", "buffers", "inputs", "saved", "resident", "peak",
    }  # fmt: skip
    assert data["bytes"]["optimizer_state"] == 2 * data["bytes"]["params"]
    assert set(data["phases"]) == {"forward", "backward", "step"}
    assert data["peak"] == max(data["phases"].values(), key=lambda p: p["bytes"])
    assert data["bytes"]["peak"] == data["peak"]["bytes"]
    assert set(data["peak"]) == {"bytes", "phase", "section", "at"}
    assert [s["name"] for s in data["stages"]] == ["stem", "layer1", "layer2", "layer3", "head"]
    assert sum(s["saved"] for s in data["stages"]) == data["bytes"]["saved"]
    assert sum(s["params"] for s in data["stages"]) == data["bytes"]["params"]
    assert set(data["fits"]) == {"device", "capacity", "reserved", "usable", "batch", "peak"}
    assert data["fits"]["capacity"] == 24 * 2**30 and data["fits"]["peak"] <= data["fits"]["usable"]
    checkpoint = data["checkpoint"]
    assert [s["name"] for s in checkpoint["stages"]] == ["layer1", "layer2", "layer3"]
    assert checkpoint["peak"]["bytes"] < data["peak"]["bytes"]
    assert checkpoint["fits"]["batch"] > data["fits"]["batch"]
    assert 0 < checkpoint["recompute_macs"] < checkpoint["training_macs"]


def test_json_without_fits_or_checkpoint_has_nulls(runner, at_root) -> None:
    result = run(runner, "specs/resnet18.res", "--batch", "2", "--format", "json")
    (data,) = json.loads(result.stdout)
    assert data["fits"] is None and data["checkpoint"] is None and data["checkpointed"] == []


def test_csv_and_markdown(runner, at_root) -> None:
    result = run(runner, "specs/resnet18.res", "--batch", "8", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["row"] for r in rows] == ["stem", "layer1", "layer2", "layer3", "layer4", "head",
                                        "total"]  # fmt: skip
    assert sum(int(r["saved"]) for r in rows[:-1]) == int(rows[-1]["saved"])
    result = run(runner, "specs/resnet18.res", "--batch", "8", "--format", "markdown")
    assert result.stdout.startswith("### resnet18  (specs/resnet18.res): batch 8, fp32")
    assert "| **" not in result.stdout and "| total |" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fits", "80GB?"], "Error: --fits 80GB?: not a memory size or a known device"),
        (["--fits", "h10"], "did you mean h100?"),
        (["--fits", "a100"], "a100 comes as a100-80gb or a100-40gb"),
        (["--batch", "0"], "Error: --batch 0: a batch holds at least one image"),
        (["--memory"], "Error: --memory needs --batch N, or --fits DEVICE"),
        (["--batch", "8", "--precision", "bf16"], "did you mean bf16-autocast?"),
        (["--batch", "8", "--optimizer", "lamb"], "--optimizer lamb: not sgd, sgd-momentum"),
        (["--batch", "8", "--checkpoint", "blocks"], "--checkpoint blocks: not none or stages"),
        (["--batch", "8", "--per-layer"], "do not combine with --memory"),
        (["--precision", "bf16-autocast"], "--precision, --optimizer and --kernels go with"),
    ],
)
def test_bad_values_exit_1_with_one_line(runner, at_root, args: list[str], says: str) -> None:
    result = run(runner, "specs/resnet18.res", *args)
    assert result.exit_code == 1, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_memory_never_imports_torch() -> None:
    code = (
        "import sys\nfrom resdsl.cli import cli\n"
        "try:\n    cli(['stats', 'specs/resnet50.res', '--fits', 'h100', '--checkpoint', 'stages',"
        " '--precision', 'bf16-autocast', '--format', 'json'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["fits"]["device"] == "h100"
