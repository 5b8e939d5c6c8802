"""Lowering: torchvision's module names, blocks from their recipes, and shortcut options."""

from __future__ import annotations

import pytest

from resdsl import ops
from resdsl.pipeline import check, check_or_raise
from tests.conftest import ROOT, SPECS


def network(spec: str, name: str | None = None):
    graphs = check_or_raise(ROOT / "specs" / spec, name)
    return graphs[0]


def paths(graph, op=None):
    return [n.path for n in graph.nodes if op is None or n.op.kind == op]


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_every_bundled_spec_checks(spec):
    result = check(spec)
    assert result.ok, result.diagnostics
    assert result.networks


@pytest.mark.parametrize(
    ("spec", "name", "layers"),
    [
        ("resnet18.res", None, 18),
        ("resnet34.res", None, 34),
        ("resnet50.res", None, 50),
        ("resnet101.res", None, 101),
        ("resnet152.res", None, 152),
        ("plain34.res", None, 34),
        ("cifar.res", "resnet20", 20),
        ("cifar.res", "plain56", 56),
        ("resnet110.res", None, 110),
        ("resnet1202.res", None, 1202),
    ],
)
def test_depth_is_the_number_in_the_name(spec, name, layers):
    assert network(spec, name).depth == layers


def test_resnet50_module_paths_are_torchvisions():
    graph = network("resnet50.res")
    convs = paths(graph, "conv")
    assert convs[:5] == [
        "conv1",
        "layer1.0.conv1",
        "layer1.0.conv2",
        "layer1.0.conv3",
        "layer1.0.downsample.0",
    ]
    assert "layer2.0.downsample.0" in convs and "layer2.1.downsample.0" not in convs
    assert paths(graph, "bn")[-1] == "layer4.2.bn3"
    assert paths(graph, "maxpool") == ["maxpool"] and paths(graph, "fc") == ["fc"]


def test_bottleneck_stride_placement_paper_and_v1_5():
    def strides(graph):
        return {
            n.path: n.op.stride[0]
            for n in graph.nodes
            if n.op.kind == "conv" and n.path.startswith("layer2.0.conv")
        }

    assert strides(network("resnet50.res")) == {
        "layer2.0.conv1": 2,
        "layer2.0.conv2": 1,
        "layer2.0.conv3": 1,
    }
    assert strides(network("resnet50_v1_5.res")) == {
        "layer2.0.conv1": 1,
        "layer2.0.conv2": 2,
        "layer2.0.conv3": 1,
    }


@pytest.mark.parametrize(
    ("spec", "kinds"),
    [
        ("resnet34.res", {"identity": 13, "projection": 3}),
        ("resnet34_a.res", {"identity": 13, "pad": 3}),
        ("resnet34_c.res", {"projection": 16}),
        ("plain34.res", {"none": 16}),
        ("resnet50.res", {"identity": 12, "projection": 4}),
    ],
)
def test_shortcut_options(spec, kinds):
    blocks = network(spec).blocks
    counted = {}
    for block in blocks:
        counted[block.shortcut] = counted.get(block.shortcut, 0) + 1
    assert counted == kinds


def test_plain_blocks_have_no_addition_and_residual_ones_one_each():
    assert paths(network("plain34.res"), "add") == []
    assert len(paths(network("resnet34.res"), "add")) == 16


# --- the ResNet family --------------------------------------------------------------------


def _index(graph, path: str) -> int:
    return next(i for i, n in enumerate(graph.nodes) if n.path == path)


@pytest.mark.parametrize(
    ("name", "layers"),
    [("preact_resnet110", 110), ("preact_resnet164", 164), ("preact_resnet1001", 1001)],
)
def test_preact_depth_is_the_number_in_the_name(name, layers):
    assert network("preact_resnet.res", name).depth == layers


def test_preact_unit_bn_relu_conv_and_where_its_shortcut_reads():
    """He et al. 2016: BN-ReLU-conv, no ReLU after the addition; the first unit's identity and
    every projection read the pre-activation, other identities the unit's raw input."""
    graph = network("preact_resnet.res", "preact_resnet110")
    assert paths(graph)[1:2] == ["conv1"] and paths(graph)[-4:] == ["bn", "relu", "avgpool", "fc"]
    unit = [n.path.split(".", 2)[2] for n in graph.nodes if n.stage == 1 and n.block == 0]
    assert unit == ["bn1", "relu", "conv1", "bn2", "relu", "conv2", "add"]
    first_add = graph.nodes[_index(graph, "layer1.0.add")]
    assert first_add.inputs[1] == _index(graph, "layer1.0.relu")  # the first relu's output
    assert graph.nodes[_index(graph, "layer1.1.add")].inputs[1] == _index(graph, "layer1.0.add")
    projection = graph.nodes[_index(graph, "layer2.0.downsample.0")]
    assert projection.inputs == (_index(graph, "layer2.0.relu"),) and projection.op.stride == (2, 2)
    assert [b.preactivated for b in graph.blocks[:2]] == [True, False]
    bottleneck = network("preact_resnet.res", "preact_resnet164")
    assert bottleneck.node("layer2.0.conv1").op.stride == (2, 2)  # resnet-pre-act.lua


def test_avg_down_shortcut_and_deep_stem_at_timm_s_indices():
    graph = network("resnet_d.res", "resnet26d")
    assert paths(graph)[1:11] == [
        "conv1.0", "conv1.1", "conv1.2", "conv1.3", "conv1.4", "conv1.5", "conv1.6",
        "bn1", "relu", "maxpool",
    ]  # fmt: skip
    shortcut = [n.path for n in graph.nodes if n.branch == "shortcut" and n.stage in (1, 2)]
    assert shortcut == [
        "layer1.0.downsample.1", "layer1.0.downsample.2",  # stride 1: no pool
        "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.downsample.2",
    ]  # fmt: skip
    pool = graph.node("layer2.0.downsample.0").op
    assert pool.ceil_mode and pool.kernel == (2, 2) and pool.stride == (2, 2)
    assert graph.node("layer2.0.downsample.1").op.stride == (1, 1)


def test_grouped_and_wide_bottlenecks_take_torchvision_s_width():
    resnext = network("resnext.res", "resnext50_32x4d")
    assert resnext.node("layer1.0.conv2").op == ops.Conv(128, 128, (3, 3), (1, 1), (1, 1), 32)
    assert resnext.node("layer4.0.conv3").op.in_channels == 1024  # 512 * 4 // 64 * 32
    assert resnext.node("layer4.0.conv3").op.out_channels == 2048
    wide = network("wide_resnet.res", "wide_resnet50_2")
    assert (
        wide.node("layer1.0.conv1").op.out_channels == 128
        and wide.node("fc").op.in_features == 2048
    )
