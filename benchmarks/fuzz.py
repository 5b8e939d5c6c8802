"""Mutational fuzzing of resdsl, in process: no input may crash it, hang it or flood.

    .venv/bin/python benchmarks/fuzz.py --specs 10000 --seed 0

Seeds are the bundled specs (SE-ResNet-50's and ECA-ResNet-50d's with their block
definitions), the golden wrong specs, the language examples and the prelude. Each spec
tried is a seed with one to three mutations (tokens deleted, repeated, swapped, spliced from
another seed; numbers made huge; names made hostile; arithmetic nested; lines repeated by
the thousand; line ends, a byte order mark, control bytes, Latin-1; hostile ``use`` paths:
a device, a FIFO, a folder, /etc, a null byte, an escape sequence; long derivation chains),
written to a scratch folder that holds copies of the seeds (so ``use "cifar.res"`` resolves),
and then taken through what the commands do, minus click:

- ``pipeline.check`` and ``diagnostics.render_all``, what ``resdsl check`` prints;
- for every network that checks: ``codegen.generate`` (what ``resdsl compile`` writes; ruff's
  formatting is skipped unless ``--ruff``, it runs in a subprocess of its own),
  ``stats.network_stats`` with every count on, its table and its per-layer JSON, and
  ``graph.to_dot``.

Outcomes: a report of diagnostics (exit 1), accepted (exit 0), an internal error (any
exception that is not a ResdslError: exit 2, a bug), over the per-spec time limit. Also
counted: reports whose first line is not ``file:line:col: error:`` (unlocated), reports over
64 KiB (floods), specs that check but that code generation refuses, and specs slower than a
second. Times are CPU seconds of this process (the limit is ``ITIMER_PROF``), so that a busy
shared machine does not turn into false alarms; a spec that blocks (reading a FIFO uses no
CPU) is stopped at the end of a wall-clock window six times as long in which it used under 1%
of a core (one that computes, however slowly on a busy machine, is not), and one that would
read without end (the old ``use "/dev/zero"``) meets a cap on the address space
(``--memory``) as a MemoryError, an internal error, rather than the kernel's OOM killer. Peak
memory is the process's peak resident set (``ru_maxrss``). Writes
benchmarks/results/fuzz.json, with the first problems' specs to reproduce them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resdsl import __version__  # noqa: E402
from resdsl.diagnostics import ResdslError, render_all  # noqa: E402
from resdsl.pipeline import check  # noqa: E402

# The module, not the function the package exports under the same name.
codegen_module = importlib.import_module("resdsl.codegen.generate")

SEEDS = sorted(
    [
        *(ROOT / "specs").glob("**/*.res"),  # the zoo's too
        *(ROOT / "tests" / "golden" / "errors").glob("*.res"),
        *(ROOT / "tests" / "golden" / "language").glob("*.res"),
        ROOT / "resdsl" / "lang" / "prelude.res",  # block definitions, and the shortcuts'
    ]
)
TOKEN = re.compile(rb"\s+|\w+|[^\w\s]")
LOCATED = re.compile(r"^\S.*:\d+:\d+: error: ")
FLOOD = 64 * 1024

VOCABULARY = [
    *(b"use network input classes block shortcut stem head stage with stride on expansion "
      b"zero init padding conv maxpool avgpool fc basic bottleneck A B C none x".split()),
    # the words of block definitions
    *(b"let require doc branch add multiply concat shortcut here if else and or not max min "
      b"log2 as after before bias ceil sigmoid gn conv1d stdconv blurpool droppath dropout pad "
      b"bn relu planes stride channels se deep via width1".split()),
    *b"{ } ( ) [ ] , : = + - * / % == != < <= > >= . #".split(),
    b'"', b"3x3", b"3x224x224", b"0", b"1", b"n", b"\n",
]  # fmt: skip
NUMBERS = [b"0", b"-1", b"1048576", b"1048577", b"99999999999", b"7" * 21, b"1" * 5000]
NAMES = [b"math", b"typing", b"class", b"_x", b"conv3x3", b"print", b"a" * 250, b"n" * 64]
USES = [
    b"/dev/zero",
    b"/dev/stdin",
    b"../../../../etc/shadow",
    b"a\x00b.res",
    b"\x1b[31mred.res",
    b"cifar.res",
    b"missing.res",
    b"fuzz.res",
    b"folder.res",
    b"fifo.res",
    b"../" * 40 + b"x.res",
    b"q" * 300 + b".res",
]
LINE_ENDS = [b"\r\n", b"\r", "\u2028".encode(), b"\x0c", b"\x0b", "\x85".encode()]


class TimeLimit(BaseException):
    """Raised by SIGPROF in the spec that ran too long, or by SIGALRM in one that waits (a
    BaseException: nothing catches it)."""


BLOCKED_SHARE = 0.01  # of one core over a window of wall-clock time: waiting, not computing
_window = {"seconds": 0.0, "cpu": 0.0}  # the current spec's window, and its CPU at the start


@dataclass
class Summary:
    seed: int
    specs: int = 0
    diagnostics: int = 0
    accepted: int = 0
    internal_errors: int = 0
    over_time_limit: int = 0
    slow: int = 0
    unlocated: int = 0
    floods: int = 0
    refused_by_codegen: int = 0
    networks_generated: int = 0
    worst_seconds: float = 0.0
    worst_mutations: list[str] = field(default_factory=list)
    slowest: list[dict] = field(default_factory=list)  # the five slowest: index, seconds, what
    peak_rss_mib: float = 0.0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    mutations: dict[str, int] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)  # the first few, to reproduce

    @property
    def clean(self) -> bool:
        return not (
            self.internal_errors
            or self.over_time_limit
            or self.unlocated
            or self.floods
            or self.refused_by_codegen
        )


# --- mutations ------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> tuple[bytes, str]:
    """One mutation of ``data``, and its name."""
    kind = rng.choice(MUTATIONS)
    return kind(data, rng, seeds), kind.__name__


def _tokens(data: bytes) -> list[bytes]:
    return TOKEN.findall(data) or [b""]


def _at(parts: list, rng: random.Random) -> int:
    return rng.randrange(len(parts))


def delete(data, rng, seeds):
    parts = _tokens(data)
    i = _at(parts, rng)
    del parts[i : i + rng.randint(1, 8)]
    return b"".join(parts)


def duplicate(data, rng, seeds):
    parts = _tokens(data)
    i = _at(parts, rng)
    parts[i:i] = parts[i : i + rng.randint(1, 6)] * rng.randint(1, 3)
    return b"".join(parts)


def swap(data, rng, seeds):
    parts = _tokens(data)
    i, j = _at(parts, rng), _at(parts, rng)
    parts[i], parts[j] = parts[j], parts[i]
    return b"".join(parts)


def insert_token(data, rng, seeds):
    parts = _tokens(data)
    parts.insert(_at(parts, rng), rng.choice([b" ", b""]) + rng.choice(VOCABULARY) + b" ")
    return b"".join(parts)


def splice(data, rng, seeds):
    parts, other = _tokens(data), _tokens(rng.choice(seeds))
    i, j = _at(parts, rng), _at(other, rng)
    parts[i:i] = other[j : j + rng.randint(1, 30)]
    return b"".join(parts)


def number(data, rng, seeds):
    parts = _tokens(data)
    digits = [k for k, p in enumerate(parts) if p.isdigit()] or [_at(parts, rng)]
    parts[rng.choice(digits)] = rng.choice(NUMBERS)
    return b"".join(parts)


def name(data, rng, seeds):
    parts = _tokens(data)
    words = [k for k, p in enumerate(parts) if p[:1].isalpha()] or [_at(parts, rng)]
    parts[rng.choice(words)] = rng.choice(NAMES)
    return b"".join(parts)


def nest(data, rng, seeds):
    parts = _tokens(data)
    opener = rng.choice([b"(", b"-", b"{", b"1+", b"2*"])
    depth = rng.choice([50, 101, 400, 3000])
    closer = b")" * depth if opener == b"(" and rng.random() < 0.5 else b""
    parts.insert(_at(parts, rng), opener * depth + b"1" + closer)
    return b"".join(parts)


def flood(data, rng, seeds):
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    lines[i:i] = [lines[i] or b"foo"] * rng.choice([100, 1000, 5000])
    return b"\n".join(lines)


def line_ends(data, rng, seeds):
    return data.replace(b"\n", rng.choice(LINE_ENDS))


def raw_bytes(data, rng, seeds):
    i = rng.randrange(len(data) + 1)
    noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    noise = rng.choice([noise, b"\x00", b"\x1b[2J", b"\xef\xbb\xbf", b"\xff\xfe", b"\t"])
    return data[:i] + noise + data[i:]


def bom(data, rng, seeds):
    return b"\xef\xbb\xbf" + data


def latin1(data, rng, seeds):
    return (
        data.decode("utf-8", "replace").replace("network", "réseau", 1).encode("latin-1", "replace")
    )


def truncate(data, rng, seeds):
    return data[: rng.randrange(len(data) + 1)]


def use(data, rng, seeds):
    return b'use "' + rng.choice(USES) + b'"\n' + data


def chain(data, rng, seeds):
    base = b"network c0 { input 3x32x32 classes 10 stage 1 x 16 head { avgpool fc } }\n"
    links = b"".join(
        b"network c%d = c%d\n" % (k, k - 1) for k in range(1, rng.choice([5, 101, 990]))
    )
    return data + b"\n" + base + links


MUTATIONS = [
    delete, duplicate, swap, insert_token, splice, number, name, nest, flood, line_ends,
    raw_bytes, bom, latin1, truncate, use, chain,
]  # fmt: skip


# --- one spec through the pipeline ----------------------------------------------------------


def compile_everything(path: Path, summary: Summary) -> None:
    """What check, compile, stats and graph do with the file, minus click and the disk."""
    from resdsl.codegen import generate
    from resdsl.graph import to_dot
    from resdsl.ir.costs import Convention, network_stats
    from resdsl.report.tables import render

    result = check(path)
    if not result.ok:
        summary.diagnostics += 1
        report = render_all(result.diagnostics, result.sources)
        if not LOCATED.match(report):
            summary.unlocated += 1
            raise AssertionError(f"unlocated report: {report[:200]!r}")
        if len(report) > FLOOD:
            summary.floods += 1
            raise AssertionError(f"a report of {len(report):,} characters")
        return
    summary.accepted += 1
    counting = Convention(bn=True, relu=True, pool=True, add=True)
    for net in result.networks:
        try:
            generate(net)
        except ResdslError as error:  # check said yes, compile says no: a bug of its own
            summary.refused_by_codegen += 1
            raise AssertionError(f"check accepted but codegen refused: {error}") from None
        # The table without its layers: rich takes seconds over resnet1202's 4,000 rows.
        reports = [network_stats(net, counting)]
        render(reports, "table")
        render(reports, "json", per_layer=True)
        to_dot([net], "layer")
        summary.networks_generated += 1


def run(count: int, seed: int, limit: float, ruff: bool = False, log=print) -> Summary:
    """Try ``count`` mutated specs; the same seed tries the same specs."""
    seeds = [p.read_bytes() for p in SEEDS]
    summary = Summary(seed=seed)
    scratch = Path(tempfile.mkdtemp(prefix="resdsl-fuzz-"))
    for source in SEEDS:
        shutil.copy(source, scratch / source.name)
    (scratch / "folder.res").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(scratch / "fifo.res")
    target = scratch / "fuzz.res"
    previous = signal.signal(signal.SIGPROF, _alarm), signal.signal(signal.SIGALRM, _waiting)
    formatter = codegen_module.format_source
    if not ruff:  # ruff runs in a subprocess of its own; the template is formatted already
        codegen_module.format_source = lambda source: source
    start, cpu = time.perf_counter(), time.process_time()
    try:
        for index in range(count):
            rng = random.Random(seed * 1_000_003 + index)
            data = rng.choice(seeds)
            names = []
            for _ in range(rng.choice([1, 1, 2, 3])):
                data, kind = mutate(data, rng, seeds)
                names.append(kind)
                summary.mutations[kind] = summary.mutations.get(kind, 0) + 1
            target.write_bytes(data)
            _one(index, target, data, names, summary, limit)
            if log and (index + 1) % 1000 == 0:
                log(f"  {index + 1:,} specs, {summary.internal_errors} internal errors")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])
        codegen_module.format_source = formatter
        shutil.rmtree(scratch, ignore_errors=True)
    summary.wall_seconds = time.perf_counter() - start
    summary.cpu_seconds = time.process_time() - cpu
    summary.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return summary


def _one(index, target, data, names, summary, limit) -> None:
    summary.specs += 1
    began = time.process_time()
    problem = None
    signal.setitimer(signal.ITIMER_PROF, limit)
    _window.update(seconds=6 * limit, cpu=began)
    signal.setitimer(signal.ITIMER_REAL, 6 * limit, 6 * limit)  # blocked, not computing: a FIFO
    try:
        try:
            compile_everything(target, summary)
        finally:  # before anything else, so that the alarm cannot go off in the handlers
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
    except TimeLimit:
        summary.over_time_limit += 1
        problem = f"over the time limit of {limit} s"
    except AssertionError as error:
        problem = str(error)
    except ResdslError:  # a plain refusal from the front end (none is expected today)
        summary.diagnostics += 1
    except Exception as error:  # what `resdsl` would report as an internal error, exit 2
        summary.internal_errors += 1
        problem = "".join(traceback.format_exception_only(error)).strip()
        problem += " at " + traceback.extract_tb(error.__traceback__)[-1].filename
    seconds = time.process_time() - began
    if seconds > 1:
        summary.slow += 1
    if seconds > summary.worst_seconds:
        summary.worst_seconds, summary.worst_mutations = seconds, names
    summary.slowest.append({"index": index, "seconds": round(seconds, 3), "mutations": names,
                            "bytes": len(data)})  # fmt: skip
    summary.slowest = sorted(summary.slowest, key=lambda s: -s["seconds"])[:5]
    if problem is not None and len(summary.problems) < 20:
        spec = data[:4000].decode("utf-8", "backslashreplace")
        summary.problems.append(
            {"index": index, "mutations": names, "problem": problem, "spec": spec}
        )


def _alarm(signum, frame):
    raise TimeLimit


def _waiting(signum, frame):
    """SIGALRM, at the end of each window of wall-clock time: a spec that used (almost) no CPU in
    it waits on something (a FIFO) and is stopped; one that computed gets another window."""
    cpu = time.process_time()
    if cpu - _window["cpu"] < BLOCKED_SHARE * _window["seconds"]:
        raise TimeLimit
    _window["cpu"] = cpu


def main(argv: list[str] | None = None) -> Summary:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=10_000, help="mutated specs to try")
    parser.add_argument("--seed", type=int, default=0, help="the same seed tries the same specs")
    parser.add_argument("--limit", type=float, default=10.0, help="CPU seconds allowed a spec")
    parser.add_argument("--ruff", action="store_true", help="format generated code with ruff too")
    parser.add_argument("--memory", type=int, default=4096, help="address space cap in MiB")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fuzz.json"))
    args = parser.parse_args(argv)
    cap = args.memory * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    summary = run(args.specs, args.seed, args.limit, args.ruff)
    print(f"specs tried        {summary.specs:,} (seed {summary.seed}; "
          f"{summary.cpu_seconds:.0f} s CPU, {summary.wall_seconds:.0f} s wall)")  # fmt: skip
    print(f"diagnostics        {summary.diagnostics:,}")
    print(f"accepted           {summary.accepted:,} ({summary.networks_generated:,} networks "
          "generated, counted and drawn)")  # fmt: skip
    print(f"internal errors    {summary.internal_errors}")
    print(f"over the limit     {summary.over_time_limit} ({args.limit:g} s CPU a spec)")
    print(f"slow (> 1 s CPU)   {summary.slow}; worst {summary.worst_seconds:.2f} s "
          f"({' + '.join(summary.worst_mutations)})")  # fmt: skip
    print(f"unlocated, floods  {summary.unlocated}, {summary.floods}")
    print(f"refused by codegen {summary.refused_by_codegen}")
    print(f"peak memory        {summary.peak_rss_mib:.0f} MiB resident (ru_maxrss)")
    for problem in summary.problems[:5]:
        print(f"  #{problem['index']} {'+'.join(problem['mutations'])}: {problem['problem']}")
    report = {
        "benchmark": "fuzz",
        "command": "python benchmarks/fuzz.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "resdsl": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}",
        "limit_seconds": args.limit,
        "memory_cap_mib": args.memory,
        "ruff": args.ruff,
        **asdict(summary),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return summary


if __name__ == "__main__":
    sys.exit(0 if main().clean else 1)
