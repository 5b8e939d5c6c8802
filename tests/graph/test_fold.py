"""The graph pass (resdsl.graph: fold and DOT) and the ``resdsl graph`` command.

Node and edge counts are derived from the architecture in each test, not snapshotted: a
residual network with B blocks of k convolutions, S stem layers and the two head layers draws
1 (image) + S + B(k + 1) + 2 boxes at the layer level (each block: its convs and its ``+``),
and its main data flow is one chain through them (boxes - 1 arrows) plus one shortcut arc per
block.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from resdsl.graph.dot import GraphvizNotFound, quote, render, to_dot
from resdsl.graph.fold import fold
from resdsl.ir import Network
from resdsl.ops import AvgPool, Linear, MaxPool
from resdsl.pipeline import check_or_raise

ROOT = Path(__file__).resolve().parent.parent.parent
NODE = re.compile(r'^\s*"([^"]+)" \[(.*)\];$')
EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$')


@functools.cache
def network(spec: str, name: str | None = None) -> Network:
    (graph,) = check_or_raise(ROOT / "specs" / f"{spec}.res", name)
    return graph


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The DOT's nodes (id -> attributes) and edges (tail, head, attributes), line by line."""
    nodes = {m[1]: m[2] for line in dot.splitlines() if (m := NODE.match(line))}
    edges = [(m[1], m[2], m[3]) for line in dot.splitlines() if (m := EDGE.match(line))]
    return nodes, edges


def styled(edges: list[tuple[str, str, str]], style: str) -> list[tuple[str, str, str]]:
    return [e for e in edges if f"style={style}" in e[2]]


