"""How the DOT lays out the paper's Fig. 3: corresponding layers of side-by-side networks on
one row, straight columns, titles beside the column, shortcut arcs inside their stage, and the
compact mode. Structure read back from the DOT text, not pixels."""

from __future__ import annotations

import pytest

from resdsl.graph.dot import to_dot
from tests.graph.dotfile import (
    arcs,
    clusters,
    column,
    label,
    network,
    parse,
    ranks,
    styled,
    texts,
)


def layers(dot: str, col: int) -> list[str]:
    """Column ``col``'s weighted layers (conv and fc boxes), top to bottom."""
    nodes, _ = parse(dot)
    return [
        node
        for node, attrs in nodes.items()
        if node.startswith(f"c{col}_") and ("conv" in label(attrs) or "fc" in label(attrs))
    ]


def test_plain34_and_resnet34_side_by_side_layer_for_layer() -> None:
    """Fig. 3: the i-th weighted layer of the plain net on the rank of the residual net's."""
    dot = to_dot([network("plain34"), network("resnet34")], "layer", shapes=False)
    plain, residual = layers(dot, 0), layers(dot, 1)
    assert len(plain) == len(residual) == 34
    groups = ranks(dot)
    for left, right in zip(plain, residual, strict=True):
        assert any({left, right} <= group for group in groups), (left, right)
    # and nothing else of one column shares a layer's rank: one layer per row per column
    for group in groups:
        assert len([n for n in group if n.startswith("c0_n")]) <= 1
        assert len([n for n in group if n.startswith("c1_n")]) <= 1


def test_rows_align_nets_of_different_blocks_stage_by_stage() -> None:
    """ResNet-34 (basic) beside ResNet-50 (bottleneck): each block's first two layers, its +
    and each stage's entry share rows; the bottleneck's third layer has a row of its own."""
    dot = to_dot([network("resnet34"), network("resnet50")], "block")
    groups = ranks(dot)
    for stage in (1, 2, 3, 4):
        assert any({f"c0_e{stage}", f"c1_e{stage}"} <= g for g in groups)
    nodes, _ = parse(dot)
    adds = [
        [n for n in nodes if n.startswith(f"c{c}_") and "shape=circle" in nodes[n]] for c in (0, 1)
    ]
    assert len(adds[0]) == len(adds[1]) == 16
    for left, right in zip(*adds, strict=True):
        assert any({left, right} <= g for g in groups)


def test_columns_are_ordered_left_to_right_on_the_first_row() -> None:
    dot = to_dot([network("plain34"), network("resnet34"), network("resnet50")])
    assert '{ rank=same; "c0_n0" -> "c1_n0" -> "c2_n0" [style=invis]; }' in dot
    assert dot.index('"cluster_c0"') < dot.index('"cluster_c1"') < dot.index('"cluster_c2"')
    assert 'label="34-layer plain\\n(plain34)"' in dot


def test_columns_are_straight_chains() -> None:
    """Every arrow of a column weighs 100 and joins two nodes of the column's group, which is
    what keeps Graphviz from bending it; shortcut arcs weigh the default 1."""
    dot = to_dot([network("plain34"), network("resnet34")])
    nodes, edges = parse(dot)
    for tail, head, _ in column(edges):
        assert tail[:3] == head[:3]
        assert f'group="{tail[:2]}"' in nodes[tail] and f'group="{head[:2]}"' in nodes[head]
    assert len(column(edges)) == len(nodes) - 2  # one chain per column
    assert not [e for e in arcs(edges) if "weight=" in e[2]]


def test_stage_titles_sit_left_of_the_entry_not_on_the_frame() -> None:
    """A stage's frame has no label of its own (it would sit where the column's arrow enters);
    its title is a node on the row of the stage's entry point, ordered to its left."""
    dot = to_dot([network("resnet34")], "layer")
    assert dot.count('subgraph "cluster_c0_s') == 4
    assert dot.count('label=""; style=rounded') == 4
    titles = {k: label(v) for k, v in texts(dot).items() if "_t" in k}
    assert titles == {
        "c0_t1": "conv2_x, 56x56",
        "c0_t2": "conv3_x, 28x28",
        "c0_t3": "conv4_x, 14x14",
        "c0_t4": "conv5_x, 7x7",
    }
    where = clusters(dot)
    for stage in range(1, 5):
        assert where[f"c0_t{stage}"] == where[f"c0_e{stage}"] == f"cluster_c0_s{stage}"
        assert f'"c0_t{stage}" -> "c0_e{stage}" [style=invis];' in dot
    _, edges = parse(dot)
    assert not [e for e in edges if "_t" in e[0] or "_t" in e[1]]  # no arrow touches a title


