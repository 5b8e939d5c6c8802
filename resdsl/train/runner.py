"""The training loop: ``train(config) -> RunSummary``.

    >>> from resdsl.train.config import recipe
    >>> summary = train(recipe("digits", module="generated/resnet20.py"))  # doctest: +SKIP

NOTE: the order is "check everything, then write". The generated module, the data, the checkpoint
(on resume) and the output folder are all validated before the first byte is written, so a bad input
never touches earlier outputs. The loop keeps no state outside its locals: ``train()`` can be called
again in the same process. Everything a resumed run needs (weights, optimiser, step, warm-up flag,
the running train-error window, RNG state) is in ``last.pt``; batches and augmentation are pure
functions of (seed, step, rank), so resuming reproduces the interrupted run exactly.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from resdsl.train import distributed
from resdsl.train.batches import Source, open_source
from resdsl.train.checkpoint import (
    check_matches,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
)
from resdsl.train.config import TrainConfig, learning_rate
from resdsl.train.errors import TrainError
from resdsl.train.module import count_params, load_generated, weighted_depth
from resdsl.train.plot import plot_run
from resdsl.train.report import MetricsLog, ProgressBar, print_summary, read_metrics, stderr_console

WARMUP_WINDOW = 20  # iterations per warm-up check of the training error
PROGRESS_EVERY = 25  # iterations between progress-bar statistics (each one waits for the device)


@dataclass(frozen=True)
class RunSummary:
    """What a finished run reports; errors are fractions in [0, 1]."""

    out_dir: Path
    network: str
    data: str
    device: str
    world_size: int
    steps: int
    final_train_error: float
    final_val_error: float | None
    final_test_error: float
    best_test_error: float
    seconds: float  # training wall time over all segments of a resumed run, evaluations excluded
    images_per_s: float  # training throughput of this segment, all ranks together


def resolve(config: TrainConfig) -> tuple[TrainConfig, dict[str, Any] | None]:
    """On resume, the checkpoint's config wins, except for how (not what) to run."""
    if not config.resume:
        if not config.module:
            raise TrainError("no generated module given: pass generated/NAME.py (or --resume DIR)")
        return config, None
    run_dir = Path(config.resume)
    state = load_checkpoint(run_dir / "last.pt")
    saved = TrainConfig.from_dict(state["config"])
    how = {
        k: getattr(config, k)
        for k in ("device", "compile", "compile_mode", "threads", "progress", "workers")
    }
    merged = dataclasses.replace(
        saved, **how, resume=str(run_dir), out=str(run_dir), module=config.module or saved.module
    )
    return merged, state


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
    if not config.resume and out.exists() and any(out.iterdir()):
        raise TrainError(
            f"{out} already holds a run; continue it with --resume {out} or pick another --out"
        )
    return out


def train(config: TrainConfig) -> RunSummary:
    """Train the generated network ``config.module`` as ``config`` says; see the module NOTE."""
    config, state = resolve(config)
    generated = load_generated(config.module)
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    ranks = distributed.open_ranks(use_cuda)
    old_threads = torch.get_num_threads()
    finished = False
    try:
        run, loop = _setup(config, state, generated, ranks)
        summary = _loop(run, loop)
        finished = True
        return summary
    finally:
        torch.set_num_threads(old_threads)
        distributed.close(ranks, finished)


@dataclass(frozen=True)
class _Run:
    """Everything fixed for the length of a run."""

    config: TrainConfig
    network: str
    params: int
    out: Path
    device: torch.device
    ranks: distributed.Ranks
    source: Source
    model: nn.Module  # the plain module: checkpoints, buffers, evaluation
    train_model: nn.Module  # what the loop calls: maybe DDP-wrapped, maybe compiled
    eval_model: nn.Module  # maybe compiled
    optimizer: torch.optim.Optimizer
    amp: bool
    total: int
    milestones: tuple[int, ...]
    log: MetricsLog

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)


@dataclass
class _Loop:
    """What changes as the run goes: exactly what ``last.pt`` stores besides weights/optimiser."""

    step: int
    warming: bool
    best: float  # lowest validation (or test) error so far
    seconds: float  # training seconds of earlier segments and windows
    window: (
        torch.Tensor
    )  # device sums since the last evaluation: loss, wrong, seen, warm-up wrong, seen