def arcs(edges: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Shortcut arcs: the only edges drawn from port to port beside the column."""
    return [e for e in edges if "tailport=e" in e[2]]


def blocks_with_shortcuts(graph: Network) -> int:
    """One arc per block of a residual network (16 in a 34-layer one), none in a plain one."""
    return sum(b.shortcut != "none" for b in graph.blocks)


# resnet20: a 3x3 conv stem (S = 1), 3 stages of n = 3 basic blocks (B = 9, k = 2).
RESNET20 = {
    "layer": (1 + 1 + 9 * (2 + 1) + 2, 9),  # boxes; shortcut arcs
    "block": (1 + 1 + 9 * (1 + 1) + 2, 9),  # each block: its F box and its +
    "stage": (1 + 1 + 9 * (1 + 1) + 2, 9),  # an alias of block
    "network": (1 + 1 + 3 + 2, 0),  # one box per stage, no arcs
}


@pytest.mark.parametrize("level", list(RESNET20))
def test_resnet20_counts(level: str) -> None:
    boxes, shortcuts = RESNET20[level]
    nodes, edges = parse(to_dot([network("cifar", "resnet20")], level))
    assert len(nodes) == boxes
    assert len(arcs(edges)) == shortcuts
    assert len(edges) == (boxes - 1) + shortcuts


@pytest.mark.parametrize(
    ("spec", "name", "level", "boxes"),
    [
        ("cifar", "plain20", "layer", 1 + 1 + 9 * 2 + 2),  # no + without a shortcut
        ("cifar", "plain20", "block", 1 + 1 + 9 + 2),
        ("plain34", None, "layer", 1 + 2 + 16 * 2 + 2),  # stem: 7x7 conv and pool
        ("resnet34", None, "layer", 1 + 2 + 16 * 3 + 2),
        ("resnet50", None, "layer", 1 + 2 + 16 * 4 + 2),  # bottlenecks: k = 3
        ("resnet50", None, "network", 1 + 2 + 4 + 2),
    ],
)
def test_counts_follow_the_architecture(spec: str, name: str | None, level: str, boxes: int):
    graph = network(spec, name)
    shortcuts = 0 if level == "network" else blocks_with_shortcuts(graph)
    nodes, edges = parse(to_dot([graph], level))
    assert len(nodes) == boxes
    assert len(edges) == boxes - 1 + shortcuts


@pytest.mark.parametrize("level", ["layer", "block"])
@pytest.mark.parametrize(
    ("spec", "name", "dashed", "dotted"),
    [
        ("resnet34", None, 3, 0),  # option B: a projection where each of 3 stages widens
        ("resnet34_a", None, 0, 3),  # option A: zero padding there instead, never dashed
        ("cifar", "resnet20", 0, 2),  # option A, 3 stages: 2 widen
        ("resnet34_c", None, 3 + 4 + 6 + 3, 0),  # option C: every block projects
        ("plain34", None, 0, 0),
    ],
)
def test_shortcut_styles(spec: str, name: str | None, dashed: int, dotted: int, level: str):
    graph = network(spec, name)
    _, edges = parse(to_dot([graph], level))
    assert len(styled(edges, "dashed")) == dashed
    assert len(styled(edges, "dotted")) == dotted
    assert len(arcs(edges)) == blocks_with_shortcuts(graph)


def test_projections_sit_where_option_b_projects() -> None:
    """The dashed arcs end at the + of each stage's first block that changes shape."""
    graph = network("resnet34")
    diagram = fold(graph, "layer")
    heads = [a.head for a in diagram.arrows if a.style == "projection"]
    paths = [graph.nodes[int(key.removeprefix("n"))].path for key in heads]
    assert paths == ["layer2.0.add", "layer3.0.add", "layer4.0.add"]
    labels = [a.label for a in diagram.arrows if a.style == "projection"]
    assert labels == ["1x1 conv, 128, /2", "1x1 conv, 256, /2", "1x1 conv, 512, /2"]


def test_zero_padding_is_labelled() -> None:
    diagram = fold(network("cifar", "resnet20"), "layer")
    assert [a.label for a in diagram.arrows if a.style == "pad"] == [
        "zero-pad, 32, /2",
        "zero-pad, 64, /2",
    ]


def test_labels_and_clusters_as_the_paper_writes_them() -> None:
    diagram = fold(network("resnet34"), "layer")
    labels = [b.label for b in diagram.boxes]
    assert labels[:4] == ["image", "7x7 conv, 64, /2", "pool, /2", "3x3 conv, 64"]
    assert labels[-2:] == ["avg pool", "fc 1000"]
    assert "3x3 conv, 128, /2" in labels
    assert [c.title for c in diagram.clusters] == [
        "conv2_x, 56x56",
        "conv3_x, 28x28",
        "conv4_x, 14x14",
        "conv5_x, 7x7",
    ]
    assert diagram.caption == "34-layer residual"
    assert fold(network("plain34"), "layer").caption == "34-layer plain"
    # every main arrow carries its shape
    assert all(a.shape for a in diagram.arrows)


def test_block_and_stage_labels() -> None:
    graph = network("resnet50")
    block = fold(graph, "block").boxes[3]
    assert block.label == "1x1 conv, 64\n3x3 conv, 64\n1x1 conv, 256"
    stage = fold(graph, "network").boxes[4]
    assert stage.label == "conv3_x, /2\n1x1, 128\n3x3, 128\n1x1, 512  x 4\n1 projection, 3 identity"


def test_layer_label_of_a_strided_pool_and_non_global_avgpool() -> None:
    assert MaxPool((3, 3), (2, 2), (1, 1)).label() == "pool, /2"
    assert AvgPool((3, 3), (1, 1), (1, 1)).label() == "avg pool"
    assert Linear(64, 10).label() == "fc 10"


def test_side_by_side_columns_in_order() -> None:
    dot = to_dot([network("plain34"), network("resnet34")])
    assert dot.index('"cluster_c0"') < dot.index('"cluster_c1"')
    assert 'label="34-layer plain\\n(plain34)"' in dot
    assert '{ rank=same; "c0_n0" -> "c1_n0" [style=invis]; }' in dot
    nodes, _ = parse(dot)
    assert len(nodes) == (1 + 2 + 16 * 2 + 2) + (1 + 2 + 16 * 3 + 2)


def test_quote_escapes() -> None:
    assert quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        fold(network("resnet34"), "everything")  # type: ignore[arg-type]


def need_dot() -> str:
    """Graphviz's dot: skipped with a reason where it is absent, but never in CI, which has it."""
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Graphviz 'dot' is missing in CI; the Makefile's graphviz target installs it"
            )
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz)")
    return dot


