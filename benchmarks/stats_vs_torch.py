"""``resdsl stats`` against counting with torch, side by side in one run.

    .venv/bin/python benchmarks/stats_vs_torch.py            # every spec
    .venv/bin/python benchmarks/stats_vs_torch.py --repeat 5 --out benchmarks/results/x.json

Two ways to get the same figures for every network of every spec:

* resdsl: parse, resolve, lower, shape and check the spec, then the stats pass (what
  ``resdsl stats`` does), no torch; timed as a whole and the stats pass alone.
* torch: load ``generated/NAME.py`` by path, build the model from its factory, sum its
  parameters and run one forward pass (batch 1) under ``torch.utils.flop_counter.FlopCounterMode``,
  whose FLOPs / 2 are multiply-adds of conv and linear layers.

Both are checked for equality (measured, not asserted: the tests own the assertions), and the
elements autograd keeps for backward are measured with ``saved_tensors_hooks`` against the
pass's ``saved`` estimate (parameters excluded, each tensor counted once). Writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resdsl.ir.costs import network_stats  # noqa: E402
from resdsl.pipeline import check_or_raise  # noqa: E402


def resdsl_side(specs: list[Path], repeat: int) -> tuple[dict[str, Any], float, float]:
    """Figures per network, and the best wall time over ``repeat`` runs (whole, pass only)."""
    best_total = best_pass = float("inf")
    figures: dict[str, Any] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        nets = [(spec, net) for spec in specs for net in check_or_raise(spec)]
        middle = time.perf_counter()
        reports = [(spec, network_stats(net)) for spec, net in nets]
        end = time.perf_counter()
        best_total, best_pass = min(best_total, end - start), min(best_pass, end - middle)
    for spec, r in reports:
        figures[r.name] = {
            "spec": spec.name,
            "params": r.params,
            "flops": r.flops,
            "saved": r.saved,
        }
    return figures, best_total, best_pass


def load_generated(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def torch_count(path: Path) -> tuple[dict[str, Any], float]:
    """Build the generated model and count it with torch; the time covers build + count."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    start = time.perf_counter()
    module = load_generated(path)
    meta = module.META
    model = getattr(module, meta["factory"])(num_classes=meta["classes"]).eval()
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(1, *meta["input"])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_total_flops()
    elapsed = time.perf_counter() - start
    return {"params": params, "flops": flops // 2, "saved": saved_elements(model, x)}, elapsed


def saved_elements(model, x) -> int:
    """Elements of the activations autograd keeps in one training-mode forward (batch 1)."""
    import torch

    weights = {p.data_ptr() for p in model.parameters()}
    kept: dict[tuple, int] = {}

    def pack(tensor):
        # weights are not activations; bn's per-channel mean and inverse std (1-d) are left out
        if tensor.dim() in (2, 4) and tensor.data_ptr() not in weights:
            key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tensor.shape)
            kept[key] = tensor.numel()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x.requires_grad_(False))
    return sum(kept.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the resdsl side; best kept")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/stats_vs_torch.json"))
    args = parser.parse_args()

    specs = sorted((ROOT / "specs").glob("*.res"))
    ours, total_s, pass_s = resdsl_side(specs, args.repeat)
    rows, torch_s = [], 0.0
    for name, mine in ours.items():
        path = ROOT / "generated" / f"{name}.py"
        if not path.exists():
            print(f"{name}: no {path.relative_to(ROOT)}; skipped")
            continue
        theirs, seconds = torch_count(path)
        torch_s += seconds
        row = {"network": name, "resdsl": mine, "torch": theirs, "torch_s": round(seconds, 4)}
        row["params_equal"] = mine["params"] == theirs["params"]
        row["flops_equal"] = mine["flops"] == theirs["flops"]
        row["saved_equal"] = mine["saved"] == theirs["saved"]
        rows.append(row)
        marks = " ".join(k.split("_")[0] for k in row if k.endswith("_equal") and not row[k])
        print(
            f"{name:<14} params {mine['params']:>11,}  mult-adds {mine['flops']:>15,}  "
            f"torch {seconds:6.3f}s  {'all equal' if not marks else 'DIFFERS: ' + marks}"
        )
    import torch

    result = {
        "networks": len(ours),
        "compared": len(rows),
        "resdsl_s": round(total_s, 4),
        "resdsl_stats_pass_s": round(pass_s, 4),
        "torch_s": round(torch_s, 4),
        "ratio": round(torch_s / total_s, 1),
        "all_params_equal": all(r["params_equal"] for r in rows),
        "all_flops_equal": all(r["flops_equal"] for r in rows),
        "all_saved_equal": all(r["saved_equal"] for r in rows),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        },
        "rows": rows,
    }
    print(
        f"\nresdsl: {len(ours)} networks in {total_s:.3f}s (stats pass alone {pass_s:.4f}s); "
        f"torch: {len(rows)} in {torch_s:.2f}s; ratio {result['ratio']}x"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
