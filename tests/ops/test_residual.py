"""The residual connection's ops: the addition (in place or not), drop path, option A's pad."""

from __future__ import annotations

from resdsl import ops


def test_the_residual_addition_is_written_in_place_and_res2net_s_is_not() -> None:
    residual, chained = ops.Add(), ops.Add(in_place=False)
    assert residual.in_place and not chained.in_place
    assert residual.merge(["out", "identity"]) == "out.add_(identity)"
    assert chained.merge(["sp", "part"]) == "sp + part"
    assert residual.label() == chained.label() == "+"
    # both pass the output's gradient to both inputs
    for add in (residual, chained):
        grads = add.input_grads([(8, 4, 4)] * 2, (8, 4, 4))
        assert [(g.steps, g.after, g.view) for g in grads] == [((), (), False)] * 2


def test_drop_path_is_stochastic_depth_on_the_residual_branch() -> None:
    drop = ops.DropPath(0.1)
    assert drop.shape([(256, 14, 14)]) == (256, 14, 14) and drop.params() == 0
    assert drop.counted == "never" and drop.drawn == "folded" and not drop.shown
    assert drop.macs([(256, 14, 14)], (256, 14, 14)) == 256 * 14 * 14  # training's multiply
    assert not drop.view and drop.extra_saved((256, 14, 14)) == 1  # one draw per sample
    assert drop.extra_saved_itemsize(2, "cuda") == 2
    assert drop.grad_steps([(256, 14, 14)], (256, 14, 14)) == ((256, 14, 14),)
    assert (drop.label(), drop.torch()) == ("drop path 0.1", "DropPath(0.1)")
    assert drop.problem([(256, 14, 14)]) is None
    assert ops.DropPath(1.0).problem([None]) == (
        "drop path's probability must be at least 0 and below 1, not 1"
    )


def test_drop_path_of_zero_is_the_identity() -> None:
    none = ops.DropPath(0.0)
    assert none.view and none.extra_saved((8, 2, 2)) == 0
    assert none.macs([(8, 2, 2)], (8, 2, 2)) == 0
    assert none.grad_steps([(8, 2, 2)], (8, 2, 2)) == ()  # no autograd node: passed on
    assert none.torch() == "nn.Identity()"


def test_option_a_names_its_helper_class() -> None:
    pad = ops.ZeroPad(16, 32, (2, 2))
    assert pad.torch() == "ZeroPadShortcut(16, 32, stride=2)"
    assert pad.helper_source is not None
    assert pad.helper_source.startswith("class ZeroPadShortcut(nn.Module):")
    # the shortcut's later steps (the slices' backward) come after its own node
    (grad,) = pad.input_grads([(16, 32, 32)], (32, 16, 16))
    assert grad.steps == ((16, 16, 16),) and grad.after == ((16, 16, 32), (16, 32, 32))
