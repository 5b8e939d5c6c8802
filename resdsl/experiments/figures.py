"""The degradation experiment's figures: Fig. 6 (error curves, plain beside residual) and Fig. 7
(the std of each 3x3 layer's response), drawn from what the experiment's folder holds.

    OUT/plan.json                      the plan (depths, seeds, data, recipe)
    OUT/runs/NETWORK-seedS/metrics.jsonl   every run's evaluations: Fig. 6
    OUT/fig7.json                      every run's layer-response stds: Fig. 7
    OUT/runs/NETWORK-seedS/last.pt     measured for the stds fig7.json lacks, where present

NOTE: the figures are a function of those files and nothing else: the experiment draws them
after its last run (:func:`draw_figures`) exactly as ``resdsl experiment degradation --redraw
OUT`` (:func:`redraw`) draws them again from a copy without checkpoints, such as the one
committed under docs/degradation/seeds3/. Fig. 6 draws its curves with the runner's own
plotting code (:func:`resdsl.train.plot.draw_runs`, which every run's ``errors.png`` uses
too). Both figures are sized for a README: 8 inches wide at 150 dpi (1200 pixels), with type
that stays legible shown at 800. torch and matplotlib are imported inside the functions: the
CLI imports nothing of this for ``--help``.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resdsl.experiments.plan import KINDS, DegradationPlan, PlannedRun, plan_runs
from resdsl.train.config import TrainConfig
from resdsl.train.errors import TrainError

Curves = Mapping[str, Sequence[Sequence[Mapping[str, Any]]]]  # network -> each seed's records
Stds = Mapping[str, Mapping[int, Sequence[float]]]  # network -> seed -> std per 3x3 layer
TITLES = {"plain": "plain", "resnet": "ResNet"}  # plain-20, ResNet-56, as the paper writes them
PANELS = {"plain": "plain networks", "resnet": "residual networks"}
# What Fig. 7 plots, said once for the axis and the JSON.
RESPONSE = "std of each 3x3 layer's response (its BN output, before ReLU and addition)"
WIDTH, DPI, FONT = 8.0, 150, 10


def draw_figures(out: Path, plan: DegradationPlan) -> tuple[Path, Path, Path]:
    """Fig. 6, Fig. 7 and fig7.json in ``out``, from its runs' files (see the module doc)."""
    runs = plan_runs(plan, out)
    fig6 = plot_degradation(read_curves(out, runs), out / "fig6.png", plan)
    stds = response_stds(out, runs)
    fig7_json = write_stds(stds, out / "fig7.json")
    fig7 = plot_layer_std(stds, out / "fig7.png", plan)
    return fig6, fig7, fig7_json


def redraw(folder: str | Path) -> tuple[Path, Path, Path]:
    """Draw an experiment's figures again from its folder; trains nothing."""
    folder = Path(folder)
    plan_json = folder / "plan.json"
    if not plan_json.is_file():
        raise TrainError(f"{plan_json}: no such file; --redraw takes an experiment's --out folder")
    try:
        fields = json.loads(plan_json.read_text())["plan"]
        known = {f.name for f in dataclasses.fields(DegradationPlan)}
        values = {k: v for k, v in fields.items() if k in known}
        plan = DegradationPlan(**{**values, "depths": tuple(values["depths"])})
    except (ValueError, KeyError, TypeError) as error:
        raise TrainError(f"{plan_json}: not an experiment's plan ({error})") from None
    return draw_figures(folder, plan)


def read_curves(out: Path, runs: Sequence[PlannedRun]) -> dict[str, list[list[dict[str, Any]]]]:
    """Every run's evaluations from its metrics.jsonl, by network, seed 0 first."""
    from resdsl.train.report import read_metrics

    curves: dict[str, list[list[dict[str, Any]]]] = {}
    for run in runs:
        path = out / "runs" / run.label / "metrics.jsonl"
        records = read_metrics(path)
        if not records:
            raise TrainError(f"{path}: missing or empty; the figures need every run's metrics")
        curves.setdefault(run.network, []).append(records)
    return curves


def plot_degradation(curves: Curves, path: Path, plan: DegradationPlan) -> Path:
    """Fig. 6 as a PNG at ``path``: see :func:`degradation_figure`."""
    from resdsl.train.plot import atomic_write, plt

    figure = degradation_figure(curves, plan)
    atomic_write(path, lambda f: figure.savefig(f, format="png"))
    plt.close(figure)
    return path


def degradation_figure(curves: Curves, plan: DegradationPlan) -> Any:
    """Fig. 6, a matplotlib Figure: plain nets left, residual right; dashed thin training
    error, bold test error; with several seeds, their mean, and their range shaded."""
    from resdsl.train.plot import draw_runs, plt

    longest = max((r["step"] for c in curves.values() for s in c for r in s), default=1)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.7), dpi=DPI, sharey=True)
    for ax, kind in zip(axes, KINDS, strict=True):
        names = {f"{TITLES[kind]}-{d}": f"{kind}{d}" for d in plan.depths}
        seeds = {label: curves.get(network, []) for label, network in names.items()}
        means = {label: mean_curve(c) if c else [] for label, c in seeds.items()}
        draw_runs(ax, means, longest, seeds, fontsize=FONT - 1)
        ax.set_title(PANELS[kind], fontsize=FONT + 1)
    axes[1].set_ylabel("")
    fig.suptitle(f"Fig. 6 on {plan.data}: {_seeds(plan)}", fontsize=FONT + 2)
    fig.tight_layout()
    return fig


def _seeds(plan: DegradationPlan) -> str:
    if plan.seeds == 1:
        return "seed 0"
    return f"mean of {plan.seeds} seeds (shaded: lowest to highest)"


