"""Block recipes: each block kind described once, read by lowering and by codegen alike."""

from __future__ import annotations

from resdsl import ops
from resdsl.codegen.blocks import block_context
from resdsl.ir.lower import block_nodes
from resdsl.ir.network import BlockInfo
from resdsl.ir.recipes import BLOCKS, block_shortcut, recipe
from resdsl.lang.spec import BlockSpec
from resdsl.pipeline import check_or_raise
from tests.conftest import ROOT

SPAN = check_or_raise(ROOT / "specs" / "resnet50.res")[0].name_span


def test_bottleneck_stride_placement_is_in_the_recipe() -> None:
    paper = recipe(BlockSpec("bottleneck", 4, "1x1", False))
    v1_5 = recipe(BlockSpec("bottleneck", 4, "3x3", False))
    assert [s.name for s in paper.steps if s.stride] == ["conv1"]
    assert [s.name for s in v1_5.steps if s.stride] == ["conv2"]
    assert (
        paper.last_norm == "bn3" and recipe(BlockSpec("basic", 1, "1x1", False)).last_norm == "bn2"
    )


def test_lowering_lays_a_block_out_from_its_recipe() -> None:
    info = BlockInfo(2, 0, 256, 128, 512, 2, "projection", SPAN)
    nodes = block_nodes(recipe(BlockSpec("bottleneck", 4, "1x1", False)), info, 10, 11)
    assert [(n.path, n.branch) for n in nodes] == [
        ("layer2.0.conv1", "main"),
        ("layer2.0.bn1", "main"),
        ("layer2.0.relu", "main"),
        ("layer2.0.conv2", "main"),
        ("layer2.0.bn2", "main"),
        ("layer2.0.relu", "main"),
        ("layer2.0.conv3", "main"),
        ("layer2.0.bn3", "main"),
        ("layer2.0.downsample.0", "shortcut"),
        ("layer2.0.downsample.1", "shortcut"),
        ("layer2.0.add", None),
        ("layer2.0.relu", None),
    ]
    assert nodes[0].op == ops.Conv(256, 128, (1, 1), (2, 2), (0, 0))
    assert nodes[8].op == ops.Conv(256, 512, (1, 1), (2, 2), (0, 0))
    assert nodes[8].inputs == (10,) and nodes[10].inputs == (18, 20)  # F(x), then the shortcut


def test_the_generated_class_is_written_from_the_same_recipe() -> None:
    (net,) = check_or_raise(ROOT / "specs" / "resnet50_v1_5.res")
    block = block_context(net)
    assert block["init"][:4] == [
        "self.conv1 = conv1x1(inplanes, planes)",
        "self.bn1 = nn.BatchNorm2d(planes)",
        "self.conv2 = conv3x3(planes, planes, stride)",
        "self.bn2 = nn.BatchNorm2d(planes)",
    ]
    assert block["init"][-2:] == [
        "self.relu = nn.ReLU(inplace=True)",
        "self.downsample = downsample",
    ]
    assert block["forward"][0][0] == "out = self.conv1(x)  # (N, planes, H, W)"
    assert (
        block["forward"][2][0] == "out = self.conv3(out)  # (N, planes * 4, H / stride, W / stride)"
    )


def test_shortcut_options() -> None:
    assert block_shortcut("none", 64, 128, 2) == "none"
    assert block_shortcut("A", 64, 64, 1) == "identity"
    assert block_shortcut("B", 64, 64, 2) == "projection"
    assert set(BLOCKS) == {"basic", "bottleneck", "preact", "preact_bottleneck"}
    assert block_shortcut("D", 64, 256, 1) == "projection" and block_shortcut("D", 64, 64, 1) == (
        "identity"
    )
