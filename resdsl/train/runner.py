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
    try:
        return _train(config, state, generated, ranks)
    finally:
        torch.set_num_threads(old_threads)
        distributed.close(ranks)


def _train(
    config: TrainConfig, state: dict[str, Any] | None, generated: Any, ranks: distributed.Ranks
) -> RunSummary:
    device = pick_device(config, ranks.local_rank)
    cuda = device.type == "cuda"
    compiled = cuda if config.compile is None else config.compile
    amp = cuda if config.amp is None else config.amp
    channels_last = cuda if config.channels_last is None else config.channels_last
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // ranks.local_world))
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = (
            True  # fixed input shapes: let cuDNN pick the fastest kernels
        )
    source: Source = open_source(
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
    if state is not None:
        check_matches(Path(config.resume) / "last.pt", state, generated.name, params)
    out = prepare_out(config, generated.name, ranks)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    spe = source.steps_per_epoch
    total, milestones = config.total_steps(spe), config.milestone_steps(spe)
    step, seconds_before, best = 0, 0.0, float("inf")
    warming = config.warmup == "on" or (
        config.warmup == "auto" and weighted_depth(model) >= config.warmup_depth
    )
    # Running sums on the device, read only at evaluations: loss, wrong, seen, warm-up wrong, seen.
    window = torch.zeros(5, device=device, dtype=torch.float64)
    if state is not None:
        load_model_state(Path(config.resume) / "last.pt", model, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, warming, best = int(state["step"]), bool(state["warming"]), float(state["best_error"])
        seconds_before = float(state["seconds"])
        window = state["window"].to(device) if ranks.leader else window
        torch.set_rng_state(state["rng_cpu"])
    distributed.barrier(ranks)  # every rank has checked everything; now rank 0 may write
    log = MetricsLog(out / "metrics.jsonl")
    if ranks.leader:
        out.mkdir(parents=True, exist_ok=True)
        if state is not None:
            log.truncate_after(step)
    console = stderr_console()
    show = ranks.leader and (console.is_terminal if config.progress is None else config.progress)
    train_model: nn.Module = model
    if ranks.active:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None
        )
    eval_model: nn.Module = model
    if compiled:
        if ranks.leader:
            console.print(
                f"compiling {generated.name} with torch.compile (mode {config.compile_mode}); "
                "the first iterations are slower",
                highlight=False,
            )
        train_model = torch.compile(train_model, mode=config.compile_mode)
        eval_model = torch.compile(model, mode=config.compile_mode)
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)  # noqa: E731
    bar = ProgressBar(total, step, show, console)
    if state is not None and ranks.leader:
        bar.log(f"resuming {out} at iteration {step} of {total}")
    batches = source.train_batches(step)
    last: dict[str, Any] = {}
    seg_images, seg_train_s = 0, 0.0
    win_start, win_images = time.perf_counter(), 0
    model.train()
    while step < total:
        lr = learning_rate(
            step,
            base=config.lr,
            milestones=milestones,
            decay=config.lr_decay,
            warming=warming,
            warmup_lr=config.warmup_lr,
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = next(batches)
        with autocast():
            logits = train_model(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        wrong = (logits.detach().argmax(1) != y).sum()
        window += torch.stack(
            [
                loss.detach().double() * y.numel(),
                wrong.double(),
                torch.tensor(y.numel(), device=device, dtype=torch.float64),
                wrong.double(),
                torch.tensor(y.numel(), device=device, dtype=torch.float64),
            ]
        )
        step += 1
        win_images += config.batch_size
        if warming and step % WARMUP_WINDOW == 0:
            warm = distributed.all_sum(ranks, window[3:5])
            warming = bool(warm[0] / warm[1] >= config.warmup_error)
            window[3:5] = 0
        bar.update(step)
        if step % config.eval_every and step != total:
            if config.ckpt_every and step % config.ckpt_every == 0:
                _checkpoint(
                    out,
                    config,
                    generated.name,
                    params,
                    step,
                    warming,
                    best,
                    window,
                    model,
                    optimizer,
                    seconds_before + seg_train_s + time.perf_counter() - win_start,
                    ranks,
                )
            continue
        sums = distributed.all_sum(ranks, window[:3])  # syncs the device: timings below are real
        elapsed = time.perf_counter() - win_start
        seg_train_s += elapsed
        seg_images += win_images
        window[:3] = 0
        distributed.sync_buffers(ranks, model)
        model.eval()
        with torch.no_grad(), autocast():
            val = _error(eval_model, source, "val", ranks) if source.has_val else None
            test = _error(eval_model, source, "test", ranks)
        model.train()
        last = dict(
            step=step,
            epoch=round(step / spe, 3),
            lr=lr,
            train_loss=float(sums[0] / sums[2]),
            train_error=float(sums[1] / sums[2]),
            val_error=val,
            test_error=test,
            images_per_s=win_images / elapsed,
            seconds=seconds_before + seg_train_s,
        )
        chosen = val if val is not None else test
        if ranks.leader:
            log.append(last)
            plot_run(read_metrics(log.path), out / "errors.png", generated.name)
            bar.update(
                step,
                {
                    "loss": last["train_loss"],
                    "error": last["train_error"],
                    "lr": lr,
                    "images_per_s": last["images_per_s"],
                },
            )
            if chosen < best:
                save_checkpoint(
                    out / "best.pt",
                    _state(
                        config,
                        generated.name,
                        params,
                        step,
                        warming,
                        chosen,
                        window,
                        model,
                        optimizer,
                        last["seconds"],
                    ),
                )
        best = min(best, chosen)
        _checkpoint(
            out,
            config,
            generated.name,
            params,
            step,
            warming,
            best,
            window,
            model,
            optimizer,
            last["seconds"],
            ranks,
        )
        win_start, win_images = time.perf_counter(), 0
    bar.close()
    if not last:  # resumed a finished run: report what it logged
        last = (read_metrics(log.path) or [{}])[-1]
    summary = RunSummary(
        out_dir=out,
        network=generated.name,
        data=config.data,
        device=str(device),
        world_size=ranks.world,
        steps=step,
        final_train_error=last.get("train_error", float("nan")),
        final_val_error=last.get("val_error"),
        final_test_error=last.get("test_error", float("nan")),
        best_test_error=min(
            (r["test_error"] for r in read_metrics(log.path)), default=float("nan")
        ),
        seconds=last.get("seconds", seconds_before),
        images_per_s=seg_images / seg_train_s if seg_train_s else 0.0,
    )
    if ranks.leader:
        print_summary(console, summary)
    return summary


def _error(model: nn.Module, source: Source, which: str, ranks: distributed.Ranks) -> float:
    counts = None
    for x, y in source.eval_batches(which):
        wrong = (model(x).argmax(1) != y).sum()
        batch = torch.stack(
            [wrong.double(), torch.tensor(float(y.numel()), device=y.device, dtype=torch.float64)]
        )
        counts = batch if counts is None else counts + batch
    if counts is None:
        counts = torch.zeros(2, dtype=torch.float64, device=next(model.parameters()).device)
    counts = distributed.all_sum(ranks, counts)
    return float(counts[0] / counts[1]) if counts[1] else float("nan")


def _state(
    config, network, params, step, warming, best, window, model, optimizer, seconds
) -> dict[str, Any]:
    return dict(
        network=network,
        params=params,
        config=config.to_dict(),
        step=step,
        warming=warming,
        best_error=best,
        window=window.cpu(),
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        rng_cpu=torch.get_rng_state(),
        seconds=seconds,
    )


def _checkpoint(
    out, config, network, params, step, warming, best, window, model, optimizer, seconds, ranks
) -> None:
    """last.pt on rank 0, holding every rank's running sums so a resumed window is exact."""
    window = distributed.all_sum(ranks, window)
    if ranks.leader:
        save_checkpoint(
            out / "last.pt",
            _state(config, network, params, step, warming, best, window, model, optimizer, seconds),
        )
