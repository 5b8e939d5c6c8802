"""The blur pool, and the global average pool inside a block."""

from __future__ import annotations

import pytest

from resdsl import ops


def test_blur_pool_answers_every_question() -> None:
    blur = ops.BlurPool(64)
    assert blur.padding == 1 and blur.shape([(64, 56, 56)]) == (64, 28, 28)
    assert blur.shape([(64, 7, 7)]) == (64, 4, 4)  # reflect-padded 9x9, 3x3 windows, stride 2
    assert blur.params() == 0 and blur.buffer_bytes() == 4 * 64 * 9
    assert blur.macs([(64, 56, 56)], (64, 28, 28)) == 9 * 64 * 28 * 28
    assert blur.counted == "always" and blur.pool and not blur.shown and blur.drawn == "box"
    assert (blur.label(), blur.table_entry()) == ("blur pool, /2", "3x3 blur pool, stride 2")
    assert blur.table_entry(stride=False) == "3x3 blur pool"
    assert ops.BlurPool(64, 5, 2).padding == 2 and ops.BlurPool(64, 4, 1).padding == 1
    assert ops.BlurPool(64, 5, 2).torch() == "BlurPool2d(64, filt_size=5, stride=2)"
    assert ops.BlurPool(64, 3, 1).label() == "blur pool"


def test_blur_pool_keeps_its_input_and_the_padded_copy() -> None:
    blur = ops.BlurPool(64)
    assert blur.keeps_input and blur.extra_saved((64, 4, 4), [(64, 7, 7)]) == 64 * 9 * 9
    with pytest.raises(TypeError, match="sized by its input"):
        blur.extra_saved((64, 4, 4))
    (pad, padded), (conv, out) = blur.parts([(64, 7, 7)])
    assert (padded, out) == ((64, 9, 9), (64, 4, 4))
    assert pad.keeps_input and conv.keeps_input and conv.lowers
    assert conv.buffer_weight() == 64 * 9 and conv.kept_params() == 0


def test_blur_pool_problems() -> None:
    assert ops.BlurPool(64).problem([(64, 8, 8)]) is None
    assert ops.BlurPool(64).problem([(32, 8, 8)]) == "a blur pool of 64 channels is given 32x8x8"
    assert ops.BlurPool(64).problem([(64, 1, 1)]) == (
        "a blur pool pads by 1, too much for its input (64x1x1)"
    )
    assert ops.BlurPool(64, 1).problem([(64, 8, 8)]) == (
        "a blur pool needs a filter of 2 taps or more, not 1"
    )
    assert ops.BlurPool(64, 2, 1).shape([(64, 1, 1)]) is None  # no padding, 2 taps, 1 pixel
    assert "larger than its padded input" in ops.BlurPool(64, 2, 1).problem([(64, 1, 1)])


def test_global_pool_inside_a_block_is_written_inline() -> None:
    pool = ops.GlobalAvgPool()
    assert pool.inline("out") == "out.mean((2, 3), keepdim=True)"
    assert pool.torch() == "nn.AdaptiveAvgPool2d((1, 1))"  # the head's module, as before
    assert pool.problem([(256, 14, 14)]) is None
    assert pool.problem([(256,)]) == "a global average pool reads a map (CxHxW), not 256"
    # its backward: the gradient spread over the input's positions, one new tensor
    assert pool.input_grads([(256, 14, 14)], (256, 1, 1))[0].steps == ((256, 14, 14),)
