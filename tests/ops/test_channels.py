"""Res2Net's split (channel slices) and join (the concatenation)."""

from __future__ import annotations

from resdsl import ops


def test_slices_are_views_of_their_channels() -> None:
    part = ops.ChannelSlice(26, 52)
    assert part.shape([(104, 56, 56)]) == (26, 56, 56)
    assert part.params() == 0 and part.macs([(104, 56, 56)], (26, 56, 56)) == 0
    assert part.view and not part.keeps_input and not part.in_place
    assert part.counted == "never" and part.drawn == "folded"
    assert part.inline("out") == "out[:, 26:52]" and part.label() == "slice 26:52"
    # its backward: a zero tensor of the input's shape, the gradient copied into the slice
    assert part.input_grads([(104, 56, 56)], (26, 56, 56))[0].steps == ((104, 56, 56),)


def test_a_slice_must_lie_within_its_input() -> None:
    assert ops.ChannelSlice(0, 104).problem([(104, 8, 8)]) is None
    assert ops.ChannelSlice(100, 108).problem([(104, 8, 8)]) == (
        "a slice of channels 100:108 reaches past its input, 104x8x8"
    )
    assert ops.ChannelSlice(5, 5).problem([(104, 8, 8)]) == "a slice of channels 5:5 is empty"
    assert ops.ChannelSlice(0, 8).problem([None]) is None


def test_concatenation_joins_maps_of_one_size() -> None:
    cat = ops.Concat()
    shapes = [(26, 28, 28), (26, 28, 28), (52, 28, 28)]
    assert cat.shape(shapes) == (104, 28, 28)
    assert cat.problem(shapes) is None and cat.problem([(26, 28, 28), None]) is None
    assert cat.problem([(26, 28, 28), (26, 14, 14)]) == (
        "a concatenation joins maps of one height and width, not 26x28x28, 26x14x14"
    )
    assert cat.problem([(26, 28, 28), (10,)]) == "a concatenation joins maps (CxHxW), not 10"
    assert cat.macs(shapes, (104, 28, 28)) == 0 and cat.counted == "add"
    assert not cat.keeps_input and cat.label() == "concat"
    assert cat.merge(["a", "b", "c"]) == "torch.cat([a, b, c], 1)"


def test_each_input_of_a_concatenation_gets_a_view_of_the_gradient() -> None:
    grads = ops.Concat().input_grads([(4, 2, 2), (6, 2, 2)], (10, 2, 2))
    assert [(g.steps, g.view) for g in grads] == [((), True), ((), True)]
