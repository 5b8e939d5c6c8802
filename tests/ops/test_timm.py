"""The ops' PyTorch forms behave as timm's layers: ``StdConv2d`` (BiT's), ``BlurPool2d``, the
convolution path of ``EcaModule`` and ``DropPath``, held to timm 1.0.31's outputs recorded in
tests/golden/ops_timm.json by ``/tmp/oracle/bin/python -m tests.fixtures.oracle_ops`` (which
compares the two modules beside timm; CI has no timm)."""

from __future__ import annotations

import json

import pytest
import torch

from resdsl import ops
from tests.conftest import GOLDEN
from tests.fixtures.oracle_ops import OPS, ours, output, sample

RECORD = json.loads((GOLDEN / "ops_timm.json").read_text())


def test_every_case_is_recorded_from_timm() -> None:
    assert set(RECORD["cases"]) == set(OPS)
    assert RECORD["versions"]["timm"] == "1.0.31"
    assert all(case["max_abs_diff"] <= 1e-12 for case in RECORD["cases"].values())


@pytest.mark.parametrize("name", sorted(OPS))
def test_state_dict_and_outputs_are_timm_s(name: str) -> None:
    case, op = RECORD["cases"][name], OPS[name]
    assert op.torch() == case["torch"]
    module, forward = ours(op)
    assert {k: list(v.shape) for k, v in module.state_dict().items()} == case["keys"]
    x, train = sample(op)
    assert (list(x.shape), train) == (case["input"], case["train"])
    got = output(module, forward, x, train)
    assert list(got.shape) == case["output_shape"]
    expected = torch.tensor(case["output"], dtype=torch.float64)
    assert torch.allclose(got.flatten(), expected, rtol=0, atol=1e-11)


def test_blur_pool_has_no_state_dict_keys_and_a_binomial_filter() -> None:
    module = ours(ops.BlurPool(2, filt_size=3))[0]
    assert module.state_dict() == {}
    expected = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
    assert torch.equal(module.filt[1, 0].float(), expected)


def test_drop_path_is_the_identity_in_eval_and_at_zero() -> None:
    x = torch.randn(4, 3, 2, 2)
    module = ours(ops.DropPath(0.3))[0].float().eval()
    assert module(x) is x
    assert ours(ops.DropPath(0.0))[0].__class__.__name__ == "Identity"