def _setup(
    config: TrainConfig, state: dict[str, Any] | None, generated: Any, ranks: distributed.Ranks
) -> tuple[_Run, _Loop]:
    """Check everything (module, data, checkpoint, output folder), then build the run."""
    device = pick_device(config, ranks.local_rank)
    cuda = device.type == "cuda"
    compiled = cuda if config.compile is None else config.compile
    channels_last = cuda if config.channels_last is None else config.channels_last
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // ranks.local_world))
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    source = open_source(
        config,
        generated.input_shape,
        int(generated.meta["classes"]),
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
    loop = _Loop(
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
        optimizer.load_state_dict(state["optimizer"])
        loop = _Loop(
            int(state["step"]),
            bool(state["warming"]),
            float(state["best_error"]),
            float(state["seconds"]),
            state["window"].to(device) if ranks.leader else loop.window,
        )
        torch.set_rng_state(state["rng_cpu"])
    out = prepare_out(config, generated.name, ranks)
    distributed.barrier(ranks)  # every rank has checked everything; now rank 0 may write
    log = MetricsLog(out / "metrics.jsonl")
    if ranks.leader:
        out.mkdir(parents=True, exist_ok=True)
        if state is not None:
            log.truncate_after(loop.step)
    train_model: nn.Module = model
    if ranks.active:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None
        )
    eval_model: nn.Module = model
    if compiled:  # explicit and announced: the first iterations pay for it
        if ranks.leader:
            stderr_console().print(
                f"compiling {generated.name} with torch.compile (mode "
                f"{config.compile_mode}); the first iterations are slower"
            )
        train_model = torch.compile(train_model, mode=config.compile_mode)
        eval_model = torch.compile(model, mode=config.compile_mode)
    spe = source.steps_per_epoch
    run = _Run(
        config,
        generated.name,
        params,
        out,
        device,
        ranks,
        source,
        model,
        train_model,
        eval_model,
        optimizer,
        cuda if config.amp is None else config.amp,
        config.total_steps(spe),
        config.milestone_steps(spe),
        log,
    )
    return run, loop


def _loop(run: _Run, loop: _Loop) -> RunSummary:
    config, ranks = run.config, run.ranks
    console = stderr_console()
    show = ranks.leader and (console.is_terminal if config.progress is None else config.progress)
    bar = ProgressBar(run.total, loop.step, show, console)
    if config.resume:
        bar.log(f"resuming {run.out} at iteration {loop.step} of {run.total}")
    batches = run.source.train_batches(loop.step)
    last: dict[str, Any] = {}
    images, train_s = 0, 0.0  # this segment's, for the summary's throughput
    started, window_images = time.perf_counter(), 0
    run.model.train()
    while loop.step < run.total:
        lr = _iteration(run, loop, next(batches))
        window_images += config.batch_size
        if bar.enabled and loop.step % PROGRESS_EVERY == 0:  # reads the device: only when shown
            loss, wrong, seen = loop.window[:3].tolist()
            rate = window_images / (time.perf_counter() - started)
            bar.update(
                loop.step,
                {"loss": loss / seen, "error": wrong / seen, "lr": lr, "images_per_s": rate},
            )
        else:
            bar.update(loop.step)
        if loop.step % config.eval_every and loop.step != run.total:
            if config.ckpt_every and loop.step % config.ckpt_every == 0:
                _save(run, loop, "last.pt", extra_seconds=time.perf_counter() - started)
            continue
        sums = distributed.all_sum(ranks, loop.window[:3])  # syncs the device: timings are real
        elapsed = time.perf_counter() - started
        loop.seconds += elapsed
        loop.window[:3] = 0
        images, train_s = images + window_images, train_s + elapsed
        last = _evaluate(run, loop, lr, sums, window_images / elapsed)
        bar.update(
            loop.step,
            {
                "loss": last["train_loss"],
                "error": last["train_error"],
                "lr": lr,
                "images_per_s": last["images_per_s"],
            },
        )
        started, window_images = time.perf_counter(), 0
    bar.close()
    records = read_metrics(run.log.path)
    last = last or (records or [{}])[-1]  # resumed a finished run: report what it logged
    summary = RunSummary(
        out_dir=run.out,
        network=run.network,
        data=config.data,
        device=str(run.device),
        world_size=ranks.world,
        steps=loop.step,
        final_train_error=last.get("train_error", float("nan")),
        final_val_error=last.get("val_error"),
        final_test_error=last.get("test_error", float("nan")),
        best_test_error=min((r["test_error"] for r in records), default=float("nan")),
        seconds=loop.seconds,
        images_per_s=images / train_s if train_s else 0.0,
    )
    if ranks.leader:
        print_summary(console, summary)
    return summary


def _iteration(run: _Run, loop: _Loop, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
    """One SGD step at the scheduled lr; returns that lr. Never waits for the device."""
    config = run.config
    lr = learning_rate(
        loop.step,
        base=config.lr,
        milestones=run.milestones,
        decay=config.lr_decay,
        warming=loop.warming,
        warmup_lr=config.warmup_lr,
    )
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    x, y = batch
    with run.autocast():
        logits = run.train_model(x)
        loss = F.cross_entropy(logits, y)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    wrong = (logits.detach().argmax(1) != y).sum().double()
    seen = torch.full((), y.numel(), device=y.device, dtype=torch.float64)
    loop.window += torch.stack([loss.detach().double() * seen, wrong, seen, wrong, seen])
    loop.step += 1
    if loop.warming and loop.step % WARMUP_WINDOW == 0:
        warm = distributed.all_sum(run.ranks, loop.window[3:5])
        loop.warming = bool(warm[0] / warm[1] >= config.warmup_error)
        loop.window[3:5] = 0
    return lr


def _evaluate(run: _Run, loop: _Loop, lr: float, sums: torch.Tensor, rate: float) -> dict[str, Any]:
    """Validation/test error, one metrics line, the plot, best.pt and last.pt."""
    distributed.sync_buffers(run.ranks, run.model)
    run.model.eval()
    with torch.no_grad(), run.autocast():
        val = _error(run.eval_model, run.source, "val", run.ranks) if run.source.has_val else None
        test = _error(run.eval_model, run.source, "test", run.ranks)
    run.model.train()
    record = dict(
        step=loop.step,
        epoch=round(loop.step / run.source.steps_per_epoch, 3),
        lr=lr,
        train_loss=float(sums[0] / sums[2]),
        train_error=float(sums[1] / sums[2]),
        val_error=val,
        test_error=test,
        images_per_s=rate,
        seconds=loop.seconds,
    )
    chosen = val if val is not None else test
    if run.ranks.leader:
        run.log.append(record)
        plot_run(read_metrics(run.log.path), run.out / "errors.png", run.network)
    if chosen < loop.best:
        loop.best = chosen
        _save(run, loop, "best.pt")
    _save(run, loop, "last.pt")
    return record


def _error(model: nn.Module, source: Source, which: str, ranks: distributed.Ranks) -> float:
    """The fraction misclassified, over every rank's shard of ``which``."""
    counts = torch.zeros(2, dtype=torch.float64, device=next(model.parameters()).device)
    for x, y in source.eval_batches(which):
        wrong = (model(x).argmax(1) != y).sum()
        counts += torch.stack([wrong.double(), torch.full_like(counts[0], y.numel())])
    counts = distributed.all_sum(ranks, counts)
    return float(counts[0] / counts[1]) if counts[1] else float("nan")


def _save(run: _Run, loop: _Loop, name: str, extra_seconds: float = 0.0) -> None:
    """A checkpoint on rank 0, holding every rank's running sums so a resumed window is exact.

    Collective (all ranks must call it): the sums are gathered before rank 0 writes.
    """
    window = distributed.all_sum(run.ranks, loop.window)
    if not run.ranks.leader:
        return
    save_checkpoint(
        run.out / name,
        dict(
            network=run.network,
            params=run.params,
            config=run.config.to_dict(),
            step=loop.step,
            warming=loop.warming,
            best_error=loop.best,
            window=window.cpu(),
            model=run.model.state_dict(),
            optimizer=run.optimizer.state_dict(),
            rng_cpu=torch.get_rng_state(),
            seconds=loop.seconds + extra_seconds,
        ),
    )
