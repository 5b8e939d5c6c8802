from __future__ import annotations

import dataclasses
import sys

import pytest

from resdsl.train.config import RECIPES, TrainConfig, learning_rate, recipe
from resdsl.train.errors import TrainError


def test_cifar_recipe_is_the_papers() -> None:
    cfg = recipe("cifar", module="m.py")
    assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
    assert cfg.milestones == (32000, 48000) and cfg.total_steps(351) == 64000
    assert (cfg.val_split, cfg.crop_pad, cfg.flip, cfg.warmup) == (5000, 4, True, "auto")


def test_every_recipe_value_can_be_overridden() -> None:
    for name, values in RECIPES.items():
        flipped = {
            k: (v * 2 if isinstance(v, int | float) and not isinstance(v, bool) else v)
            for k, v in values.items()
            if k not in ("milestones",)
        }
        cfg = recipe(name, **flipped)
        for key, value in flipped.items():
            assert getattr(cfg, key) == value


def test_imagenet_schedule_is_in_epochs_and_steps_override_it() -> None:
    cfg = recipe("imagenet")
    assert cfg.total_steps(5004) == 90 * 5004
    assert cfg.milestone_steps(5004) == (30 * 5004, 60 * 5004)
    assert recipe("imagenet", steps=10).total_steps(5004) == 10


def test_unknown_recipe_and_option_are_errors() -> None:
    with pytest.raises(TrainError, match="unknown recipe 'mnist'"):
        recipe("mnist")
    with pytest.raises(TrainError, match="unknown training option"):
        recipe("cifar", learning_rate=0.1)
    with pytest.raises(TrainError, match="batch_size must be positive"):
        recipe("digits", batch_size=0)


def test_config_is_frozen_and_round_trips() -> None:
    cfg = recipe("cifar", module="m.py", seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_learning_rate_schedule() -> None:
    kw = dict(base=0.1, milestones=(32000, 48000))
    assert learning_rate(0, **kw) == 0.1
    assert learning_rate(31999, **kw) == 0.1
    assert learning_rate(32000, **kw) == pytest.approx(0.01)
    assert learning_rate(48000, **kw) == pytest.approx(0.001)
    assert learning_rate(5, warming=True, warmup_lr=0.01, **kw) == 0.01


def test_config_does_not_import_torch() -> None:
    import subprocess

    code = (
        "import resdsl.train, resdsl.train.config, resdsl.cli.train, sys; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
