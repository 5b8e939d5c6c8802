"""Elaboration: torchvision's module names, blocks, shortcuts, defaults and derivations."""

from __future__ import annotations

import pytest

from resdsl.ir import depth
from resdsl.pipeline import check, check_or_raise
from tests.conftest import ROOT, SPECS


def network(spec: str, name: str | None = None):
    graphs = check_or_raise(ROOT / "specs" / spec, name)
    return graphs[0]


def paths(graph, op=None):
    return [a["path"] for _, a in graph.nodes(data=True) if op is None or a["op"] == op]


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
    assert depth(network(spec, name)) == layers


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
            a["path"]: a["stride"][0]
            for _, a in graph.nodes(data=True)
            if a["op"] == "conv" and a["path"].startswith("layer2.0.conv")
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
    blocks = network(spec).graph["blocks"]
    counted = {}
    for block in blocks:
        counted[block.shortcut] = counted.get(block.shortcut, 0) + 1
    assert counted == kinds


def test_plain_blocks_have_no_addition_and_residual_ones_one_each():
    assert paths(network("plain34.res"), "add") == []
    assert len(paths(network("resnet34.res"), "add")) == 16


def test_derivation_with_overrides_and_bound_parameters():
    graph = network("cifar.res", "plain32")
    assert graph.graph["shortcut"] == "none" and graph.graph["base"] == "cifar_resnet"
    assert graph.graph["arguments"] == {"n": 5}
    assert [st.blocks for st in graph.graph["stages"]] == [5, 5, 5]


def test_defaults_block_basic_shortcut_b_and_padding_k_over_2(tmp_path):
    spec = tmp_path / "d.res"
    spec.write_text(
        "network d { input 3x64x64 classes 5 stem { conv 5x5, 8 maxpool 3x3, stride 2 }"
        " stage 1 x 8 stage 1 x 16, stride 2 head { avgpool fc } }"
    )
    (graph,) = check_or_raise(spec)
    assert graph.graph["block"].kind == "basic" and graph.graph["shortcut"] == "B"
    conv, pool = (a for _, a in graph.nodes(data=True) if a["path"] in ("conv1", "maxpool"))
    assert conv["padding"] == (2, 2) and pool["padding"] == (1, 1)


def test_family_expressions(tmp_path):
    spec = tmp_path / "f.res"
    spec.write_text(
        "network f(n, w) { input 3x32x32 classes 10 stage 2*n+1 x w stage n x w*2, stride 2"
        " head { avgpool fc } }\nnetwork g = f(n=2, w=8)\n"
    )
    (graph,) = check_or_raise(spec)
    assert [(st.blocks, st.width) for st in graph.graph["stages"]] == [(5, 8), (2, 16)]


def test_only_one_network_of_a_file():
    graphs = check_or_raise(ROOT / "specs" / "cifar.res", "resnet44")
    assert [g.graph["name"] for g in graphs] == ["resnet44"]


def test_asking_for_a_family_or_an_unknown_network():
    result = check(ROOT / "specs" / "cifar.res", "cifar_resnet")
    assert "is a family" in result.diagnostics[0].message
    result = check(ROOT / "specs" / "cifar.res", "resnet21")
    assert "has no network resnet21" in result.diagnostics[0].message


def test_with_block_options_and_further_overrides(tmp_path):
    family = (ROOT / "tests" / "golden" / "language" / "family.res").read_text()
    spec = tmp_path / "w.res"
    spec.write_text(
        family + "network wide = cifar_resnet(n=3) with block bottleneck, stride on 3x3, "
        "expansion 2, classes 100, shortcut B\n"
    )
    graph = check_or_raise(spec, "wide")[0]
    block = graph.graph["block"]
    assert (block.kind, block.stride_on, block.expansion) == ("bottleneck", "3x3", 2)
    assert graph.graph["classes"] == 100 and graph.graph["shortcut"] == "B"
    spec.write_text(family + "network odd = cifar_resnet(n=3) with expansion 2\n")
    (diagnostic,) = check(spec).diagnostics
    assert "a block option needs its block" in diagnostic.message
