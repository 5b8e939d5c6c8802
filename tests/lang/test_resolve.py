"""Resolving: families, derivations and `with` overrides, defaults, one network of a file."""

from __future__ import annotations

import shutil

from resdsl.ir.costs import network_stats
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
    assert (block.kind, block.value("stride_on"), block.value("expansion")) == (
        "bottleneck",
        (3, 3),
        2,
    )
    assert graph.classes == 100 and graph.shortcut == "B"
    spec.write_text(family + "network odd = cifar_resnet(n=3) with expansion 2\n")
    (diagnostic,) = check(spec).diagnostics
    assert "a block option needs its block" in diagnostic.message


# --- the ResNet family: docs/language.md's examples (tests/golden/language/resnet_family.res) --

FAMILY = ROOT / "tests" / "golden" / "language" / "resnet_family.res"


def test_language_example_resnet_family_resolves_to_the_libraries_networks():
    """Parameter counts that torchvision, timm and the papers' networks have."""
    graphs = {g.name: g for g in check_or_raise(FAMILY)}
    counts = {name: network_stats(graph).params for name, graph in graphs.items()}
    assert counts == {
        "preact_resnet110": 1_730_522,  # tests/fixtures/preact_resnet.py
        "preact_resnet164": 1_703_258,
        "wrn16_4": 2_748_890,  # Zagoruyko & Komodakis 2016, Table 4: 2.7M
        "resnet50_v1_5": 25_557_032,  # torchvision's resnet50
        "resnet101_v1_5": 44_549_160,  # torchvision's resnet101
        "resnext50_32x4d": 25_028_904,
        "wide_resnet50_2": 68_883_240,
        "resnet50d": 25_576_264,  # timm
        "tiny_resnet34": 21_379_592,
    }
    pre = graphs["preact_resnet110"].block
    assert (pre.kind, graphs["wrn16_4"].block.value("dropout")) == ("preact", 0.3)
    resnext = graphs["resnext50_32x4d"].block
    assert [resnext.value(k) for k in ("groups", "width_per_group", "stride_on")] == [32, 4, (3, 3)]
    assert graphs["resnet50d"].shortcut == "D"
    assert [st.blocks for st in graphs["resnet101_v1_5"].stages] == [3, 4, 23, 3]
    assert [st.stride for st in graphs["resnet101_v1_5"].stages] == [1, 2, 2, 2]  # kept


def test_with_replaces_the_stem():
    tiny = check_or_raise(FAMILY, "tiny_resnet34")[0]
    assert tiny.input == (3, 64, 64) and tiny.classes == 200
    assert [n.path for n in tiny.nodes if n.section == "stem"] == ["conv1", "bn1", "relu"]
    assert tiny.node("layer1.0.conv1").shape == (64, 64, 64)  # no stride 2, no max pool


def test_with_stage_overrides_by_label_or_module_and_keeps_the_stride(tmp_path):
    shutil.copy(FAMILY.parent / "family.res", tmp_path)
    spec = tmp_path / "s.res"
    spec.write_text(
        'use "family.res"\n'
        "network a = cifar_resnet(n=3) with stage layer2: 5 x 48\n"
        "network b = cifar_resnet(n=3) with stage layer2: 5 x 48, stride 1, classes 100\n"
    )
    a, b = check_or_raise(spec)
    assert [(st.blocks, st.width, st.stride) for st in a.stages] == [
        (3, 16, 1), (5, 48, 2), (3, 64, 2),
    ]  # fmt: skip
    assert b.stages[1].stride == 1 and b.classes == 100
    assert a.stages[1].span.line == 2  # errors in an overridden stage point at the override


def test_a_later_derivation_overrides_an_earlier_one(tmp_path):
    """`b = a with classes 10` after `a = ... with classes 100`: b has 10, no error."""
    shutil.copy(FAMILY.parent / "family.res", tmp_path)
    spec = tmp_path / "chain.res"
    spec.write_text(
        'use "family.res"\n'
        "network a = cifar_resnet(n=3) with classes 100, stage layer1: 2 x 16\n"
        "network b = a with classes 10, stage layer1: 4 x 16\n"
    )
    a, b = check_or_raise(spec)
    assert (a.classes, b.classes) == (100, 10)
    assert (a.stages[0].blocks, b.stages[0].blocks) == (2, 4)
    spec.write_text(
        'use "family.res"\nnetwork c = cifar_resnet(n=3) with classes 100, classes 10\n'
    )
    (diagnostic,) = check(spec).diagnostics
    assert diagnostic.message.startswith("classes is overridden twice")


def test_language_md_shows_the_family_example_as_tested():
    """docs/language.md's family example is the golden file, and its `with` examples are in it."""
    doc = (ROOT / "docs" / "language.md").read_text()
    example = FAMILY.read_text()
    assert f"```\n{example}```" in doc
    lines = (
        "network resnet101_v1_5 = resnet50_v1_5 with stage conv4_x: 23 x 256",
        "network tiny_resnet34 = resnet34 with input 3x64x64, classes 200, stem { conv 3x3, 64 }",
    )
    for line in lines:
        assert line in doc and line in example


def test_language_md_shows_the_blocks_example_as_tested():
    """docs/language.md's blocks example is the golden file, and it checks."""
    doc = (ROOT / "docs" / "language.md").read_text()
    example = (ROOT / "tests" / "golden" / "language" / "blocks.res").read_text()
    assert f"```\n{example}```" in doc
    names = [net.name for net in check_or_raise(ROOT / "tests/golden/language/blocks.res")]
    assert names == ["se_resnet20", "resnext20"]
