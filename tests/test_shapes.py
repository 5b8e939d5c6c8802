"""Shape inference: the output sizes of the paper's Table 1 and section 4.2."""

from __future__ import annotations

from resdsl.pipeline import check_or_raise
from resdsl.shapes import sliding
from tests.conftest import ROOT


def stage_shapes(spec, name=None):
    (graph,) = check_or_raise(ROOT / "specs" / spec, name)
    last = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["stage"] is not None:
            last[attrs["stage"]] = attrs["shape"]
    return [last[k] for k in sorted(last)], graph


def test_imagenet_output_sizes_follow_table_1():
    shapes, graph = stage_shapes("resnet34.res")
    assert shapes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    by_path = {a["path"]: a["shape"] for _, a in graph.nodes(data=True)}
    assert by_path["conv1"] == (64, 112, 112) and by_path["maxpool"] == (64, 56, 56)
    assert by_path["avgpool"] == (512, 1, 1) and by_path["fc"] == (1000,)


def test_bottleneck_widths_follow_table_1():
    shapes, _ = stage_shapes("resnet152.res")
    assert [s[0] for s in shapes] == [256, 512, 1024, 2048]


def test_cifar_maps_are_32_16_8():
    shapes, _ = stage_shapes("cifar.res", "resnet20")
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_every_edge_carries_its_source_shape():
    _, graph = stage_shapes("resnet34_a.res")
    for source, _, attrs in graph.edges(data=True):
        assert attrs["shape"] == graph.nodes[source]["shape"]


def test_option_a_subsampling_matches_the_strided_convolution():
    _, graph = stage_shapes("resnet34_a.res")
    for node, attrs in graph.nodes(data=True):
        if attrs["op"] == "add":
            shapes = [e["shape"] for _, _, e in graph.in_edges(node, data=True)]
            assert shapes[0] == shapes[1]


def test_sliding_window_floor_rule_and_misfit():
    assert sliding(224, 224, (7, 7), (2, 2), (3, 3)) == (112, 112)
    assert sliding(7, 7, (3, 3), (2, 2), (1, 1)) == (4, 4)
    assert sliding(5, 5, (7, 7), (1, 1), (0, 0)) is None
