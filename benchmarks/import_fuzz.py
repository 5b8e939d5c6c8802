"""A fuzz of ``resdsl import`` on hand-written ResNet-like modules: an exact spec or a located
refusal, never an internal error, never a spec that computes something else.

    .venv/bin/python benchmarks/import_fuzz.py --modules 300 --seed 0

Each module is drawn at random (:func:`draw`) and built in this process as a user would write
it: a stem (CIFAR's 3x3, ImageNet's 7x7 and max pool, a deep stem, a conv-BN-ReLU helper
class), one to four stages of one to three blocks (basic, bottleneck, pre-activation ones;
random widths, strides, groups, the stride on the 1x1 or the 3x3), a shortcut (identity and
projection, option A's zero padding, ResNet-D's pooled projection, a projection in every
block, none), a channel gate or not (SE as a module of 1x1 convolutions or of linear layers,
or in the block's forward; ECA), a head written one of six ways, a wrapper or a stage class
around it all, ``F.relu`` or ``nn.ReLU(inplace=True)``, ``out += x`` or ``torch.add``; and, in
about a third, one thing the language cannot write mixed in (GELU, group norm, a dilated or
biased convolution, a ceil-mode pool, SE gated by a hard sigmoid, a shared conv, an in-place
ReLU another layer still reads, option A's zeros on both sides, dropout before the fc, a
residual scaled by a constant or a learnt scalar, channels split and concatenated ...).

Then ``resdsl.imports.import_model`` reads it, and the outcome is counted:

- exact: a spec came back, torch's parameter count is the spec's (``resdsl.stats``), and the
  spec's module, given the model's weights (each layer placed by the node it verified
  against: :func:`resdsl.imports.verify.correspondence`), computes the model's float64
  outputs (BN statistics randomised);
- refused: one line, ``cannot express PATH (Type): reason``, counted by reason;
- internal error: any other exception (exit 2 on the command line: a bug);
- wrong: a spec whose counts or outputs differ from the model's (a bug);
- unlocated: a refusal of more than one line or without a module path.

Writes benchmarks/results/import_fuzz.json (the figures, the machine, its load, the date, and
the first problems' draws to rebuild them).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import random
import re
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import resdsl  # noqa: E402
from resdsl.diagnostics import ResdslError  # noqa: E402

UNSUPPORTED = (
    "gelu", "group_norm", "dilation", "conv_bias", "bn_eps", "ceil_pool", "hard_gate",
    "shared_conv", "in_place", "symmetric_pad", "head_dropout", "no_global_pool", "extra_relu",
    "gate_in_some", "block_maxpool", "concat", "residual_scale", "rezero", "chunk",
)  # fmt: skip
HEADS = ("adaptive", "mean", "avg_pool2d", "reshape", "flatten_kw", "nn_flatten")


@dataclass(frozen=True)
class Draw:
    """One random module: everything needed to build it again."""

    seed: int
    kind: str  # basic, bottleneck, preact, preact_bottleneck
    stem: str  # cifar, imagenet, deep, helper
    stages: tuple[tuple[int, int, int], ...]  # (blocks, planes, stride)
    shortcut: str  # B, A, C, D, none
    gate: str  # none, se, se_linear, se_inline, eca
    head: str
    wrap: str  # none, wrapper, stage_class
    functional: bool  # F.relu, or nn.ReLU(inplace=True) modules
    stride_on: str  # 1x1, 3x3 (bottlenecks)
    groups: int
    unsupported: str  # "" or one of UNSUPPORTED


def draw(seed: int) -> Draw:
    rng = random.Random(seed)
    kind = rng.choice(["basic", "bottleneck", "preact", "preact_bottleneck"])
    width = rng.choice([8, 16])
    stages = []
    for i in range(rng.randint(1, 4)):
        stride = 1 if i == 0 else rng.choice([1, 2, 2])
        stages.append((rng.randint(1, 3), width * 2**i if rng.random() < 0.8 else width, stride))
    shortcut = rng.choice(["B", "B", "A", "C", "D", "none"])
    expansion = 4 if kind.endswith("bottleneck") else 1
    widths = [stages[0][1]] + [planes * expansion for _, planes, _ in stages]  # the stem's first
    if shortcut == "A" and any(b < a for a, b in itertools.pairwise(widths)):
        shortcut = "B"  # option A pads channels: it cannot take them down
    gate = rng.choice(["none", "none", "se", "se_linear", "se_inline", "eca"])
    stem = rng.choice(["cifar", "cifar", "imagenet", "deep", "helper"])
    unsupported = ""
    if rng.random() < 0.35:
        unsupported = rng.choice(
            [u for u in UNSUPPORTED if _applies(u, kind, stem, shortcut, gate)]
        )
    return Draw(
        seed, kind, stem, tuple(stages), shortcut, gate, rng.choice(HEADS),
        rng.choice(["none", "none", "wrapper", "stage_class"]), rng.random() < 0.5,
        rng.choice(["1x1", "3x3"]), rng.choice([1, 1, 2]), unsupported,
    )  # fmt: skip


def _applies(unsupported: str, kind: str, stem: str, shortcut: str, gate: str) -> bool:
    """Whether the draw has the place the unsupported layer goes in."""
    post = not kind.startswith("preact")
    return {
        "ceil_pool": stem == "imagenet",
        "symmetric_pad": shortcut == "A",
        "gate_in_some": gate != "none",
        "hard_gate": gate in ("se", "se_linear"),
        "shared_conv": post,
        "in_place": post,
        "extra_relu": post,
        "block_maxpool": post,
        "residual_scale": post and shortcut != "none",
        "rezero": post and shortcut != "none",
        "chunk": post,
    }.get(unsupported, True)


# --- the modules a draw builds ------------------------------------------------------------


def _act(d: Draw) -> nn.Module:
    return nn.GELU() if d.unsupported == "gelu" else nn.ReLU(inplace=True)


def _bn(d: Draw, c: int, odd: bool = False) -> nn.Module:
    if odd and d.unsupported == "group_norm":
        return nn.GroupNorm(1, c)
    return nn.BatchNorm2d(c, eps=1e-3 if odd and d.unsupported == "bn_eps" else 1e-5)


class SE(nn.Module):
    def __init__(self, c: int, linear: bool, hard: bool) -> None:
        super().__init__()
        reduced = max(8, (c // 4 + 4) // 8 * 8) if not linear else max(1, c // 4)
        make = (lambda i, o: nn.Linear(i, o)) if linear else (lambda i, o: nn.Conv2d(i, o, 1))
        self.fc1, self.fc2, self.linear = make(c, reduced), make(reduced, c), linear
        self.gate = nn.Hardsigmoid() if hard else nn.Sigmoid()

    def forward(self, x):
        y = x.mean((2, 3), keepdim=not self.linear)
        y = self.gate(self.fc2(F.relu(self.fc1(y))))
        return x * (y.view(y.shape[0], -1, 1, 1) if self.linear else y)


class ECA(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        t = (c.bit_length() - 1 + 1) // 2
        k = max(3, t + 1 - t % 2)
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = torch.sigmoid(self.conv(y)).view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


class Block(nn.Module):
    def __init__(self, d: Draw, c_in: int, planes: int, stride: int, first: bool, odd: bool):
        super().__init__()
        self.d, self.odd, self.first = d, odd, first
        pre = d.kind.startswith("preact")
        bottleneck = d.kind.endswith("bottleneck")
        out = planes * (4 if bottleneck else 1)
        inner = planes * d.groups if bottleneck else planes
        s1, s3 = (stride, 1) if bottleneck and d.stride_on == "1x1" else (1, stride)
        dil = 2 if odd and d.unsupported == "dilation" else 1
        bias = odd and d.unsupported == "conv_bias"
        if bottleneck:
            shapes = [
                (c_in, inner, 1, s1, 1),
                (inner, inner, 3, s3, d.groups),
                (inner, out, 1, 1, 1),
            ]
        else:
            shapes = [(c_in, planes, 3, stride, 1), (planes, planes, 3, 1, 1)]
        norms = [c_in] + [o for _, o, *_ in shapes[:-1]] if pre else [o for _, o, *_ in shapes]
        for i, (a, b, k, s, g) in enumerate(shapes, start=1):
            pad, dd = (k // 2, 1) if not (i == 2 and dil > 1) else (dil, dil)
            conv = nn.Conv2d(a, b, k, s, pad, dilation=dd, groups=g, bias=bias and i == 1)
            setattr(self, f"conv{i}", conv)
            setattr(self, f"bn{i}", _bn(d, norms[i - 1], odd and i == 1))
        self.n = len(shapes)
        self.act = _act(d) if odd else nn.ReLU(inplace=True)
        gate = d.gate if d.unsupported != "gate_in_some" or odd else "none"
        hard = odd and d.unsupported == "hard_gate"
        self.se = None
        if gate in ("se", "se_linear", "se_inline"):
            self.se = SE(out, gate == "se_linear", hard) if gate != "se_inline" else None
            if gate == "se_inline":
                self.fc1 = nn.Conv2d(out, max(1, out // 4), 1)
                self.fc2 = nn.Conv2d(max(1, out // 4), out, 1)
        elif gate == "eca":
            self.se = ECA(out)
        self.gate = gate
        self.extra, self.stride, self.out = out - c_in, stride, out
        self.downsample = None
        change = stride != 1 or c_in != out
        if d.shortcut in ("B", "C") and (change or d.shortcut == "C"):
            layers = [nn.Conv2d(c_in, out, 1, stride, bias=False)]
            self.downsample = nn.Sequential(*layers, *([] if pre else [nn.BatchNorm2d(out)]))
        elif d.shortcut == "D" and change:
            pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
            self.downsample = nn.Sequential(
                pool if stride > 1 else nn.Identity(), nn.Conv2d(c_in, out, 1, bias=False),
                *([] if pre else [nn.BatchNorm2d(out)]),
            )  # fmt: skip
        self.pad = d.shortcut == "A" and change
        if odd and d.unsupported == "rezero":
            self.alpha = nn.Parameter(torch.zeros(1))

    def relu(self, x):
        if isinstance(self.act, nn.ReLU) and self.d.functional:
            return F.relu(x)
        return self.act(x)

    def shortcut(self, x):
        if self.downsample is not None:
            return self.downsample(x)
        if self.pad:
            x = x[:, :, :: self.stride, :: self.stride]
            if self.odd and self.d.unsupported == "symmetric_pad" and self.extra % 2 == 0:
                return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra // 2))
            return F.pad(x, (0, 0, 0, 0, 0, self.extra))
        return x

    def gated(self, out):
        if self.se is not None:
            return self.se(out)
        if self.gate == "se_inline":
            w = F.avg_pool2d(out, out.size(2))
            return out * torch.sigmoid(self.fc2(F.relu(self.fc1(w))))
        return out

    def forward(self, x):
        d, odd = self.d, self.odd
        if d.kind.startswith("preact"):
            return self._preact(x)
        if odd and d.unsupported == "in_place":
            F.relu(x, inplace=True)
        out = x
        for i in range(1, self.n + 1):
            conv = getattr(self, f"conv{i}")
            if odd and i == 2 and d.unsupported == "shared_conv" and conv.stride == (1, 1):
                out = conv(out)  # applied twice: its weights serve two layers
            out = getattr(self, f"bn{i}")(conv(out))
            if i < self.n or (odd and d.unsupported == "extra_relu"):
                out = self.relu(out)
            if odd and i == 1 and d.unsupported == "block_maxpool":
                out = F.max_pool2d(out, 3, 1, 1)
        out = self.gated(out)
        if odd and d.unsupported == "chunk":  # swap the two halves of the channels
            first, second = out.chunk(2, 1)
            out = torch.cat([second, first], 1)
        if d.shortcut == "none":
            return self.relu(out)
        if odd and d.unsupported == "residual_scale":
            out = out * 0.2
        if odd and d.unsupported == "rezero":
            out = self.alpha * out
        out = torch.add(out, self.shortcut(x)) if d.functional else out + self.shortcut(x)
        return self.relu(out)

    def _preact(self, x):
        out = self.relu(self.bn1(x))
        reads = out if (self.downsample is not None or self.pad or self.first) else x
        for i in range(1, self.n + 1):
            if i > 1:
                out = self.relu(getattr(self, f"bn{i}")(out))
            out = getattr(self, f"conv{i}")(out)
        out = self.gated(out)
        return out if self.d.shortcut == "none" else out + self.shortcut(reads)


class ConvBNReLU(nn.Module):
    def __init__(self, a: int, b: int, k: int, s: int, bare: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(a, b, k, s, k // 2, bias=False)
        self.bn = nn.Identity() if bare else nn.BatchNorm2d(b)
        self.bare = bare

    def forward(self, x):
        return self.conv(x) if self.bare else F.relu(self.bn(self.conv(x)))


class Stage(nn.Module):
    def __init__(self, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class Net(nn.Module):
    def __init__(self, d: Draw) -> None:
        super().__init__()
        self.d = d
        pre = d.kind.startswith("preact")
        c = d.stages[0][1]
        if d.stem == "imagenet":
            pool = nn.MaxPool2d(3, 2, 1, ceil_mode=d.unsupported == "ceil_pool")
            self.stem = nn.Sequential(ConvBNReLU(3, c, 7, 2, pre), pool)
        elif d.stem == "deep":
            convs = [ConvBNReLU(3, 8, 3, 2), ConvBNReLU(8, 8, 3, 1), ConvBNReLU(8, c, 3, 1, pre)]
            self.stem = nn.Sequential(*convs, nn.MaxPool2d(3, 2, 1))
        elif d.stem == "helper":
            self.stem = ConvBNReLU(3, c, 3, 1, pre)
        else:  # in the network's own forward
            self.conv1 = nn.Conv2d(3, c, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c) if not pre else nn.Identity()
            self.stem = lambda x: F.relu(self.bn1(self.conv1(x))) if not pre else self.conv1(x)
        stages, placed = [], False  # the unsupported layer goes in one block
        expansion = 4 if d.kind.endswith("bottleneck") else 1
        for i, (count, planes, stride) in enumerate(d.stages):
            blocks = []
            for k in range(count):
                s = stride if k == 0 else 1
                change = s != 1 or c != planes * expansion
                odd = not placed and (change or d.unsupported != "symmetric_pad")
                blocks.append(Block(d, c, planes, s, i == k == 0, odd))
                placed, c = placed or odd, blocks[-1].out
            stages.append(Stage(blocks) if d.wrap == "stage_class" else nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.norm = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU()) if pre else nn.Identity()
        self.drop = nn.Dropout(0.2) if d.unsupported == "head_dropout" else nn.Identity()
        features = c * (2 if d.unsupported == "concat" else 1)
        self.fc = nn.Linear(features * (4 if d.unsupported == "no_global_pool" else 1), 10)
        self.flatten = nn.Flatten()

    def forward(self, x):
        x = self.norm(self.layers(self.stem(x)))
        d = self.d
        if d.unsupported == "no_global_pool":
            return self.fc(self.drop(F.adaptive_avg_pool2d(x, 2).flatten(1)))
        if d.unsupported == "concat":
            x = torch.cat([x, x.amax((2, 3), keepdim=True).expand_as(x)], 1)
        if d.head == "mean":
            x = x.mean((2, 3))
        elif d.head == "avg_pool2d":
            x = F.avg_pool2d(x, x.size(3)).view(x.size(0), -1)
        elif d.head == "reshape":
            x = F.adaptive_avg_pool2d(x, 1)
            x = x.reshape(x.shape[0], -1)
        elif d.head == "flatten_kw":
            x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), start_dim=1)
        elif d.head == "nn_flatten":
            x = self.flatten(F.adaptive_avg_pool2d(x, 1))
        else:
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(self.drop(x))


class Wrapper(nn.Module):
    def __init__(self, d: Draw) -> None:
        super().__init__()
        self.net = Net(d)

    def forward(self, x):
        return self.net(x)


def build(d: Draw) -> nn.Module:
    torch.manual_seed(d.seed)
    return Wrapper(d) if d.wrap == "wrapper" else Net(d)


# --- running them -------------------------------------------------------------------------


@dataclass
class Summary:
    seed: int
    modules: int = 0
    exact: int = 0
    refused: int = 0
    internal_errors: int = 0
    wrong: int = 0
    unlocated: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    # refusals of modules drawn without an unsupported layer: what the language or the import
    # lacks for code a user could write (each reason with one draw to rebuild it)
    refused_without_unsupported: dict[str, int] = field(default_factory=dict)
    unsupported_imported: list[int] = field(default_factory=list)  # draws with one, imported
    seconds_import: float = 0.0
    seconds_slowest: float = 0.0
    wall_seconds: float = 0.0
    problems: list[dict] = field(default_factory=list)  # the first few, to rebuild them
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one full message

    @property
    def clean(self) -> bool:
        return not (self.internal_errors or self.wrong or self.unlocated)


LOCATED = re.compile(r"^cannot express \S+ \([^)]*\): \S")


def reason(message: str) -> str:
    """A refusal's reason, shortened to what it names (numbers and names made general)."""
    text = message.split("): ", 1)[1] if LOCATED.match(message) else message.split(": ", 1)[-1]
    if text.startswith("the spec it reads as is refused: "):  # the front end's own words
        text = "the spec is refused: " + text.split(": ", 1)[1].split(";")[0]
    else:
        text = re.split(r" \(|: |; |, which", text, maxsplit=1)[0]
    text = re.sub(r"\b[a-z_]*(preact|bottleneck|basic)[a-z_]*\b", "KIND", text)
    return re.sub(r"\d+", "N", text)


