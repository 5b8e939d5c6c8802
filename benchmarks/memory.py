"""``resdsl stats --memory`` against torch's own accounting of a real training step.

    .venv/bin/python benchmarks/memory.py                       # every bundled network (CPU)
    .venv/bin/python benchmarks/memory.py --networks resnet20 resnet50 --out /tmp/m.json
    python3 benchmarks/memory.py --gpu OUTDIR                   # on a CUDA machine, < 2 min
    python3 benchmarks/memory.py --gpu --json OUTDIR/memory.json
    .venv/bin/python benchmarks/memory.py --speed               # the replay's time, no torch

CPU: for each network, batch size and precision, the generated model takes one training step
as ``resdsl/train/runner.py`` takes it (autocast forward and loss, ``zero_grad(set_to_none=
True)``, backward, ``SGD(momentum=0.9, weight_decay=1e-4, foreach=True)``; foreach as on CUDA),
in steady state (gradients and momentum already there, as after a first step), under
``torch.profiler`` with ``profile_memory=True``. The profiler records every allocation and
free of torch's CPU allocator from before the model exists, so nothing is missed, and it
changes nothing: a ``TorchDispatchMode`` (and so ``MemTracker`` and ``FakeTensorMode``) would,
since a tensor that has been through Python is no longer the only reference autograd holds,
and autograd then adds converging gradients out of place instead of in place (measured: 9
in-place additions in ResNet-20's backward become 9 new tensors). An allocation freed before
the aten call that made it returns is a kernel's workspace, not a tensor: it is reported apart
(``raw``), as cuDNN's workspaces would be on a GPU. The peak of the live tensors during the
measured step is compared with the prediction.

Batch sizes: 2 and 8 for the ImageNet networks, 32 and 128 for CIFAR's (8 and 32 for
ResNet-1202), so that every step fits this 2-core, 24 GiB machine in minutes.

GPU (``--gpu``): ResNet-50 at batch 64 and 256, bf16 autocast, channels_last and
cudnn.benchmark as the runner uses on CUDA; ``torch.cuda.max_memory_allocated`` over one
steady-state step against the prediction. What it measures beyond the prediction is what the
``--fits`` reserve is for (cuDNN workspaces, allocator rounding). JSON into OUTDIR.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resdsl.memory import training_memory  # noqa: E402
from resdsl.pipeline import check_or_raise  # noqa: E402

PRECISIONS = ("fp32", "bf16-autocast")
IMAGENET_BATCHES, CIFAR_BATCHES, DEEP_CIFAR_BATCHES = (2, 8), (32, 128), (8, 32)
GPU_BATCHES = (64, 256)


def networks() -> dict[str, tuple[Path, Any]]:
    """Every network of every bundled spec: name -> (spec, IR)."""
    found = {}
    for spec in sorted((ROOT / "specs").glob("*.res")):
        for net in check_or_raise(spec):
            found[net.name] = (spec, net)
    return found


def batches(net) -> tuple[int, ...]:
    if net.input[1] > 64:
        return IMAGENET_BATCHES
    return DEEP_CIFAR_BATCHES if len(net.nodes) > 1000 else CIFAR_BATCHES


def build(
    module: Path, device: str = "cpu", optimizer: str = "sgd-momentum", channels_last: bool = False
):
    """The generated model, its optimiser as the runner makes it, in steady state."""
    import torch

    from resdsl.train.module import load_generated

    generated = load_generated(module)
    model = generated.build(int(generated.meta["classes"])).to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = list(model.parameters())
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=1e-3, foreach=True)
    else:
        momentum = 0.9 if optimizer == "sgd-momentum" else 0.0
        opt = torch.optim.SGD(params, lr=0.1, momentum=momentum, weight_decay=1e-4, foreach=True)
    for p in params:  # as after a first step: gradients and the optimiser's state exist
        p.grad = torch.zeros_like(p)
        if optimizer == "sgd-momentum":
            opt.state[p]["momentum_buffer"] = torch.zeros_like(p)
        elif optimizer == "adam":
            opt.state[p].update(
                step=torch.tensor(0.0),
                exp_avg=torch.zeros_like(p),
                exp_avg_sq=torch.zeros_like(p),
            )
    return generated, model, opt


def train_step(model, opt, x, y, low: bool, device: str = "cpu") -> None:
    """``resdsl/train/runner.py``'s ``_iteration``, without the bookkeeping."""
    import torch
    import torch.nn.functional as F
    from torch.profiler import record_function

    with record_function("phase:forward"), torch.autocast(device, torch.bfloat16, enabled=low):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    opt.zero_grad(set_to_none=True)
    with record_function("phase:backward"):
        loss.backward()
    with record_function("phase:step"):
        opt.step()
    del logits, loss


