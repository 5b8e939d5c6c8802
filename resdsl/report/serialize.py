"""Reports as data: what ``--format json`` (and ``check --format sarif``) print.

    >>> from resdsl.pipeline import check
    >>> data = check_data([("specs/resnet18.res", check("specs/resnet18.res"))])
    >>> data["schema"], data["ok"], data["files"][0]["networks"]
    ('resdsl.check/1', True, [{'name': 'resnet18', 'depth': 18}])

Every object a command prints carries ``schema`` (``resdsl.check/1``, ``resdsl.ir.network/1``,
``resdsl.stats/1``, ``resdsl.diff/1``): the name of the layout docs/api.md describes and the
version of it. A field is never removed or changes meaning within a version; new fields may
be added. Numbers are exact integers (parameters, multiply-adds, elements), shapes lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from resdsl import __version__
from resdsl.diagnostics import Diagnostic
from resdsl.ir.costs import LayerStats, NetworkStats, StageStats
from resdsl.ir.network import Network
from resdsl.ops import show
from resdsl.pipeline import Checked


def diagnostic_data(diagnostic: Diagnostic) -> dict[str, Any]:
    """One diagnostic: where (1-based line and column, end exclusive), how bad, what."""
    span = diagnostic.span
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
    }


def check_data(results: Sequence[tuple[str, Checked]]) -> dict[str, Any]:
    """``resdsl check --format json``: per file, ok or not, its networks and diagnostics."""
    files = [
        {
            "file": path,
            "ok": result.ok,
            "networks": [{"name": net.name, "depth": net.depth} for net in result.networks],
            "diagnostics": [diagnostic_data(d) for d in result.diagnostics],
        }
        for path, result in results
    ]
    return {"schema": "resdsl.check/1", "ok": all(f["ok"] for f in files), "files": files}


def sarif(results: Sequence[tuple[str, Checked]]) -> dict[str, Any]:
    """``resdsl check --format sarif``: SARIF 2.1.0, which code-scanning tools and editors read."""
    levels = {"error": "error", "warning": "warning", "note": "note"}
    findings = [
        {
            "ruleId": "resdsl",
            "level": levels[d.severity],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.span.file},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        },
                    }
                }
            ],
        }
        for _, result in results
        for d in result.diagnostics
    ]
    driver = {
        "name": "resdsl",
        "version": __version__,
        "rules": [{"id": "resdsl", "shortDescription": {"text": "resdsl spec diagnostics"}}],
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": findings}],
    }


def ir_data(nets: Sequence[Network]) -> dict[str, Any]:
    """``resdsl ir --format json``: each network's settings, stages, blocks and nodes."""
    return {"schema": "resdsl.ir.network/2", "networks": [_network(net) for net in nets]}


def _network(net: Network) -> dict[str, Any]:
    return {
        "name": net.name,
        "file": net.file,
        "input": list(net.input),
        "classes": net.classes,
        "block": net.block.as_dict(),
        "shortcut": net.shortcut,
        "depth": net.depth,
        "stages": [
            {
                "index": s.index,
                "name": s.path,
                "title": s.title,
                "blocks": s.blocks,
                "width": s.width,
                "out_channels": s.out_channels,
                "stride": s.stride,
                "line": s.span.line,
            }
            for s in net.stages
        ],
        "blocks": [
            {"path": b.path, "in_channels": b.in_channels, "width": b.width}
            | {"out_channels": b.out_channels, "stride": b.stride, "shortcut": b.shortcut}
            for b in net.blocks
        ],
        "nodes": [
            {
                "index": index,
                "op": node.op.kind,
                "params": _op_fields(node.op),
                "path": node.path,
                "inputs": list(node.inputs),
                "roles": list(node.roles),
                "section": node.section,
                "stage": node.stage,
                "block": node.block,
                "branch": node.branch,
                "shape": None if node.shape is None else list(node.shape),
                "line": node.span.line,
            }
            for index, node in enumerate(net.nodes)
        ],
    }