def run(count: int, seed: int = 0, log=print) -> Summary:
    summary = Summary(seed)
    started = time.perf_counter()
    for index in range(count):
        d = draw(seed * 1_000_003 + index)
        outcome, detail, seconds = one(d)
        summary.modules += 1
        summary.seconds_import += seconds
        summary.seconds_slowest = max(summary.seconds_slowest, seconds)
        if outcome == "exact":
            summary.exact += 1
            if d.unsupported:
                summary.unsupported_imported.append(d.seed)
        elif outcome == "refused":
            summary.refused += 1
            key = reason(detail)
            summary.refused_by_reason[key] = summary.refused_by_reason.get(key, 0) + 1
            summary.examples.setdefault(key, detail)
            if not d.unsupported:
                bucket = summary.refused_without_unsupported
                bucket[key] = bucket.get(key, 0) + 1
            if not LOCATED.match(detail) and "\n" in detail:
                summary.unlocated += 1
                summary.problems.append({"draw": asdict(d), "problem": detail})
        else:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
            summary.problems.append({"draw": asdict(d), "outcome": outcome, "problem": detail})
        if log is not None:
            log(f"{index:4d} {outcome:15s} {seconds:5.2f}s {d.kind:17s} {d.unsupported or '-':14s}"
                f" {detail.splitlines()[0][:90] if outcome != 'exact' else ''}")  # fmt: skip
    summary.wall_seconds = time.perf_counter() - started
    summary.refused_by_reason = dict(Counter(summary.refused_by_reason).most_common())
    return summary


