from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from resdsl.train.batches import open_source, parse_data
from resdsl.train.data import CIFAR_FILES, load_cifar, load_digits_data
from resdsl.train.errors import TrainError

CPU = torch.device("cpu")


def test_digits_are_the_real_ones_split_1497_300() -> None:
    data = load_digits_data()
    assert (len(data.train), len(data.test), data.classes) == (1497, 300, 10)
    assert data.train.images.dtype == torch.uint8 and data.train.images.shape[1:] == (1, 8, 8)
    assert set(data.test.labels.tolist()) == set(range(10))


def test_digits_are_scaled_replicated_and_mean_subtracted(small_config) -> None:
    source = open_source(small_config(crop_pad=0), (3, 16, 16), 10, device=CPU)
    x, y = next(source.train_batches(0))
    assert x.shape == (64, 3, 16, 16) and y.shape == (64,)
    assert torch.equal(x[:, 0], x[:, 2])  # one grey channel, replicated
    test = torch.cat([x for x, _ in source.eval_batches("test")])
    assert test.shape == (300, 3, 16, 16)
    train = torch.cat([x for x, _ in source.eval_batches("train")])
    assert train.mean(0).abs().max() < 1e-5  # per-pixel mean of the training set is zero


def test_batches_depend_only_on_seed_and_step(small_config) -> None:
    source = open_source(small_config(), (3, 16, 16), 10, device=CPU)
    stream = source.train_batches(0)
    for _ in range(30):  # past the first epoch (23 steps)
        x30, y30 = next(stream)
    again, y_again = next(
        open_source(small_config(), (3, 16, 16), 10, device=CPU).train_batches(29)
    )
    assert torch.equal(x30, again) and torch.equal(y30, y_again)
    other, _ = next(
        open_source(small_config(seed=1), (3, 16, 16), 10, device=CPU).train_batches(29)
    )
    assert not torch.equal(x30, other)


def test_ranks_split_each_global_batch(small_config) -> None:
    whole = open_source(small_config(crop_pad=0), (3, 16, 16), 10, device=CPU)
    halves = [
        open_source(small_config(crop_pad=0), (3, 16, 16), 10, device=CPU, rank=r, world=2)
        for r in (0, 1)
    ]
    _, y = next(whole.train_batches(5))
    y0, y1 = (next(h.train_batches(5))[1] for h in halves)
    assert torch.equal(torch.sort(torch.cat([y0, y1])).values, torch.sort(y).values)
    assert len(y0) == len(y1) == 32
    with pytest.raises(TrainError, match="does not split across 3"):
        open_source(small_config(), (3, 16, 16), 10, device=CPU, world=3)


def test_crop_and_flip_move_pixels(small_config) -> None:
    source = open_source(small_config(crop_pad=4, flip=True), (3, 16, 16), 10, device=CPU)
    x = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    g = torch.Generator().manual_seed(0)
    out = source.augment(x, g)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert (out == 0).any()  # zero padding shows at some border


def test_synthetic_fits_the_network(small_config) -> None:
    source = open_source(small_config(data="synthetic", batch_size=8), (1, 12, 10), 7, device=CPU)
    x, y = next(source.train_batches(0))
    assert x.shape == (8, 1, 12, 10) and int(y.max()) < 7 and source.classes == 7


def test_cifar10_folder_loads(cifar10_dir: Path) -> None:
    data = load_cifar("cifar10", cifar10_dir, verify=False)
    assert (len(data.train), len(data.test), data.classes) == (300, 100, 10)
    assert data.train.images.shape[1:] == (3, 32, 32)
    # the parent of cifar-10-batches-py works too, as after extracting the archive
    assert len(load_cifar("cifar10", cifar10_dir.parent, verify=False).train) == 300


def test_cifar10_checksums_are_checked(cifar10_dir: Path) -> None:
    with pytest.raises(
        TrainError, match=r"does not match the official cifar10 release.*--no-verify"
    ):
        load_cifar("cifar10", cifar10_dir, verify=True)


