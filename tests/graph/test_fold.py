"""The graph pass: fold (IR -> boxes and arrows) and DOT text.

Counts are derived from the architecture in each test, not snapshotted: a residual network
with B blocks of k convolutions, S stem layers and the two head layers draws 1 (image) + S +
B(k + 1) + 2 boxes at the layer level (each block: its convs and its ``+``); its column is one
chain of arrows through them (boxes - 1, each arrow into a stage passing through the stage's
entry point) plus one shortcut arc per block. The layout (rows, titles, arcs inside stages) is
tested in test_layout.py, the command in test_command.py.
"""

from __future__ import annotations

import pytest

from resdsl.graph.dot import quote, to_dot
from resdsl.graph.fold import fold
from resdsl.ir.network import Network
from resdsl.ops import AvgPool, Linear, MaxPool
from resdsl.pipeline import check_or_raise
from tests.graph.dotfile import arcs, blocks_with_shortcuts, column, network, parse, styled


def stages(graph: Network) -> int:
    """One entry point per stage, at the layer and block levels."""
    return len(graph.stages)


# resnet20: a 3x3 conv stem (S = 1), 3 stages of n = 3 basic blocks (B = 9, k = 2); an
# entry point per stage at the layer and block levels.
RESNET20 = {
    "layer": (1 + 1 + 3 + 9 * (2 + 1) + 2, 9),  # boxes; shortcut arcs
    "block": (1 + 1 + 3 + 9 * (1 + 1) + 2, 9),  # each block: its F box and its +
    "stage": (1 + 1 + 3 + 9 * (1 + 1) + 2, 9),  # an alias of block
    "network": (1 + 1 + 3 + 2, 0),  # one box per stage, no arcs, no entry points
}


@pytest.mark.parametrize("level", list(RESNET20))
def test_resnet20_counts(level: str) -> None:
    boxes, shortcuts = RESNET20[level]
    nodes, edges = parse(to_dot([network("cifar", "resnet20")], level))
    assert len(nodes) == boxes
    assert len(arcs(edges)) == shortcuts
    assert len(column(edges)) == boxes - 1
    labelled = len(styled(edges, "dotted")) // 2  # option A: to the label, then to the +
    assert len(edges) == (boxes - 1) + shortcuts + labelled


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
    boxes += 0 if level == "network" else stages(graph)
    nodes, edges = parse(to_dot([graph], level))
    assert len(nodes) == boxes
    assert len(column(edges)) == boxes - 1
    assert len(arcs(edges)) == shortcuts


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
    assert len(styled(arcs(edges), "dashed")) == dashed
    assert len(styled(arcs(edges), "dotted")) == dotted
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
    labels = [b.label for b in diagram.boxes if b.kind not in ("entry", "fork")]
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


def test_rows_follow_the_data_flow_and_name_the_same_layer_in_every_network() -> None:
    plain, residual = fold(network("plain34"), "layer"), fold(network("resnet34"), "layer")
    for diagram in (plain, residual):
        rows = [box.row for box in diagram.boxes]
        assert rows == sorted(rows) and len(set(rows)) == len(rows)
    # conv3_x's first block: its entry, two layers, and (residual only) its +
    assert [b.row for b in residual.boxes if b.row[:3] == (2, 2, 0)] == [
        (2, 2, 0, 0, 0),
        (2, 2, 0, 1, 0),
        (2, 2, 0, 1, 1),
        (2, 2, 0, 2, 0),
    ]
    assert [b.row for b in plain.boxes if b.row[:3] == (2, 2, 0)] == [
        (2, 2, 0, 0, 0),
        (2, 2, 0, 1, 0),
        (2, 2, 0, 1, 1),
    ]
    same = {b.row: b.label for b in plain.boxes} | {b.row: b.label for b in residual.boxes}
    assert all(same[b.row] == b.label for b in plain.boxes)  # equal rows, equal layers


def test_a_stage_is_entered_through_a_point_its_first_shortcut_leaves_from() -> None:
    diagram = fold(network("resnet34"), "layer")
    points = [b for b in diagram.boxes if b.kind in ("entry", "fork")]
    assert [(b.key, b.kind, b.stage) for b in points] == [
        ("e1", "fork", 1),
        ("e2", "fork", 2),
        ("e3", "fork", 3),
        ("e4", "fork", 4),
    ]
    stage = {b.key: b.stage for b in diagram.boxes}
    shortcuts = [a for a in diagram.arrows if a.style != "main"]
    assert all(stage[a.tail] == stage[a.head] for a in shortcuts)  # no arc leaves its stage
    assert [a.tail for a in shortcuts if a.style == "projection"] == ["e2", "e3", "e4"]
    plain = fold(network("plain34"), "layer")
    assert {b.kind for b in plain.boxes if b.key.startswith("e")} == {"entry"}


def test_block_and_stage_labels() -> None:
    graph = network("resnet50")
    block = fold(graph, "block").boxes[4]  # image, 7x7 conv, pool, conv2_x's entry point
    assert block.label == "1x1 conv, 64\n3x3 conv, 64\n1x1 conv, 256"
    stage = fold(graph, "network").boxes[4]
    assert stage.label == "conv3_x, /2\n1x1, 128\n3x3, 128\n1x1, 512  x 4\n1 projection, 3 identity"


def test_layer_label_of_a_strided_pool_and_non_global_avgpool() -> None:
    assert MaxPool((3, 3), (2, 2), (1, 1)).label() == "pool, /2"
    assert AvgPool((3, 3), (1, 1), (1, 1)).label() == "avg pool"
    assert Linear(64, 10).label() == "fc 10"


def test_quote_escapes() -> None:
    assert quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        fold(network("resnet34"), "everything")  # type: ignore[arg-type]


def test_a_side_branch_is_drawn_as_part_of_its_block():
    """SE's branch: in the block's box at block level (as Hu et al. 2018's Table 1 lists
    its fc layers), its own boxes and a product at layer level, never a shortcut arc."""
    (net,) = check_or_raise("specs/seresnet.res")
    blocks = fold(net, level="block")
    first = next(box for box in blocks.boxes if box.key == "b1.0")
    assert first.label.splitlines() == [
        "1x1 conv, 64",
        "3x3 conv, 64",
        "1x1 conv, 256",
        "se: fc 16, fc 256",
    ]
    arcs = [a for a in blocks.arrows if a.style != "main"]
    assert len(arcs) == len(net.blocks)  # one shortcut arc a block, none for the product
    layers = fold(net, level="layer")
    assert sum(box.label == "x" for box in layers.boxes) == len(net.blocks)
    assert len([a for a in layers.arrows if a.style != "main"]) == len(net.blocks)
