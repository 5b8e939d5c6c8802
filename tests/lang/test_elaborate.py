"""Elaboration: one use of a definition laid out as wired ops, and what a use cannot give it."""

from __future__ import annotations

import pytest

from resdsl.lang.definitions import definitions
from resdsl.lang.elaborate import INPUT, Shortcut, Unmet, bind, elaborate, unmet_requirements
from resdsl.lang.load import load

BLOCKS = definitions(load("specs/resnet18.res")).blocks


def plan(kind: str, reads_here: bool = False, projection: str = "projection"):
    definition = {"projection": BLOCKS[projection], "pad": BLOCKS["zero_pad"]}.get(kind)
    return lambda c_in, c_out: Shortcut(kind, definition, reads_here)  # type: ignore[arg-type]


def test_a_bottleneck_v1_5_strides_its_3x3_and_projects_from_its_input():
    given = {"planes": 64, "stride": 2, "channels": 256, "stride_on": (3, 3)}
    block = elaborate(BLOCKS["bottleneck"], given, BLOCKS, plan("projection"))
    strides = {p.path: p.op.stride[0] for p in block.pieces if p.op.kind == "conv"}
    assert strides == {"conv1": 1, "conv2": 2, "conv3": 1, "downsample.0": 2}
    projection = next(p for p in block.pieces if p.path == "downsample.0")
    assert projection.inputs == (INPUT,) and projection.branch == "shortcut"
    add = next(p for p in block.pieces if p.path == "add")
    assert add.roles == ("main", "shortcut") and block.channels == 256
    assert block.pieces[-1].path == "relu" and block.output == len(block.pieces) - 1


def test_a_pre_activation_unit_reads_here_only_where_the_plan_says():
    given = {"planes": 16, "stride": 1, "channels": 16}
    here = elaborate(BLOCKS["preact"], given, BLOCKS, plan("identity", reads_here=True))
    there = elaborate(BLOCKS["preact"], given, BLOCKS, plan("identity"))
    add_here, add_there = here.pieces[-1], there.pieces[-1]
    assert here.pieces[add_here.inputs[1]].path == "relu"  # after bn1, relu
    assert add_there.inputs[1] == INPUT
    assert here.reads_here and not there.reads_here
    assert [p.path for p in here.pieces].count("dropout") == 0  # dropout 0: no layer


def test_dropout_exists_only_where_its_probability_is_above_zero():
    given = {"planes": 16, "stride": 1, "channels": 16, "dropout": 0.3}
    block = elaborate(BLOCKS["preact"], given, BLOCKS, plan("identity"))
    (dropout,) = (p for p in block.pieces if p.path == "dropout")
    assert dropout.op.p == 0.3


def test_a_plain_network_has_no_addition():
    given = {"planes": 16, "stride": 1, "channels": 16}
    block = elaborate(BLOCKS["basic"], given, BLOCKS, plan("none"))
    assert [p.path for p in block.pieces] == ["conv1", "bn1", "relu", "conv2", "bn2", "relu"]
    assert block.shortcut == "none"


def test_resnet_d_s_pool_is_there_only_when_the_block_strides():
    strided = elaborate(
        BLOCKS["bottleneck"],
        {"planes": 64, "stride": 2, "channels": 256},
        BLOCKS,
        plan("projection", projection="avg_down_projection"),
    )
    flat = elaborate(
        BLOCKS["bottleneck"],
        {"planes": 64, "stride": 1, "channels": 64},
        BLOCKS,
        plan("projection", projection="avg_down_projection"),
    )
    shortcut = [p.path for p in strided.pieces if p.branch == "shortcut"]
    assert shortcut == ["downsample.0", "downsample.1", "downsample.2"]
    assert [p.path for p in flat.pieces if p.branch == "shortcut"] == [
        "downsample.1",
        "downsample.2",
    ]


def test_what_a_use_cannot_give_says_which_parameters_it_reads():
    given = {"planes": 16, "stride": 1, "channels": 64, "width_per_group": 2}
    with pytest.raises(Unmet) as caught:
        elaborate(BLOCKS["bottleneck"], given, BLOCKS, plan("identity"))
    assert caught.value.message == (
        "a bottleneck of width 16 with width per group 2 has no channels in its 3x3 "
        "(16 * 2 // 64 = 0)"
    )
    assert {"planes", "width_per_group"} <= caught.value.reads


def test_network_wide_requirements_are_checked_once_without_a_use():
    values = bind(BLOCKS["bottleneck"], {"stride_on": (5, 5)}, skip=frozenset({"planes"}))
    (unmet,) = unmet_requirements(BLOCKS["bottleneck"], values)
    assert unmet.message == "a bottleneck's stride sits on its 1x1 or its 3x3, not 5x5"
    assert unmet.reads == {"stride_on"}
    assert unmet_requirements(BLOCKS["bottleneck"], bind(BLOCKS["bottleneck"], {})) == []
