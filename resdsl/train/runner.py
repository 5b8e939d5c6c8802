"""The training run: ``train(config) -> RunSummary``; the loop itself is in ``loop.py``.

Used like this (a run of minutes, so shown rather than run as a doctest; tests/train runs it)::

    from resdsl.train.config import recipe
    summary = train(recipe("digits", module="generated/resnet20.py", steps=300))
    summary.final_test_error, summary.out_dir

NOTE: the order is "check everything, then write". The checkpoint (on resume: its schema, and the
module it names), the generated module, the data, the weights and optimiser state, the output folder
and a timed probe of the network are all checked before the first byte is written, so a bad input
never touches earlier outputs. A fresh run that fails or is stopped before it saved a checkpoint
takes back what it wrote (the folder too, if it made it). The loop keeps no state outside its
locals: ``train()`` can be called again in the same process. Everything a resumed run needs is in
``last.pt``; batches and augmentation are pure functions of (seed, step, rank), so resuming
reproduces the interrupted run exactly.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resdsl.train import distributed
from resdsl.train.batches import open_source
from resdsl.train.checkpoint import (
    atomic_write,
    check_matches,
    check_state,
    load_checkpoint,
    load_model_state,
    load_optimizer_state,
    restore_rng,
    write_failed,
)
from resdsl.train.config import TrainConfig
from resdsl.train.errors import TrainError
from resdsl.train.estimate import Machine, make_plan
from resdsl.train.loop import RunSummary, run_loop
from resdsl.train.module import Generated, count_params, file_sha256, load_generated, weighted_depth
from resdsl.train.progress import Interrupted, ignoring_sigint
from resdsl.train.report import MetricsLog, RunContext, stderr_console
from resdsl.train.session import LoopState, Run

# How (not what) to run: what --resume takes from the command line instead of the checkpoint.
HOW = ("device", "compile", "compile_mode", "threads", "progress", "progress_every", "workers")

__all__ = ["RunSummary", "resolve", "train"]


def resolve(
    config: TrainConfig, steps: int | None = None, epochs: float | None = None
) -> tuple[TrainConfig, dict[str, Any] | None]:
    """On resume, the checkpoint's config wins, except for how to run and, when given, the length
    (``steps``/``epochs``: the new total; milestones stay at their absolute iterations)."""
    if not config.resume:
        if steps is not None or epochs is not None:
            raise TrainError(
                "steps=/epochs= extend a resumed run; a new run takes them from config"
            )
        if not config.module:
            raise TrainError("no generated module given: pass generated/NAME.py (or --resume DIR)")
        return config, None
    run_dir = Path(config.resume)
    path = run_dir / "last.pt"
    state = load_checkpoint(path)
    check_state(path, state)
    try:
        saved = TrainConfig.from_dict(state["config"])
    except TrainError as e:
        raise TrainError(f"{path}: checkpoint's {e}") from None
    except TypeError as e:  # a key of the wrong kind (not a str) in the mapping
        raise TrainError(f"{path}: checkpoint's config is malformed ({e})") from None
    length: dict[str, Any] = {}
    if steps is not None:
        length = dict(steps=steps, epochs=None)
    elif epochs is not None:
        length = dict(epochs=epochs)
    merged = dataclasses.replace(
        saved,
        **{k: getattr(config, k) for k in HOW},
        **length,
        resume=str(run_dir),
        out=str(run_dir),
        module=config.module or recorded_module(path, saved.module, state.get("module_sha256")),
    )
    return merged, state


def recorded_module(path: Path, module: str, sha256: Any) -> str:
    """The module a checkpoint names, only if it is byte for byte the one the run started with:
    a checkpoint is data, and must not be able to choose which code ``--resume`` runs."""
    rerun = f"name the module to run: resdsl train MODULE --resume {path.parent}"
    if not isinstance(sha256, str) or not sha256:
        raise TrainError(f"{path} records no sha256 of its module {module!r}; {rerun}")
    if not module or not Path(module).is_file():
        raise TrainError(f"{path}: its module {module!r} is not there; {rerun}")
    if file_sha256(module) != sha256:
        raise TrainError(
            f"{path}: {module} is not the file this run started with (its sha256 differs); {rerun}"
        )
    return module


def pick_device(config: TrainConfig, ranks_local: int) -> torch.device:
    if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainError("--device cuda, but torch sees no CUDA device; use --device cpu")
        return torch.device("cuda", ranks_local)
    return torch.device("cpu")


def prepare_out(config: TrainConfig, network: str, ranks: distributed.Ranks) -> Path:
    """The output folder; a fresh run refuses a folder that already holds something."""
    stamp = distributed.from_leader(ranks, datetime.now().strftime("%Y%m%d-%H%M%S"))
    out = Path(config.out) if config.out else Path("runs") / f"{network}-{stamp}"
    if out.exists() and not out.is_dir():
        raise TrainError(f"{out} is a file, not a folder; pick another --out")
    if not config.resume and out.exists() and any(out.iterdir()):
        raise TrainError(
            f"{out} already holds a run; continue it with --resume {out} or pick another --out"
        )
    return out


@dataclass
class _Owned:
    """A fresh run's output folder, once it is known to be ours (new, or empty when we came)."""

    out: Path | None = None
    made: bool = False  # we create it (so taking back removes the folder too)