def test_svg_renders() -> None:
    need_dot()
    svg = render(to_dot([network("cifar", "resnet20")], "layer"), "svg").decode()
    assert "<svg" in svg
    assert "3x3 conv, 32, /2" in svg
    assert "zero&#45;pad, 32, /2" in svg or "zero-pad, 32, /2" in svg


def test_render_without_dot(monkeypatch) -> None:
    monkeypatch.setattr("resdsl.graph.dot.shutil.which", lambda name: None)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        render("digraph {}", "svg")


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.chdir(ROOT)  # relative spec paths, as a user types them
    return CliRunner()


def test_cli_dot_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["graph", "specs/cifar.res", "-n", "resnet20"])
    assert result.exit_code == 0, result.output
    nodes, edges = parse(result.stdout)
    assert (len(nodes), len(edges)) == (31, 39)


def test_cli_writes_dot_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r20.dot"
    args = ["graph", "specs/cifar.res", "-n", "resnet20", "--level", "network", "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("digraph resdsl {")
    assert "resnet20 (network level)" in result.stderr


def test_cli_side_by_side_svg(runner: CliRunner, tmp_path: Path) -> None:
    need_dot()
    out = tmp_path / "fig3.svg"
    result = runner.invoke(
        cli, ["graph", "specs/plain34.res", "specs/resnet34.res", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "34&#45;layer plain" in svg or "34-layer plain" in svg
    assert "(resnet34)" in svg


def test_cli_missing_dot(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no dot to be found
    out = tmp_path / "r20.png"
    result = runner.invoke(cli, ["graph", "specs/cifar.res", "-n", "resnet20", "-o", str(out)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert "apt-get install graphviz" in result.stderr
    assert "brew install graphviz" in result.stderr
    assert not out.exists()
    # .dot needs no Graphviz
    dot = tmp_path / "r20.dot"
    result = runner.invoke(cli, ["graph", "specs/cifar.res", "-n", "resnet20", "-o", str(dot)])
    assert result.exit_code == 0 and dot.exists()


def test_cli_bad_suffix_and_bad_network(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["graph", "specs/resnet34.res", "-o", "fig.jpg"])
    assert result.exit_code == 1  # a usage error, like every bad input
    assert "unknown suffix '.jpg'" in result.stderr
    result = runner.invoke(cli, ["graph", "specs/resnet34.res", "-n", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.stderr


def test_graph_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from resdsl.cli import cli\n"
        f"cli(['graph', 'specs/resnet34.res', '-o', {str(tmp_path / 'x.dot')!r}],"
        " standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_committed_figure_is_up_to_date() -> None:
    """docs/fig3.dot is the source of docs/fig3.svg/.png; a change to the drawing shows here."""
    committed = (ROOT / "docs" / "fig3.dot").read_text()
    fresh = to_dot([network("plain34"), network("resnet34")], "layer")
    assert fresh == committed, "regenerate docs/fig3.*: see docs/graph.md"


def test_arc_labels_in_dot() -> None:
    """Projection and padding arcs say what they do and their shape; identity arcs say nothing."""
    _, edges = parse(to_dot([network("resnet34")], "layer"))
    assert [e[2].split('"')[1] for e in styled(edges, "dashed")] == [
        "1x1 conv, 128, /2, 128x28x28",
        "1x1 conv, 256, /2, 256x14x14",
        "1x1 conv, 512, /2, 512x7x7",
    ]
    identity = [e for e in arcs(edges) if "style=" not in e[2]]
    assert len(identity) == 16 - 3
    assert not any("label=" in e[2] for e in identity)


def test_cli_dot_that_fails(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' executable to stand in for a failing dot")
    monkeypatch.setattr("resdsl.graph.dot.shutil.which", lambda name: false)
    out = tmp_path / "r20.svg"
    result = runner.invoke(cli, ["graph", "specs/cifar.res", "-n", "resnet20", "-o", str(out)])
    assert result.exit_code == 1
    assert "dot -Tsvg failed" in result.stderr
    assert not out.exists()
