"""The network-wide settings: the block line's options and the shortcut, as each kind allows."""

from __future__ import annotations

import pytest

from resdsl.lang import syntax as s
from resdsl.lang.parse import parse
from resdsl.lang.scope import Scope
from resdsl.lang.settings import block_setting, shortcut_option


def resolved(text: str):
    """The block setting of ``network n { block ... }`` and the diagnostics it gave."""
    (block,) = parse(f"network n {{ {text} }}", "n.res").items[0].body
    scope = Scope("n")
    return block_setting(block, scope), [d.message for d in scope.diagnostics]


@pytest.mark.parametrize(
    ("text", "kind", "expansion", "groups", "per_group", "dropout"),
    [
        ("block bottleneck, groups 32, width per group 4", "bottleneck", 4, 32, 4, 0.0),
        ("block bottleneck, width per group 128", "bottleneck", 4, 1, 128, 0.0),
        ("block preact", "preact", 1, 1, 64, 0.0),
        ("block preact, dropout 0.3", "preact", 1, 1, 64, 0.3),
        ("block preact, dropout 0", "preact", 1, 1, 64, 0.0),
        ("block preact_bottleneck, groups 8", "preact_bottleneck", 4, 8, 64, 0.0),
    ],
)
def test_block_options(text, kind, expansion, groups, per_group, dropout):
    spec, problems = resolved(text)
    assert problems == []
    assert (spec.kind, spec.expansion, spec.groups, spec.width_per_group, spec.dropout) == (
        kind, expansion, groups, per_group, dropout,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("block basic, groups 32", "only a bottleneck's 3x3 takes groups"),
        ("block preact, width per group 4", "only a bottleneck's 3x3 takes width per group"),
        ("block bottleneck, dropout 0.3", "only a pre-activation basic block has dropout"),
        ("block preact, dropout 1.0", "dropout is a probability below 1, like 0.3, not 1"),
        ("block bottleneck, groups 0", "groups must be a positive number, not 0"),
        ("block bottleneck, groups 2, groups 4", "block option groups is given twice"),
        ("block preact, stride on 3x3", "a preact block strides its first 3x3"),
        ("block preact_bottlenek", "did you mean preact_bottleneck?"),
    ],
)
def test_block_options_a_kind_does_not_take(text, message):
    _, problems = resolved(text)
    assert len(problems) == 1 and message in problems[0], problems


def test_inner_width_is_torchvision_s_formula():
    spec, _ = resolved("block bottleneck, groups 64, width per group 4")
    assert [spec.inner_width(p) for p in (64, 128, 256, 512)] == [256, 512, 1024, 2048]
    spec, _ = resolved("block bottleneck, groups 32, width per group 3")
    assert spec.inner_width(64) == 96 and spec.inner_width(16) == 0  # 16 * 3 // 64 = 0


def test_shortcut_d_and_a_hint_for_lowercase():
    scope = Scope("n")
    span = parse("network n { shortcut D }", "n.res").items[0].body[0]
    assert shortcut_option(span, scope) == "D"
    lower = s.Shortcut(s.Name("d", span.span), span.span)
    assert shortcut_option(lower, scope) is None
    assert scope.diagnostics[0].message.endswith("expected A, B, C, D or none; did you mean D?")


def test_with_folds_block_options_and_stage_strides_into_what_they_follow():
    (derivation,) = parse(
        "network a = b with block bottleneck, groups 32, width per group 4, "
        "stage conv3_x: 4 x 128, stride 2, stem deep, stage layer1: 2 x 64",
        "a.res",
    ).items
    block, stage, stem, other = derivation.overrides
    assert block.groups.value == 32 and block.width_per_group.value == 4
    assert (stage.label.text, stage.blocks.value, stage.width.value) == ("conv3_x", 4, 128)
    assert stage.stride.value == 2 and other.stride is None
    assert stem.kind == "stem" and stem.preset.text == "deep" and stem.layers == ()
    (stray,) = parse("network a = b with classes 3, stride 2", "a.res").items[0].overrides[1:]
    assert isinstance(stray, s.Stray) and stray.option.text == "stride"
