"""The network-wide settings: the block line's options and the shortcut, as each kind allows."""

from __future__ import annotations

import pytest

from resdsl.lang import syntax as s
from resdsl.lang.definitions import definitions
from resdsl.lang.elaborate import Shortcut, elaborate
from resdsl.lang.load import load
from resdsl.lang.parse import parse
from resdsl.lang.scope import Scope
from resdsl.lang.settings import block_setting, shortcut_option

DEFS = definitions(load("specs/resnet18.res"))  # the prelude's blocks


def resolved(text: str):
    """The block setting of ``network n { block ... }`` and the diagnostics it gave."""
    (block,) = parse(f"network n {{ {text} }}", "n.res").items[0].body
    scope = Scope("n")
    return block_setting(block, scope, DEFS), [d.message for d in scope.diagnostics]


@pytest.mark.parametrize(
    ("text", "kind", "values"),
    [
        (
            "block bottleneck, groups 32, width per group 4",
            "bottleneck",
            {"groups": 32, "width_per_group": 4},
        ),
        (
            "block bottleneck, width per group 128",
            "bottleneck",
            {"groups": 1, "width_per_group": 128},
        ),
        ("block bottleneck, stride on 3x3", "bottleneck", {"expansion": 4, "stride_on": (3, 3)}),
        ("block preact", "preact", {"dropout": 0.0}),
        ("block preact, dropout 0.3", "preact", {"dropout": 0.3}),
        ("block preact, dropout 0", "preact", {"dropout": 0.0}),
        ("block preact_bottleneck, groups 8", "preact_bottleneck", {"groups": 8, "expansion": 4}),
        ("block basic", "basic", {}),
    ],
)
def test_block_options(text, kind, values):
    spec, problems = resolved(text)
    assert problems == []
    assert spec.kind == kind and values.items() <= dict(spec.values).items()


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


def inner_width(spec, planes: int) -> int:
    """The width of a bottleneck's 3x3, as the prelude's definition computes it."""
    given = {**dict(spec.values), "planes": planes, "stride": 1, "channels": 4 * planes}
    block = elaborate(spec.definition, given, DEFS.blocks, _identity)
    return next(p.op.out_channels for p in block.pieces if p.path == "conv2")


def _identity(c_in: int, c_out: int) -> Shortcut:
    return Shortcut("identity", None, False)


def test_inner_width_is_torchvision_s_formula():
    spec, _ = resolved("block bottleneck, groups 64, width per group 4")
    assert [inner_width(spec, p) for p in (64, 128, 256, 512)] == [256, 512, 1024, 2048]
    spec, _ = resolved("block bottleneck, groups 32, width per group 3")
    assert inner_width(spec, 64) == 96  # 64 * 3 // 64 * 32; at planes 16: 0, which is refused


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
