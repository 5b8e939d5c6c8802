"""Hover: what a network, a stage line or a stem or head layer line amounts to.

    >>> from resdsl.lsp.documents import Documents
    >>> (analysis,) = Documents().update("specs/cifar.res", open("specs/cifar.res").read())
    >>> print(hover(analysis, 10, 8).contents.value)  # doctest: +ELLIPSIS
    **stage** `layer2`, in 8 networks
    <BLANKLINE>
    | network | output | blocks | params | mult-adds |
    | --- | --- | ---: | ---: | ---: |
    | resnet20 | 32x16x16 | 3 | 51,072 | 12,976,128 |
    ...

(line 10, from 0, is ``stage n x 32, stride 2``). On a network's name: its stages as ``resdsl
stats`` lists them, the totals, and the training memory of one step at batch 32 (fp32, SGD
with momentum: ``resdsl stats --memory --batch 32``).
On a stage line: its output shape, blocks, parameters and multiply-adds, in every network of
the document built from that line (a family's stage line is in each network derived from it).
On a stem or head line: the same for the layer it writes (``conv 3x3, 16`` is conv, batch
norm and ReLU). Every figure comes from the stats pass over the IR (:mod:`resdsl.ir.costs`)
and the memory replay (:mod:`resdsl.memory`); nothing is built and torch is never imported.

NOTE: speed. The check of the document already made the IR; the figures are made when first
hovered and kept with the analysis. The memory replay of a large network takes longer than
a hover should (ResNet-1202: about 25 ms), so its answer is also kept across edits for as
long as the network's description is unchanged (``_MEMORY``, a few networks at most).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence

from lsprotocol import types

from resdsl.diagnostics import Span
from resdsl.ir.costs import Convention, NetworkStats, figures, network_stats
from resdsl.ir.network import Network
from resdsl.lsp.documents import Analysis
from resdsl.memory import MemoryReport, training_memory
from resdsl.report.memory import OPTIMIZER_NAMES, peak_line, size
from resdsl.report.tables import shape

BATCH = 32  # the batch the memory line is given at
PRECISION = "fp32"
OPTIMIZER = "sgd-momentum"
_MEMORY: OrderedDict[tuple[str, str], MemoryReport] = OrderedDict()
_MEMORY_KEPT = 8


def hover(analysis: Analysis, line: int, character: int, encoding: str = "utf-16"):
    """The hover at the editor's (0-based) ``line`` and ``character``, or None."""
    column = analysis.text.column(line, character, encoding)
    for net in analysis.checked.networks:
        if _inside(net.name_span, analysis.path, line + 1, column + 1):
            where = analysis.text.range(net.name_span, encoding)
            return types.Hover(_markdown(network_text(analysis, net)), where)
    word = analysis.text.word_at(line, column)
    derived = [net for net in analysis.checked.networks if word and net.base == word[0]]
    if derived and _is_family(analysis, word[0], line, column):
        return types.Hover(_markdown(family_text(analysis, word[0], derived)))
    rows = _lines(analysis).get(line + 1)
    if not rows:
        return None
    return types.Hover(_markdown(line_text(analysis, rows)))


