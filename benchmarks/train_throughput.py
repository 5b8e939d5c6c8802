"""Training throughput of a generated module on synthetic data: images/s per configuration.

Measured, not asserted. Every combination of --compile and --channels-last asked for is timed with
the runner's own pieces (the generated module, the on-device synthetic data pipeline, SGD with
momentum, bf16 autocast when --amp), after warm-up iterations that absorb compilation:

    python benchmarks/train_throughput.py generated/resnet20.py --batch-size 128
    python benchmarks/train_throughput.py generated/resnet50.py --batch-size 256 --amp \
        --compile both --channels-last on --json runs/bench/resnet50.json

Prints a table and writes JSON (the device named in it) to --json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
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


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    return f"{model} ({torch.get_num_threads()} threads)"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    args: argparse.Namespace, device: torch.device, compiled: bool, channels_last: bool
) -> dict:
    generated = load_generated(args.module)
    config = recipe("cifar", module=args.module, data="synthetic", batch_size=args.batch_size,
                    crop_pad=4, flip=True)  # fmt: skip
    source = open_source(config, generated.input_shape, int(generated.meta["classes"]),
                         device=device, channels_last=channels_last)  # fmt: skip
    torch.manual_seed(0)
    model = generated.build(source.classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model, mode=args.compile_mode) if compiled else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    batches = source.train_batches(0)

    def step() -> None:
        x, y = next(batches)
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
    return {
        "compile": compiled,
        "channels_last": channels_last,
        "images_per_s": round(args.steps * args.batch_size / seconds, 1),
        "ms_per_step": round(1000 * seconds / args.steps, 2),
        "warmup_s": round(warm_s, 2),
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
    parser.add_argument("--compile-mode", default="default", help="torch.compile mode")
    parser.add_argument("--channels-last", choices=CHOICES, default="both", help="NHWC on/off/both")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
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
    results = [
        measure(args, device, compiled, channels_last)
        for compiled, channels_last in itertools.product(
            CHOICES[args.compile], CHOICES[args.channels_last]
        )
    ]
    report = {
        "network": generated.name,
        "module": str(args.module),
        "params": count_params(generated.build(int(generated.meta["classes"]))),
        "device": device_name(device),
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "amp": "bf16" if args.amp else None,
        "steps": args.steps,
        "data": "synthetic",
        "results": results,
    }
    print(f"{generated.name} on {report['device']}, batch {args.batch_size}, amp {report['amp']}")
    print(f"{'compile':>8} {'channels_last':>14} {'images/s':>10} {'ms/step':>9} {'warm-up s':>10}")
    for r in results:
        print(f"{r['compile']!s:>8} {r['channels_last']!s:>14} {r['images_per_s']:>10,.1f} "
              f"{r['ms_per_step']:>9.2f} {r['warmup_s']:>10.2f}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
