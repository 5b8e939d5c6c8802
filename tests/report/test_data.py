"""JSON and SARIF outputs, parsed from the real commands and checked against docs/api.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent.parent
BROKEN = "tests/golden/errors/option_a_shrinks.res"
DIAGNOSTIC_KEYS = {"file", "line", "column", "end_line", "end_column", "severity", "message"}


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_check_json() -> None:
    result = run("check", "--format", "json", "specs/resnet18.res", BROKEN)
    assert result.exit_code == 1  # an error in any file, whatever the format
    data = json.loads(result.stdout)
    assert data["schema"] == "resdsl.check/1" and data["ok"] is False
    good, bad = data["files"]
    assert good == {
        "file": "specs/resnet18.res",
        "ok": True,
        "networks": [{"name": "resnet18", "depth": 18}],
        "diagnostics": [],
    }
    (diagnostic,) = bad["diagnostics"]
    assert set(diagnostic) == DIAGNOSTIC_KEYS
    assert (diagnostic["line"], diagnostic["column"], diagnostic["severity"]) == (9, 5, "error")
    assert "cannot take 64 channels down to 32" in diagnostic["message"]
    clean = run("check", "--format", "json", "specs/cifar.res")
    assert clean.exit_code == 0 and json.loads(clean.stdout)["ok"] is True


def test_check_sarif() -> None:
    result = run("check", "--format", "sarif", BROKEN)
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["version"] == "2.1.0"
    (found,) = data["runs"][0]["results"]
    region = found["locations"][0]["physicalLocation"]["region"]
    assert found["level"] == "error" and region["startLine"] == 9 and region["startColumn"] == 5
    assert data["runs"][0]["tool"]["driver"]["name"] == "resdsl"


def test_ir_json_has_every_node_with_its_op_parameters() -> None:
    result = run("ir", "--format", "json", "specs/cifar.res", "-n", "resnet20")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "resdsl.ir.network/2"
    (net,) = data["networks"]
    assert (net["name"], net["depth"], net["shortcut"], net["input"]) == (
        "resnet20",
        20,
        "A",
        [3, 32, 32],
    )
    # The block as its definition has it: basic takes planes and stride, nothing network-wide.
    assert net["block"] == {"kind": "basic", "zero_init": False}
    assert [s["blocks"] for s in net["stages"]] == [3, 3, 3]
    assert [b["shortcut"] for b in net["blocks"]].count("pad") == 2
    nodes = net["nodes"]
    assert nodes[1]["op"] == "conv" and nodes[1]["params"]["kernel"] == [3, 3]
    assert nodes[-1] == {
        "index": len(nodes) - 1, "op": "fc", "params": {"in_features": 64, "out_features": 10},
        "path": "fc", "inputs": [len(nodes) - 2], "roles": ["main"], "section": "head",
        "stage": None, "block": None, "branch": None, "shape": [10], "line": 15,
    }  # fmt: skip
    adds = [n for n in nodes if n["op"] == "add"]
    assert len(adds) == 9 and all(n["roles"] == ["main", "shortcut"] for n in adds)


def test_stats_json_carries_its_schema() -> None:
    data = json.loads(run("stats", "--format", "json", "specs/resnet18.res").stdout)
    (net,) = data
    assert net["schema"] == "resdsl.stats/1" and net["params"] == 11_689_512
    assert {"name", "stages", "convention", "saved_bytes", "training_flops"} <= set(net)


def test_diff_json() -> None:
    result = run("diff", "--format", "json", "specs/resnet50.res", "specs/resnet50_v1_5.res")
    data = json.loads(result.stdout)
    assert data["schema"] == "resdsl.diff/1" and (data["a"], data["b"]) == (
        "resnet50",
        "resnet50_v1_5",
    )
    assert data["total"]["a"]["params"] == data["total"]["b"]["params"] == 25_557_032
    assert data["total"]["b"]["flops"] - data["total"]["a"]["flops"] == 231_211_008
    layer2 = next(s for s in data["stages"] if s["name"] == "layer2")
    assert layer2["a"]["params"] == layer2["b"]["params"]


def test_ir_graphml_is_the_graph_networkx_reads_back(tmp_path) -> None:
    import networkx as nx

    result = run("ir", "--format", "graphml", "specs/resnet18.res")
    assert result.exit_code == 0, result.output
    path = tmp_path / "r18.graphml"
    path.write_text(result.stdout)
    graph = nx.read_graphml(path, node_type=int)
    assert graph.number_of_nodes() == 69 and nx.is_directed_acyclic_graph(graph)
    projection = next(n for n, d in graph.nodes(data=True) if d["path"] == "layer2.0.downsample.0")
    assert graph.nodes[projection]["shape"] == "128x28x28"
    assert graph.nodes[projection]["params"] == 64 * 128
    norm = next(graph.successors(projection))  # downsample.1, then the addition
    add = next(graph.successors(norm))
    assert {data["role"] for _, _, data in graph.in_edges(add, data=True)} == {"main", "shortcut"}


def test_ir_graphml_needs_one_network() -> None:
    result = run("ir", "--format", "graphml", "specs/cifar.res")
    assert result.exit_code == 1
    assert "graphml holds one network: name one of specs/cifar.res's with -n" in result.output
