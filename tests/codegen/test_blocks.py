"""Blocks a spec defines, compiled: the classes read as the definitions do, and the modules
they build count what the IR counts (torch's own parameter and FLOP counters)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.codegen.generate import generate  # noqa: E402
from resdsl.pipeline import check_or_raise  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

BLOCKS = ROOT / "tests" / "golden" / "language" / "blocks.res"


@pytest.mark.parametrize("name", ["se_resnet20", "resnext20"])
def test_a_spec_s_own_block_builds_what_the_ir_counts(name):
    from torch.utils.flop_counter import FlopCounterMode

    (net,) = check_or_raise(BLOCKS, name)
    stats = resdsl.stats(BLOCKS, name)
    torch.manual_seed(0)
    model = resdsl.build(BLOCKS, name).eval()
    assert sum(p.numel() for p in model.parameters()) == stats.params
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.randn(2, *net.input))
    assert out.shape == (2, net.classes)
    assert counter.get_total_flops() == 2 * 2 * stats.flops  # two samples, 2 FLOPs a MAC
    keys = set(model.state_dict())
    for node in net.nodes:  # every module with weights is where the IR says
        if node.op.params():
            assert f"{node.path}.weight" in keys, node.path


def test_the_classes_read_as_their_definitions():
    (net,) = check_or_raise(BLOCKS, "se_resnet20")
    source = generate(net)
    assert "class SqueezeExcite(nn.Module):" in source
    assert "    def __init__(self, channels: int, ratio: int = 16) -> None:" in source
    assert "        reduced = max(8, channels // ratio)" in source
    assert "        self.se = SqueezeExcite(planes, ratio=self.ratio)" in source
    assert "    ratio: int = 4\n" in source  # the block line's value, a class attribute
    assert source.index("class SqueezeExcite") < source.index("class SEBasicBlock")
    (resnext,) = check_or_raise(BLOCKS, "resnext20")
    assert "class ResNeXtBlock(nn.Module):" in generate(resnext)


def test_a_name_two_modules_deep_is_refused(tmp_path):
    # se.fc1 is an item of an nn.Sequential se (named, as timm's stem.conv); se.fc.a would be a
    # layer of a module within one
    spec = tmp_path / "b.res"
    spec.write_text("block b(planes, stride = 1) { se.fc.a: conv 1x1, planes bn: bn }\n")
    result = resdsl.check(spec)
    (diagnostic,) = result.diagnostics
    assert diagnostic.message == (
        "block b: se.fc.a names a layer of a module se.fc: write that module as a block of its "
        "own and use it here by name"
    )
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 31)


# A block that chooses its own projection (`shortcut via`) and a stem written as a block, its
# modules named as the block names them (timm's ResNet-RS replaces the stem's max pool with a
# strided convolution: `maxpool.0`).
VIA = """
block conv_projection(in_planes, out_planes, stride = 1) {
    downsample.0: conv 3x3, out_planes, stride stride
    downsample.1: bn
}
block wide_basic as WideBasicBlock = basic with shortcut via conv_projection
block rs_stem {
    conv1.0: conv 3x3, 16, stride 2
    conv1.1: bn
    conv1.2: relu
    conv1.3: conv 3x3, 32
    bn1: bn
    act1: relu
    maxpool.0: conv 3x3, 32, stride 2
    maxpool.1: bn
    maxpool.2: relu
}
network tiny {
    input 3x64x64
    classes 10
    stem rs_stem
    block wide_basic
    shortcut B
    stage 1 x 32
    stage 1 x 64, stride 2
    head { avgpool fc }
}
"""


def test_a_block_s_own_projection_and_a_stem_written_as_a_block(tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(VIA)
    (net,) = check_or_raise(spec)
    assert [n.path for n in net.nodes if n.section == "stem"] == [
        *(f"conv1.{i}" for i in range(4)), "bn1", "act1", "maxpool.0", "maxpool.1", "maxpool.2",
    ]  # fmt: skip
    model = resdsl.build(spec).eval()
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["maxpool.0.weight"] == (32, 32, 3, 3)
    assert shapes["layer2.0.downsample.0.weight"] == (64, 32, 3, 3)  # 3x3, not the prelude's 1x1
    assert sum(p.numel() for p in model.parameters()) == resdsl.stats(spec).params
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    assert "def conv_projection(in_planes: int, out_planes: int" in generate(net)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("shortcut via conv_projection", "shortcut via nope"), "unknown block nope"),
        (
            ("shortcut via conv_projection", "shortcut via rs_stem"),
            "block rs_stem takes no out_planes, so it cannot project a shortcut",
        ),
        (("    act1: relu\n", "    branch b { relu }\n    add b\n"), "not one chain of layers"),
    ],
)
def test_what_a_block_stem_or_a_projection_gets_wrong(tmp_path, change, message):
    spec = tmp_path / "tiny.res"
    spec.write_text(VIA.replace(*change))
    problems = [d.message for d in resdsl.check(spec).diagnostics]
    assert any(message in m for m in problems), problems


@pytest.mark.parametrize("item", ["se.0", "se.fc"])
def test_a_sequential_item_in_a_stage_block_is_refused_by_the_compiler(tmp_path, item):
    from resdsl.codegen.identifiers import CodegenError

    spec = tmp_path / "tiny.res"
    spec.write_text(VIA.replace("basic with", f"basic with {item}: relu after bn1,"))
    (net,) = check_or_raise(spec)
    with pytest.raises(CodegenError, match=rf"cannot emit {item} as an attribute of class"):
        generate(net)


# Widths block by block (timm's pruned networks): the stage line gives each block its values,
# the generated class takes them as keywords, and what is not given is the default.
PRUNED = """
block pruned(planes, stride = 1, width1 = planes, width2 = planes) as PrunedBlock {
    conv1: conv 3x3, width1, stride stride
    bn1: bn
    relu
    conv2: conv 3x3, width2
    bn2: bn
    conv3: conv 1x1, planes
    bn3: bn
    add shortcut
    relu
}
network p {
    input 3x32x32
    classes 10
    stem { conv 3x3, 16 }
    block pruned
    shortcut B
    stage 3 x 16, width1 [10, 12, 14], width2 9
    stage 2 x 32, stride 2
    head { avgpool fc }
}
network q = p with stage layer2: 2 x 32, width1 [5, 6]
"""


@pytest.mark.parametrize("name", ["p", "q"])
def test_values_block_by_block_build_what_the_ir_counts(tmp_path, name):
    from torch.utils.flop_counter import FlopCounterMode

    spec = tmp_path / "p.res"
    spec.write_text(PRUNED)
    stats = resdsl.stats(spec, name)
    model = resdsl.build(spec, name).eval()
    assert sum(p.numel() for p in model.parameters()) == stats.params
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert counter.get_total_flops() == 2 * stats.flops
    assert model.layer1[2].conv1.out_channels == 14 and model.layer1[2].conv2.out_channels == 9
    widths = [block.conv1.out_channels for block in model.layer2]
    assert widths == ([32, 32] if name == "p" else [5, 6])
    source = resdsl.compile(spec, name)
    assert "        *,\n        width1: int,\n        width2: int,\n" in source
    assert "PrunedBlock(16, 16, width1=10, width2=9)," in source


def test_a_run_of_blocks_too_long_for_a_line_is_wrapped_as_ruff_would(tmp_path):
    """`*(Block(...) for _ in range(2))` over 100 columns: the call, then the loop (a trailing
    comma after the loop would not be Python)."""
    spec = tmp_path / "w.res"
    spec.write_text(
        BLOCKS.read_text().split("network cifar_se")[0]
        + "block se_preact_bottleneck = preact_bottleneck with se: se(ratio = 4) after conv3\n"
        "network w { input 3x32x32 classes 10 stem { conv 3x3, 16 } block se_preact_bottleneck "
        "shortcut C stage 3 x 16 stage 3 x 32, stride 2 head { avgpool fc } }\n"
    )
    source = resdsl.compile(spec, "w")
    assert (
        "            *(\n"
        "                SePreactBottleneck(128, 32, downsample=preact_projection(128, 128))\n"
        "                for _ in range(2)\n"
        "            ),\n"
    ) in source
    assert resdsl.build(spec, "w")(torch.randn(1, 3, 32, 32)).shape == (1, 10)


# Two alternatives of one layer, each with an `if`, written one after the other: SENet's
# projection is a 3x3 convolution where it strides and a 1x1 where it does not (timm's
# downsample_conv with down_kernel_size 3).
ALTERNATIVES = """
block conv_projection(out_planes, stride = 1) {
    downsample.0: conv 3x3, out_planes, stride stride if stride != 1
    downsample.0: conv 1x1, out_planes if stride == 1
    downsample.1: bn
}
block wide_basic = basic with shortcut via conv_projection
network tiny {
    input 3x32x32
    classes 10
    stem {
        conv 3x3, 16
    }
    block wide_basic
    shortcut B
    stage 1 x 32
    stage 1 x 64, stride 2
    head { avgpool fc }
}
"""


def test_alternatives_of_one_layer_build_whichever_holds(tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(ALTERNATIVES)
    (net,) = check_or_raise(spec)
    model = resdsl.build(spec).eval()
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["layer1.0.downsample.0.weight"] == (32, 16, 1, 1)  # stride 1: the 1x1
    assert shapes["layer2.0.downsample.0.weight"] == (64, 32, 3, 3)  # stride 2: the 3x3
    assert sum(p.numel() for p in model.parameters()) == resdsl.stats(spec).params
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    assert (
        "    conv = nn.Identity()\n    if stride != 1:\n        conv = conv3x3(in_planes, "
        "out_planes, stride)\n    if stride == 1:\n        conv = conv1x1(in_planes, out_planes)\n"
    ) in generate(net)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (  # both conditions hold at some use
            ("if stride == 1\n", "if stride >= 1\n"),
            "downsample.0 of block conv_projection is written twice and both its conditions hold",
        ),
        (  # not one after the other: two modules of one name
            ("    downsample.1: bn\n", ""),
            "downsample.0 is written twice",
        ),
        (  # one of them without an `if`
            (" if stride == 1\n", "\n"),
            "downsample.0 is written twice",
        ),
    ],
)
def test_what_alternatives_get_wrong(tmp_path, change, message):
    text = ALTERNATIVES.replace(*change)
    if change[1] == "":  # a layer between the two
        text = text.replace(
            "stride stride if stride != 1\n", "stride stride if stride != 1\n    relu\n"
        )
    spec = tmp_path / "tiny.res"
    spec.write_text(text)
    problems = [d.message for d in resdsl.check(spec).diagnostics]
    assert any(message in m for m in problems), problems


def test_alternatives_inside_a_class_are_refused_by_the_compiler(tmp_path):
    from resdsl.codegen.identifiers import CodegenError

    spec = tmp_path / "tiny.res"
    spec.write_text(
        ALTERNATIVES.replace(
            "basic with shortcut via conv_projection",
            "basic(stride = 1) with extra: relu if stride == 1 after bn1, "
            "extra: sigmoid if stride != 1 after bn1",
        )
    )
    (net,) = check_or_raise(spec)
    with pytest.raises(CodegenError, match="cannot emit two alternatives of extra"):
        generate(net)


# timm's legacy SENet: a block in a stem written as a block is an nn.Sequential of named
# modules (layer0.conv1 ...), its max pool unpadded and rounding up (Caffe's), and the head's
# layers named as the spec labels them (last_linear).
LEGACY = """
block layer0_block {
    conv1: conv 3x3, 16, stride 2
    bn1: bn
    relu1: relu
}
block legacy_stem {
    layer0: layer0_block
    pool0: maxpool 3x3, stride 2, padding 0, ceil
}
network tiny {
    input 3x32x32
    classes 10
    stem legacy_stem
    block basic
    shortcut B
    stage 1 x 16
    head {
        global_pool: avgpool
        last_linear: fc
    }
}
"""


def test_named_stem_items_a_ceil_max_pool_and_head_labels(tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(LEGACY)
    (net,) = check_or_raise(spec)
    assert [n.path for n in net.nodes if n.section == "stem"] == [
        "layer0.conv1", "layer0.bn1", "layer0.relu1", "pool0",
    ]  # fmt: skip
    pool = next(n for n in net.nodes if n.path == "pool0")
    assert pool.shape == (16, 8, 8)  # 16x16: (16 - 3) / 2 + 1 rounded up, not 7
    source = generate(net)
    assert "from collections import OrderedDict\n" in source
    assert "            OrderedDict(\n                conv1=nn.Conv2d(" in source
    assert "nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)" in source
    assert "self.last_linear = nn.Linear(16, num_classes)" in source
    model = resdsl.build(spec).eval()
    keys = list(model.state_dict())
    assert keys[:2] == ["layer0.conv1.weight", "layer0.bn1.weight"]
    assert keys[-2:] == ["last_linear.weight", "last_linear.bias"]
    assert isinstance(model.layer0, torch.nn.Sequential) and model.layer0[1] is model.layer0.bn1
    assert model.get_classifier() is model.last_linear
    assert sum(p.numel() for p in model.parameters()) == resdsl.stats(spec).params
    x = torch.randn(1, 3, 32, 32)
    stem = model.pool0(model.layer0(x))
    assert stem.shape == (1, 16, 8, 8)
    assert model(x).shape == (1, 10)
    assert "OrderedDict" not in generate(check_or_raise(BLOCKS, "se_resnet20")[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("stem legacy_stem", "stem { c1: conv 3x3, 16 }"),
            "a stem's layers are named as torchvision and timm name them",
        ),
        (
            ("last_linear: fc", "layer1: fc"),
            "layer1 is a module of the stem or a stage; name the head's fc otherwise",
        ),
        (
            ("global_pool: avgpool", "pool0: avgpool"),
            "pool0 is a module of the stem or a stage",
        ),
    ],
)
def test_what_head_labels_get_wrong(tmp_path, change, message):
    spec = tmp_path / "tiny.res"
    spec.write_text(LEGACY.replace(*change))
    problems = [d.message for d in resdsl.check(spec).diagnostics]
    assert any(message in m for m in problems), problems


@pytest.mark.parametrize(
    "comment",
    ['timm\'s "v1.5"', 'C:\\new \\ and """ here', "a null \x00 byte", "ends in \\", '"', 'x\\"'],
)
def test_a_comment_of_any_text_is_the_block_s_docstring(tmp_path, comment):
    """The comment above a definition becomes its class's docstring, read back the same: quotes
    before the closing ones, backslashes and control bytes escaped (a null byte in a comment was
    an internal error, a comment ending in a quote made a module that did not parse)."""
    import ast

    spec = tmp_path / "q.res"
    spec.write_text(
        f"# {comment}\n"
        "block qb(planes, stride = 1, width = planes) {  # the width, \x01 here\n"
        "    conv1: conv 3x3, width, stride stride\n"
        "    bn1: bn\n"
        "    add shortcut\n"
        "    relu\n"
        "}\n"
        "network n { input 3x32x32 classes 10 stem { conv 3x3, 16 } block qb stage 1 x 16 "
        "head { avgpool fc } }\n"
    )
    tree = ast.parse(resdsl.compile(spec, "n"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Qb"]
    assert ast.get_docstring(cls, clean=False) == comment.strip()
