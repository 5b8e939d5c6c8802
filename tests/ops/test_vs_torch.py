"""Every newer op against torch 2.13 on the CPU, through its own PyTorch form: the output shape,
the parameters, the multiply-adds (``FlopCounterMode``'s total halved, where it counts the op)
and the elements autograd saves for backward (``saved_tensors_hooks``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch.autograd.graph import saved_tensors_hooks
from torch.utils.flop_counter import FlopCounterMode

from resdsl import ops
from tests.fixtures.op_networks import build, namespace

BATCH = 3  # no channel count below is 3, so a saved tensor's first dimension tells its kind

# (op, input shapes per sample, whether flop_counter counts it)
CASES: list[tuple[ops.Op, list[tuple[int, ...]], bool]] = [
    (ops.Conv(8, 16, (3, 3), (2, 2), (1, 1), bias=True), [(8, 9, 9)], True),
    (ops.Conv(16, 4, (1, 1), (1, 1), (0, 0), bias=True), [(16, 1, 1)], True),  # SE's fc1
    (ops.Sigmoid(), [(8, 5, 5)], False),
    (ops.Multiply(), [(8, 5, 5), (8, 1, 1)], False),
    (ops.Multiply(), [(8, 5, 5), (8, 5, 5)], False),
    (ops.Concat(), [(4, 5, 5), (6, 5, 5), (2, 5, 5)], False),
    (ops.ChannelSlice(2, 6), [(8, 5, 5)], False),
    (ops.ChannelConv(5), [(16, 1, 1)], True),
    (ops.GroupNorm(4, 16), [(16, 5, 5)], False),
    (ops.GroupNorm(32, 64, eps=1e-6), [(64, 2, 2)], False),
    (ops.StdConv(8, 16, (3, 3), (2, 2), (1, 1)), [(8, 9, 9)], True),
    (ops.StdConv(8, 16, (1, 1), (1, 1), (0, 0), groups=2, bias=True), [(8, 5, 5)], True),
    (ops.BlurPool(8), [(8, 9, 9)], True),
    (ops.BlurPool(8, 5, 2), [(8, 10, 10)], True),
    (ops.BlurPool(8, 4, 1), [(8, 6, 6)], True),
    (ops.DropPath(0.5), [(8, 5, 5)], False),
    (ops.DropPath(0.0), [(8, 5, 5)], False),
    (ops.GlobalAvgPool(), [(8, 5, 5)], False),
    (ops.Add(in_place=False), [(8, 5, 5), (8, 5, 5)], False),
    (ops.EvoNormS0(4, 16), [(16, 5, 5)], False),
    (ops.FRN(16), [(16, 5, 5)], False),
    (ops.ConstantPad(1), [(8, 5, 5)], False),
    (ops.Flatten(), [(8, 1, 1)], False),
]
IDS = [f"{op!r}-{len(shapes)}" for op, shapes, _ in CASES]


def apply(op: ops.Op, xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.nn.Module | None]:
    """``op`` on ``xs`` as generated code writes it: ``merge``, ``inline``, or its module."""
    scope = namespace()
    names = [f"x{i}" for i in range(len(xs))]
    scope.update(zip(names, xs, strict=True))
    if len(xs) > 1:
        return eval(op.merge(names), scope), None
    if op.inline(names[0]) is not None:
        return eval(op.inline(names[0]), scope), None  # type: ignore[arg-type]
    scope["m"] = build(op, scope)
    return eval(op.call("m", names[0]), scope), scope["m"]


def inputs(shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.randn(BATCH, *shape, requires_grad=True) for shape in shapes]


@pytest.mark.parametrize(("op", "shapes", "counted"), CASES, ids=IDS)
def test_shape_and_params_are_torch_s(op: ops.Op, shapes: list, counted: bool) -> None:
    out, module = apply(op, inputs(shapes))
    assert tuple(out.shape[1:]) == op.shape(shapes)
    found = sum(p.numel() for p in module.parameters()) if module is not None else 0
    assert op.params() == found


@pytest.mark.parametrize(("op", "shapes", "counted"), CASES, ids=IDS)
def test_multiply_adds_are_flop_counter_s_where_it_counts_them(
    op: ops.Op, shapes: list, counted: bool
) -> None:
    xs = inputs(shapes)
    with FlopCounterMode(display=False) as counter:
        apply(op, xs)
    flops = counter.get_total_flops()
    if counted:
        assert op.counted == "always"
        assert op.macs(shapes, op.shape(shapes)) * BATCH == flops // 2  # type: ignore[arg-type]
    else:  # elementwise: flop_counter counts none; the op's own formula is checked per op
        assert flops == 0 and op.counted != "always"


def saved(op: ops.Op, shapes: list) -> tuple[int, int, list[Any]]:
    """Elements autograd saves running ``op``: per sample (first dimension the batch) and
    batch-independent, parameters and buffers (no memory of their own) left out; and the
    dtypes of the per-sample ones."""
    xs = inputs(shapes)
    found: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        found.append(tensor)
        return tensor

    with saved_tensors_hooks(pack, lambda tensor: tensor):
        _, module = apply(op, xs)
    state = list(module.parameters()) + list(module.buffers()) if module is not None else []
    owned = {t.untyped_storage().data_ptr() for t in state}
    unique = {
        (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)): t
        for t in found
        if t.untyped_storage().data_ptr() not in owned
    }
    per_sample = [t for t in unique.values() if t.dim() and t.shape[0] == BATCH]
    fixed = [t for t in unique.values() if not (t.dim() and t.shape[0] == BATCH)]
    return (
        sum(t.numel() for t in per_sample) // BATCH,
        sum(t.numel() for t in fixed),
        [t.dtype for t in per_sample],
    )


# Views autograd saves beside the tensors they view, which take no memory of their own but
# which saved() counts at their shape: EvoNorm's grouped view of its input (its variance's
# input), FRN's inverse RMS expanded to the map.
VIEWS = {
    "evonorm_s0": lambda shapes: math.prod(shapes[0]),
    "frn": lambda shapes: math.prod(shapes[0]),
}


@pytest.mark.parametrize(("op", "shapes", "counted"), CASES, ids=IDS)
def test_saved_elements_are_what_autograd_saves(op: ops.Op, shapes: list, counted: bool) -> None:
    per_sample, fixed, _ = saved(op, shapes)
    per_sample -= VIEWS[op.kind](shapes) if op.kind in VIEWS else 0
    out = op.shape(shapes)
    expected = op.extra_saved(out, shapes)  # type: ignore[arg-type]
    expected += sum(math.prod(s) for s in shapes) if op.keeps_input else 0
    expected += math.prod(out) if op.keeps_output else 0  # type: ignore[arg-type]
    assert per_sample == expected
    # batch-independent: a standardisation's mean and inverse std and the weight it made
    assert fixed == op.stats_saved() + op.made_weight()


def test_group_norm_keeps_fp32_statistics_of_a_bf16_input() -> None:
    """As under the CPU's bf16 autocast: a bf16 map, the parameters fp32 (torch then keeps the
    statistics in the parameters' dtype)."""
    gn = ops.GroupNorm(4, 16)
    module = build(gn)
    x = torch.randn(BATCH, 16, 5, 5, dtype=torch.bfloat16, requires_grad=True)
    found: list[torch.Tensor] = []
    with (
        saved_tensors_hooks(lambda t: found.append(t) or t, lambda t: t),
        torch.autocast("cpu", torch.bfloat16),
    ):
        assert module(x).dtype == torch.bfloat16
    stats = [t for t in found if tuple(t.shape) == (BATCH, 4)]
    assert [t.dtype for t in stats] == [torch.float32] * 2
    assert gn.extra_saved_itemsize(2, "cpu") == gn.extra_saved_itemsize(2, "cuda") == 4


