"""timm's norm-act layers and its ResNetV2 names, without timm (tests/fixtures/timm_resnetv2.py
transcribes its classes): ``BatchNormAct2d`` reads as the batch norm and the ReLU it computes,
and a ResNetV2 imports under its own module names (``stages.0.blocks.0.norm1``, ``stem.conv``,
``head.fc``), its ``state_dict`` keys and shapes the model's in order, loaded strictly, the
same outputs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.imports import CannotExpress, import_model  # noqa: E402
from tests.fixtures import timm_resnetv2  # noqa: E402
from tests.imports.same import assert_computes_the_same  # noqa: E402


def _same_keys(model, text: str) -> None:
    built = resdsl.build(text)
    mine = [(k, tuple(v.shape)) for k, v in built.state_dict().items()]
    theirs = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert mine == theirs


@pytest.mark.parametrize(
    ("factory", "words"),
    [
        ("resnetv2_basic", ["conv1: conv 3x3, planes, stride stride", "stem.conv: conv 7x7"]),
        ("resnetv2_bottleneck", ["conv3: conv 1x1, planes * expansion", "stage 2 x 16\n"]),
        (
            "resnetv2_d",
            [
                "downsample.pool: avgpool 2x2, stride stride, ceil if stride != 1",
                "stem.norm1: bn\n    stem.act1: relu",
            ],
        ),
        ("resnetv2_d_gn", ["norm1: gn, 4", "stem.norm2: gn, 4\n    stem.act2: relu"]),
        (
            "resnetv2_bit",
            [
                "conv2: stdconv 3x3, planes, stride stride",
                "downsample.conv: stdconv 1x1, out_planes, stride stride",
                "    stem.conv: stdconv 7x7, 16, stride 2\n    stem.pad: zeropad, 1\n"
                "    stem.pool: maxpool 3x3, stride 2, padding 0\n",
                "    norm: gn, 4\n    relu\n",
            ],
        ),
    ],
)
def test_resnetv2_imports_under_its_own_names(factory, words):
    model = getattr(timm_resnetv2, factory)()
    text = import_model(model, name="net", input=(3, 64, 64))
    assert 'modules "stages.{stage}.blocks.{block}"' in text
    # timm's identity reads the raw input, even in the first unit; its projection is declared
    # first (its keys come first), a bare 1x1 conv of the pre-activated input
    assert "    shortcut via net_block_projection\n    norm1: " in text
    assert "\n    relu\n    shortcut here unless identity\n    conv1: " in text
    assert "head.fc: conv 1x1, classes, bias\n    flatten\n" in text
    for word in words:
        assert word in text
    _same_keys(model, text)
    assert_computes_the_same(model, text)  # no key renamed: loaded strictly as it is


@pytest.mark.parametrize(
    ("factory", "word"), [("resnetv2_d_evos", "evonorm_s0, 4"), ("resnetv2_d_frn", "frn")]
)
def test_norms_with_their_own_activation(factory, word):
    """EvoNorm-S0 and FRN with its TLU are each one layer, a norm and its activation: the
    unit's shortcut reads right after it, and no ReLU is written."""
    model = getattr(timm_resnetv2, factory)()
    torch.manual_seed(1)
    with torch.no_grad():  # parameters away from their initial ones, so a misplaced one shows
        for parameter in model.parameters():
            if parameter.dim() == 1:
                parameter.uniform_(-0.5, 1.5)
    text = import_model(model, name="net", input=(3, 64, 64))
    assert f"    norm1: {word}\n    shortcut here unless identity\n    conv1: " in text
    assert f"    stem.norm1: {word}\n    stem.conv2: " in text
    assert "relu" not in text
    _same_keys(model, text)
    assert_computes_the_same(model, text)


def test_bit_is_read_at_its_first_convolutions_input():
    """The input size is guessed from the first convolution, a StdConv2d in BiT: its 3
    channels, and 224x224 where it strides (before, a standardised convolution was traced
    into, and the guess read a later layer's 2048 channels)."""
    text = import_model(timm_resnetv2.resnetv2_bit(), name="net")
    assert "    input 3x224x224\n" in text


def test_a_standardised_convolution_of_another_eps_is_refused():
    model = timm_resnetv2.resnetv2_bit()
    model.stem.conv.eps = 1e-6
    with pytest.raises(CannotExpress) as error:
        import_model(model, name="net", input=(3, 64, 64))
    assert str(error.value) == (
        "cannot express stem.conv (StdConv2d): a weight-standardised convolution with eps "
        "1e-06 (the language's `stdconv` is BiT's, eps 1e-08)"
    )


def test_norm_act_layers_read_as_batch_norm_and_relu():
    """In a post-activation network, bn1's ReLU is the block's and bn2 (apply_act=False) a
    batch norm alone: the language's basic block, its keys the language's names."""
    model = timm_resnetv2.NormActResNet()
    text = import_model(model, name="net")
    assert "    block basic\n    shortcut B\n" in text
    assert "modules" not in text and "block net_block" not in text
    _same_keys(model, text)
    assert_computes_the_same(model, text)


def test_norm_act_with_another_activation_is_refused():
    model = timm_resnetv2.NormActResNet(act_layer=lambda inplace: torch.nn.GELU())
    with pytest.raises(CannotExpress) as error:
        import_model(model, name="net")
    assert str(error.value) == (
        "cannot express bn1 (BatchNormAct2d): a norm followed by GELU (the import reads "
        "norm-act layers whose activation is a ReLU)"
    )


def test_where_the_models_names_cannot_be_written_the_refusal_is_as_before():
    """A head whose classifier is an nn.Linear has no named form (the language's `fc` is the
    head section's), and under the language's names the first unit's identity would read
    the pre-activated input: refused where the two part, in one line."""
    model = timm_resnetv2.resnetv2_basic()
    model.head = torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(1), torch.nn.Linear(32, 10)
    )
    with pytest.raises(CannotExpress) as error:
        import_model(model, name="net", input=(3, 64, 64))
    assert str(error.value) == (
        "cannot express stages.0.blocks.0 (PreActBasic): no network the language writes has "
        "an add here (read as block preact, shortcut B)"
    )


def test_on_the_command_line(runner, at_root, tmp_path):
    """`resdsl import` writes the named spec, which `resdsl fmt` leaves as it is; a norm-act
    layer it cannot read is one line, exit status 1."""
    from resdsl.cli import cli

    out = tmp_path / "v2.res"
    source = "tests/fixtures/timm_resnetv2.py:resnetv2_d"
    result = runner.invoke(cli, ["import", source, "--input", "3x64x64", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert 'modules "stages.{stage}.blocks.{block}"' in out.read_text()
    assert runner.invoke(cli, ["fmt", "--check", str(out)]).exit_code == 0
    source = "tests/fixtures/timm_resnetv2.py:resnetv2_evonorm"
    result = runner.invoke(cli, ["import", source, "--input", "3x64x64"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot express stem.norm (EvoNormLike): a layer of its own, whose forward "
        "computes with stem.norm.v itself (the language has no word for it)\n"
    )
