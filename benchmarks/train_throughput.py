"""Training throughput of a generated module: images/s and model-FLOPs utilisation (MFU).

Measured, not asserted. Every combination of --compile, --compile-mode and --channels-last asked
for is timed with the runner's own pieces (the generated module, its data source, SGD with momentum,
bf16 autocast when --amp), after warm-up iterations that absorb compilation:

    python benchmarks/train_throughput.py generated/resnet20.py --batch-size 128
    python benchmarks/train_throughput.py generated/resnet50.py --batch-size 256 --amp \
        --compile on --compile-mode default,max-autotune-no-cudagraphs,reduce-overhead \
        --channels-last on --json OUT/train_resnet50.json
    python benchmarks/train_throughput.py generated/resnet20.py --steps 1000 --schedule 64000
    python benchmarks/train_throughput.py generated/resnet50.py --data imagefolder --amp

MFU = images/s x 3 (forward + backward) x 2 (FLOPs per multiply-add) x multiply-adds per image
(META["flops"], the compiler's exact count) / the device's dense bf16 peak (PEAK_BF16_FLOPS).
--schedule N extrapolates the measured time per iteration to N iterations (stated as such in the
JSON). --data imagefolder writes a small JPEG folder (PIL) and reports images/s of the data
pipeline alone and end to end. Prints a table and writes JSON (the device named in it) to --json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from resdsl.train.batches import open_source  # noqa: E402
from resdsl.train.config import recipe  # noqa: E402
from resdsl.train.module import count_params, load_generated  # noqa: E402

CHOICES = {"on": [True], "off": [False], "both": [False, True]}
# Dense (no 2:4 sparsity) bf16 tensor-core peaks, FLOP/s. NVIDIA's H100 datasheet lists "1,979
# teraFLOPS" of BF16 for the SXM part *with sparsity*; dense is half: 989.4 TFLOP/s (PCIe: 756).
# The H200 has the H100 SXM's compute (its datasheet gives the same 1,979 with sparsity).
H100_SXM_DENSE_BF16_FLOPS = 989.4e12
H100_PCIE_DENSE_BF16_FLOPS = 756.0e12
PEAK_BF16_FLOPS = {  # matched against torch.cuda.get_device_name, first match wins
    "H100 PCIe": H100_PCIE_DENSE_BF16_FLOPS,
    "H100": H100_SXM_DENSE_BF16_FLOPS,
    "H200": H100_SXM_DENSE_BF16_FLOPS,
}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    return f"{model} ({torch.get_num_threads()} threads)"


def peak_flops(name: str) -> float | None:
    """The dense bf16 peak of a GPU by name; None for CPUs and GPUs not in the table."""
    return next((peak for key, peak in PEAK_BF16_FLOPS.items() if key in name), None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_jpeg_folder(root: Path, images: int, classes: int = 4) -> Path:
    """``root/{train,val}/classK/*.jpg``: ImageNet-like sizes (shorter side 300-500), noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", images), ("val", max(classes, images // 8))):
        for i in range(count):
            folder = root / split / f"class{i % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            h, w = int(rng.integers(300, 500)), int(rng.integers(300, 500))
            small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)  # smooth-ish, not
            pixels = np.kron(small, np.ones((8, 8, 1), dtype=np.uint8))  # pure noise, like photos
            Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=90)
    return root


def _config(args: argparse.Namespace, data: str):
    if data.startswith("imagefolder"):
        return recipe("imagenet", module=args.module, data=data, batch_size=args.batch_size,
                      workers=args.workers, steps=10**9)  # fmt: skip
    return recipe("cifar", module=args.module, data="synthetic", batch_size=args.batch_size,
                  crop_pad=4, flip=True)  # fmt: skip


def measure(args: argparse.Namespace, device: torch.device, compiled: bool, mode: str,
            channels_last: bool, data: str = "synthetic") -> dict:  # fmt: skip
    generated = load_generated(args.module)
    source = open_source(_config(args, data), generated.input_shape, generated.meta["classes"],
                         device=device, channels_last=channels_last)  # fmt: skip
    torch.manual_seed(0)
    model = generated.build(source.classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model, mode=mode) if compiled else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    batches = source.train_batches(0)
    graphs = compiled and mode == "reduce-overhead" and device.type == "cuda"

    def step() -> None:
        x, y = next(batches)
        if graphs:  # CUDA graphs: tell the graph trees where an iteration begins
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = F.cross_entropy(step_model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    started = time.perf_counter()
    for _ in range(args.warmup):
        step()
    sync(device)
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(device)
    seconds = time.perf_counter() - started
    rate = args.steps * args.batch_size / seconds
    result = {
        "compile": compiled,
        "compile_mode": mode if compiled else None,
        "channels_last": channels_last,
        "images_per_s": round(rate, 1),
        "ms_per_step": round(1000 * seconds / args.steps, 2),
        "warmup_s": round(warm_s, 2),
    }
    peak = args.peak or peak_flops(device_name(device))
    if peak and args.amp and generated.multiply_adds:
        result["mfu"] = round(rate * 6 * generated.multiply_adds / peak, 4)
    return result


def data_only(args: argparse.Namespace, device: torch.device, data: str) -> dict:
    """images/s of the data pipeline alone: decode, augment, normalise, on the device."""
    generated = load_generated(args.module)
    source = open_source(_config(args, data), generated.input_shape, generated.meta["classes"],
                         device=device, channels_last=True)  # fmt: skip
    batches = source.train_batches(0)
    for _ in range(args.warmup):
        next(batches)
    sync(device)
    started = time.perf_counter()
    for _ in range(args.steps):
        next(batches)
    sync(device)
    seconds = time.perf_counter() - started
    return {
        "decoder": getattr(source, "decoder", None),
        "workers": args.workers,
        "images_per_s": round(args.steps * args.batch_size / seconds, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", default=str(ROOT / "tests/fixtures/resnet20.py"),
                        help="generated module (default: the ResNet-20 fixture)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=128, help="images per iteration")
    parser.add_argument("--steps", type=int, default=20, help="timed iterations")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations first")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where")
    parser.add_argument(
        "--compile", choices=CHOICES, default="both", help="torch.compile on/off/both"
    )
    parser.add_argument("--compile-mode", default="default",
                        help="torch.compile mode(s), comma-separated: default, "
                             "max-autotune-no-cudagraphs, reduce-overhead, ...")  # fmt: skip
    parser.add_argument("--channels-last", choices=CHOICES, default="both", help="NHWC on/off/both")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--data", choices=["synthetic", "imagefolder"], default="synthetic",
                        help="synthetic (in memory) or a JPEG folder written for it")  # fmt: skip
    parser.add_argument("--folder", type=Path, help="imagefolder: use this folder instead")
    parser.add_argument("--images", type=int, default=512, help="imagefolder: images to write")
    parser.add_argument("--workers", type=int, default=8, help="imagefolder: loader processes")
    parser.add_argument("--schedule", type=int, default=0, metavar="ITERATIONS",
                        help="also extrapolate the time per iteration to this many")  # fmt: skip
    parser.add_argument("--peak", type=float, default=0.0,
                        help="dense bf16 peak FLOP/s for MFU (default: by GPU name)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("runs/bench/train_throughput.json"),
                        help="where to write the results")  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cudnn.benchmark = True
    generated = load_generated(args.module)
    modes = [m.strip() for m in args.compile_mode.split(",") if m.strip()]
    combos = [
        (compiled, mode, channels_last)
        for compiled, channels_last in itertools.product(
            CHOICES[args.compile], CHOICES[args.channels_last]
        )
        for mode in (modes if compiled else ["-"])
    ]
    report: dict = {
        "network": generated.name,
        "module": str(args.module),
        "params": count_params(generated.build(generated.meta["classes"])),
        "multiply_adds_per_image": generated.multiply_adds,
        "device": device_name(device),
        "peak_bf16_flops": args.peak or peak_flops(device_name(device)),
        "torch": torch.__version__,
        # other jobs on a shared machine slow every figure here; say how busy it was
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "batch_size": args.batch_size,
        "amp": "bf16" if args.amp else None,
        "steps": args.steps,
        "data": args.data,
    }
    with tempfile.TemporaryDirectory() as scratch:
        data = "synthetic"
        if args.data == "imagefolder":
            folder = args.folder or write_jpeg_folder(Path(scratch) / "jpegs", args.images)
            data = f"imagefolder:{folder}"
            report["data_only"] = data_only(args, device, data)
        report["results"] = [measure(args, device, *combo, data=data) for combo in combos]
    if args.schedule:
        best = max(report["results"], key=lambda r: r["images_per_s"])
        report["schedule"] = {
            "iterations": args.schedule,
            "seconds": round(args.schedule * best["ms_per_step"] / 1000, 1),
            "how": f"extrapolated from {args.steps} timed iterations of the fastest configuration "
            "(evaluations, checkpoints and start-up not included)",
        }
    _print(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return report


def _print(report: dict) -> None:
    print(f"{report['network']} on {report['device']}, batch {report['batch_size']}, "
          f"amp {report['amp']}, data {report['data']}")  # fmt: skip
    print(f"{'compile':>8} {'mode':>27} {'channels_last':>14} {'images/s':>10} {'ms/step':>9} "
          f"{'warm-up s':>10} {'MFU':>6}")  # fmt: skip
    for r in report["results"]:
        mfu = f"{100 * r['mfu']:.1f}%" if "mfu" in r else "-"
        print(f"{r['compile']!s:>8} {r['compile_mode'] or '-':>27} {r['channels_last']!s:>14} "
              f"{r['images_per_s']:>10,.1f} {r['ms_per_step']:>9.2f} {r['warmup_s']:>10.2f} "
              f"{mfu:>6}")  # fmt: skip
    if "data_only" in report:
        print(f"data pipeline alone ({report['data_only']['decoder']} decoder): "
              f"{report['data_only']['images_per_s']:,.1f} images/s")  # fmt: skip
    if "schedule" in report:
        s = report["schedule"]
        print(f"{s['iterations']} iterations: about {s['seconds'] / 60:.1f} min ({s['how']})")


if __name__ == "__main__":
    main()
