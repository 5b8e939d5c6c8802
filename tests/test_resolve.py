"""Resolving: families, derivations and `with` overrides, defaults, one network of a file."""

from __future__ import annotations

from resdsl.pipeline import check, check_or_raise
from tests.conftest import ROOT


def network(spec: str, name: str | None = None):
    graphs = check_or_raise(ROOT / "specs" / spec, name)
    return graphs[0]


def test_derivation_with_overrides_and_bound_parameters():
    graph = network("cifar.res", "plain32")
    assert graph.shortcut == "none" and graph.base == "cifar_resnet"
    assert graph.arguments == {"n": 5}
    assert [st.blocks for st in graph.stages] == [5, 5, 5]


def test_defaults_block_basic_shortcut_b_and_padding_k_over_2(tmp_path):
    spec = tmp_path / "d.res"
    spec.write_text(
        "network d { input 3x64x64 classes 5 stem { conv 5x5, 8 maxpool 3x3, stride 2 }"
        " stage 1 x 8 stage 1 x 16, stride 2 head { avgpool fc } }"
    )
    (graph,) = check_or_raise(spec)
    assert graph.block.kind == "basic" and graph.shortcut == "B"
    conv, pool = (n.op for n in graph.nodes if n.path in ("conv1", "maxpool"))
    assert conv.padding == (2, 2) and pool.padding == (1, 1)


def test_family_expressions(tmp_path):
    spec = tmp_path / "f.res"
    spec.write_text(
        "network f(n, w) { input 3x32x32 classes 10 stage 2*n+1 x w stage n x w*2, stride 2"
        " head { avgpool fc } }\nnetwork g = f(n=2, w=8)\n"
    )
    (graph,) = check_or_raise(spec)
    assert [(st.blocks, st.width) for st in graph.stages] == [(5, 8), (2, 16)]


def test_only_one_network_of_a_file():
    graphs = check_or_raise(ROOT / "specs" / "cifar.res", "resnet44")
    assert [g.name for g in graphs] == ["resnet44"]


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
    block = graph.block
    assert (block.kind, block.stride_on, block.expansion) == ("bottleneck", "3x3", 2)
    assert graph.classes == 100 and graph.shortcut == "B"
    spec.write_text(family + "network odd = cifar_resnet(n=3) with expansion 2\n")
    (diagnostic,) = check(spec).diagnostics
    assert "a block option needs its block" in diagnostic.message
