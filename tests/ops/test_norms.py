"""BiT's normalisation: group norm and the weight-standardised convolution."""

from __future__ import annotations

from resdsl import ops


def test_group_norm_answers_as_batch_norm_does_with_per_sample_statistics() -> None:
    gn = ops.GroupNorm(32, 256)
    assert gn.shape([(256, 14, 14)]) == (256, 14, 14) and gn.params() == 512
    assert gn.macs([(256, 14, 14)], (256, 14, 14)) == 256 * 14 * 14
    assert gn.counted == "bn" and gn.drawn == "folded" and not gn.shown
    assert gn.keeps_input and gn.stats_saved() == 0 and gn.buffer_bytes() == 0
    assert gn.extra_saved((256, 14, 14)) == 64  # each group's mean and inverse std
    assert (gn.label(), gn.torch()) == ("gn, 32 groups", "nn.GroupNorm(32, 256)")
    assert ops.GroupNorm(8, 64, eps=1e-6).torch() == "nn.GroupNorm(8, 64, eps=1e-06)"


def test_group_norm_wants_channels_divisible_by_its_groups() -> None:
    assert ops.GroupNorm(32, 256).problem([(256, 7, 7)]) is None
    assert ops.GroupNorm(32, 100).problem([(100, 7, 7)]) == (
        "a group norm of 32 groups needs channels divisible by 32, not 100"
    )
    assert ops.GroupNorm(32, 256).problem([(128, 7, 7)]) == (
        "a group norm of 256 channels is given 128x7x7"
    )


def test_std_conv_counts_as_the_plain_conv_but_keeps_its_standardised_weight() -> None:
    std = ops.StdConv(64, 128, (3, 3), (2, 2), (1, 1), groups=2)
    plain = ops.Conv(64, 128, (3, 3), (2, 2), (1, 1), groups=2)
    inputs, out = [(64, 56, 56)], (128, 28, 28)
    assert std.shape(inputs) == plain.shape(inputs) == out
    assert std.params() == plain.params() and std.macs(inputs, out) == plain.macs(inputs, out)
    assert std.table_entry() == plain.table_entry() == "3x3, 128, stride 2, C=2"
    assert std.label() == "3x3 std conv, 128, /2, 2 groups"
    assert (
        std.counted == "always"
        and std.counts_in_depth
        and std.shown
        and std.lowers
        and std.keeps_input
    )
    assert std.made_weight() == plain.params() and std.kept_params() == 0
    assert std.stats_saved() == 2 * 128
    assert std.torch() == (
        "StdConv2d(64, 128, kernel_size=3, stride=2, padding=1, groups=2, bias=False, eps=1e-08)"
    )
    assert std.plain() == plain and std.helper_source is not None
    with_bias = ops.StdConv(8, 16, (1, 1), (1, 1), (0, 0), bias=True)
    assert with_bias.params() == 8 * 16 + 16 and with_bias.made_weight() == 8 * 16


def test_std_conv_complains_as_a_conv_does() -> None:
    odd = ops.StdConv(100, 128, (3, 3), (1, 1), (1, 1), groups=32)
    assert odd.problem([(100, 8, 8)]) == (
        "a conv of 32 groups needs channels divisible by 32, not 100 -> 128"
    )
    big = ops.StdConv(3, 8, (7, 7), (1, 1), (0, 0))
    assert big.shape([(3, 5, 5)]) is None
    assert big.problem([(3, 5, 5)]) == "conv 7x7 is larger than its input (5x5, padded by 0)"
