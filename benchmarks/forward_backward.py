"""Forward + backward time of the generated resnet50 against a hand-written ResNet-50.

The generated code must cost nothing extra. Both networks run in the same process, with the
same weights (the reference's state_dict loads into the generated module with strict=True),
on the same batch, and are timed interleaved (the order alternating every repetition) so
that drift in a shared machine hits both alike. Reports the median time of each and the
ratio generated / reference:

    python benchmarks/forward_backward.py                       # CPU, batch 2, 224x224
    python benchmarks/forward_backward.py --device cuda --batch-size 64 --reps 20

Writes JSON to --json (default benchmarks/results/forward_backward.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]


# --- the hand-written reference: torchvision's ResNet-50, stride on the first 1x1 as the
# paper (and generated/resnet50.py) has it -------------------------------------------------


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ReferenceResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes, stages = 64, []
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            projection = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
            layers = [Bottleneck(inplanes, planes, stride, projection)]
            layers += [Bottleneck(planes * 4, planes) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            inplanes = planes * 4
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def load_generated(path: Path) -> nn.Module:
    spec = importlib.util.spec_from_file_location("generated_resnet50", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, module.META["factory"])()


def step_time(net: nn.Module, x: Tensor, device: torch.device) -> float:
    """Seconds for one forward + backward (gradients cleared first, not timed)."""
    net.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    net(x).sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", type=Path, default=ROOT / "generated" / "resnet50.py")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch)")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "forward_backward.json"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    reference = ReferenceResNet50().to(device).train()
    generated = load_generated(args.module).to(device).train()
    generated.load_state_dict(reference.state_dict(), strict=True)  # same weights, same work
    x = torch.randn(args.batch_size, 3, args.size, args.size, device=device)
    nets = {"generated": generated, "reference": reference}
    times: dict[str, list[float]] = {name: [] for name in nets}
    for rep in range(args.warmup + args.reps):
        order = list(nets) if rep % 2 == 0 else list(reversed(nets))
        for name in order:
            seconds = step_time(nets[name], x, device)
            if rep >= args.warmup:
                times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["generated"] / median["reference"]
    module = str(args.module.relative_to(ROOT) if args.module.is_relative_to(ROOT) else args.module)
    result = {
        "benchmark": "forward+backward, generated resnet50 vs hand-written ResNet-50",
        "module": module,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda"
        else f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "input": [3, args.size, args.size],
        "reps": args.reps,
        "seconds": times,
        "median_seconds": median,
        "ratio_generated_over_reference": round(ratio, 4),
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    for name, seconds in median.items():
        print(f"{name:<10} {seconds * 1000:9.1f} ms  (median of {args.reps})")
    print(f"ratio generated / reference: {ratio:.3f}  -> {args.json}")


if __name__ == "__main__":
    main()
