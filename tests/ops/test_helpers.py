"""The helper classes some ops' PyTorch forms name: each defines what ``torch()`` names, is
formatted as generated code is, and option A's is the template's text, character for character."""

from __future__ import annotations

import pytest

from resdsl import ops
from resdsl.codegen.format import format_source, ruff_binary
from tests.conftest import ROOT
from tests.fixtures.op_networks import build, namespace

HELPED = [
    ops.ZeroPad(16, 32, (2, 2)),
    ops.StdConv(16, 32, (3, 3), (1, 1), (1, 1)),
    ops.BlurPool(16),
    ops.DropPath(0.2),
]


def test_option_a_s_class_is_what_the_compiler_writes() -> None:
    # the generated modules of option A networks hold it, character for character (it was the
    # template's own text before codegen took it from the op)
    assert ops.ZeroPad.helper_source in (ROOT / "generated/resnet20.py").read_text()
    assert "ZeroPadShortcut" not in (ROOT / "resdsl/codegen/templates/module.py.jinja").read_text()


@pytest.mark.parametrize("op", HELPED, ids=lambda op: op.kind)
def test_a_helper_defines_the_class_its_op_builds(op: ops.Op) -> None:
    scope = namespace()
    exec(op.helper_source, scope)  # type: ignore[arg-type]
    name = op.torch().split("(")[0]
    assert isinstance(scope[name], type) and scope[name].__doc__
    module = build(op)
    assert type(module).__name__ == name


@pytest.mark.parametrize("op", HELPED, ids=lambda op: op.kind)
def test_a_helper_is_formatted_as_generated_code_is(op: ops.Op) -> None:
    assert ruff_binary() is not None
    assert format_source(op.helper_source) == op.helper_source  # type: ignore[arg-type]


def test_ops_without_a_helper_say_so() -> None:
    assert ops.Conv.helper_source is None and ops.GroupNorm.helper_source is None
    assert ops.DropPath(0.0).torch() == "nn.Identity()"  # timm's at 0, no helper needed
