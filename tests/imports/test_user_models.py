"""``resdsl import`` on the models people have: the CIFAR ResNets of two widely used
repositories (tests/fixtures/cifar_repos.py) and hand-written variants of one small ResNet
(tests/fixtures/user_models.py). Each imports exactly (the spec's network, given the model's
weights, computes what the model computes) or is refused in one located line naming the
true reason."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.cli import cli  # noqa: E402
from resdsl.imports import CannotExpress, ImportFailed, import_model  # noqa: E402
from tests.fixtures import cifar_repos, user_models  # noqa: E402
from tests.imports.same import assert_computes_the_same  # noqa: E402

SMALL = (
    "    input 3x32x32\n    classes 10\n    stem {\n        conv 3x3, 16\n    }\n"
    "    block basic\n    shortcut B\n    stage 2 x 16\n    stage 2 x 32, stride 2\n"
)


@pytest.mark.parametrize(
    "kind", ["mean", "reshape", "flatten_function", "flatten_method", "avg_pool2d"]
)
def test_heads_as_users_write_them(kind):
    model = user_models.head(kind)
    text = import_model(model, name="net")
    assert SMALL in text
    assert_computes_the_same(model, text)


@pytest.mark.parametrize(
    ("factory", "renames"),
    [
        ("wrapped", ((r"^backbone\.", ""),)),  # a user's module around the backbone
        ("staged", ((r"\.blocks\.", "."),)),  # a stage class around the blocks
        ("stem_helper", ((r"^stem\.conv", "conv1"), (r"^stem\.bn", "bn1"))),  # conv-BN-ReLU
    ],
)
def test_modules_around_blocks_and_layers(factory, renames):
    model = getattr(user_models, factory)()
    text = import_model(model, name="net")
    assert SMALL in text
    assert_computes_the_same(model, text, renames)


def test_squeeze_excite_with_linear_layers():
    model = user_models.se_linear()
    text = import_model(model, name="net")
    assert "block se(reduction = 4) as SEModule {\n" in text
    # nn.Sequential's fc.0 and fc.2 named as the language's SE names them; no bias, as theirs
    assert "        fc1: conv 1x1, reduced\n" in text
    assert "block se_basic as SEBasicBlock = basic with se after bn2\n" in text
    renames = ((r"se\.fc\.0", "se.fc1"), (r"se\.fc\.2", "se.fc2"))
    assert_computes_the_same(model, text, renames)  # its linear weights as 1x1 convolutions


def test_akamaster_option_a_is_refused_for_its_symmetric_zeros():
    with pytest.raises(CannotExpress) as error:
        import_model(cifar_repos.akamaster_resnet20())
    assert str(error.value) == (
        "cannot express layer2.0.shortcut (LambdaLayer): option A's zero channels on both "
        "sides (8 before the input's channels, 8 after): the language's `pad` appends them "
        "after; it cannot say where the zeros go (it would need a `pad` option placing them, "
        "such as `before 8`)"
    )


def test_akamaster_option_b_imports():
    model = cifar_repos.akamaster_resnet20_b()
    text = import_model(model, name="resnet20")
    assert (
        "    block basic\n    shortcut B\n    stage 3 x 16\n    stage 3 x 32, stride 2\n"
        "    stage 3 x 64, stride 2\n"
    ) in text
    assert_computes_the_same(model, text, ((r"\.shortcut\.", ".downsample."), ("linear", "fc")))


@pytest.mark.parametrize(
    ("factory", "lines"),
    [
        ("kuangliu_resnet18", "    block basic\n    shortcut B\n    stage 2 x 64\n"),
        ("kuangliu_resnet50", "    block bottleneck, stride on 3x3\n    shortcut B\n"),
    ],
)
def test_kuangliu_resnets_import(factory, lines):
    model = getattr(cifar_repos, factory)()
    text = import_model(model, name="net")
    assert "    input 3x32x32\n" in text and lines in text
    assert_computes_the_same(model, text, ((r"\.shortcut\.", ".downsample."), ("linear", "fc")))


def test_kuangliu_senet_in_its_basic_blocks_imports():
    """SE written in the block's forward: F.avg_pool2d(out, out.size(2)), F.sigmoid."""
    model = cifar_repos.kuangliu_senet18_basic()
    text = import_model(model, name="senet18")
    assert "block se(reduction = 16) as SEModule {\n" in text  # planes // 16: 4 at 64
    assert "block se_basic as SEBasicBlock = basic with se after bn2\n" in text
    renames = (
        (r"\.shortcut\.", ".downsample."),
        ("linear", "fc"),
        (r"(layer\d\.\d)\.fc", r"\1.se.fc"),
    )
    assert_computes_the_same(model, text, renames)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            "kuangliu_preact_resnet18",
            "cannot express <model> (PreActResNet): after pre-activation units the language's "
            "head opens with BN and ReLU (He et al. 2016); this one goes on with the global "
            "average pool",
        ),
        (
            "kuangliu_senet18",
            "cannot express bn1 (BatchNorm2d): a pre-activation network's stem ends at its last "
            "convolution (its first unit opens with BN and ReLU); this one goes on with bn",
        ),
    ],
)
def test_kuangliu_preactivation_networks_are_refused_for_what_they_do(factory, message):
    with pytest.raises(CannotExpress) as error:
        import_model(getattr(cifar_repos, factory)())
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            "dilated_stage",
            "cannot express layer2.1.conv2 (Conv2d): a dilated convolution (dilation 2): the "
            "language's convolutions are not dilated (it would need a `dilation` option on conv, "
            "and a stage that dilates in place of its stride, as torchvision's "
            "replace_stride_with_dilation)",
        ),
        (
            "shared_conv",
            "cannot express layer1.0.conv2 (Conv2d): applied a second time: the language gives "
            "each layer weights of its own, so the spec would count them twice",
        ),
        (
            "in_place_input",
            "cannot express layer1.0 (InPlaceBlock): it overwrites its input in place, which "
            "layer1.0 (InPlaceBlock) reads after it (torch.fx's dataflow would not show it)",
        ),
        (
            "symmetric_pad",
            "cannot express layer2.0 (PadBlock): option A's zero channels on both sides (8 "
            "before the input's channels, 8 after)",
        ),
    ],
)
def test_refused_with_the_true_reason(factory, message):
    with pytest.raises(CannotExpress) as error:
        import_model(getattr(user_models, factory)())
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_an_average_pooled_stem_comes_back_only_as_a_spec_that_compiles():
    """torchvision's ResNet with its max pool made an average pool: `import` hands on a spec
    only if `resdsl compile` compiles it. (The code generator refuses a stem avgpool today,
    `expected an integer in the IR, got False`, its literal of ceil_mode; the import says so
    in one line instead of writing that spec.)"""
    model = user_models.avgpool_stem()
    try:
        text = import_model(model)
    except ImportFailed as error:
        assert str(error) == (
            "AvgPoolStem: the spec it reads as checks, but resdsl cannot compile it: expected "
            "an integer in the IR, got False"
        )
    else:
        assert "        conv 7x7, 16, stride 2\n        avgpool 3x3, stride 2\n" in text
        assert_computes_the_same(model, text, ((r"^pool0\.", "avgpool."),))


def test_refusals_on_the_command_line_are_one_line(runner, at_root):
    result = runner.invoke(cli, ["import", "tests/fixtures/cifar_repos.py:akamaster_resnet56"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: cannot express layer2.0.shortcut (LambdaLayer)")
    assert result.stderr.count("\n") == 1


def test_imported_spec_compiles_clean(tmp_path):
    """The definitions an import writes compile to a module ruff finds nothing in."""
    import subprocess

    from resdsl.codegen.format import ruff_binary

    text = import_model(cifar_repos.kuangliu_senet18_basic(), name="senet18")
    source = tmp_path / "senet18.py"
    source.write_text(resdsl.compile(text))
    ruff = ruff_binary()
    assert ruff is not None
    for args in (["check", "--isolated", "--line-length", "100"], ["format", "--check"]):
        done = subprocess.run([ruff, *args, str(source)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
