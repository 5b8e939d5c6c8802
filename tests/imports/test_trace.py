"""Tracing on its own: what a forward's modules, functions and methods read as, the size it is
read at, and what is refused before any matching (in the language's terms, at the layer)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from resdsl import ops  # noqa: E402
from resdsl.imports import CannotExpress, import_model  # noqa: E402
from resdsl.imports.blocks import owners  # noqa: E402
from resdsl.imports.trace import trace  # noqa: E402
from tests.fixtures import user_models  # noqa: E402


class Lambda(nn.Module):
    def __init__(self, forward) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.scale = nn.Parameter(torch.ones(1))
        self.run = forward

    def forward(self, x):
        return self.run(self, x)


def _refusal(forward) -> str:
    with pytest.raises(CannotExpress) as error:
        trace(Lambda(forward))
    return str(error.value)


@pytest.mark.parametrize(
    ("forward", "message"),
    [
        (lambda m, x: m.conv(x) * m.scale, "cannot express <model> (Lambda): a layer of its own"),
        (
            lambda m, x: F.dropout(m.conv(x), 0.5) * torch.rand_like(x[:, :1]),
            "it draws random numbers in its forward (rand_like()",
        ),
        (
            lambda m, x: F.pad(m.conv(x), (1, 1, 1, 1), mode="reflect"),
            "padding with mode 'reflect' (the language's ops pad with zeros)",
        ),
        (
            lambda m, x: F.max_pool2d(m.conv(x), 3, 2, 0, ceil_mode=True),
            "a max pool with ceil_mode (the language's maxpool rounds down; it would need a `ceil`",
        ),
        (lambda m, x: m.conv(x).transpose(2, 3), "transpose() has no word in the language"),
        (lambda m, x: m.conv(x).view(-1), "a .view() of a 8x32x32 map to"),
        (lambda m, x: {"out": m.conv(x)}, "its forward returns a dict, not one tensor"),
        (lambda m, x: m.conv(m.conv(x)[:, :3]), "indexing a tensor other than option A's"),
        (
            lambda m, x: torch.cat(m.conv(x).chunk(2, 1), 1),
            "chunk() makes several tensors at once",
        ),
    ],
)
def test_refused_before_matching(forward, message):
    assert message in _refusal(forward)


def test_one_input():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x, mask):
            return self.conv(x) * mask

    with pytest.raises(CannotExpress) as error:
        trace(Two())
    assert str(error.value) == (
        "cannot express <model> (Two): its forward takes other than one input (mask)"
    )


def test_what_functions_read_as():
    def forward(m, x):
        y = F.relu(m.conv(x), inplace=False)
        gate = torch.sigmoid(F.avg_pool2d(y, y.size(2)))
        y = y * gate.expand_as(y)
        return torch.flatten(y.mean(dim=(-2, -1), keepdim=True), start_dim=1)

    traced = trace(Lambda(forward))
    kinds = [type(r.op).__name__ if r.op else None for r in traced.records]
    assert kinds == [
        "Input", "Conv", "ReLU", "GlobalAvgPool", "Sigmoid", None, "Multiply", "GlobalAvgPool",
        None,
    ]  # fmt: skip
    assert traced.input == (3, 32, 32)  # the first conv keeps the size: CIFAR's
    assert [r.shape for r in traced.records][:4] == [
        (3, 32, 32),
        (8, 32, 32),
        (8, 32, 32),
        (8, 1, 1),
    ]


def test_the_size_it_is_read_at():
    model = user_models.head("avg_pool2d")  # F.avg_pool2d(x, 16): global at 32x32 only
    assert trace(model).input == (3, 32, 32)
    pool = trace(model).records[-3]  # the pool, the view, the fc
    assert pool.op == ops.GlobalAvgPool()
    with pytest.raises(CannotExpress, match="it does not run at input 3x64x64: "):
        trace(model, (3, 64, 64))  # 2x2 left: 128 features for an fc of 32


class PooledTwice(user_models.Net):
    def forward(self, x):
        x = F.avg_pool2d(self.features(x), 4)  # 16x16 to 4x4, then the global pool
        return self.fc(self.pool(x).flatten(1))


def test_a_head_pool_that_is_not_global():
    with pytest.raises(CannotExpress) as error:
        import_model(PooledTwice())
    assert str(error.value) == (
        "cannot express <model> (PooledTwice): an average pool of 4x4 that leaves a 32x4x4 map "
        "at this input size (the language's head pools the whole map; give the size the model "
        "was written for with --input)"
    )


def test_a_model_that_runs_at_no_guessed_size():
    class Fixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
            self.fc = nn.Linear(8 * 50 * 50, 10)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))

    with pytest.raises(CannotExpress) as error:
        trace(Fixed())
    assert str(error.value).startswith(
        "cannot express <model> (Fixed): it does not run at input 3x224x224 (give its size with "
        "--input CxHxW): "
    )
    assert trace(Fixed(), (3, 100, 100)).input == (3, 100, 100)


def test_the_model_is_left_as_it_was():
    """The run is on meta tensors: a model on the CPU keeps its weights and statistics."""
    model = user_models.head("mean")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    import_model(model)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_owners_look_through_wrappers_and_stage_classes():
    records = owners(trace(user_models.wrapped()).records)
    assert sorted({r.owner for r in records} - {""}) == [
        "backbone.layer1.0", "backbone.layer1.1", "backbone.layer2.0", "backbone.layer2.1",
    ]  # fmt: skip
    records = owners(trace(user_models.staged()).records)
    assert "layer2.blocks.1" in {r.owner for r in records}
    records = owners(trace(user_models.stem_helper()).records)
    assert {r.owner for r in records if r.path.startswith("stem")} == {""}
