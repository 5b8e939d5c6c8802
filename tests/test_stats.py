"""The stats pass: exact figures from torchvision's published counts and the paper."""

from __future__ import annotations

import pytest

from resdsl.stats import Convention, file_stats

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
]

MACS = [
    ("resnet18", "resnet18", 1_814_073_344),
    ("resnet50_v1_5", "resnet50_v1_5", 4_089_184_256),  # torchvision's 4.09 GFLOPS
    ("resnet50", "resnet50", 3_857_973_248),  # the paper's placement: stride on the 1x1
    ("resnet101", "resnet101", 7_570_194_432),
    ("resnet152", "resnet152", 11_282_415_616),
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
        r for r in file_stats(f"specs/{file}.res", convention or Convention()) if r.name == name
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
