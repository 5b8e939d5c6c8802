"""The runner trains the ResNet family's generated modules as it trains the paper's: a few
iterations of `resdsl train generated/NAME.py --data synthetic` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli.train import train

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


def _train(module: Path, out: Path, *extra: str):
    args = [str(module), "--data", "synthetic", "--steps", "2", "--eval-every", "2"]
    args += ["--out", str(out), "--threads", "2", "--no-progress", *extra]
    return CliRunner().invoke(train, args)


def test_trains_a_pre_activation_resnet(tmp_path: Path) -> None:
    """ResNet-110 of He et al. 2016: 54 pre-activation units, the first one's shortcut on its
    pre-activation, the final BN and ReLU; checkpoints hold its state_dict."""
    module = ROOT / "generated" / "preact_resnet110.py"
    result = _train(module, tmp_path / "run", "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert "preact_resnet110 on synthetic: 2 iterations" in result.output
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["params"] == 1_730_522
    assert "bn.weight" in state["model"] and "layer2.0.downsample.0.weight" in state["model"]


def test_trains_resnext_and_resnet_d_blocks(tmp_path: Path) -> None:
    """Grouped 3x3s, the deep stem and ResNet-D's pooled projections (ceil_mode, on odd
    sizes: 36 -> 18 -> 9 -> 5) backpropagate: compiled from a small spec, then trained."""
    from resdsl.cli import cli

    spec = tmp_path / "small.res"
    spec.write_text(
        "network small_resnext_d { input 3x36x36 classes 10 stem deep\n"
        "    block bottleneck, stride on 3x3, groups 4, width per group 16\n"
        "    shortcut D stage 1 x 16 stage 1 x 32, stride 2 stage 1 x 64, stride 2\n"
        "    head { avgpool fc } }\n"
    )
    compiled = CliRunner().invoke(cli, ["compile", str(spec), "-o", str(tmp_path / "gen")])
    assert compiled.exit_code == 0, compiled.output
    module = tmp_path / "gen" / "small_resnext_d.py"
    result = _train(module, tmp_path / "run", "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert "small_resnext_d on synthetic: 2 iterations" in result.output
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    # width 16 * 16 // 64 * 4 = 16: four groups of 4 channels
    assert state["model"]["layer1.0.conv2.weight"].shape == (16, 4, 3, 3)
    assert "layer2.0.downsample.1.weight" in state["model"]
