"""Time the language server as an editor sees it: ``resdsl lsp`` in a subprocess, over stdio.

    python benchmarks/lsp.py [--edits 300] [--soak 10000] [--no-sweep]

1. Latency. specs/cifar.res and specs/resnet1202.res (which uses it) are open; each of
   ``--edits`` one-character edits of cifar.res (the last digit of ``classes 10``, 0 to 9 in
   turn, so that every edit changes what the networks are and the whole front end runs) is
   timed from the moment it is sent to the moment cifar.res's diagnostics arrive, and to
   resnet1202.res's (re-checked with the unsaved text). After each edit three hovers are
   timed: on a stage line of cifar.res (its eight networks), on the name of resnet1202 (4,208
   IR nodes: totals and the training-memory replay, which the edit has made stale), and on
   that name again (the figures now kept).
2. Memory. The server's resident set after 100 edits and after ``--soak`` edits.
3. Scale. Every prefix of every bundled and golden spec sent as an edit, each answered by
   diagnostics, a hover and a completion; counts the answers, the server's logged failures and
   the slowest round trip (``--no-sweep`` leaves it out).

Prints the figures and writes benchmarks/results/lsp.json. Measured, never asserted; the goals
(edit to diagnostics median <= 50 ms, hover <= 20 ms, memory growth <= 20 MB) are what the
figures are read against.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from resdsl import __version__

ROOT = Path(__file__).resolve().parent.parent
CIFAR, R1202 = ROOT / "specs" / "cifar.res", ROOT / "specs" / "resnet1202.res"


class Client(LanguageClient):
    """A client that notes when each document's diagnostics arrive."""

    def __init__(self) -> None:
        super().__init__("resdsl-benchmark", __version__)
        self.arrived: dict[str, asyncio.Event] = {}
        self.errors: list[str] = []

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.arrived.setdefault(params.uri, asyncio.Event()).set()

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            if params.type == types.MessageType.Error:
                self.errors.append(params.message)

    def expect(self, *uris: str) -> list[asyncio.Event]:
        for uri in uris:
            self.arrived[uri] = asyncio.Event()
        return [self.arrived[uri] for uri in uris]


async def launch() -> Client:
    client = Client()
    await client.start_io(sys.executable, "-m", "resdsl", "lsp", cwd=str(ROOT))
    params = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())
    await client.initialize_async(params)
    client.initialized(types.InitializedParams())
    return client


async def open_doc(client: Client, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    (event,) = client.expect(uri)
    item = types.TextDocumentItem(uri, "res", 1, path.read_text() if text is None else text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(item))
    await event.wait()
    return uri


def send(client: Client, uri: str, version: int, text: str) -> None:
    change = types.TextDocumentContentChangeWholeDocument(text=text)
    ident = types.VersionedTextDocumentIdentifier(uri=uri, version=version)
    client.text_document_did_change(types.DidChangeTextDocumentParams(ident, [change]))


async def timed_hover(client: Client, uri: str, line: int, character: int) -> float:
    start = time.perf_counter()
    params = types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    answer = await client.text_document_hover_async(params)
    assert answer is not None
    return time.perf_counter() - start


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median_ms": statistics.median(ms),
        "p95_ms": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))],
        "max_ms": ms[-1],
        "count": len(ms),
    }


