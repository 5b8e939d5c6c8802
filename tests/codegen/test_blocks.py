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


def test_a_dotted_name_outside_a_sequential_is_refused(tmp_path):
    spec = tmp_path / "b.res"
    spec.write_text("block b(planes, stride = 1) { se.fc1: conv 1x1, planes bn: bn }\n")
    result = resdsl.check(spec)
    (diagnostic,) = result.diagnostics
    assert diagnostic.message == (
        "block b: se.fc1 names a layer of a module se: write that module as a block of its "
        "own and use it here by name"
    )
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 31)