def one(d: Draw) -> tuple[str, str, float]:
    """(outcome, the refusal or the problem, seconds of the import)."""
    from resdsl.imports import import_model

    model = build(d)
    started = time.perf_counter()
    try:
        text = import_model(model, name=f"fuzz_{d.seed}")
    except ResdslError as error:
        return "refused", str(error), time.perf_counter() - started
    except Exception:
        problem = "".join(traceback.format_exc().splitlines(keepends=True)[-3:])
        return "internal_errors", problem, time.perf_counter() - started
    seconds = time.perf_counter() - started
    try:
        problem = compare(model, text)
    except Exception:
        problem = "comparing: " + traceback.format_exc().splitlines()[-1]
    return ("wrong", problem, seconds) if problem else ("exact", "", seconds)


def compare(model: nn.Module, text: str) -> str:
    """What differs between the model and the spec's module given its weights ("" if none)."""
    from resdsl.imports.gates import find
    from resdsl.imports.trace import trace
    from resdsl.imports.verify import correspondence

    torch_params = sum(p.numel() for p in model.parameters())
    if resdsl.stats(text).params != torch_params:
        return f"{resdsl.stats(text).params} parameters, torch counts {torch_params}"
    net = resdsl.network(text)
    records, _, _ = find(trace(model, net.input).records)
    places = correspondence(records, net)
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            m.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=generator))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=generator))
    built = resdsl.build(text)
    modules = dict(model.named_modules())
    placed = set()
    for r in records:
        source = modules.get(r.path) if r.index in places else None
        if source is None or not source.state_dict() or list(source.children()):
            continue  # a function, or a layer without weights
        target = built.get_submodule(net.nodes[places[r.index]].path)
        with torch.no_grad():
            for name, tensor in target.state_dict().items():
                tensor.copy_(source.state_dict()[name].reshape(tensor.shape))
        placed |= {id(p) for p in source.parameters()}
    unplaced = [n for n, p in model.named_parameters() if id(p) not in placed]
    if unplaced:
        return f"weights the spec has no place for: {unplaced[0]}"
    x = torch.randn(2, *net.input, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        theirs, ours = model.double().eval()(x), built.double().eval()(x)
    gap = (theirs - ours).abs().max().item()
    return (
        "" if gap <= 1e-9 * max(1.0, theirs.abs().max().item()) else f"outputs differ by {gap:.3g}"
    )


def main(argv: list[str] | None = None) -> Summary:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=300, help="random modules to import")
    parser.add_argument("--seed", type=int, default=0, help="the same seed draws the same modules")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "import_fuzz.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    load = os.getloadavg()
    summary = run(args.modules, args.seed)
    print(
        f"modules            {summary.modules} (seed {summary.seed}; "
        f"{summary.wall_seconds:.0f} s wall, {summary.seconds_import:.0f} s in import_model)"
    )
    print(f"exact              {summary.exact}")
    print(f"refused            {summary.refused}")
    for key, n in summary.refused_by_reason.items():
        print(f"  {n:4d}  {key}")
    print(f"internal errors    {summary.internal_errors}")
    print(f"wrong              {summary.wrong}")
    print(f"unlocated          {summary.unlocated}")
    gaps = sum(summary.refused_without_unsupported.values())
    print(f"refused, drawn without an unsupported layer: {gaps}")
    for key, n in summary.refused_without_unsupported.items():
        print(f"  {n:4d}  {key}")
    report = {
        "benchmark": "import_fuzz",
        "command": "python benchmarks/import_fuzz.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "resdsl": resdsl.__version__,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, torch on 1 thread",
        "load_average_at_start": [round(v, 2) for v in load],
        "date": datetime.date.today().isoformat(),
        **asdict(summary),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return summary


if __name__ == "__main__":
    sys.exit(0 if main().clean else 1)
