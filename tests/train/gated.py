"""``resdsl train`` in a process of its own, with a gate before one iteration: how the tests that
signal or kill a real run know where it is, rather than guessing with a sleep.

    python tests/train/gated.py STEP train MODULE [OPTIONS]      (also as torchrun's script)

runs ``resdsl train MODULE [OPTIONS]``. Each process about to run iteration STEP writes
``gate: before iteration STEP (rank R)`` to stderr, then waits until its stdin reaches end of file:
the test closes the pipe to let the run go on, or ends the process while it waits. Signals are
handled during the wait as during an iteration: a handler runs, and the wait goes on unless it
raises. Nothing else changes; STEP 0 (or one the run never reaches) is no gate at all.

:func:`start` and :func:`read_until` are the test's side.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATE = "gate: before iteration "


def _install(step: int) -> None:
    from resdsl.train import loop  # torch, in the gated process only

    real = loop._iteration

    def iteration(run, state, batch):
        if state.step + 1 == step:
            os.write(2, f"{GATE}{step} (rank {run.ranks.rank})\n".encode())
            sys.stdin.read()  # until end of file
        return real(run, state, batch)

    loop._iteration = iteration


@contextlib.contextmanager
def start(
    step: int, *args: str, launcher: tuple[str, ...] = (sys.executable,), **popen
) -> Iterator[subprocess.Popen]:
    """This script under ``launcher`` (python, or torchrun and its options), stdin and stderr
    piped, text. Whatever happens in the test, the processes are gone afterwards."""
    popen.setdefault("env", {**os.environ, "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen(
        [*launcher, str(Path(__file__)), str(step), *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            kill(proc)
        for pipe in (proc.stdin, proc.stderr):
            if pipe is not None:
                pipe.close()


def children(proc: subprocess.Popen) -> list[int]:
    """The process ids of ``proc``'s children (torchrun's workers)."""
    listed = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in listed.stdout.split()]


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` and its children, and return once every one of them has ended (workers
    would outlive a killed launcher otherwise, and they are not ours to wait for)."""
    workers = children(proc)
    ends = []
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):  # already gone
            ends.append(os.pidfd_open(pid))  # readable once that process has ended
    for pid in [*workers, proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    for end in ends:
        select.select([end], [], [])
        os.close(end)


def read_until(proc: subprocess.Popen, prefix: str) -> list[str]:
    """Lines of ``proc``'s stderr up to and including the first that starts with ``prefix``; if
    the process ends first, an AssertionError with everything it wrote."""
    assert proc.stderr is not None
    lines: list[str] = []
    while True:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"ended before a line {prefix!r}:\n{''.join(lines)}")
        lines.append(line)
        if line.startswith(prefix):
            return lines


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _install(int(sys.argv[1]))
    from resdsl.cli import main

    sys.argv = ["resdsl", *sys.argv[2:]]
    main()
