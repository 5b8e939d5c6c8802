"""The replay of a training step against hand-counted bytes of a one-block network."""

from __future__ import annotations

from pathlib import Path

import pytest

from resdsl.memory import Peak, largest_batch, simulate, training_memory
from resdsl.pipeline import check_or_raise

TINY = """\
network tiny {
    input 3x8x8
    classes 2
    stem {
        conv 3x3, 4
    }
    block basic
    shortcut A
    stage 1 x 4
    head {
        avgpool
        fc
    }
}
"""
# 430 parameters: stem conv 3*3*3*4 + bn 8, two 3x3 convs of 4*4*9 + two bns, fc 4*2 + 2
PARAMS = 430
# before the step (fp32, SGD with momentum): weights, momentum and last step's gradients,
# three bns' running mean and var (4 channels) and counters, and per image the 3x8x8 input
# and its int64 label
RESIDENT_FIXED = 3 * 4 * PARAMS + 3 * (2 * 4 * 4 + 8)
RESIDENT_PER_IMAGE = 4 * 3 * 64 + 8
MAP = 4 * 8 * 8  # elements of one feature map (4 channels of 8x8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("tiny") / "tiny.res"
    path.write_text(TINY)
    (net,) = check_or_raise(path)
    return net


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_fp32_forward_ends_with_everything_kept(tiny, batch: int) -> None:
    # kept per image at the loss, fp32: stem conv output (bn's input) and relu output; in the
    # block conv1 and conv2 outputs, relu output and the final relu (over bn2's output, + x
    # in place); the pooled 4 values (fc's input), 2 logits, 2 log-probabilities
    per_image = 4 * (6 * MAP + 4 + 2 + 2)
    # whatever the batch: each bn's mean and inverse std (2 x 4 fp32), the loss and its weight
    fixed = 3 * 2 * 4 * 4 + 8
    report = training_memory(tiny, batch)
    expected = RESIDENT_FIXED + fixed + (RESIDENT_PER_IMAGE + per_image) * batch
    assert report.phases[0] == Peak(expected, "forward", "head", "loss")
    assert report.resident == RESIDENT_FIXED + RESIDENT_PER_IMAGE * batch
    assert report.saved == 3 * 2 * 4 * 4 + 4 * (6 * MAP + 4 + 2) * batch  # logits are not kept


def test_bf16_autocast_keeps_bf16_copies(tiny) -> None:
    # per image: the input's bf16 copy (conv1 keeps it), six 4x8x8 maps and the pooled
    # values in bf16, bf16 logits, fp32 log-probabilities and, while they are made, the
    # logits' fp32 copy
    per_image = 2 * 3 * 64 + 2 * (6 * MAP + 4 + 2) + 4 * 2 + 4 * 2
    # autocast's cache: bf16 copies of the three conv weights (108 + 144 + 144) and the fc's
    # weight and bias; the bns' statistics stay fp32
    copies = 2 * (108 + 144 + 144 + 8 + 2)
    fixed = copies + 3 * 2 * 4 * 4 + 8
    report = training_memory(tiny, 5, precision="bf16-autocast")
    expected = RESIDENT_FIXED + fixed + (RESIDENT_PER_IMAGE + per_image) * 5
    assert report.phases[0] == Peak(expected, "forward", "head", "loss")


def test_optimizers_differ_by_their_state(tiny) -> None:
    resident = {
        name: training_memory(tiny, 2, optimizer=name).resident
        for name in ("sgd", "sgd-momentum", "adam")
    }
    assert resident["sgd-momentum"] - resident["sgd"] == 4 * PARAMS
    assert resident["adam"] - resident["sgd"] == 2 * 4 * PARAMS
    # the step: everything resident but the batch, the logits, the loss, and one temporary
    # the size of the parameters (foreach's decayed gradients)
    step = training_memory(tiny, 2, optimizer="sgd").phases[2]
    assert step.phase == "step"
    assert step.bytes == resident["sgd"] + 4 * PARAMS + 2 * 4 * 2 + 8


def test_backward_frees_what_forward_kept(tiny) -> None:
    trace = simulate(tiny, "fp32", "sgd-momentum")
    last = trace.rows[-1]  # the optimiser's temporary: the step is over but for it
    assert last[2] == ("step", "head", "step")
    # left: weights, buffers, momentum, the new gradients, batch, labels, logits, loss
    assert last[0] == RESIDENT_FIXED + 4 * PARAMS + 8
    assert last[1] == RESIDENT_PER_IMAGE + 4 * 2


def test_checkpointing_keeps_only_the_stage_input(tiny) -> None:
    plain = training_memory(tiny, 16)
    checkpointed = training_memory(tiny, 16, checkpointed=("layer1",))
    layer = {s.name: s for s in checkpointed.stages}["layer1"]
    # without: the block's two bns' statistics and four of its maps (its relu's input is the
    # stem's, counted there)
    assert {s.name: s for s in plain.stages}["layer1"].saved == 2 * 2 * 4 * 4 + 4 * 4 * MAP * 16
    assert layer.saved == 0  # its input is the stem's relu output, which the stem keeps
    assert checkpointed.phases[0].bytes < plain.phases[0].bytes
    assert checkpointed.phases[1].bytes <= plain.phases[1].bytes


def test_checkpointing_a_network_of_the_paper(tiny) -> None:
    (net,) = check_or_raise("specs/resnet50.res")
    plain = training_memory(net, 32, "bf16-autocast")
    stages = tuple(f"layer{i}" for i in range(1, 5))
    checkpointed = training_memory(net, 32, "bf16-autocast", checkpointed=stages)
    saved = {s.name: s.saved for s in checkpointed.stages}
    # conv2_x keeps only the max pool's 64x56x56 output (bf16), conv3_x conv2_x's 256x56x56
    assert saved["layer1"] == 2 * 64 * 56 * 56 * 32
    assert saved["layer2"] == 2 * 256 * 56 * 56 * 32
    assert checkpointed.peak.bytes < plain.peak.bytes


@pytest.mark.parametrize("budget", [10**6, 3 * 10**6, 10**8])
def test_largest_batch_is_the_last_that_fits(tiny, budget: int) -> None:
    trace = simulate(tiny, "fp32", "sgd-momentum")
    batch = largest_batch(trace, budget)
    assert batch >= 1
    assert trace.peak(batch).at_batch(batch) <= budget < trace.peak(batch + 1).at_batch(batch + 1)


def test_nothing_fits_a_budget_below_the_weights(tiny) -> None:
    assert largest_batch(simulate(tiny, "fp32", "adam"), 4 * PARAMS) == 0