def _op_fields(op: Any) -> dict[str, Any]:
    """An op's parameters (kernel, stride, channels...), pairs as lists."""
    fields = dataclasses.fields(op) if dataclasses.is_dataclass(op) else ()
    return {f.name: list(v) if isinstance(v := getattr(op, f.name), tuple) else v for f in fields}


def as_dict(report: NetworkStats, per_layer: bool = False) -> dict[str, Any]:
    """The JSON object of one network; ``flops`` is the integer count under its convention."""
    data: dict[str, Any] = {
        "name": report.name,
        "file": report.file,
        "input": list(report.input),
        "classes": report.classes,
        "params": report.params,
        "flops": report.flops,
        "training_flops": report.training_flops,
        "activations": report.activations,
        "saved": report.saved,
        "saved_bytes": report.saved_bytes,
        "convention": report.convention.as_dict(),
        "stages": [_stage_dict(s) for s in report.stages],
    }
    if per_layer:
        data["layers"] = [_layer_dict(layer) for layer in report.layers]
    return data


def _stage_dict(stage: StageStats) -> dict[str, Any]:
    return {
        "name": stage.name,
        "title": stage.title,
        "blocks": stage.blocks,
        "shape": list(stage.shape),
        "params": stage.params,
        "flops": stage.flops,
        "activations": stage.activations,
        "saved": stage.saved,
    }


def _layer_dict(layer: LayerStats) -> dict[str, Any]:
    return {
        "path": layer.path,
        "op": layer.op,
        "shape": list(layer.shape),
        "params": layer.params,
        "flops": layer.flops,
        "saved": layer.saved,
        "line": layer.line,
    }


def stats_data(reports: Sequence[NetworkStats], per_layer: bool = False) -> list[dict[str, Any]]:
    """``resdsl stats --format json``: a list with one object per network."""
    return [{"schema": "resdsl.stats/1", **as_dict(r, per_layer)} for r in reports]


def diff_data(a: NetworkStats, b: NetworkStats) -> dict[str, Any]:
    """``resdsl diff --format json``: params and FLOPs of each stage in A and in B."""
    names = [s.name for s in a.stages] + [
        s.name for s in b.stages if s.name not in {t.name for t in a.stages}
    ]

    def side(report: NetworkStats, name: str) -> dict[str, int] | None:
        stage = next((s for s in report.stages if s.name == name), None)
        return None if stage is None else {"params": stage.params, "flops": stage.flops}

    return {
        "schema": "resdsl.diff/1",
        "a": a.name,
        "b": b.name,
        "convention": a.convention.as_dict(),
        "stages": [{"name": n, "a": side(a, n), "b": side(b, n)} for n in names],
        "total": {
            "a": {"params": a.params, "flops": a.flops},
            "b": {"params": b.params, "flops": b.flops},
        },
    }


def graphml(net: Network) -> str:
    """``resdsl ir --format graphml``: the IR graph of one network for other tools (Gephi,
    yEd, networkx), each node with its op, label, module path, place, shape, parameters and
    spec line; each edge with its role and position. GraphML has no null, so what a node
    lacks (a stage, a block) is left out of it.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> text = graphml(net)
    >>> ">layer2.0.downsample.0</data>" in text, text.count("<node "), text.count(">shortcut<")
    (True, 69, 14)
    """
    import networkx as nx

    plain = nx.DiGraph(name=net.name, input=show(net.input), classes=net.classes)
    for index, node in enumerate(net.nodes):
        about = {
            "op": node.op.kind,
            "label": node.op.label(),
            "path": node.path,
            "section": node.section,
            "stage": node.stage,
            "block": node.block,
            "branch": node.branch,
            "shape": None if node.shape is None else show(node.shape),
            "params": node.op.params(),
            "line": node.span.line,
        }
        plain.add_node(index, **{key: value for key, value in about.items() if value is not None})
    for source, target, data in net.graph.edges(data=True):
        plain.add_edge(source, target, role=data["role"], position=data["position"])
    return "\n".join(nx.generate_graphml(plain)) + "\n"
