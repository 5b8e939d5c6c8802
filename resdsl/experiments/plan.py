"""What the degradation experiment trains: the plan (depths, seeds, data, recipe) and its runs.

Kept apart from the experiment's driver (:mod:`resdsl.experiments.degradation`) and its figures
(:mod:`resdsl.experiments.figures`) because both read it: the driver trains the runs, the
figures find their files by the same names.

    >>> plan = DegradationPlan(depths=(20, 56), seeds=1)
    >>> [(run.network, run.seed) for run in plan_runs(plan)]  # doctest: +NORMALIZE_WHITESPACE
    [('plain20', 0), ('resnet20', 0), ('plain56', 0), ('resnet56', 0)]
"""

from __future__ import annotations

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


__all__ = ["KINDS", "DegradationPlan", "PlannedRun", "out_dir", "plan_runs", "schedule"]
