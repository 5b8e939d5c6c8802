"""The op table: each operation's shape, parameters, multiply-adds, labels and PyTorch form."""

from __future__ import annotations

import pytest

from resdsl import ops
from resdsl.pipeline import check_or_raise
from tests.conftest import ROOT

CONV = ops.Conv(64, 128, (3, 3), (2, 2), (1, 1))


def test_conv_answers_every_question() -> None:
    assert CONV.shape([(64, 56, 56)]) == (128, 28, 28)
    assert CONV.params() == 3 * 3 * 64 * 128
    assert CONV.macs([(64, 56, 56)], (128, 28, 28)) == 3 * 3 * 64 * 128 * 28 * 28
    assert CONV.label() == "3x3 conv, 128, /2"
    assert CONV.table_entry() == "3x3, 128, stride 2"
    assert CONV.table_entry(stride=False) == "3x3, 128"
    assert CONV.torch() == "nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1, bias=False)"
    assert CONV.counted == "always" and CONV.counts_in_depth and CONV.shown and CONV.keeps_input


def test_a_window_larger_than_its_input_has_no_shape_and_says_why() -> None:
    conv = ops.Conv(3, 8, (7, 7), (1, 1), (0, 0))
    assert conv.shape([(3, 5, 5)]) is None
    assert conv.problem([(3, 5, 5)]) == "conv 7x7 is larger than its input (5x5, padded by 0)"
    assert conv.problem([None]) is None  # an earlier op failed and was reported


def test_pools() -> None:
    pool = ops.MaxPool((3, 3), (2, 2), (1, 1))
    assert pool.shape([(64, 112, 112)]) == (64, 56, 56)
    assert pool.macs([(64, 112, 112)], (64, 56, 56)) == 9 * 64 * 56 * 56
    assert pool.extra_saved((64, 56, 56)) == 64 * 56 * 56  # the argmax indices
    assert (pool.label(), pool.table_entry()) == ("pool, /2", "3x3 max pool, stride 2")
    average = ops.GlobalAvgPool()
    assert average.shape([(512, 7, 7)]) == (512, 1, 1)
    assert average.macs([(512, 7, 7)], (512, 1, 1)) == 512 * 49
    assert (average.label(), average.table_entry()) == ("avg pool", "average pool")
    assert average.torch() == "nn.AdaptiveAvgPool2d((1, 1))"
    window = ops.AvgPool((2, 2), (2, 2), (0, 0))
    assert window.shape([(16, 7, 7)]) == (16, 3, 3)
    assert window.torch() == "nn.AvgPool2d(kernel_size=2, stride=2, padding=0)"
    # the legacy SENet's unpadded max pool that rounds up (Caffe's): 112 -> 56 as a padded one
    caffe = ops.MaxPool((3, 3), (2, 2), (0, 0), ceil_mode=True)
    assert caffe.shape([(64, 112, 112)]) == (64, 56, 56)
    assert caffe.shape([(64, 16, 16)]) == (64, 8, 8)  # (16 - 3) / 2 + 1 rounded up, not 7
    assert caffe.torch() == "nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)"


def test_option_a_pads_up_and_subsamples_with_ceil() -> None:
    pad = ops.ZeroPad(16, 32, (2, 2))
    assert pad.shape([(16, 7, 7)]) == (32, 4, 4)  # ceil(7 / 2), as the strided 3x3 gives
    assert pad.params() == 0 and pad.macs([(16, 7, 7)], (32, 4, 4)) == 0
    assert pad.problem([(16, 7, 7)]) is None
    assert "cannot take 32 channels down to 16" in ops.ZeroPad(32, 16, (1, 1)).problem([None])
    assert pad.label() == "zero-pad, 32, /2"


def test_addition_wants_equal_shapes() -> None:
    add = ops.Add()
    assert add.problem([(64, 8, 8), (64, 8, 8)]) is None
    assert add.problem([(64, 8, 8), (32, 8, 8)], block=0) == (
        "block 0 adds F(x) of shape 64x8x8 to a shortcut of shape 32x8x8; "
        "use shortcut B or C to project"
    )
    assert add.drawn == "circle" and add.counted == "add"


