"""The ResNet zoo, model by model, beside torchvision and timm: each library model against the
network of specs/zoo/ that carries its name, and each through ``resdsl import``.

    python benchmarks/zoo.py [--file timm_resnet] [--only resnet50 ...] [--no-import]

Needs torchvision and timm beside resdsl (a venv of its own: they have no build for the CPU
torch that CI pins; CI checks the same networks against tests/golden/zoo instead, in
tests/zoo/). For every model of the golden files' lists (tests/fixtures/zoo.py FILES):

* spec: the network of that name in specs/zoo/ (torchvision.res for torchvision's models, the
  other files for timm's) built with ``resdsl.build``; ``exact`` when its ``state_dict`` keys
  and shapes equal the library model's, in order, it loads that model's random weights with
  ``strict=True`` and computes the same outputs (float64, max |difference| <= 1e-9 of the
  largest logit; float32 and 1e-4 for a model whose three float64 copies would not fit in half
  the machine's memory), and its parameters and multiply-adds (``META``) equal the model's sum of
  parameters and ``torch.utils.flop_counter`` on it (on the meta device, at the spec's input);
* import: ``resdsl.import_model`` of the library model, that spec built, loaded and run alike;
  ``exact``, or the one line it was refused with.

Prints one line per model and a summary, and writes benchmarks/results/zoo.json (model, status,
reason, params, MACs, seconds).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures import zoo  # noqa: E402  (reads the golden lists without the libraries)

SPECS = ROOT / "specs" / "zoo"
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}  # of the largest |logit|


def precision(lib) -> str:
    """float64, unless three float64 copies of the model (the library's, its copy, ours) would
    pass half this machine's memory: then float32 (resnetv2_152x4_bit's 936M parameters)."""
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    params = sum(p.numel() for p in lib.parameters())
    return "float64" if 3 * 8 * params < memory / 2 else "float32"


def library_model(library: str, name: str):
    if library == "torchvision":
        import torchvision

        return torchvision.models.get_model(name, weights=None)
    import timm

    return timm.create_model(name, pretrained=False)


def spec_of(library: str, name: str) -> Path | None:
    """The zoo spec file that defines a network called ``name`` for ``library``."""
    import resdsl

    files = (
        [SPECS / "torchvision.res"]
        if library == "torchvision"
        else sorted(p for p in SPECS.glob("*.res") if p.name != "torchvision.res")
    )
    for path in files:
        if path.exists() and name in resdsl.check(path).program.own:
            return path
    return None


def randomise(model, seed: int = 0) -> None:
    """Weights and BN statistics far from their initial values, so that nothing is the identity."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                noise = torch.randn(value.shape, generator=g, dtype=value.dtype)
                if key.endswith("running_var"):
                    value.copy_(1.0 + 0.5 * noise.abs())
                elif value.dim() <= 1:
                    value.copy_((1.0 if key.endswith("weight") else 0.0) + 0.1 * noise)
                else:
                    fan_in = value[0].numel()
                    value.copy_(noise * (1.0 / fan_in) ** 0.5)