def train(
    config: TrainConfig,
    *,
    steps: int | None = None,
    epochs: float | None = None,
    context: RunContext | None = None,
) -> RunSummary:
    """Train the generated network ``config.module`` as ``config`` says; see the module NOTE.

    ``steps``/``epochs`` extend (never shrink) a resumed run to that total. ``context`` labels the
    progress lines when the run is one of several (an experiment). Ctrl-C (or SIGTERM) saves
    ``last.pt`` at the current iteration and raises :class:`~resdsl.train.progress.Interrupted`.
    """
    config, state = resolve(config, steps, epochs)
    generated = load_generated(config.module)
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    ranks = distributed.open_ranks(use_cuda)
    old_threads = torch.get_num_threads()
    owned = _Owned()
    finished = False
    try:
        run, loop = _setup(config, state, generated, ranks, owned)
        summary = run_loop(run, loop, context)
        finished = True
        return summary
    except Interrupted:
        finished = True  # every rank stopped at the same iteration and saved together
        raise
    except KeyboardInterrupt:  # before the loop, or a second Ctrl-C: no new checkpoint
        with ignoring_sigint():  # a third Ctrl-C must not cut the clean-up short
            if ranks.leader:
                _take_back(owned)
            where = owned.out or (Path(config.resume) if config.resume else None)
            saved = where is not None and (where / "last.pt").is_file()
            stopped = Interrupted(where, None, 0, saved=saved)
        raise stopped from None
    except BaseException:
        if ranks.leader:
            _take_back(owned)
        raise
    finally:
        torch.set_num_threads(old_threads)
        distributed.close(ranks, finished)


def _take_back(owned: _Owned) -> None:
    """A fresh run without a checkpoint leaves nothing: what it wrote goes, and the folder too if
    it made it (a folder the user had, empty, stays)."""
    out = owned.out
    if out is None or not out.is_dir() or (out / "last.pt").exists():
        return
    if owned.made:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in out.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _setup(
    config: TrainConfig,
    state: dict[str, Any] | None,
    generated: Generated,
    ranks: distributed.Ranks,
    owned: _Owned,
) -> tuple[Run, LoopState]:
    """Check everything (module, data, checkpoint, output folder, a probe), then build the run."""
    device = pick_device(config, ranks.local_rank)
    cuda = device.type == "cuda"
    compiled = cuda if config.compile is None else config.compile
    channels_last = cuda if config.channels_last is None else config.channels_last
    amp = cuda if config.amp is None else config.amp
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // ranks.local_world))
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    source = open_source(
        config,
        generated.input_shape,
        generated.meta["classes"],
        device=device,
        rank=ranks.rank,
        world=ranks.world,
        channels_last=channels_last,
    )
    torch.manual_seed(config.seed)
    model = generated.build(source.classes).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = count_params(model)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    deep = weighted_depth(model) >= config.warmup_depth
    loop = LoopState(
        step=0,
        warming=config.warmup == "on" or (config.warmup == "auto" and deep),
        best=float("inf"),
        seconds=0.0,
        window=torch.zeros(5, device=device, dtype=torch.float64),
    )
    if state is not None:
        path = Path(config.resume or "") / "last.pt"
        check_matches(path, state, generated.name, params)
        load_model_state(path, model, state["model"])
        load_optimizer_state(path, optimizer, state["optimizer"])
        loop = LoopState(
            state["step"],
            state["warming"],
            float(state["best_error"]),
            float(state["seconds"]),
            state["window"].to(device) if ranks.leader else loop.window,
        )
        restore_rng(path, state["rng_cpu"])
    spe = source.steps_per_epoch
    total = config.total_steps(spe)
    if total < loop.step:
        raise TrainError(
            f"{config.resume} has already done {loop.step} iterations; a run cannot be shortened "
            f"to {total} (give --steps {loop.step} or more)"
        )
    out = prepare_out(config, generated.name, ranks)
    if not config.resume:
        owned.out, owned.made = out, not out.exists()
    machine = Machine(device, compiled, amp, channels_last)
    plan = make_plan(config, generated, model, source, ranks, out, (loop.step, total), machine)
    distributed.barrier(ranks)  # every rank has checked everything; now rank 0 may write
    log = MetricsLog(out / "metrics.jsonl")
    if ranks.leader:
        try:
            out.mkdir(parents=True, exist_ok=True)
            if state is not None:
                atomic_write(log.path, log.writer(log.kept_until(loop.step)))
        except OSError as e:
            raise write_failed(out, e) from None
    train_model: nn.Module = model
    if ranks.active:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None
        )
    eval_model: nn.Module = model
    if compiled:  # explicit and announced: the first iterations pay for it
        if ranks.leader:
            stderr_console().print(
                f"compiling {generated.name} with torch.compile (mode {config.compile_mode}); "
                "the first iterations are slower"
            )
        train_model = torch.compile(train_model, mode=config.compile_mode)
        eval_model = torch.compile(model, mode=config.compile_mode)
    run = Run(
        config,
        generated.name,
        params,
        plan.multiply_adds,
        generated.sha256,
        out,
        device,
        ranks,
        source,
        model,
        train_model,
        eval_model,
        optimizer,
        amp,
        total,
        config.milestone_steps(spe),
        log,
        plan,
    )
    return run, loop