def test_cifar100_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name, n in (("train", 50), ("test", 20)):
        entry = {
            b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
            b"fine_labels": rng.integers(0, 100, n).tolist(),
            b"coarse_labels": [0] * n,
        }
        (tmp_path / name).write_bytes(pickle.dumps(entry))
    (tmp_path / "meta").write_bytes(pickle.dumps({b"fine_label_names": []}))
    data = load_cifar("cifar100", tmp_path, verify=False)
    assert (len(data.train), len(data.test), data.classes) == (50, 20, 100)


def test_missing_and_malformed_cifar(tmp_path: Path, cifar10_dir: Path) -> None:
    with pytest.raises(TrainError, match=r"no cifar10 data \(data_batch_1.*missing.*--download"):
        load_cifar("cifar10", tmp_path / "empty", verify=False)
    (cifar10_dir / "data_batch_3").write_bytes(
        pickle.dumps({b"data": np.zeros((4, 10), np.uint8), b"labels": [0] * 4})
    )
    with pytest.raises(TrainError, match="data_batch_3: data must be uint8 N x 3072"):
        load_cifar("cifar10", cifar10_dir, verify=False)
    (cifar10_dir / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(TrainError, match="data_batch_3: not a CIFAR python batch"):
        load_cifar("cifar10", cifar10_dir, verify=False)
    assert set(CIFAR_FILES["cifar10"]) == {p.name for p in cifar10_dir.iterdir()}


def test_validation_split_is_held_out(cifar10_dir: Path, small_config) -> None:
    source = open_source(
        small_config(data=f"cifar10:{cifar10_dir}", verify=False, val_split=50, batch_size=25),
        (3, 32, 32),
        10,
        device=CPU,
    )
    assert source.num_train == 250 and source.has_val
    assert sum(len(y) for _, y in source.eval_batches("val")) == 50


@pytest.mark.parametrize("spec", ["mnist", "cifar10", "digits:foo", "imagefolder:"])
def test_bad_data_specs(spec: str) -> None:
    with pytest.raises(TrainError, match="is not one of digits"):
        parse_data(spec)


def _write_folder(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("val", 4)):
        for label, name in enumerate(("cat", "dog")):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 80, (40 + 8 * i, 48, 3), dtype=np.uint8)
                pixels[..., label] = 255  # the class is the colour
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


def test_imagefolder_streams_scaled_crops(tmp_path: Path, small_config) -> None:
    root = _write_folder(tmp_path / "images")
    config = small_config(data=f"imagefolder:{root}", batch_size=8, workers=0, flip=True)
    source = open_source(config, (3, 16, 16), 2, device=CPU)
    assert (source.classes, source.num_train, source.steps_per_epoch) == (2, 24, 3)
    x, y = next(source.train_batches(4))
    again, _ = next(open_source(config, (3, 16, 16), 2, device=CPU).train_batches(4))
    assert x.shape == (8, 3, 16, 16) and torch.equal(x, again)  # crops are a function of the step
    test = list(source.eval_batches("test"))
    assert sum(len(y) for _, y in test) == 8
    # red images are class 0 (cat), green ones class 1 (dog): the channels say which
    x, y = test[0]
    assert torch.equal((x[:, 0].mean((1, 2)) < x[:, 1].mean((1, 2))).long(), y)


def test_imagefolder_errors(tmp_path: Path, small_config) -> None:
    root = _write_folder(tmp_path / "images")
    (root / "val" / "bird").mkdir()
    with pytest.raises(TrainError, match="classes bird are not among the training classes"):
        open_source(small_config(data=f"imagefolder:{root}"), (3, 16, 16), 2, device=CPU)
    (tmp_path / "empty" / "train" / "cat").mkdir(parents=True)
    with pytest.raises(TrainError, match="no images"):
        open_source(
            small_config(data=f"imagefolder:{tmp_path / 'empty'}"), (3, 16, 16), 2, device=CPU
        )
