"""The convolution with a bias (Squeeze-and-Excitation's 1x1 convolutions)."""

from __future__ import annotations

from resdsl import ops


def test_a_bias_adds_a_parameter_per_output_channel_and_nothing_else() -> None:
    plain = ops.Conv(256, 16, (1, 1), (1, 1), (0, 0))
    fc1 = ops.Conv(256, 16, (1, 1), (1, 1), (0, 0), bias=True)
    assert fc1.params() == plain.params() + 16 == 256 * 16 + 16
    assert fc1.kept_params() == plain.kept_params() == 256 * 16  # the bias's gradient needs none
    inputs = [(256, 1, 1)]
    assert fc1.shape(inputs) == plain.shape(inputs) == (16, 1, 1)
    assert fc1.macs(inputs, (16, 1, 1)) == plain.macs(inputs, (16, 1, 1))  # fvcore's, torch's
    assert fc1.label() == plain.label() and fc1.table_entry() == plain.table_entry()
    assert fc1.torch() == "nn.Conv2d(256, 16, kernel_size=1, stride=1, padding=0, bias=True)"
    assert plain.torch().endswith("bias=False)")
    assert ops.Conv(3, 8, (3, 3), (1, 1), (1, 1), 1, True) == ops.Conv(
        3, 8, (3, 3), (1, 1), (1, 1), bias=True
    )  # the last field: positional calls keep working


def test_code_forms_default_to_calling_the_module() -> None:
    conv = ops.Conv(3, 8, (3, 3), (1, 1), (1, 1))
    assert conv.call("self.conv1", "x") == "self.conv1(x)"
    assert conv.inline("x") is None and conv.helper_source is None
    assert conv.made_weight() == conv.buffer_weight() == 0 and conv.parts([(3, 8, 8)]) == ()
    assert not conv.runs_in_fp32("cuda") and not conv.view
