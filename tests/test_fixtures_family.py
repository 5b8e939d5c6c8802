"""The ResNet family's reference fixtures against their golden files, without the libraries.

tests/fixtures/oracle_check.py (run beside torchvision 0.29.1 and timm 1.0.31, never here)
proved each transcription equal to its library network and wrote the golden files from the
library models. Here, on CPU torch alone, the transcriptions must still produce those keys,
shapes, parameter counts and FLOPs (built on the ``meta`` device: no weights allocated), and,
under the fixed state_dict, the library's outputs (tests/golden/family_outputs.json). The
pre-activation and WRN references are checked against their own golden file and the papers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.fixtures import family  # noqa: E402  (needs torch)

ROOT = Path(__file__).resolve().parent.parent

# The counts that torchvision 0.29.1 and timm 1.0.31 report (sum of parameters' numel).
LIBRARY_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240,
    "wide_resnet101_2": 126_886_696,
    "resnet18d": 11_708_744,
    "resnet26d": 16_014_408,
    "resnet50d": 25_576_264,
}
# The counts of tests/fixtures/preact_resnet.py (10 classes), and the papers' figures in
# millions (He et al. 2016 for the pre-activation nets, Zagoruyko & Komodakis 2016 for WRN).
# The papers' figures are the counts without BN's affine parameters rounded to 0.1M; with
# them ResNet-1001 has 10.33M, not 10.2M.
PREACT_PARAMS = {
    "preact_resnet110": 1_730_522,
    "preact_resnet164": 1_703_258,
    "preact_resnet1001": 10_327_706,
    "wrn28_10": 36_479_194,
}
PAPER_MILLIONS = {
    "preact_resnet110": 1.7,
    "preact_resnet164": 1.7,
    "preact_resnet1001": 10.2,
    "wrn28_10": 36.5,
}
# Filling and running these in float64 takes 1.5 to 5 s each on two cores (about 0.3 to 1.2 s
# for the others); building the 1001-layer net and counting its FLOPs, about 2 s.
SLOW = {"resnet101", "resnet152", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
        "wide_resnet101_2", "preact_resnet1001"}  # fmt: skip


def marked(names: tuple[str, ...]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def golden(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text())


def on_meta(name: str):
    with torch.device("meta"):
        return family.transcription(name)


def test_golden_files_cover_the_family_and_the_oracle_passed():
    assert tuple(golden(family.FAMILY_GOLDEN)) == family.ORACLE
    assert tuple(golden(family.OUTPUTS_GOLDEN)) == family.ORACLE
    assert tuple(golden(family.PREACT_GOLDEN)) == family.PREACT
    check = golden(family.CHECK_GOLDEN)
    assert check["failed"] == [] and tuple(check["networks"]) == family.ORACLE
    for name, record in check["networks"].items():
        diffs = [value for key, value in record.items() if key.startswith("max_abs_diff")]
        assert len(diffs) == 3 and max(diffs) <= check["tolerance"], name
        assert record["params"] == LIBRARY_PARAMS[name]


@pytest.mark.parametrize("name", family.ORACLE)
def test_transcription_has_the_library_state_dict_params_and_flops(name):
    expected = golden(family.FAMILY_GOLDEN)[name]
    net = on_meta(name)
    assert list(family.shapes(net).items()) == list(expected["state_dict"].items())
    assert family.count(net) == expected["params"] == LIBRARY_PARAMS[name]
    assert family.flops(net, family.IMAGENET_INPUT) == expected["flops"]


def test_family_golden_agrees_with_the_torchvision_golden():
    torchvision = golden(ROOT / "tests/golden/torchvision_state_dict.json")
    family_golden = golden(family.FAMILY_GOLDEN)
    for name, keys in torchvision.items():
        assert list(family_golden[name]["state_dict"].items()) == list(keys.items()), name


@pytest.mark.parametrize("name", marked(family.ORACLE))
def test_transcription_reproduces_the_library_outputs_under_the_fixed_state(name):
    torch.set_num_threads(2)
    expected = golden(family.OUTPUTS_GOLDEN)[name]
    assert (expected["seed"], expected["input"]) == (family.OUTPUT_SEED, list(family.OUTPUT_INPUT))
    net = on_meta(name).to_empty(device="cpu")  # no initialisation: the fixed state replaces it
    got = family.output_summary(family.run_fixed(net))
    assert got["shape"] == expected["shape"] and got["argmax"] == expected["argmax"]
    for key in ("first_logits", "sum", "abs_sum"):
        close = torch.testing.assert_close
        close(torch.tensor(got[key]), torch.tensor(expected[key]), rtol=1e-7, atol=1e-6)


def test_fixed_state_is_a_pure_function_of_keys_and_shapes():
    net = family.transcription("resnet18")
    first, again = family.fixed_state(net), family.fixed_state(family.transcription("resnet18"))
    assert list(first) == list(net.state_dict())
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert first["layer1.0.bn1.running_var"].min() >= 0.5
    assert not torch.equal(first["layer1.0.conv1.weight"], first["layer1.0.conv2.weight"])


@pytest.mark.parametrize("name", marked(family.PREACT))
def test_preact_and_wrn_match_their_golden_and_counts(name):
    expected = golden(family.PREACT_GOLDEN)[name]
    net = on_meta(name)
    assert list(family.shapes(net).items()) == list(expected["state_dict"].items())
    assert family.count(net) == expected["params"] == PREACT_PARAMS[name]
    assert family.flops(net, family.CIFAR_INPUT) == expected["flops"]
    batch_norm = sum(p.numel() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)
                     for p in m.parameters())  # fmt: skip
    assert round((family.count(net) - batch_norm) / 1e5) / 10 == PAPER_MILLIONS[name]


def test_preact_structure_follows_the_authors_code():
    net = on_meta("preact_resnet164")
    assert [len(getattr(net, f"layer{i}")) for i in (1, 2, 3)] == [18, 18, 18]
    first = net.layer2[0]  # stride on the first 1x1, the projection is a bare 1x1 conv
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)
    assert len(first.downsample) == 1 and first.downsample[0].kernel_size == (1, 1)
    assert first.downsample[0].stride == (2, 2) and first.preact_shortcut
    assert net.layer1[0].downsample[0].out_channels == 64 and not net.layer1[1].preact_shortcut
    assert net.fc.in_features == 256 and net.bn.num_features == 256
    basic = on_meta("preact_resnet110")  # first unit: identity shortcut on the pre-activation
    assert basic.layer1[0].downsample is None and basic.layer1[0].preact_shortcut
    assert not basic.layer2[1].preact_shortcut and basic.layer2[0].downsample is not None
    wrn = on_meta("wrn28_10")
    assert [len(getattr(wrn, f"layer{i}")) for i in (1, 2, 3)] == [4, 4, 4]
    assert wrn.layer1[0].conv1.out_channels == 160 and wrn.fc.in_features == 640
    assert wrn.layer3[3].dropout.p == 0.3


def test_preact_first_unit_adds_its_pre_activation():
    """ResNet-110's first unit adds relu(bn1(x)), not x (He et al. 2016, Appendix)."""
    torch.manual_seed(0)
    block = family.transcription("preact_resnet110").layer1[0].eval()
    with torch.no_grad():
        block.bn1.running_mean.fill_(0.5)
        x = torch.randn(1, 16, 8, 8)
        residual = block.conv2(block.relu(block.bn2(block.conv1(block.relu(block.bn1(x))))))
        torch.testing.assert_close(block(x), residual + torch.relu(block.bn1(x)))


def test_timm_avg_down_shortcut():
    net = on_meta("resnet26d")
    assert isinstance(net.layer1[0].downsample[0], torch.nn.Identity)
    pool = net.layer3[0].downsample[0]
    assert (pool.kernel_size, pool.stride, pool.ceil_mode, pool.count_include_pad) == (
        2, 2, True, False
    )  # fmt: skip
    assert net.layer3[0].downsample[1].stride == (1, 1) and net.layer3[0].conv2.stride == (2, 2)
    assert [tuple(m.weight.shape) for m in net.conv1 if isinstance(m, torch.nn.Conv2d)] == [
        (32, 3, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3)
    ]  # fmt: skip


def test_oracle_check_imports_without_the_libraries():
    code = (
        "import sys, tests.fixtures.oracle_check as o; "
        "assert 'torchvision' not in sys.modules and 'timm' not in sys.modules; print(o.TOLERANCE)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
