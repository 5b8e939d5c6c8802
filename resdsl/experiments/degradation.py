"""The degradation experiment (He et al. 2015, Fig. 1, 6 and 7): plain against residual nets.

For each depth and each seed, ``plainD`` and ``resnetD`` are trained under one recipe and one
schedule (no per-network tuning), then the outputs are written into one folder::

    OUT/runs/NETWORK-seedS/   every run's metrics.jsonl, last.pt, best.pt, errors.png
    OUT/fig6.png              training (dashed) and test (bold) error; plain left, residual right
    OUT/table.md, table.json  final training and test error, mean ± std over seeds
    OUT/fig7.png, fig7.json   std of every 3x3 layer's response (after BN, before addition/ReLU),
                              every seed's

The plan and its runs are :mod:`resdsl.experiments.plan`'s, the figures
:mod:`resdsl.experiments.figures`'s (both read by ``--redraw`` without training). torch is
imported inside the functions that train or measure, never at module level: the CLI imports
this module for ``--help`` and the compiler commands must stay torch-free.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resdsl.experiments.figures import draw_figures
from resdsl.experiments.plan import KINDS, DegradationPlan, PlannedRun, out_dir, plan_runs, schedule
from resdsl.train.errors import TrainError


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


__all__ = [  # the plan's names too, where callers have always found them
    "DegradationPlan",
    "DegradationResult",
    "PlannedRun",
    "out_dir",
    "plan_runs",
    "run_degradation",
    "schedule",
    "write_table",
]