def response_stds(out: Path, runs: Sequence[PlannedRun]) -> dict[str, dict[int, list[float]]]:
    """Every run's stds: from ``out/fig7.json`` where it has them, else measured from the run's
    last.pt (what the experiment does after its last run)."""
    known = read_stds(out / "fig7.json")
    stds: dict[str, dict[int, list[float]]] = {}
    for run in runs:
        values = known.get(run.network, {}).get(run.seed)
        if values is None:
            checkpoint = out / "runs" / run.label / "last.pt"
            if not checkpoint.is_file():
                raise TrainError(
                    f"{out / 'fig7.json'} has no stds for {run.label}, and {checkpoint} is not "
                    "there to measure them"
                )
            values = layer_response_std(checkpoint, run.config)
        stds.setdefault(run.network, {})[run.seed] = list(values)
    return stds


def read_stds(path: Path) -> dict[str, dict[int, list[float]]]:
    """fig7.json's stds by network and seed; ``{}`` if there is none. A file written before
    seeds were kept (``{network: [stds]}``) holds seed 0."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        stds = data.get("stds", data)
        return {
            network: {0: list(v)}
            if isinstance(v, list)
            else {int(s): list(x) for s, x in v.items()}
            for network, v in stds.items()
        }
    except (ValueError, AttributeError, TypeError) as error:
        raise TrainError(f"{path}: not a fig7.json ({error})") from None


def write_stds(stds: Stds, path: Path) -> Path:
    """fig7.json: what was measured, and every run's stds by network and seed."""
    from resdsl.train.checkpoint import atomic_write

    data = {
        "quantity": RESPONSE + "; on 256 test images, eval mode; std over every element",
        "stds": {n: {str(s): list(v) for s, v in sorted(by.items())} for n, by in stds.items()},
    }
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
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


def plot_layer_std(stds: Stds, path: Path, plan: DegradationPlan) -> Path:
    """Fig. 7: each 3x3 layer's response std, in network order (top) and sorted by magnitude
    (bottom), as the paper draws it; one column per depth, so that plain-D and ResNet-D share
    an axis and neither hides under the other (a 56-layer plain net's first responses can be
    ten times the rest: that column is then drawn on a log scale). With several seeds, their
    mean, and their range shaded."""
    from resdsl.train.plot import atomic_write, plt

    figure = layer_std_figure(stds, plan)
    atomic_write(path, lambda f: figure.savefig(f, format="png"))
    plt.close(figure)
    return path


def layer_std_figure(stds: Stds, plan: DegradationPlan) -> Any:
    """The matplotlib Figure of :func:`plot_layer_std`, for tests to read its axes."""
    from matplotlib import ticker

    from resdsl.train.plot import plt

    depths = [d for d in plan.depths if any(f"{k}{d}" in stds for k in KINDS)]
    fig, axes = plt.subplots(
        2, len(depths), figsize=(WIDTH, 5.6), dpi=DPI, sharey="col", squeeze=False
    )
    for column, depth in enumerate(depths):
        top, bottom = axes[0][column], axes[1][column]
        for kind, colour, style in zip(KINDS, ("#d62728", "#1f77b4"), ("--", "-"), strict=True):
            seeds = [list(v) for _, v in sorted(stds.get(f"{kind}{depth}", {}).items())]
            if not seeds:
                continue
            label = f"{TITLES[kind]}-{depth}"
            _band(top, seeds, colour, style, label)
            _band(bottom, [sorted(v, reverse=True) for v in seeds], colour, style, label)
        values = [x for k in KINDS for v in stds.get(f"{k}{depth}", {}).values() for x in v]
        if values and max(values) > 4 * min(values):  # a few large responses: log, see above
            top.set_yscale("log")
            top.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            top.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
            top.yaxis.set_minor_formatter(ticker.NullFormatter())
        top.set_title(f"{depth} layers", fontsize=FONT + 1)
        top.set_xlabel("layer index (original)", fontsize=FONT)
        bottom.set_xlabel("layer index (sorted by magnitude)", fontsize=FONT)
        for ax in (top, bottom):
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3, which="both")
            ax.tick_params(labelsize=FONT - 1)
            ax.legend(fontsize=FONT - 1)
        if column == 0:
            for ax in (top, bottom):
                ax.set_ylabel("std of the BN output", fontsize=FONT)
    fig.suptitle(
        f"Fig. 7 on {plan.data}: std of each 3x3 layer's response (BN output, before ReLU\n"
        f"and addition), {_seeds(plan)}",
        fontsize=FONT + 1,
    )
    fig.tight_layout()
    return fig


def _band(ax: Any, seeds: Sequence[Sequence[float]], colour: str, style: str, label: str) -> None:
    """The seeds' mean at each layer index, their range shaded."""
    layers = range(1, len(seeds[0]) + 1)
    per_layer = list(zip(*seeds, strict=True))
    ax.plot(
        layers,
        [statistics.fmean(v) for v in per_layer],
        style,
        color=colour,
        lw=1.6,
        marker=".",
        ms=4,
        label=label,
    )
    if len(seeds) > 1:
        low, high = [min(v) for v in per_layer], [max(v) for v in per_layer]
        ax.fill_between(layers, low, high, color=colour, alpha=0.2, linewidth=0)


def mean_curve(runs: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The seeds' curves averaged point by point (every seed evaluates at the same steps)."""
    steps = [[r["step"] for r in curve] for curve in runs]
    if any(s != steps[0] for s in steps):
        raise TrainError("the seeds' runs were evaluated at different steps; cannot average them")
    length = len(steps[0])
    return [
        dict(
            step=runs[0][i]["step"],
            train_error=statistics.fmean(r[i]["train_error"] for r in runs),
            test_error=statistics.fmean(r[i]["test_error"] for r in runs),
        )
        for i in range(length)
    ]
