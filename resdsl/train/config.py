"""Training configuration: one frozen dataclass, named recipes, and the learning-rate schedule.

A recipe is a :class:`TrainConfig` with the paper's values filled in; every field can be overridden,
by keyword here or by a flag on the command line::

    >>> cfg = recipe("cifar", module="generated/resnet56.py", steps=2000)
    >>> cfg.batch_size, cfg.milestones
    (128, (32000, 48000))

This module must not import torch: the CLI builds configs before deciding to train.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from resdsl.train.errors import TrainError


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; recorded in every checkpoint."""

    # -- what to train, on what, and where the outputs go --
    # path of a generated module (generated/NAME.py); taken from the checkpoint on resume
    module: str = ""
    data: str = "digits"  # digits | synthetic | cifar10:DIR | cifar100:DIR | imagefolder:DIR
    out: str | None = None  # output folder; None means runs/NAME-TIMESTAMP
    resume: str | None = None  # a run folder whose last.pt to continue from, exactly
    recipe: str = "digits"  # the preset these values started from (recorded for the reader only)

    # -- optimisation (the paper counts iterations, so steps are the unit) --
    steps: int = 400  # total iterations; ignored when epochs is set
    epochs: float | None = None  # if set, train ceil(epochs * steps_per_epoch) iterations
    # global mini-batch, split evenly across DDP ranks so the recipe is unchanged
    batch_size: int = 64
    lr: float = 0.05  # base learning rate (the digits recipe's, as every default here)
    momentum: float = 0.9  # SGD momentum (paper: 0.9)
    weight_decay: float = 1e-4  # L2 on all weights (paper: 0.0001)
    # where lr is multiplied by lr_decay, in milestone_unit
    milestones: tuple[float, ...] = (200, 300)
    milestone_unit: Literal["step", "epoch"] = "step"  # ImageNet's schedule is written in epochs
    lr_decay: float = 0.1  # "divided by 10"
    # the paper's 110-layer trick; auto means depth >= warmup_depth
    warmup: Literal["auto", "on", "off"] = "off"
    warmup_lr: float = 0.01  # lr while warming up
    # warm-up ends once the training error over a check window drops below this
    warmup_error: float = 0.8
    # weighted layers (convs outside shortcuts + fc) from which auto warms up
    warmup_depth: int = 100

    # -- data and augmentation --
    val_split: int = 0  # training images held out as a validation set (paper's CIFAR: 5000)
    crop_pad: int = 2  # zero padding before the random crop back to input size; 0 disables the crop
    flip: bool = False  # random horizontal flip (off for digits: a mirrored 2 is not a 2)
    scale_min: int = 256  # imagefolder: shorter side sampled in [scale_min, scale_max] for training
    scale_max: int = 480  # (and resized to scale_min, centre-cropped, for evaluation)
    workers: int = 4  # imagefolder loader processes; in-memory data sets need none
    verify: bool = True  # check CIFAR files against the official release's md5 sums
    download: bool = False  # fetch CIFAR when the folder lacks it (needs a network; never implicit)

    # -- evaluation and checkpoints --
    eval_every: int = 100  # iterations between evaluations (one metrics.jsonl line each)
    ckpt_every: int = 0  # iterations between last.pt writes; 0 means at every evaluation
    eval_batch_size: int = 256  # per-rank batch for evaluation (no gradients, so larger is fine)

    # -- machine --
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto picks CUDA when there is one
    compile: bool | None = None  # torch.compile; None means on for CUDA, off for the CPU
    compile_mode: str = "default"  # torch.compile mode: default | reduce-overhead | max-autotune
    amp: bool | None = None  # bf16 autocast; None means on for CUDA, off for the CPU
    channels_last: bool | None = None  # NHWC memory format; None means on for CUDA
    threads: int = 0  # CPU threads per process; 0 means cores / local ranks
    seed: int = 0  # seeds weights, data order and augmentation; same seed, same run
    # progress: None shows a bar on a terminal and a plain line every progress_every seconds
    # otherwise (logs, CI, nohup); False shows neither (the plan, evaluations and summary remain)
    progress: bool | None = None
    progress_every: float = 20.0

    def __post_init__(self) -> None:
        # Types first: a config read back from a checkpoint is user input, and a string where a
        # number belongs would otherwise fail later, deep in the loop, as an internal error.
        wrong = _type_problems(self)
        if wrong:
            raise TrainError("invalid training config: " + "; ".join(wrong))
        problems = [
            f"{name} must be positive, not {getattr(self, name)}"
            for name in ("steps", "batch_size", "eval_every", "eval_batch_size")
            if getattr(self, name) <= 0
        ]
        if self.lr <= 0:
            problems.append(f"lr must be positive, not {self.lr}")
        if self.progress_every <= 0:
            problems.append(f"progress_every must be positive, not {self.progress_every}")
        problems += [
            f"{f.name} must be a finite number, not {getattr(self, f.name)}"
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), float) and not math.isfinite(getattr(self, f.name))
        ]
        if self.epochs is not None and self.epochs <= 0:
            problems.append(f"epochs must be positive, not {self.epochs}")
        if self.val_split < 0 or self.crop_pad < 0 or self.ckpt_every < 0 or self.threads < 0:
            problems.append("val_split, crop_pad, ckpt_every and threads must not be negative")
        if self.scale_min > self.scale_max:
            problems.append(f"scale_min {self.scale_min} is above scale_max {self.scale_max}")
        if list(self.milestones) != sorted(self.milestones):
            problems.append(f"milestones must be increasing, not {list(self.milestones)}")
        if problems:
            raise TrainError("invalid training config: " + "; ".join(problems))

    def total_steps(self, steps_per_epoch: int) -> int:
        """Iterations to run: ``steps``, or ``epochs`` worth of them when epochs is set."""
        if self.epochs is None:
            return self.steps
        return max(1, math.ceil(self.epochs * steps_per_epoch))

    def milestone_steps(self, steps_per_epoch: int) -> tuple[int, ...]:
        """The milestones converted to iterations."""
        scale = steps_per_epoch if self.milestone_unit == "epoch" else 1
        return tuple(round(m * scale) for m in self.milestones)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict` output (a checkpoint's), ignoring unknown keys.

        Anything malformed (not a mapping, a wrong type, an invalid value) is a TrainError.
        """
        if not isinstance(values, Mapping):
            raise TrainError(f"invalid training config: a mapping, not {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if isinstance(kwargs.get("milestones"), list):
            kwargs["milestones"] = tuple(kwargs["milestones"])
        return cls(**kwargs)


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _fits(value: Any, tp: Any) -> bool:
    """Whether ``value`` is of the annotated type ``tp`` (the few forms TrainConfig uses)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:  # an int is a fine float (lr=1)
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin is Literal:
        return isinstance(value, str) and value in args
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is tuple:  # tuple[X, ...]
        return isinstance(value, tuple) and all(_fits(v, args[0]) for v in value)
    return True


def _type_problems(config: TrainConfig) -> list[str]:
    hints = _field_types()
    return [
        f"{f.name} must be {_type_name(hints[f.name])}, not {getattr(config, f.name)!r}"
        for f in dataclasses.fields(config)
        if not _fits(getattr(config, f.name), hints[f.name])
    ]


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        return "a tuple of numbers" if args[0] is float else f"a tuple of {_type_name(args[0])}"
    names = {type(None): "None", bool: "true/false", int: "an integer", float: "a number"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


# The paper's recipes (He et al. 2015, sections 3.4 and 4.2), plus a small one that runs in seconds
# on a laptop CPU. Values not listed take the TrainConfig defaults above.
RECIPES: dict[str, dict[str, Any]] = {
    # CIFAR-10, section 4.2: batch 128, lr 0.1 /10 at 32k and 48k, stop at 64k, 45k/5k split,
    # 4-pixel pad + 32x32 crop + flip, 0.01 warm-up for the 110-layer net.
    "cifar": dict(
        steps=64000,
        batch_size=128,
        lr=0.1,
        milestones=(32000, 48000),
        milestone_unit="step",
        val_split=5000,
        crop_pad=4,
        flip=True,
        warmup="auto",
        eval_every=1000,
    ),
    # ImageNet, section 3.4: batch 256, lr 0.1 /10 (at fixed epochs, as torchvision's reference
    # recipe does, instead of "when the error plateaus"), scale augmentation [256, 480], 224 crop.
    "imagenet": dict(
        epochs=90,
        batch_size=256,
        lr=0.1,
        milestones=(30, 60),
        milestone_unit="epoch",
        crop_pad=0,
        flip=True,
        scale_min=256,
        scale_max=480,
        eval_every=5000,
    ),
    # scikit-learn's 8x8 digits: a few hundred iterations to see a network learn, on any machine.
    # lr 0.05 is the paper's 0.1 per 128 images scaled linearly to batch 64: at 0.1 the 56-layer
    # nets diverge in their first iterations (loss ~5) and stay behind for the whole short run.
    "digits": dict(
        steps=400,
        batch_size=64,
        lr=0.05,
        milestones=(200, 300),
        milestone_unit="step",
        crop_pad=2,
        flip=False,
        eval_every=100,
    ),
}


def recipe(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with ``overrides`` applied; unknown names and fields are errors."""
    if name not in RECIPES:
        raise TrainError(f"unknown recipe {name!r}; choose one of {', '.join(sorted(RECIPES))}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TrainError(f"unknown training option(s) {', '.join(unknown)} for recipe {name!r}")
    values = {**RECIPES[name], "recipe": name, **overrides}
    if "steps" in overrides and "epochs" not in overrides:
        values["epochs"] = None  # an explicit --steps wins over a recipe given in epochs
    return TrainConfig(**values)


def learning_rate(
    step: int,
    *,
    base: float,
    milestones: Sequence[int],
    decay: float = 0.1,
    warming: bool = False,
    warmup_lr: float = 0.01,
) -> float:
    """The step schedule: ``base * decay**(milestones passed)``, or ``warmup_lr`` while warming.

    >>> learning_rate(32000, base=0.1, milestones=(32000, 48000))
    0.010000000000000002
    """
    if warming:
        return warmup_lr
    passed = sum(1 for m in milestones if step >= m)
    return base * decay**passed


__all__ = ["RECIPES", "TrainConfig", "learning_rate", "recipe"]