def compare(lib, ours, dtype: str = "float64") -> tuple[str, str]:
    """('exact', '') or ('differs', why): keys and shapes, a strict load, the outputs."""
    import torch

    kind = getattr(torch, dtype)

    theirs = [(k, tuple(v.shape)) for k, v in lib.state_dict().items()]
    mine = [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
    if theirs != mine:
        a, b = dict(theirs), dict(mine)
        only_lib = [k for k in a if k not in b][:3]
        only_ours = [k for k in b if k not in a][:3]
        shapes = [k for k in a if k in b and a[k] != b[k]][:3]
        why = f"state_dict differs: only the library's {only_lib}, only ours {only_ours}"
        return "differs", why + (f", shapes of {shapes}" if shapes else "")
    ours.load_state_dict(lib.state_dict(), strict=True)
    lib, ours = lib.to(kind).eval(), ours.to(kind).eval()
    x = torch.randn(2, 3, 96, 96, dtype=kind, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = lib(x), ours(x)
    diff = (a - b).abs().max().item()
    if diff > TOLERANCE[dtype] * a.abs().max().item():
        return "differs", f"outputs differ by {diff:.3g}"
    return "exact", ""


def counts(lib, size) -> tuple[int, int]:
    """(parameters, multiply-adds at ``size``) of the library model, torch's own count."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(lib).float().to("meta").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(torch.empty(1, *size, device="meta"))
    return sum(p.numel() for p in lib.parameters()), counter.get_total_flops() // 2


def run_spec(library: str, name: str, lib) -> dict:
    import resdsl

    path = spec_of(library, name)
    if path is None:
        return {"status": "no spec", "reason": "no network of this name in specs/zoo/"}
    start = time.perf_counter()
    net = resdsl.network(path, name)
    ours = resdsl.build(path, name)
    dtype = precision(lib)
    status, reason = compare(copy.deepcopy(lib), ours, dtype)
    params, macs = counts(lib, net.input)
    stats = resdsl.stats(path, name)
    if status == "exact" and (stats.params, stats.flops) != (params, macs):
        status = "differs"
        reason = (
            f"counts: ours {stats.params:,} params, {stats.flops:,} MACs; "
            f"torch's {params:,}, {macs:,}"
        )
    return {
        "spec": str(path.relative_to(ROOT)),
        "status": status,
        "reason": reason,
        "params": params,
        "macs": macs,
        "input": list(net.input),
        "precision": dtype,
        "seconds": round(time.perf_counter() - start, 3),
    }


def run_import(name: str, lib) -> dict:
    import resdsl

    start = time.perf_counter()
    try:
        text = resdsl.import_model(copy.deepcopy(lib), name=name)
        ours = resdsl.build(text, name)
    except resdsl.ResdslError as error:
        reason = str(error).strip().splitlines()[0]
        return {"status": "refused", "reason": reason, "seconds": time.perf_counter() - start}
    except Exception as error:  # an internal error: what the benchmark is here to find
        reason = f"{type(error).__name__}: {error}"
        return {
            "status": "internal error",
            "reason": reason,
            "seconds": time.perf_counter() - start,
        }
    dtype = precision(lib)
    status, reason = compare(copy.deepcopy(lib), ours, dtype)
    return {
        "status": status,
        "reason": reason,
        "precision": dtype,
        "seconds": round(time.perf_counter() - start, 3),
    }


def markdown(result: dict) -> str:
    """The table of docs/zoo.md, from a run's JSON: model, spec, weights, import."""

    def shown(outcome: dict | None) -> str:
        if outcome is None:
            return "not run"
        if outcome["status"] == "exact":
            return "✓" if outcome.get("precision", "float64") == "float64" else "✓ (float32)"
        return f"{outcome['status']}: {outcome['reason']}".replace("|", "\\|")

    lines = [
        "| library | model | spec | weights load, same outputs | `resdsl import` |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        spec = row["spec"].get("spec")
        link = f"[{Path(spec).name}](../{spec})" if spec else "—"
        lines.append(
            f"| {row['library']} | `{row['model']}` | {link} | {shown(row['spec'])} "
            f"| {shown(row.get('import'))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", action="append", choices=sorted(zoo.FILES), help="golden file(s)")
    parser.add_argument("--only", nargs="*", help="model names")
    parser.add_argument("--no-import", action="store_true", help="the specs alone")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "zoo.json"))
    parser.add_argument(
        "--markdown", action="store_true", help="print docs/zoo.md's table from --out, run nothing"
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.out).read_text())))
        return

    import torch

    torch.manual_seed(0)
    rows = []
    started = time.perf_counter()
    import_seconds = 0.0
    for stem in args.file or list(zoo.FILES):
        library = zoo.FILES[stem][0]
        for name in sorted(zoo.load_file(stem)["models"]):
            if args.only and name not in args.only:
                continue
            lib = library_model(library, name)
            randomise(lib)
            row = {"library": library, "file": zoo.FILES[stem][1], "model": name}
            row["spec"] = run_spec(library, name, lib)
            if not args.no_import:
                row["import"] = run_import(name, lib)
                import_seconds += row["import"]["seconds"]
            rows.append(row)
            shown = row["spec"]["status"]
            if row["spec"]["reason"]:
                shown += f" ({row['spec']['reason']})"
            if "import" in row:
                shown += f"; import: {row['import']['status']}"
                if row["import"]["reason"]:
                    shown += f" ({row['import']['reason']})"
            print(f"{library:11} {name:28} {shown}", flush=True)
    total = len(rows)
    exact = sum(r["spec"]["status"] == "exact" for r in rows)
    imported = sum(r.get("import", {}).get("status") == "exact" for r in rows)
    print(f"specs: {exact} of {total} exact", end="")
    if not args.no_import:
        print(f"; import: {imported} of {total} exact, {import_seconds:.1f} s importing", end="")
    print(f"; {time.perf_counter() - started:.0f} s in all")
    import timm
    import torchvision

    result = {
        "benchmark": "zoo",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.processor() or platform.node()}",
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "timm": timm.__version__,
        },
        "models": total,
        "spec_exact": exact,
        "import_exact": None if args.no_import else imported,
        "import_seconds": None if args.no_import else round(import_seconds, 1),
        "rows": rows,
    }
    if not args.only and not args.file:  # partial runs print; the whole zoo is recorded
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
