"""Shared helpers for the training-runner tests: the hand-written fixture network, small configs,
and a writer for folders in CIFAR's real python-pickle layout."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resdsl.train.config import TrainConfig, recipe

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "tiny_resnet.py"
# The device the training tests run on: the CPU here. RESDSL_TEST_DEVICE=cuda (benchmarks/gpu.sh)
# runs the same tests through the CUDA paths: bf16 autocast, channels_last, cudnn.benchmark, pinned
# memory, and the nvJPEG decoder when torchvision is installed. torch.compile stays off unless a
# test asks for it (it costs a minute a network; the benchmarks time it).
TEST_DEVICE = os.environ.get("RESDSL_TEST_DEVICE", "cpu")
DEVICE_FLAGS = ["--device", TEST_DEVICE, "--no-compile"]


def small(**overrides: Any) -> TrainConfig:
    """The digits recipe on the fixture, one thread, no progress bar: quick and deterministic."""
    values: dict[str, Any] = dict(
        module=str(FIXTURE), threads=1, progress=False, device=TEST_DEVICE, compile=False
    )
    values.update(overrides)
    return recipe("digits", **values)


def cifar_images(rng: np.random.Generator, n: int, classes: int) -> tuple[np.ndarray, list[int]]:
    """Images whose class is visible: class k brightens row band k of the red channel."""
    labels = rng.integers(0, classes, n)
    images = rng.integers(0, 96, (n, 3, 32, 32), dtype=np.uint8)
    for i, label in enumerate(labels):
        band = 3 * (label % 10)
        images[i, label % 3, band : band + 3, :] = 255
    return images.reshape(n, 3072), [int(v) for v in labels]


def write_cifar10(directory: Path, per_batch: int = 60, test: int = 100) -> Path:
    """data_batch_1..5, test_batch and batches.meta, as the official release lays them out."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data, labels = cifar_images(rng, test if name == "test_batch" else per_batch, 10)
        entry = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [f"{i}.png".encode() for i in range(len(labels))],
        }
        (directory / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_vis": 3072}
    (directory / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return directory


@pytest.fixture
def cifar10_dir(tmp_path: Path) -> Path:
    return write_cifar10(tmp_path / "cifar-10-batches-py")


@pytest.fixture
def small_config():
    """``small`` as a fixture, for test modules (conftest is not importable by name)."""
    return small


@pytest.fixture
def fixture_module() -> Path:
    return FIXTURE