@pytest.mark.parametrize("level", ["layer", "block"])
@pytest.mark.parametrize("spec", ["resnet34", "resnet34_a", "resnet34_c", "resnet50"])
def test_every_shortcut_is_drawn_inside_its_stage(spec: str, level: str) -> None:
    """Both ends of every arc (and a labelled arc's label) are declared in the same stage
    cluster: no arc starts in the stage before and crosses its frame."""
    dot = to_dot([network(spec)], level)
    where = clusters(dot)
    _, edges = parse(dot)
    shortcuts = [e for e in edges if "weight=100" not in e[2]]
    assert shortcuts
    for tail, head, _ in shortcuts:
        assert where[tail] == where[head], (tail, head)
        assert where[tail].startswith("cluster_c0_s")


def test_a_labelled_shortcut_runs_through_its_label_beside_its_block() -> None:
    """A projection's arc goes from the stage's entry down to its label, written right of the
    block's first layer, then on to the ``+``: no flat edge, no rank of its own."""
    dot = to_dot([network("resnet34")], "layer")
    nodes, edges = parse(dot)
    labels = {k: label(v) for k, v in texts(dot).items() if "_l" in k}
    assert sorted(labels.values()) == [
        "1x1 conv, 128, /2, 128x28x28",
        "1x1 conv, 256, /2, 256x14x14",
        "1x1 conv, 512, /2, 512x7x7",
    ]
    groups = ranks(dot)
    for node in labels:
        (into,) = [e for e in edges if e[1] == node]
        (out,) = [e for e in edges if e[0] == node]
        assert "style=dashed" in into[2] and "arrowhead=none" in into[2]
        assert "style=dashed" in out[2] and "shape=circle" in nodes[out[1]]
        assert into[0].startswith("c0_e")  # from the stage's entry point
        (first,) = [e[1] for e in column(edges) if e[0] == into[0]]  # the block's first layer
        assert f'"{first}" -> "{node}" [style=invis];' in dot  # the label on its right
        assert any({first, node} <= g for g in groups)
        assert not any({into[0], node} <= g for g in groups)  # not on the entry's own row
    identity = [e for e in arcs(edges) if "style=" not in e[2]]
    assert len(identity) == 16 - 3 and not any("label" in e[2] for e in identity)


def test_compact_mode_has_no_shapes_and_tighter_ranks() -> None:
    nets = [network("plain34"), network("resnet34")]
    full, compact = to_dot(nets, "layer"), to_dot(nets, "layer", shapes=False)
    assert full.count("xlabel=") == len(column(parse(full)[1])) - 8  # not into entry points
    assert "xlabel=" not in compact
    assert "ranksep=0.3" in full and "ranksep=0.12" in compact
    labels = sorted(label(v) for k, v in texts(compact).items() if "_l" in k)
    assert labels == ["1x1 conv, 128, /2", "1x1 conv, 256, /2", "1x1 conv, 512, /2"]
    assert parse(full)[0].keys() == parse(compact)[0].keys()  # the same boxes


def test_option_a_padding_is_dotted_and_labelled() -> None:
    dot = to_dot([network("cifar", "plain20"), network("cifar", "resnet20")], shapes=False)
    _, edges = parse(dot)
    assert len(styled(arcs(edges), "dotted")) == 2
    labels = sorted(label(v) for k, v in texts(dot).items() if "_l" in k)
    assert labels == ["zero-pad, 32, /2", "zero-pad, 64, /2"]
    assert layers(dot, 0) and len(layers(dot, 0)) == len(layers(dot, 1)) == 20
