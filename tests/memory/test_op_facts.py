"""Each op's memory facts (what it overwrites, lowers, keeps and allocates for its gradient),
as torch 2.13 was measured to behave; benchmarks/memory.py checks them end to end."""

from __future__ import annotations

from resdsl import ops


def test_relu_and_the_addition_work_in_place() -> None:
    assert ops.ReLU().in_place and ops.Add().in_place
    assert not any(
        op.in_place
        for op in (ops.Conv(3, 8, (3, 3), (1, 1), (1, 1)), ops.BatchNorm(8), ops.GlobalAvgPool())
    )


def test_autocast_lowers_conv_and_fc_only() -> None:
    conv, fc = ops.Conv(3, 8, (3, 3), (1, 1), (1, 1)), ops.Linear(64, 10)
    assert conv.lowers and fc.lowers and not ops.BatchNorm(8).lowers
    assert conv.kept_params() == conv.params() == 216
    assert (fc.kept_params(), fc.params()) == (640, 650)  # the bias gradient needs no bias


def test_batch_norm_keeps_fp32_statistics_and_has_buffers() -> None:
    bn = ops.BatchNorm(64)
    assert bn.stats_saved() == 128  # mean and inverse std
    assert bn.buffer_bytes() == 4 * 128 + 8  # running mean and var, num_batches_tracked
    assert ops.ReLU().stats_saved() == 0 and ops.ReLU().buffer_bytes() == 0


def test_max_pool_keeps_int64_indices_and_global_pool_keeps_nothing() -> None:
    pool = ops.MaxPool((3, 3), (2, 2), (1, 1))
    assert (
        pool.extra_saved((64, 56, 56)) == 64 * 56 * 56 and pool.extra_saved_itemsize(4, "cuda") == 8
    )
    # a 1x1 adaptive average is mean(): its backward needs the input's shape only
    assert not ops.GlobalAvgPool().keeps_input and not ops.GlobalAvgPool().keeps_output


def test_gradient_steps() -> None:
    conv = ops.Conv(16, 32, (3, 3), (2, 2), (1, 1))
    assert conv.grad_steps([(16, 32, 32)], (32, 16, 16)) == ((16, 32, 32),)
    assert ops.Add().grad_steps([(8, 4, 4), (8, 4, 4)], (8, 4, 4)) == ()  # passed on as is
    # option A: narrow to the input's channels, then undo the W slice, then the H slice
    pad = ops.ZeroPad(16, 32, (2, 2))
    assert pad.grad_steps([(16, 32, 32)], (32, 16, 16)) == (
        (16, 16, 16),
        (16, 16, 32),
        (16, 32, 32),
    )
    assert ops.ZeroPad(16, 32, (1, 1)).grad_steps([(16, 8, 8)], (32, 8, 8)) == ((16, 8, 8),)


def test_dropout_keeps_a_byte_mask_on_cuda_and_one_of_its_input_dtype_on_the_cpu() -> None:
    dropout = ops.Dropout(0.3)
    assert dropout.extra_saved((160, 32, 32)) == 160 * 32 * 32
    assert dropout.extra_saved_itemsize(4, "cuda") == 1
    assert dropout.extra_saved_itemsize(4, "cpu") == 4
    assert dropout.extra_saved_itemsize(2, "cpu") == 2
