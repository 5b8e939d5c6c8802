"""The degradation experiment's figures: Fig. 6 (error curves, plain beside residual) and
Fig. 7 (the std of each 3x3 layer's response), measured and drawn.

Fig. 6 draws its curves with the runner's own plotting code (:func:`resdsl.train.plot.draw_runs`,
which every run's ``errors.png`` uses too). torch and matplotlib are imported inside the
functions: the CLI imports nothing of this for ``--help``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resdsl.experiments.degradation import KINDS, DegradationPlan
from resdsl.train.config import TrainConfig


def plot_degradation(
    curves: Mapping[str, Sequence[Mapping[str, Any]]], path: Path, plan: DegradationPlan
) -> Path:
    """Fig. 6: plain nets left, residual right; dashed thin training error, bold test error."""
    from resdsl.train.plot import atomic_write, draw_runs, plt

    longest = max((r["step"] for c in curves.values() for r in c), default=1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharey=True)
    for ax, kind, title in zip(axes, KINDS, ("plain", "ResNet"), strict=True):
        runs = {f"{title}-{depth}": curves.get(f"{kind}{depth}", []) for depth in plan.depths}
        draw_runs(ax, runs, longest)
        ax.set_title(title)
    axes[1].set_ylabel("")
    seeds = f"mean of {plan.seeds} seeds" if plan.seeds > 1 else "1 seed"
    fig.suptitle(f"{plan.data}, recipe {plan.recipe}, {seeds}", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
    return path


def layer_response_std(checkpoint: Path, config: TrainConfig, images: int = 256) -> list[float]:
    """Fig. 7: the std of each 3x3 layer's response, in forward order, on test images.

    The response is a BatchNorm2d output (after BN, before ReLU and before the addition); the
    std is taken over every element of that output for the first ``images`` test images, with
    the model in eval mode (BN uses its running statistics, as at test time).
    """
    import torch

    from resdsl.train.batches import open_source
    from resdsl.train.checkpoint import load_checkpoint, load_model_state
    from resdsl.train.module import load_generated

    generated = load_generated(config.module)
    device = torch.device("cpu")
    source = open_source(
        dataclasses.replace(config, eval_batch_size=images),
        generated.input_shape,
        int(generated.meta["classes"]),
        device=device,
    )
    model = generated.build(source.classes)
    load_model_state(checkpoint, model, load_checkpoint(checkpoint)["model"])
    model.eval()
    stds: list[float] = []
    hooks = [
        model.get_submodule(name).register_forward_hook(
            lambda _m, _i, y: stds.append(float(y.float().std()))
        )
        for name in response_layers(model)
    ]
    try:
        x, _ = next(iter(source.eval_batches("test")))
        with torch.no_grad():
            model(x[:images])
    finally:
        for hook in hooks:
            hook.remove()
    return stds


def response_layers(model: Any) -> list[str]:
    """The BatchNorm2d layers that hold a 3x3 layer's response, in forward order.

    Generated modules pair bnK with convK (torchvision's names), so a BN belongs to a 3x3 layer
    when its convK has a 3x3 kernel. This leaves out bottlenecks' 1x1 layers, a 7x7 stem and
    projection shortcuts (downsample.1 has no conv partner of that name).
    """
    import torch

    modules = dict(model.named_modules())

    def after_3x3(name: str) -> bool:
        parent, _, leaf = name.rpartition(".")
        conv = modules.get(f"{parent}.conv{leaf[2:]}" if parent else f"conv{leaf[2:]}")
        return isinstance(conv, torch.nn.Conv2d) and tuple(conv.kernel_size) == (3, 3)

    return [
        name
        for name, module in modules.items()
        if isinstance(module, torch.nn.BatchNorm2d)
        and name.rpartition(".")[2].startswith("bn")
        and after_3x3(name)
    ]


def plot_layer_std(stds: Mapping[str, Sequence[float]], path: Path) -> Path:
    """Fig. 7: std per layer in the original order (top) and sorted by magnitude (bottom)."""
    from resdsl.train.plot import atomic_write, plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), dpi=120)
    for colour, (name, values) in zip(plt.cm.tab10.colors, stds.items(), strict=False):
        style = "--" if name.startswith("plain") else "-"
        layers = range(1, len(values) + 1)
        top.plot(layers, values, style, color=colour, marker=".", ms=3, label=name)
        bottom.plot(layers, sorted(values, reverse=True), style, color=colour, marker=".", ms=3)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for ax in (top, bottom):
        ax.set_ylabel("std")
        ax.grid(True, alpha=0.3)
    top.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
    return path
