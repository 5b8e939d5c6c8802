"""Shape inference: the output sizes of the paper's Table 1 and section 4.2."""

from __future__ import annotations

from resdsl.ops import sliding
from resdsl.pipeline import check_or_raise
from tests.conftest import ROOT


def stage_shapes(spec, name=None):
    (graph,) = check_or_raise(ROOT / "specs" / spec, name)
    last = {}
    for node in graph.nodes:
        if node.stage is not None:
            last[node.stage] = node.shape
    return [last[k] for k in sorted(last)], graph


def test_imagenet_output_sizes_follow_table_1():
    shapes, graph = stage_shapes("resnet34.res")
    assert shapes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    by_path = {n.path: n.shape for n in graph.nodes}
    assert by_path["conv1"] == (64, 112, 112) and by_path["maxpool"] == (64, 56, 56)
    assert by_path["avgpool"] == (512, 1, 1) and by_path["fc"] == (1000,)


def test_bottleneck_widths_follow_table_1():
    shapes, _ = stage_shapes("resnet152.res")
    assert [s[0] for s in shapes] == [256, 512, 1024, 2048]


def test_cifar_maps_are_32_16_8():
    shapes, _ = stage_shapes("cifar.res", "resnet20")
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_every_node_has_a_shape_and_reads_earlier_nodes():
    _, graph = stage_shapes("resnet34_a.res")
    for index, node in enumerate(graph.nodes):
        assert node.shape is not None and all(i < index for i in node.inputs)


def test_option_a_subsampling_matches_the_strided_convolution():
    _, graph = stage_shapes("resnet34_a.res")
    for node in graph.nodes:
        if node.op.kind == "add":
            main, shortcut = (graph.nodes[i].shape for i in node.inputs)
            assert main == shortcut


def test_sliding_window_floor_rule_and_misfit():
    assert sliding(224, 224, (7, 7), (2, 2), (3, 3)) == (112, 112)
    assert sliding(7, 7, (3, 3), (2, 2), (1, 1)) == (4, 4)
    assert sliding(5, 5, (7, 7), (1, 1), (0, 0)) is None
