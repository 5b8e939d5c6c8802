"""Parsing: LANGUAGE.md's examples as written, spans, and syntax errors in the user's words."""

from __future__ import annotations

import pytest

from resdsl.diagnostics import ResdslError
from resdsl.lang import syntax as s
from resdsl.lang.parse import parse
from tests.conftest import GOLDEN

LANGUAGE = GOLDEN / "language"


def test_language_example_one_network_parses_as_written():
    tree = parse((LANGUAGE / "one_network.res").read_text(), "resnet34.res")
    (network,) = tree.items
    assert isinstance(network, s.Network)
    assert network.name.text == "resnet34" and network.params == ()
    stages = [st for st in network.body if isinstance(st, s.Stage)]
    assert [st.label.text for st in stages] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]
    assert [(st.blocks.value, st.width.value) for st in stages] == [
        (3, 64),
        (4, 128),
        (6, 256),
        (3, 512),
    ]
    assert [st.stride.value if st.stride else 1 for st in stages] == [1, 2, 2, 2]
    (stem,) = [st for st in network.body if isinstance(st, s.Section) and st.kind == "stem"]
    conv, pool = stem.layers
    assert (conv.kind.text, [p.value for p in conv.kernel.parts], conv.channels.value) == (
        "conv",
        [7, 7],
        64,
    )
    assert conv.stride.value == 2 and pool.kind.text == "maxpool" and pool.stride.value == 2


def test_language_example_family_and_derivations_parse_as_written():
    tree = parse((LANGUAGE / "family.res").read_text(), "cifar.res")
    family, *derived = tree.items
    assert family.name.text == "cifar_resnet" and [p.text for p in family.params] == ["n"]
    assert [d.name.text for d in derived] == [
        "resnet20",
        "resnet56",
        "resnet110",
        "plain20",
        "plain56",
    ]
    plain20 = derived[3]
    assert plain20.base.text == "cifar_resnet"
    assert [(a.name.text, a.value.value) for a in plain20.arguments] == [("n", 3)]
    (override,) = plain20.overrides
    assert isinstance(override, s.Shortcut) and override.option.text == "none"
    stage = next(st for st in family.body if isinstance(st, s.Stage))
    assert isinstance(stage.blocks, s.Var) and stage.blocks.name == "n"


def test_spans_are_one_based_and_point_at_the_keyword():
    tree = parse("network n {\n    stage conv2_x: 3 x 64\n}\n", "f.res")
    stage = tree.items[0].body[0]
    assert (stage.span.line, stage.span.column, stage.span.end_column) == (2, 5, 10)
    assert (stage.blocks.span.line, stage.blocks.span.column) == (2, 20)


@pytest.mark.parametrize(
    ("text", "blocks", "width"),
    [("stage 3 x 64", 3, 64), ("stage 3x64", 3, 64), ("stage  3  x  64", 3, 64)],
)
def test_stage_sizes_may_be_written_with_or_without_spaces(text, blocks, width):
    stage = parse(f"network n {{ {text} }}", "f.res").items[0].body[0]
    assert (stage.blocks.value, stage.width.value) == (blocks, width)


def test_sizes_with_names_and_arithmetic():
    tree = parse("network f(n, s) { input 3 x s x s  stage 2*n+1 x 16 }", "f.res")
    inp, stage = tree.items[0].body
    assert [type(p).__name__ for p in inp.dims.parts] == ["Int", "Var", "Var"]
    assert isinstance(stage.blocks, s.BinOp) and stage.blocks.op == "+"


def test_block_options():
    block = parse("network n { block bottleneck, stride on 3x3, expansion 2, zero init }", "f")
    block = block.items[0].body[0]
    assert block.kind.text == "bottleneck" and block.zero_init
    assert [p.value for p in block.stride_on.parts] == [3, 3] and block.expansion.value == 2


def test_use_and_comments():
    tree = parse('# a comment\nuse "cifar.res"  # another\n', "f.res")
    assert tree.items == (s.Use("cifar.res", tree.items[0].span),)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("network n { classes }", (1, 21), "unexpected '}'; expected a name, a number, '('"),
        ("network n {", (1, 12), "unexpected end of file"),
        ("network n { stem { conv 7x7 64 } }", (1, 29), "unexpected '64'; expected a name, ','"),
        ("network é", (1, 9), "unexpected character 'é'; expected a name"),
        ("network a = b with 3", (1, 20), "expected a name, 'block', 'classes', 'dropout'"),
        ("network a = b with ratio", (1, 25), "unexpected end of file; expected a function"),
    ],
)
def test_syntax_errors_say_what_was_expected_in_words(text, where, message):
    with pytest.raises(ResdslError) as caught:
        parse(text, "f.res")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.span.line, diagnostic.span.column) == where
    assert message in diagnostic.message
    # never Lark's own terminal names
    for lark_name in ("NAME", "INT", "DIMS", "LBRACE", "RBRACE", "$END", "__ANON"):
        assert lark_name not in diagnostic.message


def test_parentheses_nest_freely():
    text = "network n { classes " + "(" * 5000 + "1" + ")" * 5000 + " }"
    assert parse(text, "f.res").items[0].body[0].count.value == 1


def test_deeply_nested_expression_is_an_error_not_a_crash():
    text = "network n { classes " + "-" * 5000 + "1 }"
    with pytest.raises(ResdslError) as caught:
        parse(text, "f.res")
    assert "nested too deeply" in caught.value.diagnostics[0].message
