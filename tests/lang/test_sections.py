"""The stem and the head: torchvision's names, timm's deep stem, and pre-activation ends."""

from __future__ import annotations

from resdsl.lang.load import load
from resdsl.lang.parse import parse
from resdsl.lang.scope import Scope
from resdsl.lang.sections import head_layers, stem_layers

# The named stems a spec sees: the prelude's (`stem deep`).
STEMS = dict(load("specs/resnet18.res").stems())


def section(text: str):
    (found,) = parse(f"network n {{ {text} }}", "n.res").items[0].body
    return found


def names(text: str, preact: bool = False) -> list[str]:
    layers, _ = stem_layers(section(text), 3, Scope("n"), preact, STEMS)
    return [layer.name for layer in layers]


def test_the_deep_stem_by_name_is_the_same_as_written_out():
    written = "stem { conv 3x3, 32, stride 2 conv 3x3, 32 conv 3x3, 64 maxpool 3x3, stride 2 }"
    deep, channels = stem_layers(section("stem deep"), 3, Scope("n"), stems=STEMS)
    out, _ = stem_layers(section(written), 3, Scope("n"))
    assert [(a.name, a.op) for a in deep] == [(b.name, b.op) for b in out] and channels == 64
    section_span = section("stem deep").preset.span
    assert {layer.span for layer in deep} == {section_span}  # the spec's line, not the prelude's
    assert [layer.name for layer in deep] == [
        "conv1.0", "conv1.1", "conv1.2", "conv1.3", "conv1.4", "conv1.5", "conv1.6",
        "bn1", "relu", "maxpool",
    ]  # fmt: skip
    assert [layer.op.label() for layer in deep][:4] == [
        "3x3 conv, 32, /2",
        "bn",
        "relu",
        "3x3 conv, 32",
    ]


def test_one_conv_keeps_torchvision_s_names():
    assert names("stem { conv 7x7, 64, stride 2 maxpool 3x3, stride 2 }") == [
        "conv1", "bn1", "relu", "maxpool",
    ]  # fmt: skip


def test_a_pre_activation_stem_ends_in_its_bare_conv():
    assert names("stem { conv 3x3, 16 }", preact=True) == ["conv1"]
    assert names("stem deep", preact=True)[-2:] == ["conv1.6", "maxpool"]


def test_a_pre_activation_head_opens_with_bn_and_relu():
    layers = head_layers(section("head { avgpool fc }"), 256, 10, Scope("n"), preact=True)
    assert [(layer.name, layer.op.kind) for layer in layers] == [
        ("bn", "bn"), ("relu", "relu"), ("avgpool", "avgpool"), ("fc", "fc"),
    ]  # fmt: skip
    assert layers[0].op.channels == 256


def test_an_unknown_stem_name_says_which_there_are():
    scope = Scope("n")
    stem_layers(section("stem deeep"), 3, scope, stems=STEMS)
    (diagnostic,) = scope.diagnostics
    assert (
        diagnostic.message
        == "unknown stem deeep; expected deep or `stem { ... }`; did you mean deep?"
    )
