from __future__ import annotations

from pathlib import Path

import pytest

from resdsl.train.errors import TrainError
from resdsl.train.module import count_params, load_generated, weighted_depth


def test_fixture_is_a_generated_module(fixture_module: Path) -> None:
    generated = load_generated(fixture_module)
    assert generated.name == "resnet8" and generated.input_shape == (3, 16, 16)
    model = generated.build(num_classes=10)
    assert count_params(model) == generated.meta["params"]
    assert weighted_depth(model) == 8  # 6n+2 with n=1; the projection shortcuts do not count
    assert model.fc.out_features == 10 and generated.build(num_classes=4).fc.out_features == 4


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "is not a generated resdsl module: it has no META dict"),
        ("META = {'network': 'n'}\n", "META lacks factory, input, classes, params"),
        ("import nonexistent_package_xyz\n", "importing it failed .ModuleNotFoundError"),
        (
            "META = dict(network='n', factory='make', input=[3, 8, 8], classes=10, params=1)\n",
            "no factory function 'make'",
        ),
        (
            "META = dict(network='n', factory='f', input=[3, 8], classes=10, params=1)\n"
            "def f(num_classes): ...\n",
            r"META\['input'\] must be \[C, H, W\]",
        ),
    ],
)
def test_not_a_generated_module(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "plain.py"
    path.write_text(source)
    with pytest.raises(TrainError, match=message):
        load_generated(path)


def test_missing_or_wrong_kind_of_file(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no such file"):
        load_generated(tmp_path / "nope.py")
    (tmp_path / "spec.res").write_text("network x")
    with pytest.raises(TrainError, match=r"expected a \.py file"):
        load_generated(tmp_path / "spec.res")


def test_resnet20_fixture_matches_the_paper() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "resnet20.py"
    generated = load_generated(path)
    model = generated.build(num_classes=10)
    assert count_params(model) == generated.meta["params"] == 269722  # 0.27M, Table 6
    assert weighted_depth(model) == 20