async def latency_and_memory(edits: int, soak: int) -> dict:
    client = await launch()
    cifar, r1202 = await open_doc(client, CIFAR), await open_doc(client, R1202)
    source = CIFAR.read_text()
    assert "classes 10\n" in source
    own, dependent, stage_hover, network_hover, warm_hover = [], [], [], [], []
    memory: dict[str, float] = {}
    pid = client._server.pid  # type: ignore[union-attr]
    for version in range(2, max(edits, soak) + 2):
        text = source.replace("classes 10\n", f"classes 1{version % 10}\n")
        first, second = client.expect(cifar, r1202)
        start = time.perf_counter()
        send(client, cifar, version, text)
        await first.wait()
        own_seconds = time.perf_counter() - start
        await second.wait()
        dependent_seconds = time.perf_counter() - start
        if version - 2 < edits:
            own.append(own_seconds)
            dependent.append(dependent_seconds)
            stage_hover.append(await timed_hover(client, cifar, 10, 8))
            network_hover.append(await timed_hover(client, r1202, 3, 12))
            warm_hover.append(await timed_hover(client, r1202, 3, 12))
        if version - 1 in (100, soak):
            memory[f"rss_after_{version - 1}_edits_mib"] = rss_mib(pid)
    memory["growth_mib"] = memory[f"rss_after_{soak}_edits_mib"] - memory["rss_after_100_edits_mib"]
    errors = list(client.errors)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "edit_to_own_diagnostics": summary(own),
        "edit_to_dependent_diagnostics": summary(dependent),
        "hover_stage_line": summary(stage_hover),
        "hover_network_resnet1202": summary(network_hover),
        "hover_network_resnet1202_again": summary(warm_hover),
        "memory": memory,
        "server_errors_logged": errors,
    }


async def sweep() -> dict:
    client = await launch()
    specs = [
        *sorted((ROOT / "specs").glob("*.res")),
        *sorted((ROOT / "tests/golden").rglob("*.res")),
    ]
    answered, slowest, started = 0, (0.0, ""), time.perf_counter()
    for spec in specs:
        text = spec.read_text(encoding="utf-8", errors="replace")
        uri = await open_doc(client, spec, "")
        for cut in range(len(text) + 1):
            prefix = text[:cut]
            lines = prefix.split("\n")
            here = types.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
            (event,) = client.expect(uri)
            start = time.perf_counter()
            send(client, uri, cut + 2, prefix)
            await event.wait()
            ident = types.TextDocumentIdentifier(uri)
            await client.text_document_hover_async(types.HoverParams(ident, here))
            await client.text_document_completion_async(types.CompletionParams(ident, here))
            took = time.perf_counter() - start
            if took > slowest[0]:
                slowest = (took, f"{spec.relative_to(ROOT)}, first {cut} characters")
            answered += 1
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
    errors = list(client.errors)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "specs": len(specs),
        "prefixes_answered": answered,
        "seconds": time.perf_counter() - started,
        "slowest_ms": slowest[0] * 1000,
        "slowest": slowest[1],
        "server_errors_logged": errors,
    }


def machine() -> str:
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)  # type: ignore[union-attr]
    except (OSError, AttributeError):
        cpu = platform.processor()
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.machine()}, python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=300, help="edits timed (with hovers)")
    parser.add_argument("--soak", type=int, default=10_000, help="edits before the last RSS")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lsp.json"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    report = {
        "benchmark": "lsp",
        "what": "resdsl lsp over stdio: one-character edits of specs/cifar.res with "
        "specs/resnet1202.res open, hovers, RSS, every prefix of every spec",
        "resdsl": __version__,
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_before": [round(x, 2) for x in load_before],
        **asyncio.run(latency_and_memory(args.edits, args.soak)),
    }
    if args.sweep:
        report["sweep"] = asyncio.run(sweep())
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    for name in ("edit_to_own_diagnostics", "edit_to_dependent_diagnostics"):
        figures = report[name]
        print(f"{name:<32} median {figures['median_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms")
    for name in ("hover_stage_line", "hover_network_resnet1202", "hover_network_resnet1202_again"):
        figures = report[name]
        print(f"{name:<32} median {figures['median_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms")
    memory = report["memory"]
    last = memory[f"rss_after_{args.soak}_edits_mib"]
    print(
        f"RSS after 100 edits {memory['rss_after_100_edits_mib']:.1f} MiB, after {args.soak} "
        f"{last:.1f} MiB: growth {memory['growth_mib']:+.1f} MiB"
    )
    if args.sweep:
        swept = report["sweep"]
        print(
            f"sweep: {swept['prefixes_answered']} prefixes of {swept['specs']} specs answered in "
            f"{swept['seconds']:.0f} s, slowest {swept['slowest_ms']:.0f} ms ({swept['slowest']}), "
            f"{len(swept['server_errors_logged'])} server errors"
        )
    load = f"load {report['load_average_before']} -> {report['load_average_after']}"
    print(f"{report['machine']}; {load}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
