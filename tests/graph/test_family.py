"""The ResNet family drawn as the paper draws Fig. 3: grouped convolutions, ResNet-D's pooled
projections, and pre-activation units (whose BN and ReLU fold into the box before them)."""

from __future__ import annotations

from pathlib import Path

from resdsl.graph.dot import to_dot
from resdsl.graph.fold import fold
from resdsl.pipeline import check_or_raise

ROOT = Path(__file__).resolve().parent.parent.parent


def network(spec: str, name: str):
    return check_or_raise(ROOT / "specs" / f"{spec}.res", name)[0]


def test_grouped_convolutions_are_labelled_with_their_groups():
    labels = [box.label for box in fold(network("resnext", "resnext50_32x4d")).boxes]
    assert "3x3 conv, 128, 32 groups" in labels
    assert "3x3 conv, 256, /2, 32 groups" in labels
    assert '"3x3 conv, 512, /2, 32 groups"' in to_dot([network("resnext", "resnext50_32x4d")])


def test_resnet_d_projections_are_dashed_and_say_they_pool_first():
    diagram = fold(network("resnet_d", "resnet50d"), level="block")
    dashed = [arrow.label for arrow in diagram.arrows if arrow.style == "projection"]
    assert dashed == [
        "1x1 conv, 256",  # conv2_x at stride 1: no pool
        "avg pool, /2 + 1x1 conv, 512",
        "avg pool, /2 + 1x1 conv, 1024",
        "avg pool, /2 + 1x1 conv, 2048",
    ]
    assert [box.label for box in diagram.boxes[1:4]] == [
        "3x3 conv, 32, /2", "3x3 conv, 32", "3x3 conv, 64",
    ]  # fmt: skip


def test_pre_activation_units_draw_one_box_per_conv_and_their_arcs():
    graph = network("preact_resnet", "preact_resnet110")
    diagram = fold(graph)
    convs = [box for box in diagram.boxes if box.label.startswith("3x3 conv")]
    assert len(convs) == 1 + 54 * 2 and diagram.caption == "110-layer residual"
    styles = [arrow.style for arrow in diagram.arrows if arrow.style != "main"]
    assert styles.count("projection") == 2 and styles.count("identity") == 52
    assert [box.label for box in diagram.boxes[-3:]] == ["+", "avg pool", "fc 10"]  # bn, relu fold
