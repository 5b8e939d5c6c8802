"""The ResNet family's generated modules against torchvision, timm and the papers' networks.

For each of the 13 networks that torchvision 0.29.1 or timm 1.0.31 defines, and the four
pre-activation networks of tests/fixtures/preact_resnet.py, the module that ``resdsl compile``
wrote must have the library's ``state_dict`` keys and shapes in the library's order, load the
library's weights with ``strict=True`` and then compute what the library computes, and its
``META`` must hold torch's own counts (sum of parameters; ``torch.utils.flop_counter`` FLOPs =
2 x multiply-adds). The libraries do not install beside CPU torch here: their keys, counts and
outputs under a fixed state_dict are golden files written beside them
(tests/fixtures/oracle_check.py), and the transcriptions proved equal to them stand in where
a whole model is needed.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.fixtures import family  # noqa: E402  (needs torch)

ROOT = Path(__file__).resolve().parent.parent.parent
GENERATED = ROOT / "generated"

# The generated module of each library network: torchvision's resnet50/101/152 are "v1.5".
MODULE = {name: name for name in family.ORACLE + family.PREACT}
MODULE |= {n: f"{n}_v1_5" for n in ("resnet50", "resnet101", "resnet152")}
# Building these with weights and running them in float64 takes seconds each on two cores
# (grouped convolutions in float64 are slow on the CPU: resnext50_32x4d too).
SLOW = {"resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
        "wide_resnet50_2", "wide_resnet101_2", "preact_resnet1001", "wrn28_10"}  # fmt: skip
# Odd sizes on the way down (40 -> 20 -> 10 -> 5 -> 3): ResNet-D's ceil_mode pool must agree.
SMALL_INPUT = (1, 3, 40, 40)


def marked(names) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@cache
def module(name: str):
    path = GENERATED / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_family_{name}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def generated(reference: str, device: str = "meta"):
    """The generated network standing for ``reference``, built on ``device``."""
    loaded = module(MODULE[reference])
    with torch.device(device):
        return getattr(loaded, loaded.META["factory"])()


@cache
def golden(path: Path) -> dict:
    return json.loads(path.read_text())


def expected(name: str) -> dict:
    path = family.FAMILY_GOLDEN if name in family.ORACLE else family.PREACT_GOLDEN
    return golden(path)[name]


@pytest.mark.parametrize("name", family.ORACLE + family.PREACT)
def test_state_dict_keys_and_shapes_are_the_library_s(name):
    ours = generated(name)
    assert list(family.shapes(ours).items()) == list(expected(name)["state_dict"].items())


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "preact_resnet1001" else n
             for n in family.ORACLE + family.PREACT],
)  # fmt: skip
def test_meta_counts_equal_torch_s_own(name):
    """Parameters by summing them, FLOPs by flop_counter (2 per multiply-add): grouped
    convolutions count k*k*(C_in/groups)*C_out*H*W multiply-adds, as torch and fvcore do."""
    ours, meta = generated(name), module(MODULE[name]).META
    size = family.IMAGENET_INPUT if name in family.ORACLE else family.CIFAR_INPUT
    assert tuple(meta["input"]) == size[1:]
    assert family.count(ours) == meta["params"] == expected(name)["params"]
    assert family.flops(ours, size) == 2 * meta["flops"] == expected(name)["flops"]


@pytest.mark.parametrize("name", marked(family.ORACLE + family.PREACT))
def test_library_weights_load_strictly_and_compute_the_same(name):
    """The reference's weights (a fixed, non-trivial state_dict) load with strict=True and
    give the same eval outputs in float64: the transcription's at a small input with odd
    sizes, and the library's own logits as the oracle recorded them (13 networks)."""
    torch.set_num_threads(2)
    with torch.device("meta"):  # no initialisation: the fixed state replaces every value
        theirs = family.transcription(name)
    theirs = theirs.to_empty(device="cpu").double()
    theirs.load_state_dict(family.fixed_state(theirs), strict=True)
    ours = generated(name).to_empty(device="cpu").double()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    x = family.fixed_input(SMALL_INPUT)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-4)
    if name not in family.ORACLE:
        return
    with torch.no_grad():
        got = ours(family.fixed_input(family.OUTPUT_INPUT))
    record = golden(family.OUTPUTS_GOLDEN)[name]
    assert list(got.shape) == record["shape"] and got.argmax(dim=1).tolist() == record["argmax"]
    first = torch.tensor(record["first_logits"], dtype=torch.float64)
    torch.testing.assert_close(got[:, :8], first, rtol=1e-7, atol=1e-4)


def test_v1_files_differ_from_torchvision_where_the_stride_sits():
    """The trap: torchvision's ResNet-50 weights load into the paper's v1 ResNet-50 (same keys
    and shapes) and compute something else; resnet50_v1_5 computes the same."""
    torch.set_num_threads(2)
    with torch.device("meta"):
        theirs = family.transcription("resnet50")
    theirs = theirs.to_empty(device="cpu").double()
    theirs.load_state_dict(family.fixed_state(theirs), strict=True)
    x = family.fixed_input(SMALL_INPUT)
    outputs = {}
    for name in ("resnet50", "resnet50_v1_5"):
        loaded = module(name)
        with torch.device("meta"):
            ours = getattr(loaded, name)()
        ours = ours.to_empty(device="cpu").double()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        with torch.no_grad():
            outputs[name] = ours.eval()(x)
    with torch.no_grad():
        reference = theirs.eval()(x)
    assert (outputs["resnet50"] - reference).abs().max() > 0.1  # against a tolerance of 1e-4
    torch.testing.assert_close(outputs["resnet50_v1_5"], reference, rtol=0, atol=1e-4)
    assert "stride_on" not in module("resnet50").META
    assert module("resnet50_v1_5").META["stride_on"] == "3x3"


def test_preact_first_unit_reads_the_pre_activation():
    """Only the network's first unit passes preact_shortcut; projections imply it."""
    net = generated("preact_resnet110")
    assert net.layer1[0].preact_shortcut and not net.layer1[1].preact_shortcut
    assert net.layer2[0].preact_shortcut and len(net.layer2[0].downsample) == 1
    assert not hasattr(net, "bn1") and net.bn.num_features == 64


def test_resnet_d_pool_is_identity_at_stride_1_and_ceil_mode_at_2():
    net = generated("resnet26d")
    assert isinstance(net.layer1[0].downsample[0], torch.nn.Identity)
    pool = net.layer2[0].downsample[0]
    assert (pool.kernel_size, pool.stride, pool.ceil_mode, pool.count_include_pad) == (
        2, 2, True, False,
    )  # fmt: skip
    assert net.layer2[0].downsample[1].stride == (1, 1)


def test_wrn_dropout_sits_between_the_convolutions():
    net = generated("wrn28_10")
    block = net.layer2[1]
    names = [name for name, _ in block.named_children()]
    assert names.index("dropout") < names.index("conv2") and block.dropout.p == 0.3
