"""Validation rules on the shaped IR: option A, windows, additions, safe names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from resdsl.ir.lower import shaped
from resdsl.ir.network import with_nodes
from resdsl.ir.validate import check_ops, validate
from resdsl.ops import Conv
from resdsl.pipeline import check, check_or_raise
from tests.conftest import ROOT

NET = "network {name} {{ input 3x32x32 classes 10 stage 1 x 16 head {{ avgpool fc }} }}\n"


def messages(tmp_path, text):
    spec = tmp_path / "v.res"
    spec.write_text(text)
    return [d.message for d in check(spec).diagnostics]


def test_bundled_networks_validate_clean():
    for graph in check_or_raise(ROOT / "specs" / "cifar.res"):
        assert validate(graph) == ()


def test_option_a_may_pad_channels_up_but_not_down(tmp_path):
    up = "network up { input 3x32x32 classes 10 shortcut A stage 1 x 16 stage 1 x 32, stride 2"
    assert messages(tmp_path, up + " head { avgpool fc } }") == []
    down = up.replace("1 x 32", "1 x 8").replace("network up", "network down")
    (message,) = messages(tmp_path, down + " head { avgpool fc } }")
    assert "shortcut A pads with zeros, so it cannot take 16 channels down to 8" in message


@pytest.mark.parametrize("name", ["class", "print", "_hidden", "nn", "META", "conv3x3", "ResNet"])
def test_unsafe_network_names_are_refused(tmp_path, name):
    (message,) = messages(tmp_path, NET.format(name=name))
    assert f"network name {name} " in message and "choose another name" in message


def test_a_stem_that_shrinks_the_input_away(tmp_path):
    text = (
        "network n { input 3x8x8 classes 10 stem { conv 3x3, 8, padding 0 "
        "maxpool 5x5, stride 2, padding 0 maxpool 3x3, padding 0 } stage 1 x 8 "
        "head { avgpool fc } }"
    )
    (message,) = messages(tmp_path, text)
    assert message == "maxpool 3x3 is larger than its input (1x1, padded by 0)"


def test_an_addition_of_unequal_shapes_is_reported():
    (graph,) = check_or_raise(ROOT / "specs" / "resnet18.res")
    # Break one projection on purpose: the shortcut now keeps 64 channels.
    nodes = [
        replace(n, op=Conv(64, 64, (1, 1), (2, 2), (0, 0)))
        if n.path == "layer2.0.downsample.0"
        else n
        for n in graph.nodes
    ]
    (diagnostic,) = check_ops(with_nodes(graph, shaped(nodes)))
    assert "adds F(x) of shape 128x28x28 to a shortcut of shape 64x28x28" in diagnostic.message