def checkpointed(model) -> None:
    """Wrap every stage (``layerN``) in non-reentrant ``torch.utils.checkpoint``."""
    import torch
    from torch.utils.checkpoint import checkpoint

    class Checkpointed(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return checkpoint(self.inner, x, use_reentrant=False)

    for name, child in list(model.named_children()):
        if name.startswith("layer"):
            setattr(model, name, Checkpointed(child))


def measure_cpu(module: Path, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each config's measured step, all under one profiler session (it takes seconds to start)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for i, config in enumerate(configs):
            generated, model, opt = build(module, optimizer=config["optimizer"])
            if config["checkpoint"]:
                checkpointed(model)
            x = torch.randn(config["batch"], *generated.input_shape)
            y = torch.randint(0, int(generated.meta["classes"]), (config["batch"],))
            with record_function(f"config:{i}"):
                train_step(model, opt, x, y, config["precision"] != "fp32")
            del generated, model, opt, x, y
    return live_tensor_peaks(prof, len(configs))


def live_tensor_peaks(prof, count: int) -> list[dict[str, Any]]:
    """Per ``config:i`` window: the most live tensor bytes in all, per phase, and with kernel
    workspaces counted too (raw), from the profiler's allocation events."""
    from torch._C._profiler import _EventType

    allocations: list[tuple[int, int, int, int | None]] = []  # time, bytes (< 0: free), ptr, end
    windows: dict[str, list[tuple[int, int]]] = {}

    def walk(event, op_end: int | None) -> None:
        if event.tag == _EventType.Allocation:
            fields = event.extra_fields
            allocations.append((event.start_time_ns, fields.alloc_size, fields.ptr, op_end))
            return
        if event.name.startswith(("config:", "phase:")):
            windows.setdefault(event.name, []).append((event.start_time_ns, event.end_time_ns))
        if op_end is None and event.tag == _EventType.TorchOp and event.name.startswith("aten::"):
            op_end = event.end_time_ns  # the outermost aten call: its own frees are workspace
        for child in event.children:
            walk(child, op_end)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root, None)
    allocations.sort(key=lambda a: a[0])
    workspace, open_at = set(), {}
    for index, (when, size, ptr, _) in enumerate(allocations):
        if size > 0:
            open_at[ptr] = index
        elif ptr in open_at:
            made = open_at.pop(ptr)
            if allocations[made][3] is not None and when <= allocations[made][3]:
                workspace.add(made)
    configs = [windows[f"config:{i}"][0] for i in range(count)]
    phases = [  # (start, end, config, phase)
        (start, end, i, name.split(":")[1])
        for name, found in windows.items()
        if name.startswith("phase:")
        for start, end in found
        for i, (first, last) in enumerate(configs)
        if first <= start <= last
    ]
    results: list[dict[str, Any]] = [{"peak": 0, "raw": 0, "phases": {}} for _ in configs]
    tensors = raw = 0
    live: dict[int, int] = {}
    for index, (when, size, ptr, _) in enumerate(allocations):
        if size < 0:
            made = live.pop(ptr, None)
            if made is not None:
                raw -= allocations[made][1]
                tensors -= 0 if made in workspace else allocations[made][1]
            continue
        live[ptr] = index
        raw += size
        tensors += 0 if index in workspace else size
        for i, (first, last) in enumerate(configs):
            if first <= when <= last:
                results[i]["peak"] = max(results[i]["peak"], tensors)
                results[i]["raw"] = max(results[i]["raw"], raw)
        for first, last, i, phase in phases:
            if first <= when <= last:
                results[i]["phases"][phase] = max(results[i]["phases"].get(phase, 0), tensors)
    for i, result in enumerate(results):  # live tensor bytes as each step began
        start = configs[i][0]
        result["resident"] = sum(
            allocations[j][1] for j in _live_at(allocations, start) if j not in workspace
        )
    return results


def _live_at(allocations, moment: int) -> list[int]:
    live: dict[int, int] = {}
    for index, (when, size, ptr, _) in enumerate(allocations):
        if when >= moment:
            break
        if size > 0:
            live[ptr] = index
        else:
            live.pop(ptr, None)
    return list(live.values())


def predict(net, config: dict[str, Any]) -> dict[str, Any]:
    names = tuple(info.path for info in net.stages) if config["checkpoint"] else ()
    # Measured on the CPU here (its dropout keeps a mask in the input's dtype), on CUDA by --gpu.
    report = training_memory(
        net,
        config["batch"],
        config["precision"],
        config["optimizer"],
        checkpointed=names,
        kernels=config.get("kernels", "cpu"),
    )
    return {
        "peak": report.peak.bytes,
        "phase": report.peak.phase,
        "at": report.peak.at,
        "resident": report.resident,
        "phases": {p.phase: p.bytes for p in report.phases},
    }


def cpu_rows(names: list[str], extras: bool) -> list[dict[str, Any]]:
    found = networks()
    unknown = [name for name in names if name not in found]
    if unknown:
        raise SystemExit(f"unknown network(s): {', '.join(unknown)}; known: {', '.join(found)}")
    rows = []
    for name in names or list(found):
        spec, net = found[name]
        configs = [
            {"batch": b, "precision": p, "optimizer": "sgd-momentum", "checkpoint": False}
            for b in batches(net)
            for p in PRECISIONS
        ]
        if extras and name in ("resnet20", "resnet50"):  # other optimisers, checkpointing
            small = batches(net)[0]
            configs += [
                {"batch": small, "precision": "fp32", "optimizer": o, "checkpoint": False}
                for o in ("sgd", "adam")
            ]
            configs += [
                {"batch": batches(net)[1], "precision": p, "optimizer": "sgd-momentum",
                 "checkpoint": True}
                for p in PRECISIONS
            ]  # fmt: skip
        started = time.perf_counter()
        measured = measure_cpu(ROOT / "generated" / f"{name}.py", configs)
        seconds = time.perf_counter() - started
        for config, got in zip(configs, measured, strict=True):
            row = {"network": name, "spec": spec.name, **config, "predicted": predict(net, config)}
            row["measured"] = got
            row["error"] = (row["predicted"]["peak"] - got["peak"]) / got["peak"]
            rows.append(row)
            print(_line(row), flush=True)
        print(f"  ({name}: {len(configs)} steps measured in {seconds:.1f}s)", flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    extra = " ckpt" if row["checkpoint"] else ""
    extra += f" {row['optimizer']}" if row["optimizer"] != "sgd-momentum" else ""
    p, m = row["predicted"], row["measured"]
    return (
        f"{row['network']:<14} {row['batch']:>4} {row['precision']:<14}{extra:<10} "
        f"predicted {p['peak'] / 2**20:10.2f} MiB  measured {m['peak'] / 2**20:10.2f} MiB  "
        f"error {100 * row['error']:+7.3f}%  ({p['phase']} at {p['at']}; with workspaces "
        f"{m['raw'] / 2**20:.2f} MiB)"
    )


def gpu() -> dict[str, Any]:
    """ResNet-50, bf16 autocast, on the CUDA device: max_memory_allocated against the prediction."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("--gpu needs a CUDA device; torch sees none")
    torch.backends.cudnn.benchmark = True  # as the runner does on CUDA
    _, net = networks()["resnet50"]
    rows = []
    for batch in GPU_BATCHES:
        torch.cuda.empty_cache()
        row: dict[str, Any] = {"network": "resnet50", "batch": batch, "precision": "bf16-autocast"}
        config = {"batch": batch, "precision": "bf16-autocast", "optimizer": "sgd-momentum",
                  "checkpoint": False, "kernels": "cuda"}  # fmt: skip
        row["predicted"] = predict(net, config)
        try:
            generated, model, opt = build(
                ROOT / "generated/resnet50.py", "cuda", channels_last=True
            )
            x = torch.randn(batch, *generated.input_shape, device="cuda")
            x = x.contiguous(memory_format=torch.channels_last)
            y = torch.randint(0, 1000, (batch,), device="cuda")
            train_step(model, opt, x, y, True, "cuda")  # cudnn.benchmark picks its algorithms
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            row["resident_measured"] = torch.cuda.memory_allocated()
            started = time.perf_counter()
            train_step(model, opt, x, y, True, "cuda")
            torch.cuda.synchronize()
            row["step_s"] = time.perf_counter() - started
            row["max_memory_allocated"] = torch.cuda.max_memory_allocated()
            row["max_memory_reserved"] = torch.cuda.max_memory_reserved()
            measured = row["max_memory_allocated"]
            row["error"] = (row["predicted"]["peak"] - measured) / measured
            # what the prediction leaves out: cuDNN workspaces, the allocator's rounding
            row["beyond_prediction"] = measured - row["predicted"]["peak"]
            del generated, model, opt, x, y
        except torch.cuda.OutOfMemoryError as error:
            row["error"] = None
            row["failed"] = f"out of memory: {error}".splitlines()[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
    free, total = torch.cuda.mem_get_info()
    return {
        "device": torch.cuda.get_device_name(),
        "total_memory": total,
        "free_memory_after": free,
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
        "rows": rows,
    }


def speed(repeat: int = 5) -> dict[str, Any]:
    """Best-of-``repeat`` seconds of the stats pass and of the memory report (the replay and its
    sums, at batch 256, bf16) for every network; torch is not imported."""
    from resdsl.ir.costs import network_stats

    rows = []
    for name, (_, net) in networks().items():
        best = [float("inf"), float("inf")]
        for _ in range(repeat):
            started = time.perf_counter()
            network_stats(net)
            middle = time.perf_counter()
            training_memory(net, 256, "bf16-autocast")
            ended = time.perf_counter()
            best = [min(best[0], middle - started), min(best[1], ended - middle)]
        rows.append({"network": name, "nodes": len(net.nodes), "stats_s": best[0],
                     "memory_s": best[1]})  # fmt: skip
        print(f"{name:<14} {len(net.nodes):>5} nodes  stats {1000 * best[0]:7.2f} ms  "
              f"memory {1000 * best[1]:7.2f} ms")  # fmt: skip
    total = [sum(r[k] for r in rows) for k in ("stats_s", "memory_s")]
    print(
        f"all {len(rows)} networks: stats {1000 * total[0]:.1f} ms, memory {1000 * total[1]:.1f} ms"
    )
    return {"rows": rows, "stats_s": total[0], "memory_s": total[1]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="*", default=[], help="names (default: all)")
    parser.add_argument("--no-extras", action="store_true", help="skip optimiser/checkpoint rows")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/memory.json"))
    parser.add_argument(
        "--gpu", nargs="?", const="", metavar="OUTDIR", help="the CUDA check; JSON into OUTDIR"
    )
    parser.add_argument("--json", metavar="FILE", help="with --gpu: the JSON file to write")
    parser.add_argument("--speed", action="store_true", help="time the replay against stats")
    args = parser.parse_args(argv)
    if args.speed:
        return speed()
    if args.gpu is None and args.json:
        parser.error("--json goes with --gpu; the CPU run writes --out")
    if args.gpu is not None:
        if not args.gpu and not args.json:
            parser.error("--gpu needs OUTDIR (or --json FILE)")
        target = Path(args.json) if args.json else Path(args.gpu) / "memory_gpu.json"
        result = gpu()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {target}")
        return result
    import torch

    started = time.perf_counter()
    rows = cpu_rows(args.networks, not args.no_extras)
    errors = [abs(row["error"]) for row in rows]
    result = {
        "command": "benchmarks/memory.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "configs": len(rows),
        "max_abs_error": max(errors),
        "all_within_5_percent": all(e <= 0.05 for e in errors),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        },
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{len(rows)} steps; largest error {100 * max(errors):.3f}%; wrote {out}")
    return result


if __name__ == "__main__":
    main()
