"""The degradation experiment (He et al. 2015, Fig. 1, 6 and 7): plain against residual nets.

For each depth and each seed, ``plainD`` and ``resnetD`` are trained under one recipe and one
schedule (no per-network tuning), then the outputs are written into one folder::

    OUT/runs/NETWORK-seedS/   every run's metrics.jsonl, last.pt, best.pt, errors.png
    OUT/fig6.png              training (dashed) and test (bold) error; plain left, residual right
    OUT/table.md, table.json  final training and test error, mean ± std over seeds
    OUT/fig7.png, fig7.json   std of every 3x3 layer's response (after BN, before addition/ReLU),
                              every seed's

    >>> plan = DegradationPlan(depths=(20, 56), seeds=1)
    >>> [(run.network, run.seed) for run in plan_runs(plan)]  # doctest: +NORMALIZE_WHITESPACE
    [('plain20', 0), ('resnet20', 0), ('plain56', 0), ('resnet56', 0)]

torch is imported inside the functions that train or measure, never at module level: the CLI
imports this module for ``--help`` and the compiler commands must stay torch-free.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from resdsl.train.config import RECIPES, TrainConfig, recipe
from resdsl.train.errors import TrainError

KINDS = ("plain", "resnet")  # left panel, right panel
# The digits default: four runs (20 and 56 layers) in about seven minutes on 2 cores.
OFFLINE_STEPS = 300
EVALS_PER_RUN = 12  # evaluations (metrics.jsonl lines, curve points) per run


@dataclass(frozen=True)
class DegradationPlan:
    """What to train: every field has the offline default (digits, CPU-sized schedule)."""

    depths: tuple[int, ...] = (20, 56)
    seeds: int = 1  # seeds 0 .. seeds-1, the same for every network
    data: str = "digits"
    recipe: str = "digits"
    steps: int | None = None  # None: OFFLINE_STEPS for digits, the recipe's own otherwise
    out: str | None = None  # None: runs/degradation-TIMESTAMP
    generated: str = "generated"  # folder holding plainD.py and resnetD.py
    device: str = "auto"
    threads: int = 0
    batch_size: int | None = None  # None: the recipe's
    progress: bool | None = None  # None: a bar on a terminal, plain lines in a log

    def __post_init__(self) -> None:
        if not self.depths or any(d <= 0 for d in self.depths):
            raise TrainError(f"depths must be positive layer counts, not {list(self.depths)}")
        if len(set(self.depths)) != len(self.depths):
            raise TrainError(f"depths must differ; {list(self.depths)} repeats one")
        if self.steps is not None and self.steps <= 0:
            raise TrainError(f"steps must be positive, not {self.steps}")
        if self.seeds <= 0:
            raise TrainError(f"seeds must be positive, not {self.seeds}")
        if self.recipe not in RECIPES:
            raise TrainError(f"unknown recipe {self.recipe!r}; choose one of {sorted(RECIPES)}")


@dataclass(frozen=True)
class PlannedRun:
    """One network, one seed, and the config it trains under."""

    kind: str  # plain | resnet
    depth: int
    seed: int
    config: TrainConfig

    @property
    def network(self) -> str:
        return f"{self.kind}{self.depth}"

    @property
    def label(self) -> str:
        return f"{self.network}-seed{self.seed}"


def out_dir(plan: DegradationPlan) -> Path:
    """The experiment's folder: ``plan.out``, or a fresh timestamped one under runs/."""
    if plan.out:
        return Path(plan.out)
    return Path("runs") / f"degradation-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def schedule(plan: DegradationPlan) -> dict[str, Any]:
    """The overrides every network shares: steps, milestones scaled with them, evaluation spacing.

    Changing the length keeps the recipe's milestones at the same fractions of the run (the
    digits recipe's 200, 300 of 400 become 150, 225 of 300), so a shorter run is the same recipe.
    """
    base = RECIPES[plan.recipe]
    steps = plan.steps
    if steps is None and plan.recipe == "digits":
        steps = OFFLINE_STEPS
    overrides: dict[str, Any] = {}
    if steps is not None and base.get("epochs") is None:
        ratio = steps / base["steps"]
        if base.get("milestone_unit", "step") == "step":
            overrides["milestones"] = tuple(max(1, round(m * ratio)) for m in base["milestones"])
        overrides["steps"] = steps
        overrides["eval_every"] = max(1, steps // EVALS_PER_RUN)
    elif steps is not None:
        raise TrainError(f"recipe {plan.recipe!r} counts epochs; --steps does not apply to it")
    if plan.batch_size is not None:
        overrides["batch_size"] = plan.batch_size
    return overrides


def plan_runs(plan: DegradationPlan, root: Path | None = None) -> list[PlannedRun]:
    """Every (depth, seed, plain/resnet) run, shallow first, plain before residual."""
    root = root or Path("runs") / "degradation"
    shared = schedule(plan)
    runs = []
    for depth in plan.depths:
        for seed in range(plan.seeds):
            for kind in KINDS:
                network = f"{kind}{depth}"
                config = recipe(
                    plan.recipe,
                    **shared,
                    module=str(Path(plan.generated) / f"{network}.py"),
                    data=plan.data,
                    seed=seed,
                    device=plan.device,
                    threads=plan.threads,
                    progress=plan.progress,
                    out=str(root / "runs" / f"{network}-seed{seed}"),
                )
                runs.append(PlannedRun(kind, depth, seed, config))
    return runs


@dataclass(frozen=True)
class DegradationResult:
    """Where everything went, and the table's rows."""

    out: Path
    figure: Path
    table_md: Path
    table_json: Path
    fig7: Path
    fig7_json: Path
    rows: tuple[dict[str, Any], ...]


def run_degradation(plan: DegradationPlan) -> DegradationResult:
    """Train every planned run, then write the figure, the table and Fig. 7; see the module doc."""
    from resdsl.experiments.figures import draw_figures
    from resdsl.train.report import ExperimentProgress
    from resdsl.train.runner import train

    out = out_dir(plan)
    runs = plan_runs(plan, out)
    missing = [r.config.module for r in runs if not Path(r.config.module).is_file()]
    if missing:
        raise TrainError(
            f"missing generated module(s): {', '.join(sorted(set(missing)))}; "
            "compile the specs first (resdsl compile specs/*.res)"
        )
    if out.exists() and not out.is_dir():
        raise TrainError(f"{out} is a file, not a folder; pick another --out")
    if out.exists() and any(out.iterdir()):
        raise TrainError(f"{out} already holds something; pick another --out")
    made_out = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainError(f"cannot make the output folder {out}: {error.strerror}") from None
    (out / "plan.json").write_text(
        json.dumps(
            {
                "plan": dataclasses.asdict(plan),
                # what every run shares; module, out and seed are each run's own
                "config": {
                    k: v
                    for k, v in runs[0].config.to_dict().items()
                    if k not in ("module", "out", "seed")
                },
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    finals: dict[str, list[dict[str, Any]]] = {}
    # runs in epochs have no step count before their data is loaded: no overall ETA for them
    lengths = [0 if r.config.epochs else r.config.steps for r in runs]
    tracker = ExperimentProgress(
        [
            (r.label, r.config.module, n, r.config.batch_size)
            for r, n in zip(runs, lengths, strict=True)
        ]
    )
    for index, run in enumerate(runs):
        try:
            summary = train(run.config, context=tracker.start(index))
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                tracker.stopped(index, out)
            # Bad data, a bad option or an early Ctrl-C shows itself in the first run: take back
            # what this call wrote (the folder too, if it made it), so that the same command can
            # be run again. After a finished run the folder holds results, and stays.
            if index == 0:
                for path in out.iterdir():
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                if made_out:
                    out.rmdir()
            raise
        tracker.finish(index)
        finals.setdefault(run.network, []).append(
            dict(
                seed=run.seed,
                train_error=summary.final_train_error,
                test_error=summary.final_test_error,
                best_test_error=summary.best_test_error,
                seconds=summary.seconds,
            )
        )
    rows = tuple(table_rows(runs, finals))
    table_md, table_json = write_table(rows, out, plan)
    figure, fig7, fig7_json = draw_figures(out, plan)  # from the runs' files, as --redraw does
    return DegradationResult(out, figure, table_md, table_json, fig7, fig7_json, rows)


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def table_rows(
    runs: Sequence[PlannedRun], finals: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """One row per network (plain before residual, shallow first): errors as fractions."""
    rows = []
    seen: set[str] = set()
    for run in sorted(runs, key=lambda r: (KINDS.index(r.kind), r.depth)):
        if run.network in seen:
            continue
        seen.add(run.network)
        per_seed = list(finals[run.network])
        train_mean, train_std = _mean_std([f["train_error"] for f in per_seed])
        test_mean, test_std = _mean_std([f["test_error"] for f in per_seed])
        rows.append(
            dict(
                network=run.network,
                kind=run.kind,
                depth=run.depth,
                seeds=len(per_seed),
                train_error_mean=train_mean,
                train_error_std=train_std,
                test_error_mean=test_mean,
                test_error_std=test_std,
                runs=per_seed,
            )
        )
    return rows


def _pct(mean: float, std: float | None) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{100 * mean:.2f}" + (f" ± {100 * std:.2f}" if std is not None else "")


def write_table(
    rows: Sequence[Mapping[str, Any]], out: Path, plan: DegradationPlan
) -> tuple[Path, Path]:
    """``table.md`` (errors in percent) and ``table.json`` (fractions, every seed's values)."""
    lines = [
        f"Final errors (%), data {plan.data}, recipe {plan.recipe}, "
        f"{rows[0]['seeds'] if rows else 0} seed(s); mean ± std over seeds.",
        "",
        "| network | layers | seeds | training error | test error |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['network']} | {row['depth']} | {row['seeds']} "
            f"| {_pct(row['train_error_mean'], row['train_error_std'])} "
            f"| {_pct(row['test_error_mean'], row['test_error_std'])} |"
        )
    table_md, table_json = out / "table.md", out / "table.json"
    table_md.write_text("\n".join(lines) + "\n")
    table_json.write_text(json.dumps(list(rows), indent=2) + "\n")
    return table_md, table_json


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


__all__ = [
    "DegradationPlan",
    "DegradationResult",
    "PlannedRun",
    "plan_runs",
    "run_degradation",
    "schedule",
    "write_table",
]
