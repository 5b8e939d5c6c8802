"""Block definitions: the prelude's, derivations, and what is wrong with a user's."""

from __future__ import annotations

import networkx as nx
import pytest

from resdsl.lang.definitions import Definitions, check, definitions
from resdsl.lang.load import load

PRELUDE_BLOCKS = {
    "basic": "BasicBlock",
    "bottleneck": "Bottleneck",
    "preact": "PreActBasicBlock",
    "preact_bottleneck": "PreActBottleneck",
}


def defs_of(text: str, tmp_path) -> Definitions:
    spec = tmp_path / "b.res"
    spec.write_text(text)
    return definitions(load(spec))


def messages(found: Definitions) -> list[str]:
    return [d.message for d in found.diagnostics]


def test_the_prelude_defines_the_paper_s_blocks_and_they_check_clean():
    found = definitions(load("specs/resnet18.res"))
    assert {name: found.blocks[name].cls for name in PRELUDE_BLOCKS} == PRELUDE_BLOCKS
    assert found.stage_blocks() == list(PRELUDE_BLOCKS)
    assert list(found.stems) == ["deep"]
    for definition in found.blocks.values():  # the prelude is trusted: hold it here
        assert check(definition, found.blocks) == [], definition.name
    assert [found.blocks[n].preactivated for n in PRELUDE_BLOCKS] == [False, False, True, True]
    assert found.blocks["preact"].reads_here and not found.blocks["basic"].reads_here


def test_parameters_keep_the_comment_their_line_ends_with():
    bottleneck = definitions(load("specs/resnet18.res")).blocks["bottleneck"]
    assert bottleneck.param("groups").comment == "of the 3x3 convolution (ResNeXt's cardinality)"
    assert bottleneck.param("planes").comment is None


def test_a_derivation_inserts_layers_and_rebinds_defaults(tmp_path):
    found = defs_of(
        "block tall(planes, stride = 1, depth = 1) { conv1: conv 3x3, planes bn1: bn }\n"
        "block taller as Taller = tall(depth = 2) with relu after bn1, extra: bn before conv1\n",
        tmp_path,
    )
    assert found.diagnostics == ()
    taller = found.blocks["taller"]
    words = [getattr(st, "op", None) and st.op.text for st in taller.body]
    assert words == ["bn", "conv", "bn", "relu"] and taller.cls == "Taller"
    assert taller.param("depth").default.value == 2


def test_a_derivation_of_a_derivation_comes_after_its_base(tmp_path):
    found = defs_of(
        "block c = b with relu after bn1\nblock b = a with bn1: bn after conv1\n"
        "block a(planes, stride = 1) { conv1: conv 3x3, planes }\n",
        tmp_path,
    )
    assert found.diagnostics == ()
    assert len(found.blocks["c"].body) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("block b { conv1: conv 3x3, 8 conv1: conv 3x3, 8 }", "conv1 is written twice"),
        ("block b { branch s { relu } }", "branch s is never merged"),
        ("block b { multiply s }", "unknown branch s"),
        ("block b { add shortcut add shortcut }", "comes once"),
        ("block b(planes, planes) { relu }", "parameter planes is given twice"),
        ("block b { relu, ratio 2 }", "unexpected"),
        ("block b { conv 3x3 }", "conv needs its width"),
        ("block b { dropout 0.1, 0.2 }", "dropout takes one number"),
        ("block b { avgpool 2x2, groups 2 }", "avgpool takes ceil, padding or stride, not groups"),
        ("block b { x: se }", "unknown layer se"),
    ],
)
def test_what_a_definition_gets_wrong_is_one_located_message(text, message, tmp_path):
    spec = tmp_path / "b.res"
    spec.write_text(text)
    from resdsl.pipeline import check as check_file

    problems = check_file(spec).diagnostics
    assert any(message in d.message for d in problems), [d.message for d in problems]
    assert all(d.span.file == str(spec) for d in problems)


def test_cycles_of_definitions_are_found_by_networkx(tmp_path):
    found = defs_of("block a { b }\nblock b { c }\nblock c { a }\n", tmp_path)
    assert messages(found) == ["block a uses itself (a -> b -> c -> a)"]
    assert found.broken == {"a", "b", "c"}
    assert nx.is_directed_acyclic_graph(nx.DiGraph([("x", "y")]))


def test_a_network_on_a_broken_block_says_nothing_more(tmp_path):
    spec = tmp_path / "n.res"
    spec.write_text(
        "block two(planes, stride = 1) { conv1: conv 3x3, planez, stride stride }\n"
        "network n { input 3x32x32 classes 10 stem { conv 3x3, 16 } block two "
        "shortcut none stage 1 x 16 head { avgpool fc } }\n"
    )
    from resdsl.pipeline import check as check_file

    result = check_file(spec)
    assert [d.message for d in result.diagnostics] == [
        "block two: unknown name planez (names here: channels, planes, stride); "
        "did you mean planes?"
    ]
    assert result.networks == ()
