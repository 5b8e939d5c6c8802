"""Time the front end (parse + resolve + lower + validate) over every bundled spec.

    python benchmarks/frontend.py [--repeat 5]

Prints the best-of-N seconds per spec (resnet1202 included) and writes
benchmarks/results/frontend.json. Measured, not asserted: the target is well under a
second for resnet1202 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from resdsl import __version__
from resdsl.lang import grammar
from resdsl.pipeline import check

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeat: int, spec: Path) -> tuple[float, int, list[str]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = check(spec)
        times.append(time.perf_counter() - start)
        assert result.ok, result.diagnostics
    nodes = sum(len(net.nodes) for net in result.networks)
    return min(times), nodes, [net.name for net in result.networks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per spec; the best counts")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "frontend.json"))
    args = parser.parse_args()

    start = time.perf_counter()
    grammar.parser()  # built once per process and cached; timed separately
    grammar_seconds = time.perf_counter() - start
    rows = []
    for spec in sorted((ROOT / "specs").glob("*.res")):
        seconds, nodes, names = best_of(args.repeat, spec)
        rows.append({"spec": spec.name, "networks": names, "nodes": nodes, "seconds": seconds})
        print(f"{spec.name:<22} {seconds * 1000:8.1f} ms  {nodes:6d} IR nodes  {', '.join(names)}")
    total = sum(r["seconds"] for r in rows)
    once = f"(grammar tables: {grammar_seconds * 1000:.0f} ms once)"
    print(f"{'all specs':<22} {total * 1000:8.1f} ms  {once}")
    report = {
        "benchmark": "frontend",
        "what": "parse, resolve, lower, shapes, validate; best of --repeat, per spec file",
        "resdsl": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}",
        "repeat": args.repeat,
        "grammar_build_seconds": grammar_seconds,
        "total_seconds": total,
        "specs": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
