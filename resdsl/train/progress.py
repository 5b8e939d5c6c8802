"""Progress people can read, and a Ctrl-C that stops a run cleanly.

:class:`Progress` shows a run's iterations in one of three ways, chosen once:

- ``bar``: a rich progress bar on a terminal, statistics refreshed about once a second;
- ``lines``: when stderr is not a terminal (a log file, CI, nohup), one plain line every
  ``progress_every`` seconds, and one after the first iteration, so a log shows life at once;
- ``off`` (``--no-progress``): neither.

In every mode each evaluation prints one line with its errors. The ETA comes from the iterations
measured so far (the first one, which pays for compilation and warm-up, is left out once there are
others), plus the evaluations still to come.

:class:`StopOnSignal` turns the first SIGINT (Ctrl-C) or SIGTERM into a request the loop honours
between iterations, so the checkpoint it then writes is consistent and ``--resume`` is exact; a
second Ctrl-C stops at once, without saving.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.progress import Progress as RichProgress

Mode = Literal["bar", "lines", "off"]
BAR_REFRESH_S = 1.0  # statistics on the bar: each read waits for the device, so about once a second


def duration(seconds: float) -> str:
    """``42s``, ``3 min 20 s``, ``6 h 8 min``, ``2 d 3 h``: as precise as is useful."""
    s = max(0, round(seconds))
    if seconds < 10:
        return f"{max(0.0, seconds):.1f} s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s < 600 else f"{round(s / 60)} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def choose_mode(progress: bool | None, is_terminal: bool) -> Mode:
    if progress is False:
        return "off"
    return "bar" if is_terminal else "lines"


class Progress:
    """A run's progress display; see the module doc. Only rank 0 makes one that shows anything."""

    def __init__(
        self,
        *,
        mode: Mode,
        console: Console,
        total: int,
        start: int,
        every_s: float,
        evaluations: int,
        step_estimate_s: float | None,
        eval_estimate_s: float | None,
        label: str = "",
        later_s: Any = None,
        leader: bool = True,
    ) -> None:
        self.leader = leader  # only rank 0 prints anything
        self.mode, self.console, self.total, self.start = mode, console, total, start
        self.every_s, self.evaluations_left = every_s, evaluations
        self.step_estimate_s, self.eval_s = step_estimate_s, eval_estimate_s
        self.label = f"{label} " if label else ""
        # later_s(images_per_s) -> seconds of the runs after this one (an experiment's), or None
        self.later_s = later_s
        self.started = time.perf_counter()
        self.first_done: float | None = None  # when the first iteration of this segment ended
        self.eval_total = 0.0  # evaluation seconds since the first iteration
        self.last_shown = float("-inf")
        self.step = start
        self.bar: RichProgress | None = None
        if mode == "bar":
            self.bar = RichProgress(
                TextColumn(f"[bold]{self.label}train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TextColumn("{task.fields[eta]}"),
                console=console,
                transient=False,
            )
            self.task = self.bar.add_task("train", total=total, completed=start, stats="", eta="")
            self.bar.start()

    def due(self) -> bool:
        """Whether the loop should read the (device) statistics after this iteration."""
        if self.mode == "off":
            return False
        gap = BAR_REFRESH_S if self.mode == "bar" else self.every_s
        return self.first_done is None or time.perf_counter() - self.last_shown >= gap

    def step_s(self) -> float | None:
        """Seconds per iteration measured in this segment (evaluations excluded)."""
        now = time.perf_counter()
        done = self.step - self.start
        if done <= 0 or self.first_done is None:
            return self.step_estimate_s
        if done == 1:
            return self.first_done - self.started
        return (now - self.first_done - self.eval_total) / (done - 1)

    def eta_s(self) -> float | None:
        step_s = self.step_s()
        if step_s is None:
            return None
        return (self.total - self.step) * step_s + self.evaluations_left * (self.eval_s or 0.0)

    def update(self, step: int, stats: dict[str, float] | None = None) -> None:
        """After each iteration; ``stats`` (loss, error, lr, images_per_s) when :meth:`due`."""
        self.step = step
        now = time.perf_counter()
        if self.first_done is None and step > self.start:
            self.first_done = now
        if self.mode == "off":
            return
        eta = self.eta_s()
        eta_text = f"ETA {duration(eta)}" if eta is not None else ""
        if stats is not None and self.later_s is not None and eta is not None:
            later = self.later_s(stats["images_per_s"])
            if later is not None:
                eta_text += f", overall ETA {duration(eta + later)}"
        if self.bar is not None:
            fields: dict[str, Any] = {"completed": step, "eta": eta_text}
            if stats is not None:
                fields["stats"] = (
                    f"loss {stats['loss']:.3f}  err {100 * stats['error']:.1f}%  "
                    f"lr {stats['lr']:.4g}  {stats['images_per_s']:,.0f} img/s"
                )
                self.last_shown = now
            self.bar.update(self.task, **fields)
        elif stats is not None:
            step_s = self.step_s() or 0.0
            per = f"{step_s:.2f} s/it" if step_s >= 0.1 else f"{1 / max(step_s, 1e-9):,.1f} it/s"
            self.print(
                f"{self.label}step {step}/{self.total} ({100 * step / self.total:.0f}%)  "
                f"loss {stats['loss']:.3f}  err {100 * stats['error']:.1f}%  "
                f"lr {stats['lr']:.4g}  {stats['images_per_s']:,.1f} img/s  {per}  "
                f"elapsed {duration(now - self.started)}  {eta_text}"
            )
            self.last_shown = now

    def evaluated(self, record: dict[str, Any], seconds: float) -> None:
        """One line per evaluation, in every mode: the errors, and how long evaluating took."""
        self.eval_s = seconds
        self.evaluations_left = max(0, self.evaluations_left - 1)
        if self.first_done is not None:
            self.eval_total += seconds
        val = record.get("val_error")
        val_text = f"val err {100 * val:.2f}%  " if val is not None else ""
        self.print(
            f"{self.label}eval at step {record['step']}/{self.total}: "
            f"train err {100 * record['train_error']:.2f}% (loss {record['train_loss']:.3f})  "
            f"{val_text}test err {100 * record['test_error']:.2f}%  "
            f"({duration(seconds)})"
        )

    def print(self, line: str) -> None:
        if not self.leader:
            return
        (self.bar.console if self.bar is not None else self.console).print(line, highlight=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class Interrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM. A KeyboardInterrupt, so code that cleans up on one
    still does; ``saved`` says whether ``out/last.pt`` holds iteration ``step`` for --resume."""

    def __init__(self, out: Path | None, step: int | None, total: int, saved: bool) -> None:
        super().__init__(f"stopped at iteration {step} of {total}")
        self.out, self.step, self.total, self.saved = out, step, total, saved


@contextlib.contextmanager
def ignoring_sigint() -> Iterator[None]:
    """SIGINT ignored within (clean-up after a Ctrl-C); a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class StopOnSignal:
    """Within ``with``: the first SIGINT/SIGTERM sets :attr:`requested`; a second SIGINT raises
    KeyboardInterrupt at once. A no-op off the main thread, where Python cannot take signals."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested: str | None = None
        self.old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        # os.write, not print: a handler may run while the console holds its lock
        os.write(
            2,
            f"\n{self.requested}: finishing this iteration, then saving last.pt "
            "(Ctrl-C again to stop at once, without saving)\n".encode(),
        )

    def __enter__(self) -> StopOnSignal:
        if self.enabled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.old[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.old.items():
            signal.signal(signum, handler)
        self.old.clear()