def test_drop_path_keeps_a_mask_of_its_input_s_dtype() -> None:
    _, _, dtypes = saved(ops.DropPath(0.5), [(8, 5, 5)])
    assert dtypes == [torch.float32]
    assert ops.DropPath(0.5).extra_saved_itemsize(2, "cuda") == 2


def test_autocast_lists_in_torch_s_dispatcher_agree_with_the_ops() -> None:
    """Which ops autocast re-types is registered per device in torch's dispatcher, so the
    CUDA facts are read from this CPU build: group_norm has a CUDA autocast kernel (its fp32
    list) and no CPU one; reflect padding (blur pool's first step) the reverse."""

    def autocast(name: str) -> set[str]:
        dump = torch._C._dispatch_dump(name)
        return {line.split(":")[0] for line in dump.splitlines() if line.startswith("Autocast")}

    assert {"AutocastCUDA"} <= autocast("aten::group_norm")
    assert "AutocastCPU" not in autocast("aten::group_norm")
    assert "AutocastCPU" in autocast("aten::reflection_pad2d")
    assert "AutocastCUDA" not in autocast("aten::reflection_pad2d")
    gn = ops.GroupNorm(4, 16)
    assert gn.runs_in_fp32("cuda") and not gn.runs_in_fp32("cpu")
    (pad, _), (blur, _) = ops.BlurPool(16).parts([(16, 8, 8)])
    assert pad.runs_in_fp32("cpu") and not pad.runs_in_fp32("cuda") and blur.lowers
