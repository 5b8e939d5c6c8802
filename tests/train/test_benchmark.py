from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_throughput_benchmark_writes_json(tmp_path: Path, fixture_module: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "train_throughput", ROOT / "benchmarks/train_throughput.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    report = bench.main([str(fixture_module), "--batch-size", "16", "--steps", "2", "--warmup", "1",
                         "--compile", "off", "--channels-last", "both", "--threads", "1",
                         "--json", str(out)])  # fmt: skip
    assert json.loads(out.read_text()) == report
    assert report["network"] == "resnet8" and report["batch_size"] == 16 and report["device"]
    assert [(r["compile"], r["channels_last"]) for r in report["results"]] == [
        (False, False),
        (False, True),
    ]
    assert all(r["images_per_s"] > 0 for r in report["results"])
