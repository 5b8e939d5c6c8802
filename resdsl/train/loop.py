"""The training loop: iterations, evaluations, checkpoints, progress, and a clean stop.

Every device read (statistics for the progress display, the stop agreement between processes) is
rare: about once a second on a terminal, every ``progress_every`` seconds in a log, so the CPU keeps
running ahead of the GPU. An evaluation's outputs are written as one group (``Staged``): a failed
write leaves the previous metrics.jsonl, errors.png and checkpoints as they were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from resdsl.train import distributed
from resdsl.train.batches import Source
from resdsl.train.checkpoint import Staged, checkpoint_writer, write_failed
from resdsl.train.config import learning_rate
from resdsl.train.plot import runs_png
from resdsl.train.progress import Interrupted, Progress, StopOnSignal, choose_mode
from resdsl.train.report import RunContext, print_summary, read_metrics, stderr_console
from resdsl.train.session import LoopState, Run

WARMUP_WINDOW = 20  # iterations per warm-up check of the training error
# With several processes a stop request is agreed on every this many iterations (one tiny
# all-reduce); a single process checks its own flag after every iteration, for free.
STOP_CHECK_EVERY = 10


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


def run_loop(run: Run, loop: LoopState, context: RunContext | None = None) -> RunSummary:
    config, ranks = run.config, run.ranks
    console = stderr_console()
    progress = Progress(
        mode=choose_mode(config.progress, console.is_terminal) if ranks.leader else "off",
        console=console,
        total=run.total,
        start=loop.step,
        every_s=config.progress_every,
        evaluations=run.plan.evaluations,
        step_estimate_s=run.plan.step_s,
        eval_estimate_s=run.plan.eval_s,
        label=context.label if context else "",
        later_s=_later(run, context),
        leader=ranks.leader,
    )
    batches = run.source.train_batches(loop.step)
    last: dict[str, Any] = {}
    images, train_s = 0, 0.0  # this segment's, for the summary's throughput
    started, window_images = time.perf_counter(), 0
    stopped = False
    run.model.train()
    with StopOnSignal() as stop:
        try:
            while loop.step < run.total:
                if _stop_agreed(run, loop, stop):
                    stopped = True
                    break
                lr = _iteration(run, loop, next(batches))
                window_images += config.batch_size
                if progress.due():  # reads the device: only as often as it is shown
                    loss, wrong, seen = loop.window[:3].tolist()
                    rate = window_images / (time.perf_counter() - started)
                    stats = {"loss": loss / seen, "error": wrong / seen, "lr": lr}
                    progress.update(loop.step, {**stats, "images_per_s": rate})
                else:
                    progress.update(loop.step)
                if loop.step % config.eval_every and loop.step != run.total:
                    if config.ckpt_every and loop.step % config.ckpt_every == 0:
                        _save(run, loop, extra_seconds=time.perf_counter() - started)
                    continue
                sums = distributed.all_sum(ranks, loop.window[:3])  # syncs: timings are real
                elapsed = time.perf_counter() - started
                loop.seconds += elapsed
                loop.window[:3] = 0
                images, train_s = images + window_images, train_s + elapsed
                evaluating = time.perf_counter()
                last = _evaluate(run, loop, lr, sums, window_images / elapsed)
                progress.evaluated(last, time.perf_counter() - evaluating)
                started, window_images = time.perf_counter(), 0
            if stopped:
                _save(run, loop, extra_seconds=time.perf_counter() - started)
        finally:
            progress.close()
    if stopped:
        raise Interrupted(run.out, loop.step, run.total, saved=True)
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


def _later(run: Run, context: RunContext | None) -> Any:
    """seconds(images/s) of the runs after this one, at this run's measured FLOP rate."""
    if context is None or not context.later_flops or not run.multiply_adds:
        return None
    flops_per_image = 6 * run.multiply_adds
    return lambda rate: context.later_flops / (flops_per_image * rate) if rate > 0 else None


def _stop_agreed(run: Run, loop: LoopState, stop: StopOnSignal) -> bool:
    """Whether every process stops before this iteration (all at the same one, so that the
    checkpoint they write together is consistent)."""
    if not run.ranks.active:
        return stop.requested is not None
    if loop.step % STOP_CHECK_EVERY:
        return False
    flag = torch.tensor([1.0 if stop.requested else 0.0], device=run.device)
    return bool(distributed.all_sum(run.ranks, flag).item() > 0)


def _iteration(run: Run, loop: LoopState, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
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


def _evaluate(
    run: Run, loop: LoopState, lr: float, sums: torch.Tensor, rate: float
) -> dict[str, Any]:
    """Validation/test error, then metrics.jsonl, errors.png, best.pt and last.pt as one group."""
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
    improved = chosen < loop.best
    if improved:
        loop.best = chosen
    window = distributed.all_sum(run.ranks, loop.window)  # collective: every rank calls it
    if run.ranks.leader:
        records = [*run.log.kept_until(loop.step - 1), record]
        png = runs_png({run.network: records}, title=run.network)
        state = checkpoint_writer(_state(run, loop, window))
        with _writing(run.out), Staged() as group:
            group.add(run.log.path, run.log.writer(records))
            group.add(run.out / "errors.png", lambda f: f.write(png))
            if improved:
                group.add(run.out / "best.pt", state)
            group.add(run.out / "last.pt", state)
    return record


def _error(model: nn.Module, source: Source, which: str, ranks: distributed.Ranks) -> float:
    """The fraction misclassified, over every rank's shard of ``which``."""
    counts = torch.zeros(2, dtype=torch.float64, device=next(model.parameters()).device)
    for x, y in source.eval_batches(which):
        wrong = (model(x).argmax(1) != y).sum()
        counts += torch.stack([wrong.double(), torch.full_like(counts[0], y.numel())])
    counts = distributed.all_sum(ranks, counts)
    return float(counts[0] / counts[1]) if counts[1] else float("nan")


def _state(run: Run, loop: LoopState, window: torch.Tensor, extra_seconds: float = 0.0) -> dict:
    return dict(
        network=run.network,
        params=run.params,
        config=run.config.to_dict(),
        module_sha256=run.module_sha256,
        step=loop.step,
        warming=loop.warming,
        best_error=loop.best,
        window=window.cpu(),
        model=run.model.state_dict(),
        optimizer=run.optimizer.state_dict(),
        rng_cpu=torch.get_rng_state(),
        seconds=loop.seconds + extra_seconds,
    )


def _save(run: Run, loop: LoopState, extra_seconds: float = 0.0) -> None:
    """last.pt on rank 0, holding every rank's running sums so a resumed window is exact.

    Collective (all ranks must call it): the sums are gathered before rank 0 writes.
    """
    window = distributed.all_sum(run.ranks, loop.window)
    if not run.ranks.leader:
        return
    with _writing(run.out), Staged() as group:
        group.add(run.out / "last.pt", checkpoint_writer(_state(run, loop, window, extra_seconds)))


class _writing:
    """OSError while writing outputs (a full disk, a vanished folder) -> one TrainError line."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        if isinstance(error, OSError):
            raise write_failed(self.out, error) from error
