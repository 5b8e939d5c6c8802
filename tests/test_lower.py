"""Lowering: torchvision's module names, blocks from their recipes, and shortcut options."""

from __future__ import annotations

import pytest

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
