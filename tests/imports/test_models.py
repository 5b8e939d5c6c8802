"""``resdsl import`` on models written by hand (tests/fixtures/import_models.py): what it
reads, what it refuses and where, and its parts on their own."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.imports import CannotExpress, ImportFailed, import_model, load  # noqa: E402
from resdsl.imports.source import keywords, split  # noqa: E402
from tests.fixtures import import_models  # noqa: E402
from tests.imports.same import assert_computes_the_same  # noqa: E402

FIXTURE = "tests/fixtures/import_models.py"


def test_hand_written_resnet(at_root):
    text = import_model(f"{FIXTURE}:small_resnet")
    assert "block basic\n    shortcut B\n    stage 2 x 16\n    stage 2 x 32, stride 2\n" in text
    net = resdsl.network(text)
    assert (net.name, net.input, net.classes, net.depth) == ("small_resnet", (3, 32, 32), 10, 10)
    # The spec builds the model's network: the same parameters, and its state dict loads.
    model = import_models.small_resnet()
    built = resdsl.build(text)
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in model.parameters())
    built.load_state_dict(model.state_dict())  # torchvision's names on both sides
    x = torch.randn(2, 3, 32, 32)
    model.eval(), built.eval()
    torch.testing.assert_close(built(x), model(x))


def test_a_module_object_and_its_options():
    model = import_models.small_resnet(num_classes=7)
    text = import_model(model, name="mine", input=(3, 64, 64))
    assert "network mine {\n    input 3x64x64\n    classes 7\n" in text
    assert text.startswith("# Imported by resdsl 0.1.0 from a SmallResNet module")


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("dilated", "cannot express layer2.1.conv2 (Conv2d): a dilated convolution (dilation 2)"),
        ("gelu_gate", "cannot express layer2.0 (Block): gelu() has no word in the language"),
        ("dropout_head", "cannot express drop (Dropout): dropout before the fc (the language's"),
    ],
)
def test_refusals_name_the_module(at_root, factory, message):
    with pytest.raises(CannotExpress) as error:
        import_model(f"{FIXTURE}:{factory}")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_squeeze_excite_module_becomes_a_definition():
    """SqueezeExcite (reduce, expand: 1x1 convolutions with bias, x * scale.sigmoid()) is
    written as the spec's own `se` block, inserted after each block's bn2."""
    model = import_models.squeeze_excite()
    text = import_model(model)
    assert "block se(reduction = 4) as SEModule {\n" in text
    assert "        reduce: conv 1x1, reduced, bias\n        relu\n" in text
    assert "        expand: conv 1x1, channels, bias\n        sigmoid\n" in text
    assert "block se_basic as SEBasicBlock = basic with se after bn2\n" in text
    assert "    block se_basic\n    shortcut B\n" in text
    assert_computes_the_same(model, text)


def test_a_shortcut_the_language_would_read_elsewhere():
    """A pre-activation network whose first unit's identity reads the raw input (the
    language's reads after its BN and ReLU): every module fits, the dataflow does not."""
    with torch.device("meta"):
        model = resdsl.build("specs/preact_resnet.res", "preact_resnet110")
    block = model.layer1[0]

    class RawFirst(type(block)):
        def forward(self, x):
            out = self.conv1(self.relu(self.bn1(x)))
            out = self.conv2(self.relu(self.bn2(out)))
            return out + x  # the language's first unit adds relu(bn1(x))

    block.__class__ = RawFirst
    with pytest.raises(CannotExpress) as error:
        import_model(model, name="preact")
    assert str(error.value).startswith("cannot express layer1.0 (RawFirst): no network")


def test_sources():
    assert split("a.b:c") == ("a.b", "c", False)
    assert keywords(("num_classes=3", "name=x")) == {"num_classes": 3, "name": "x"}
    with pytest.raises(ImportFailed, match=r"expected package\.module:factory"):
        split("resnet50")
    with pytest.raises(ImportFailed, match="cannot import no_such_package"):
        load("no_such_package.models:resnet50")
    with pytest.raises(ImportFailed, match=r"missing\.py: no such file"):
        load("missing.py:resnet50")
    with pytest.raises(ImportFailed, match=r"builtins:dict\(\) returned a dict, not an nn\.Module"):
        load("builtins:dict")
    with pytest.raises(ImportFailed, match="has no factory NOT_A_FACTORY"):
        load("tests.fixtures.import_models:NOT_A_FACTORY")


def test_built_on_the_meta_device(at_root):
    model = load(f"{FIXTURE}:small_resnet")
    assert next(model.parameters()).device.type == "meta"


def test_a_grouped_basic_block():
    model = import_models.small_resnet()
    model.layer1[0].conv2 = torch.nn.Conv2d(16, 16, 3, 1, 1, groups=2, bias=False)
    with pytest.raises(
        CannotExpress, match=r"^cannot express layer1\.0\.conv2 \(Conv2d\): a grouped"
    ):
        import_model(model)


def test_blocks_are_modules_not_names():
    """Blocks and stages under other names (a user's `body.stage1.0`) read the same."""
    model = import_models.small_resnet()
    body = torch.nn.Module()
    body.stage1, body.stage2 = model.layer1, model.layer2
    del model.layer1, model.layer2
    model.body = body
    model.__class__ = type("Renamed", (import_models.SmallResNet,), {"forward": _body_forward})
    text = import_model(model, name="renamed")
    assert "    stage 2 x 16\n    stage 2 x 32, stride 2\n" in text


def _body_forward(self, x):
    x = torch.nn.functional.relu(self.bn1(self.conv1(x)))
    x = self.body.stage2(self.body.stage1(x))
    return self.fc(self.drop(self.pool(x).flatten(1)))