def test_norm_relu_and_fc() -> None:
    bn, relu, fc = ops.BatchNorm(64), ops.ReLU(), ops.Linear(512, 1000)
    assert bn.params() == 128 and bn.drawn == relu.drawn == "folded"
    assert relu.keeps_output and not relu.keeps_input
    assert fc.params() == 512 * 1000 + 1000 and fc.shape([(512, 1, 1)]) == (1000,)
    assert (fc.label(), fc.table_entry()) == ("fc 1000", "1000-d fc")
    assert fc.torch() == "nn.Linear(512, num_classes)" and fc.flattens


def test_an_op_without_a_cost_formula_fails_loudly() -> None:
    class Gelu(ops.Op):
        kind = "gelu"

    with pytest.raises(NotImplementedError, match="no cost formula for op 'gelu'"):
        Gelu().macs([(1, 1, 1)], (1, 1, 1))
    with pytest.raises(NotImplementedError):
        Gelu().torch()


def test_every_op_of_every_bundled_network_answers() -> None:
    """Shapes in the IR are each op's own answer, and labels never fall back to a bare kind
    for the ops the paper's figures draw."""
    for spec in sorted((ROOT / "specs").glob("*.res")):
        for net in check_or_raise(spec):
            for node in net.nodes:
                inputs = [net.nodes[i].shape for i in node.inputs]
                assert node.op.shape(inputs) == node.shape
                assert node.op.macs(inputs, node.shape) >= 0
                if node.op.drawn == "box":
                    assert node.op.label() != node.op.kind, node.path


# --- the ResNet family: grouped convolutions, ResNet-D's pool, WRN's dropout ----------------


def test_grouped_conv_counts_one_group_s_share() -> None:
    """ResNeXt's 3x3 of 32 groups: each output reads C_in / 32 channels (torch, fvcore)."""
    conv = ops.Conv(128, 128, (3, 3), (2, 2), (1, 1), groups=32)
    assert conv.params() == 3 * 3 * (128 // 32) * 128
    assert conv.macs([(128, 56, 56)], (128, 28, 28)) == 3 * 3 * (128 // 32) * 128 * 28 * 28
    assert conv.label() == "3x3 conv, 128, /2, 32 groups"
    assert conv.table_entry(stride=False) == "3x3, 128, C=32"
    assert conv.torch() == (
        "nn.Conv2d(128, 128, kernel_size=3, stride=2, padding=1, groups=32, bias=False)"
    )
    assert conv.problem([(128, 56, 56)]) is None
    odd = ops.Conv(100, 128, (3, 3), (1, 1), (1, 1), groups=32)
    assert odd.problem([(100, 8, 8)]) == (
        "a conv of 32 groups needs channels divisible by 32, not 100 -> 128"
    )


def test_ceil_mode_average_pool_matches_the_strided_3x3_beside_it() -> None:
    """ResNet-D's shortcut pool and the main path's 3x3/2 agree on odd sizes too."""
    pool = ops.AvgPool((2, 2), (2, 2), (0, 0), ceil_mode=True)
    conv = ops.Conv(64, 64, (3, 3), (2, 2), (1, 1))
    for size in (7, 8, 25, 56):
        assert pool.shape([(64, size, size)])[1:] == conv.shape([(64, size, size)])[1:]
    assert ops.AvgPool((2, 2), (2, 2), (0, 0)).shape([(64, 7, 7)]) == (64, 3, 3)  # floor
    assert pool.torch() == (
        "nn.AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True, count_include_pad=False)"
    )


def test_dropout_is_free_at_inference_and_drawn_with_its_conv() -> None:
    drop = ops.Dropout(0.3)
    assert drop.shape([(160, 32, 32)]) == (160, 32, 32) and drop.params() == 0
    assert drop.counted == "never" and drop.drawn == "folded" and not drop.shown
    assert drop.extra_saved((160, 32, 32)) == 160 * 32 * 32  # the mask
    assert (drop.label(), drop.torch()) == ("dropout 0.3", "nn.Dropout(p=0.3)")
