"""Channel gates as block definitions: the widths a definition is fitted to, where the gate
is inserted, and the spec text (stable, checked, computing what the model computes)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import resdsl  # noqa: E402
from resdsl.imports import CannotExpress, import_model  # noqa: E402
from resdsl.imports.attention import NoFit, definitions, fit  # noqa: E402
from tests.fixtures import user_models  # noqa: E402
from tests.imports.same import assert_computes_the_same  # noqa: E402

PLACE = ("after", "bn2", "se", ("fc1", "fc2"), (True, True))


def test_squeezed_widths():
    # timm's make_divisible(c / 16, 8): 8 at 64 channels, where c // 16 is 4
    assert fit("se", [(64, 8), (128, 8), (256, 16)], "", *PLACE).params == (("ratio", 16),)
    draft = fit("se", [(64, 4), (128, 8), (256, 16)], "", *PLACE)
    assert (draft.formula, draft.params) == ("floor", (("reduction", 16),))
    # both fit from 256 channels up: timm's first, the legacy senet.py's own the other way
    assert fit("se", [(256, 16), (512, 32)], "", *PLACE).formula == "divisible"
    legacy = fit("se", [(256, 16), (512, 32)], "timm.models.senet.SEModule", *PLACE)
    assert legacy.formula == "floor"
    with pytest.raises(NoFit):
        fit("se", [(64, 5), (128, 7)], "", *PLACE)


def test_eca_sizes():
    place = ("after", "bn3", "se", ("conv",), ())
    assert fit("eca", [(256, 5), (512, 5), (1024, 5), (2048, 7)], "", *place).params == (
        ("gamma", 2),
        ("beta", 1),
    )
    fixed = fit("eca", [(64, 11), (4096, 11)], "", *place)  # no log2 formula gives both
    assert (fixed.formula, fixed.params) == ("fixed", (("k", 11),))
    text = "\n".join(definitions(fixed, "bottleneck", "Bottleneck"))
    assert "block eca(k = 11) as EcaModule {\n    branch scale {\n" in text
    assert "block eca_bottleneck as EcaBottleneck = bottleneck with se: eca after bn3\n" in text
    network = (
        "network n {\n    input 3x32x32\n    classes 10\n    stem {\n        conv 3x3, 16\n"
        "    }\n    block eca_bottleneck\n    stage 1 x 16\n    head {\n        avgpool\n"
        "        fc\n    }\n}\n"
    )
    net = resdsl.network(text + network)
    assert net.node("layer1.0.se.conv").op.kernel == 11
    with pytest.raises(NoFit):
        fit("eca", [(64, 3), (128, 9), (256, 5)], "", *place)


class GateAfterRelu(user_models.Block):
    """SE between the first ReLU and conv2: inserted `before conv2`."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.se = user_models.SELayer(self.conv1.out_channels)

    def residual(self, x):
        out = self.se(F.relu(self.bn1(self.conv1(x))))
        return self.bn2(self.conv2(out))


class GateAfterAddition(user_models.Block):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.se = user_models.SELayer(self.conv2.out_channels)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.se(self.residual(x) + identity))


def test_a_gate_where_no_label_follows_it_is_placed_before_the_next():
    model = user_models.Net(block=GateAfterRelu)
    text = import_model(model, name="net")
    assert "block se_basic as SEBasicBlock = basic with se before conv2\n" in text
    assert "# SE before the basic block's conv2.\n" in text
    renames = ((r"se\.fc\.0", "se.fc1"), (r"se\.fc\.2", "se.fc2"))
    assert_computes_the_same(model, text, renames)


def test_a_gate_after_the_basic_blocks_addition_has_no_place():
    with pytest.raises(CannotExpress) as error:
        import_model(user_models.Net(block=GateAfterAddition))
    assert str(error.value) == (
        "cannot express layer1.0.conv1 (Conv2d): a channel gate after its addition, where the "
        "basic block has no named layer to insert it by"
    )


def test_gates_in_some_blocks_only():
    model = user_models.se_linear()
    model.layer2[1].se = nn.Identity()
    with pytest.raises(CannotExpress) as error:
        import_model(model)
    assert str(error.value) == (
        "cannot express layer2.1.conv1 (Conv2d): a block without the channel gate others have "
        "(SE in layer1.0)"
    )


def test_the_spec_is_byte_stable():
    """Two imports of two builds of one model write the same bytes, and the text checks."""
    first = import_model(user_models.se_linear(), name="net")
    assert import_model(user_models.se_linear(), name="net") == first
    assert resdsl.check(first).ok
