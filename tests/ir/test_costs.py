"""The stats pass: exact figures from torchvision's published counts and the paper."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from resdsl.ir.costs import Convention, file_stats, network_stats
from resdsl.ir.network import with_nodes
from resdsl.ops import Op
from resdsl.pipeline import check_or_raise

ROOT = Path(__file__).resolve().parents[2]

# (file, network, parameters) under option B unless the name says otherwise; torchvision's docs.
PARAMS = [
    ("resnet18", "resnet18", 11_689_512),
    ("resnet34", "resnet34", 21_797_672),
    ("resnet50", "resnet50", 25_557_032),
    ("resnet101", "resnet101", 44_549_160),
    ("resnet152", "resnet152", 60_192_808),
    ("resnet34_a", "resnet34_a", 21_623_848),  # option A: as many as plain34
    ("plain34", "plain34", 21_623_848),
    ("resnet34_c", "resnet34_c", 22_716_840),
    # the paper's Table 6 (0.27M ... 19.4M), option A
    ("cifar", "resnet20", 269_722),
    ("cifar", "resnet32", 464_154),
    ("cifar", "resnet44", 658_586),
    ("cifar", "resnet56", 853_018),
    ("resnet110", "resnet110", 1_727_962),
    ("resnet1202", "resnet1202", 19_421_274),
    # torchvision 0.29.1 (its resnet101/152 are the v1.5 specs) and timm 1.0.31
    ("resnet101_v1_5", "resnet101_v1_5", 44_549_160),
    ("resnet152_v1_5", "resnet152_v1_5", 60_192_808),
    ("resnext", "resnext50_32x4d", 25_028_904),
    ("resnext", "resnext101_32x8d", 88_791_336),
    ("resnext", "resnext101_64x4d", 83_455_272),
    ("wide_resnet", "wide_resnet50_2", 68_883_240),
    ("wide_resnet", "wide_resnet101_2", 126_886_696),
    ("resnet_d", "resnet18d", 11_708_744),
    ("resnet_d", "resnet26d", 16_014_408),
    ("resnet_d", "resnet50d", 25_576_264),
    # tests/fixtures/preact_resnet.py, the authors' code transcribed (docs/stats.md: the papers)
    ("preact_resnet", "preact_resnet110", 1_730_522),
    ("preact_resnet", "preact_resnet164", 1_703_258),
    ("preact_resnet", "preact_resnet1001", 10_327_706),
    ("wrn", "wrn28_10", 36_479_194),
]

MACS = [
    ("resnet18", "resnet18", 1_814_073_344),
    ("resnet50_v1_5", "resnet50_v1_5", 4_089_184_256),  # torchvision's 4.09 GFLOPS
    ("resnet50", "resnet50", 3_857_973_248),  # the paper's placement: stride on the 1x1
    ("resnet101", "resnet101", 7_570_194_432),
    ("resnet152", "resnet152", 11_282_415_616),
    # flop_counter's FLOPs / 2 on the library models (tests/golden/family_state_dict.json)
    ("resnext", "resnext50_32x4d", 4_230_479_872),  # grouped: k*k*(C_in/groups)*C_out*H*W
    ("resnext", "resnext101_32x8d", 16_414_015_488),
    ("wide_resnet", "wide_resnet50_2", 11_398_021_120),
    ("resnet_d", "resnet50d", 4_328_824_832),  # the deep stem, and the pool before each 1x1
    ("preact_resnet", "preact_resnet164", 244_500_992),
    ("wrn", "wrn28_10", 5_243_328_768),
]

# The paper's Table 1 FLOPs row; ResNet-34 as the paper measured it, with option A.
TABLE1 = [
    ("resnet18", 1.8e9),
    ("resnet34_a", 3.6e9),
    ("resnet50", 3.8e9),
    ("resnet101", 7.6e9),
    ("resnet152", 11.3e9),
]


def _network(file: str, name: str, convention: Convention | None = None):
    (report,) = [
        r
        for r in file_stats(ROOT / "specs" / f"{file}.res", convention or Convention())
        if r.name == name
    ]
    return report


@pytest.mark.parametrize(("file", "name", "expected"), PARAMS)
def test_parameters(file: str, name: str, expected: int) -> None:
    assert _network(file, name).params == expected


@pytest.mark.parametrize(("file", "name", "expected"), MACS)
def test_multiply_adds(file: str, name: str, expected: int) -> None:
    assert _network(file, name).flops == expected


@pytest.mark.parametrize(("file", "paper"), TABLE1)
def test_table1_row(file: str, paper: float) -> None:
    assert abs(_network(file, file).flops - paper) <= 0.07e9


# --- the golden file: params, multiply-adds and activations of every network of every spec --

GOLDEN_STATS = ROOT / "tests" / "golden" / "stats.json"
SPEC_FILES = sorted((ROOT / "specs").glob("*.res"))


def golden_figures() -> dict[str, dict[str, dict[str, int]]]:
    """{spec file: {network: figures}} under the default convention, as the golden file holds."""
    return {
        spec.name: {
            r.name: {
                "params": r.params,
                "flops": r.flops,
                "activations": r.activations,
                "saved": r.saved,
            }
            for r in file_stats(spec)
        }
        for spec in SPEC_FILES
    }


def test_golden_stats() -> None:
    """Regenerate after an intended change with ``python tests/ir/test_costs.py`` and review
    the diff of tests/golden/stats.json."""
    assert golden_figures() == json.loads(GOLDEN_STATS.read_text())


# --- conventions and structure -----------------------------------------------------------


@pytest.fixture(scope="module")
def resnet18():
    (graph,) = check_or_raise(ROOT / "specs" / "resnet18.res")
    return graph


def _elements(graph, op: str) -> int:
    return sum(math.prod(n.shape) for n in graph.nodes if n.op.kind == op)


def test_flags_add_their_ops(resnet18) -> None:
    base = network_stats(resnet18).flops
    assert network_stats(resnet18, Convention(bn=True)).flops == base + _elements(resnet18, "bn")
    relu = network_stats(resnet18, Convention(relu=True)).flops
    assert relu == base + _elements(resnet18, "relu")
    add = network_stats(resnet18, Convention(add=True)).flops
    assert add == base + _elements(resnet18, "add")
    # max pool 3x3 over 64x56x56 outputs; global average pool adds each of 512x7x7 inputs once
    pool = network_stats(resnet18, Convention(pool=True)).flops
    assert pool == base + 9 * 64 * 56 * 56 + 512 * 7 * 7


def test_flops_2x_doubles_everything(resnet18) -> None:
    report = network_stats(resnet18, Convention(flops_as_2x_macs=True))
    assert report.flops == 2 * 1_814_073_344
    assert report.training_flops == 3 * report.flops
    assert report.params == 11_689_512  # parameters do not depend on the convention


def test_stages_sum_to_totals(resnet18) -> None:
    report = network_stats(resnet18)
    assert [s.name for s in report.stages] == [
        "stem",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "head",
    ]
    assert report.stage("conv3_x").shape == (128, 28, 28)
    for field in ("params", "flops", "activations", "saved"):
        assert sum(getattr(s, field) for s in report.stages) == getattr(report, field)


def test_layers_carry_paths_and_spec_lines(resnet18) -> None:
    layers = {x.path: x for x in network_stats(resnet18).layers}
    conv = layers["layer2.0.downsample.0"]  # the projection shortcut, option B
    assert (conv.op, conv.shape, conv.params) == ("conv", (128, 28, 28), 64 * 128)
    assert conv.flops == 64 * 128 * 28 * 28
    assert layers["conv1"].line == 7 and layers["fc"].line == 21
    assert layers["bn1"].params == 128 and layers["bn1"].flops == 0


def test_saved_activations_pycls_and_autograd(resnet18) -> None:
    report = network_stats(resnet18)
    # pycls's "acts": the output elements of every conv and fc
    convs = sum(x.activations for x in report.layers if x.op == "conv")
    assert report.activations == convs + 1000
    # kept for backward: the image, every relu output, every conv output (bn's input), the
    # max pool's input and indices, the last relu (avgpool's input) and the fc's input
    assert report.saved == 5_344_256 and report.saved_bytes == 4 * 5_344_256


class Gelu(Op):
    """An op that states no cost formula."""

    kind = "gelu"


def _with_node(graph, index: int, **changes):
    nodes = list(graph.nodes)
    nodes[index] = replace(nodes[index], **changes)
    return with_nodes(graph, nodes)


def test_unknown_op_fails_loudly(resnet18) -> None:
    graph = _with_node(resnet18, 3, op=Gelu())
    with pytest.raises(ValueError, match="no cost formula for op 'gelu'"):
        network_stats(graph)


def test_unshaped_graph_is_refused(resnet18) -> None:
    graph = _with_node(resnet18, 5, shape=None)
    with pytest.raises(ValueError, match=r"layer1\.0\.conv1 has no shape"):
        network_stats(graph)


def test_papers_counts_without_batch_norm_s_affine_parameters() -> None:
    """He et al. 2016 (1.7M for ResNet-164, 10.2M for ResNet-1001) and Zagoruyko & Komodakis
    2016 (36.5M for WRN-28-10) round the weights of the convolutions and the fc."""

    def weights(file: str, name: str) -> int:
        report = _network(file, name)
        return report.params - sum(layer.params for layer in report.layers if layer.op == "bn")

    assert round(weights("preact_resnet", "preact_resnet164") / 1e5) == 17
    assert round(weights("preact_resnet", "preact_resnet1001") / 1e5) == 102
    assert round(weights("wrn", "wrn28_10") / 1e5) == 365


if __name__ == "__main__":  # python tests/ir/test_costs.py: rewrite the golden file
    GOLDEN_STATS.write_text(json.dumps(golden_figures(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN_STATS.relative_to(ROOT)}")


def test_a_blur_pool_s_padded_copy_counts_as_saved() -> None:
    """The blur pool keeps its reflect-padded input (16x10x10 around a 16x8x8 map), which its
    op sizes from that input: the stats pass gives it the input shapes, as the memory replay
    does (a network with a blur pool, timm's resnetblur50, had no stats before)."""
    from tests.fixtures import op_networks

    report = network_stats(op_networks.blur_pool())
    (blur,) = (layer for layer in report.layers if layer.op == "blurpool")
    assert blur.shape == (16, 4, 4)
    assert blur.saved == 16 * 4 * 4 + 16 * 10 * 10  # its output, the next conv's input; the copy
