"""Channel attention's ops: the sigmoid gate, the product that applies it, ECA's 1-D conv."""

from __future__ import annotations

from resdsl import ops


def test_sigmoid_is_an_activation_drawn_as_its_own_box() -> None:
    gate = ops.Sigmoid()
    assert gate.shape([(64, 1, 1)]) == (64, 1, 1) and gate.params() == 0
    assert gate.macs([(64, 1, 1)], (64, 1, 1)) == 64  # one operation an element
    assert gate.counted == "relu" and gate.drawn == "folded" and not gate.shown
    assert gate.keeps_output and not gate.keeps_input and not gate.in_place
    assert (gate.label(), gate.table_entry(), gate.torch()) == (
        "sigmoid",
        "sigmoid",
        "nn.Sigmoid()",
    )


def test_multiply_scales_a_map_by_its_channels_or_its_shape() -> None:
    scale = ops.Multiply()
    assert scale.shape([(256, 14, 14), (256, 1, 1)]) == (256, 14, 14)
    assert scale.macs([(256, 14, 14), (256, 1, 1)], (256, 14, 14)) == 256 * 14 * 14
    assert scale.problem([(256, 14, 14), (256, 1, 1)]) is None
    assert scale.problem([(256, 14, 14), (256, 14, 14)]) is None
    assert scale.problem([(256, 14, 14), None]) is None  # reported where it failed
    assert scale.problem([(256, 14, 14), (128, 1, 1)]) == (
        "a product scales a map of shape 256x14x14 by a scale of its channels (256x1x1) or "
        "of its shape; not by 128x1x1"
    )
    assert "not by 256x7x7" in scale.problem([(256, 14, 14), (256, 7, 7)])
    assert "not 3 inputs" in scale.problem([(8, 2, 2)] * 3)
    assert scale.counted == "add" and scale.drawn == "circle" and scale.label() == "x"
    assert scale.merge(["out", "gate"]) == "out * gate"


def test_multiply_gives_each_input_its_own_gradient() -> None:
    main, channels = (256, 14, 14), (256, 1, 1)
    d_main, d_scale = ops.Multiply().input_grads([main, channels], main)
    assert d_main.steps == (main,) and not d_main.after and not d_main.view
    assert d_scale.steps == (main, channels)  # g * main, then summed over H and W
    _, same = ops.Multiply().input_grads([main, main], main)
    assert same.steps == (main,)  # nothing to sum


def test_channel_conv_is_eca_s_conv1d_across_channels() -> None:
    eca = ops.ChannelConv(5)
    assert eca.shape([(512, 1, 1)]) == (512, 1, 1)
    assert eca.params() == eca.kept_params() == 5
    assert eca.macs([(512, 1, 1)], (512, 1, 1)) == 5 * 512
    assert (
        eca.counted == "always"
        and eca.shown
        and not eca.counts_in_depth
        and eca.lowers
        and eca.keeps_input
    )
    assert (eca.label(), eca.table_entry()) == ("1-d conv, k=5", "1-d conv, k=5")
    assert eca.torch() == "nn.Conv1d(1, 1, kernel_size=5, padding=2, bias=False)"
    assert eca.call("self.conv", "y") == ("self.conv(y.flatten(1)[:, None]).view_as(y)")
    assert eca.problem([(512, 1, 1)]) is None
    assert (
        eca.problem([(512, 7, 7)])
        == "a 1-d conv across channels reads a pooled map (Cx1x1), not 512x7x7"
    )
    assert ops.ChannelConv(4).problem([(512, 1, 1)]) == (
        "a 1-d conv across channels needs an odd kernel, not 4"
    )