def network_text(analysis: Analysis, net: Network) -> str:
    """A network's stages, totals and training memory, in Markdown."""
    stats = _stats(analysis, net)
    base = ""
    if net.base is not None:
        arguments = ", ".join(f"{k}={v}" for k, v in net.arguments.items())
        base = f" = {net.base}({arguments})" if arguments else f" = {net.base}"
    lines = [
        f"**network {net.name}**{base}: {net.depth} layers, input {shape(net.input)}, "
        f"{net.classes} classes",
        "",
        "| stage | output | blocks | params | mult-adds |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for stage in stats.stages:
        blocks = str(stage.blocks) if stage.blocks else ""
        cells = (stage.title, shape(stage.shape), blocks, f"{stage.params:,}", f"{stage.flops:,}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"| **total** | | | **{stats.params:,}** | **{stats.flops:,}** |")
    memory = _memory(net)
    optimizer = OPTIMIZER_NAMES[memory.optimizer]
    lines += [
        "",
        f"per sample; counted: {stats.convention.describe()}; "
        f"training = 3 x forward = {stats.training_flops:,}",
        "",
        f"training memory at batch {memory.batch}, {memory.precision}, {optimizer}: "
        f"{peak_line(memory)}; weights {size(memory.params)}, "
        f"saved activations {size(memory.saved)}",
    ]
    return "\n".join(lines)


def family_text(analysis: Analysis, family: str, derived: Sequence[Network]) -> str:
    """The networks of the document derived from ``family``, with their totals."""
    lines = [
        f"**family {family}**: {_count(derived, 'network')} derived in this file",
        "",
        "| network | arguments | layers | params | mult-adds |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for net in derived:
        stats = _stats(analysis, net)
        arguments = ", ".join(f"{k}={v}" for k, v in net.arguments.items())
        cells = (net.name, arguments, str(net.depth), f"{stats.params:,}", f"{stats.flops:,}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def line_text(analysis: Analysis, rows: Sequence[tuple[Network, list[int]]]) -> str:
    """What one stage, stem or head line makes in each network, in Markdown."""
    net, nodes = rows[0]
    first = net.nodes[nodes[0]]
    staged = first.section == "stage"
    if staged:
        stage = net.stage(first.stage)  # type: ignore[arg-type]
        head = f"**stage** `{stage.path}`" + (f" ({stage.label})" if stage.label else "")
    else:
        head = f"**{first.section}**: {', '.join(net.nodes[i].op.label() for i in nodes)}"
    columns = ["network", "output", *(["blocks"] if staged else []), "params", "mult-adds"]
    lines = [
        f"{head}, in {_count(rows, 'network')}",
        "",
        "| " + " | ".join(columns) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in columns[2:]) + " |",
    ]
    for net, nodes in rows:
        numbers = _figures(analysis, net)
        params = sum(numbers[i][0] for i in nodes)
        macs = sum(numbers[i][2] for i in nodes)  # counted as `resdsl stats` counts
        out = shape(net.nodes[nodes[-1]].shape or ())
        cells = [net.name, out, f"{params:,}", f"{macs:,}"]
        if staged:
            cells.insert(2, str(net.stage(first.stage).blocks))  # type: ignore[arg-type]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _lines(analysis: Analysis) -> dict[int, list[tuple[Network, list[int]]]]:
    """Line of the document -> each network's nodes written on it (made once per analysis)."""
    found = analysis.cache.get("lines")
    if found is None:
        found = {}
        for net in analysis.checked.networks:
            mine: dict[int, list[int]] = {}
            for index, node in enumerate(net.nodes):
                if node.section != "input" and node.span.file == analysis.path:
                    mine.setdefault(node.span.line, []).append(index)
            for line, nodes in mine.items():
                found.setdefault(line, []).append((net, nodes))
        analysis.cache["lines"] = found
    return found


def _stats(analysis: Analysis, net: Network) -> NetworkStats:
    cached = analysis.cache.get(("stats", net.name))
    if cached is None:
        cached = analysis.cache[("stats", net.name)] = network_stats(net, Convention())
    return cached


def _figures(analysis: Analysis, net: Network) -> list:
    """Each node's (params, macs, ...) under the default convention."""
    cached = analysis.cache.get(("figures", net.name))
    if cached is None:
        cached = analysis.cache[("figures", net.name)] = figures(net, Convention())
    return cached


def _memory(net: Network) -> MemoryReport:
    """The memory of one training step at :data:`BATCH`, kept while the network is unchanged."""
    identity = (net.name, repr(dataclasses.replace(net.spec, spec_sha256="")))
    report = _MEMORY.get(identity)
    if report is None:
        report = training_memory(net, BATCH, PRECISION, OPTIMIZER)
        _MEMORY[identity] = report
        while len(_MEMORY) > _MEMORY_KEPT:
            _MEMORY.popitem(last=False)
    _MEMORY.move_to_end(identity)
    return report


def _is_family(analysis: Analysis, name: str, line: int, column: int) -> bool:
    definition = analysis.checked.program.definitions.get(name)
    span = getattr(getattr(definition, "name", None), "span", None)
    return span is not None and _inside(span, analysis.path, line + 1, column + 1)


def _inside(span: Span, path: str, line: int, column: int) -> bool:
    """Whether 1-based ``line``, ``column`` of ``path`` is on ``span`` (its end included)."""
    if span.line != line or span.file != path:
        return False
    return span.column <= column <= span.end_column


def _count(items: Sequence, word: str) -> str:
    return f"{len(items)} {word}{'s' * (len(items) != 1)}"


def _markdown(text: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
