"""The benchmarks that need a GPU for their real numbers, run here on the CPU: every part of them
that does not need CUDA (the JSON, MFU's arithmetic, the schedule extrapolation, the JPEG folder,
and benchmarks/gpu.sh end to end in its smoke mode)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "train_throughput", ROOT / "benchmarks/train_throughput.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_throughput_benchmark_writes_json(tmp_path: Path, fixture_module: Path) -> None:
    out = tmp_path / "bench.json"
    report = _bench().main([str(fixture_module), "--batch-size", "16", "--steps", "2", "--warmup",
                            "1", "--compile", "off", "--channels-last", "both", "--threads", "1",
                            "--device", "cpu", "--json", str(out)])  # fmt: skip
    assert json.loads(out.read_text()) == report
    assert report["network"] == "resnet8" and report["batch_size"] == 16 and report["device"]
    assert [(r["compile"], r["channels_last"]) for r in report["results"]] == [
        (False, False),
        (False, True),
    ]
    assert all(r["images_per_s"] > 0 for r in report["results"])
    assert report["peak_bf16_flops"] is None and "mfu" not in report["results"][0]  # a CPU


def test_peaks_are_named_and_mfu_is_the_definition(tmp_path: Path) -> None:
    bench = _bench()
    assert bench.H100_SXM_DENSE_BF16_FLOPS == 989.4e12
    assert bench.peak_flops("NVIDIA H100 80GB HBM3") == 989.4e12
    assert bench.peak_flops("NVIDIA H100 PCIe") == 756e12
    assert bench.peak_flops("NVIDIA H200") == 989.4e12
    assert bench.peak_flops("Intel(R) Xeon(R) Processor (2 threads)") is None
    module = ROOT / "generated" / "resnet20.py"
    report = bench.main([str(module), "--batch-size", "8", "--steps", "2", "--warmup", "1",
                         "--compile", "off", "--channels-last", "off", "--threads", "1", "--amp",
                         "--device", "cpu", "--peak", "1e12", "--schedule", "64000",
                         "--json", str(tmp_path / "r20.json")])  # fmt: skip
    result = report["results"][0]
    assert report["multiply_adds_per_image"] == 40_551_040
    # MFU = images/s x 3 (forward + backward) x 2 (FLOPs per multiply-add) x multiply-adds / peak
    assert result["mfu"] == pytest.approx(result["images_per_s"] * 6 * 40_551_040 / 1e12, abs=1e-4)
    schedule = report["schedule"]
    assert schedule["iterations"] == 64000 and "extrapolated from 2 timed" in schedule["how"]
    assert schedule["seconds"] == pytest.approx(64000 * result["ms_per_step"] / 1000, rel=1e-3)


@pytest.mark.slow
def test_imagefolder_benchmark_writes_its_own_jpegs(tmp_path: Path, fixture_module: Path) -> None:
    report = _bench().main([str(fixture_module), "--batch-size", "8", "--steps", "2", "--warmup",
                            "1", "--compile", "off", "--channels-last", "on", "--threads", "1",
                            "--device", "cpu", "--data", "imagefolder", "--images", "24",
                            "--workers", "2", "--json", str(tmp_path / "f.json")])  # fmt: skip
    assert report["data"] == "imagefolder"
    assert report["data_only"]["decoder"] == "pil" and report["data_only"]["images_per_s"] > 0
    assert report["results"][0]["images_per_s"] > 0


def test_the_gpu_script_is_valid_bash() -> None:
    script = ROOT / "benchmarks" / "gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "set -u" in text and "[ -f benchmarks/memory.py ]" in text
    for mode in ("default", "max-autotune-no-cudagraphs", "reduce-overhead"):
        assert mode in text
    # the step timeouts fit the 8 minutes the script promises
    limits = [int(n) for n in re.findall(r"(?:step|bench) \S+ (\d+) ", text)]
    limits += [70, 90, 50]  # the three compile modes' (set in a case statement)
    assert sum(limits) <= 480


@pytest.mark.slow
def test_the_gpu_script_runs_every_step_in_smoke_mode(tmp_path: Path) -> None:
    """GPU_SH_SMOKE=1: the same script, on the CPU, with a tiny network and tiny counts."""
    out = tmp_path / "gpu"
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu.sh"), str(out)],
        cwd=ROOT,
        env={**os.environ, "GPU_SH_SMOKE": "1", "PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == [
        "env", "tests_cuda", "tests_cuda_exact", "train_resnet50_default",
        "train_resnet50_max-autotune-no-cudagraphs", "train_resnet50_reduce-overhead",
        "train_resnet20", "train_imagefolder", "memory",
    ]  # fmt: skip
    assert {name: s["status"] for name, s in summary.items()} == {
        **{name: "ok" for name in summary},
        "memory": "ok" if (ROOT / "benchmarks" / "memory.py").is_file() else "skipped",
    }
    assert "extrapolated" in summary["train_resnet20"]["schedule"]["how"]
    assert summary["train_imagefolder"]["data_only"]["images_per_s"] > 0
