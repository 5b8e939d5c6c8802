"""Batches on the device: choose the data source, then gather, resize, augment and normalise.

:func:`open_source` turns ``--data`` into a source with one small interface the runner relies on:
``classes``, ``num_train``, ``has_val``, ``steps_per_epoch``, ``train_batches(start_step)`` (this
rank's share of every global batch from ``start_step`` on, forever) and
``eval_batches(which)`` (this rank's
shard of the validation or test set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

from resdsl.train.config import TrainConfig
from resdsl.train.data import (
    Batch,
    InMemoryData,
    Split,
    epoch_order,
    load_cifar,
    load_digits_data,
    split_validation,
    step_generator,
    synthetic_data,
)
from resdsl.train.errors import TrainError

DATA_KINDS = ("digits", "synthetic", "cifar10:DIR", "cifar100:DIR", "imagefolder:DIR")


class Source(Protocol):
    name: str
    classes: int
    num_train: int
    has_val: bool
    steps_per_epoch: int
    description: str  # for the plan: what the images are and what they become
    eval_images: int  # images per evaluation (validation + test), all ranks together

    def train_batches(self, start_step: int) -> Iterator[Batch]: ...

    def eval_batches(self, which: str) -> Iterator[Batch]: ...


def parse_data(spec: str) -> tuple[str, Path | None]:
    """``"cifar10:/data/c10"`` -> ``("cifar10", Path("/data/c10"))``; unknown kinds are errors."""
    kind, _, rest = spec.partition(":")
    if kind in ("digits", "synthetic") and not rest:
        return kind, None
    if kind in ("cifar10", "cifar100", "imagefolder") and rest:
        return kind, Path(rest)
    raise TrainError(f"--data {spec!r} is not one of {', '.join(DATA_KINDS)}")


def open_source(
    config: TrainConfig,
    input_shape: tuple[int, int, int],
    classes: int,
    *,
    device: torch.device,
    rank: int = 0,
    world: int = 1,
    channels_last: bool = False,
) -> Source:
    """Load (and check) the data ``config.data`` names, ready to feed this rank."""
    if config.batch_size % world:
        raise TrainError(f"batch size {config.batch_size} does not split across {world} processes")
    kind, directory = parse_data(config.data)
    if kind == "imagefolder":
        from resdsl.train.folder import FolderSource

        assert directory is not None
        return FolderSource(directory, config, input_shape, device, rank, world, channels_last)
    if kind == "digits":
        data = load_digits_data()
    elif kind == "synthetic":
        data = synthetic_data(input_shape, classes, n=max(4 * config.batch_size, 512))
    else:
        assert directory is not None
        if not directory.is_dir():
            raise TrainError(f"{directory}: no such data folder (from --data {config.data})")
        data = load_cifar(kind, directory, verify=config.verify, download=config.download)
    # synthetic data is for throughput: a validation split would only measure less
    held = 0 if kind == "synthetic" else config.val_split
    train, val = split_validation(data.train, held)
    data = InMemoryData(data.name, data.classes, train, data.test, val)
    return InMemorySource(data, config, input_shape, device, rank, world, channels_last)


def describe(data: InMemoryData, input_shape: tuple[int, int, int]) -> str:
    """ "digits 1x8x8 → scaled to 3x224x224, 10 classes (1,497 train / 300 test images)"."""
    size = "x".join(map(str, data.train.images.shape[1:]))
    target = "x".join(map(str, input_shape))
    if data.name == "synthetic":
        what = f"synthetic random {target} images (throughput only)"
    elif size == target:
        what = f"{data.name} {size}"
    else:
        what = f"{data.name} {size} → scaled to {target}"
    val = f" / {len(data.val):,} validation" if data.val is not None else ""
    return (
        f"{what}, {data.classes} classes ({len(data.train):,} train{val} / "
        f"{len(data.test):,} test images)"
    )


class InMemorySource:
    """A small data set held whole on the device as uint8; see the NOTE in ``data.py``."""

    def __init__(
        self,
        data: InMemoryData,
        config: TrainConfig,
        input_shape: tuple[int, int, int],
        device: torch.device,
        rank: int,
        world: int,
        channels_last: bool,
    ) -> None:
        self.name, self.classes = data.name, data.classes
        self.num_train, self.has_val = len(data.train), data.val is not None
        self.steps_per_epoch = self.num_train // config.batch_size
        if self.steps_per_epoch == 0:
            raise TrainError(
                f"batch size {config.batch_size} exceeds the {self.num_train} training images"
            )
        source_c = data.train.images.shape[1]
        if source_c != input_shape[0] and 1 not in (source_c, input_shape[0]):
            raise TrainError(
                f"{data.name} has {source_c} channels; the network wants {input_shape[0]}"
            )
        self.config, self.input_shape, self.device = config, input_shape, device
        self.rank, self.world, self.channels_last = rank, world, channels_last
        self.splits = {
            name: Split(split.images.to(device), split.labels.to(device))
            for name, split in (("train", data.train), ("val", data.val), ("test", data.test))
            if split is not None
        }
        self.mean = self._pixel_mean(self.splits["train"].images)
        self.eval_images = len(data.test) + (len(data.val) if data.val is not None else 0)
        self.description = describe(data, input_shape)

    def _to_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 at source size -> float in [0, 1] at the network's input size and channels."""
        c, h, w = self.input_shape
        x = images.float().div_(255)
        if x.shape[-2:] != (h, w):
            downsampling = x.shape[-2] > h or x.shape[-1] > w
            x = F.interpolate(
                x, size=(h, w), mode="bilinear", align_corners=False, antialias=downsampling
            )
        if x.shape[1] != c:
            x = x.expand(-1, c, -1, -1) if x.shape[1] == 1 else x.mean(dim=1, keepdim=True)
        return x

    def _pixel_mean(self, images: torch.Tensor) -> torch.Tensor:
        """The per-pixel mean of the training set at input size (the paper's only normalisation)."""
        total = torch.zeros(self.input_shape, device=self.device)
        for chunk in images.split(1024):
            total += self._to_input(chunk).sum(dim=0)
        return total / images.shape[0]

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
        return x

    def augment(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Zero-pad by ``crop_pad``, crop back at a random offset, and maybe flip, per image."""
        n, c, h, w = x.shape
        pad = self.config.crop_pad
        if pad:
            padded = F.pad(x, (pad, pad, pad, pad))
            dy = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device, generator=g)
            dx = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device, generator=g)
            rows = (dy + torch.arange(h, device=x.device))[:, None, :, None]  # N x 1 x H x 1
            cols = (dx + torch.arange(w, device=x.device))[:, None, None, :]  # N x 1 x 1 x W
            batch = torch.arange(n, device=x.device)[:, None, None, None]
            chans = torch.arange(c, device=x.device)[None, :, None, None]
            x = padded[batch, chans, rows, cols]  # N x C x H x W
        if self.config.flip:
            flip = torch.rand(n, device=x.device, generator=g) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def train_batches(self, start_step: int) -> Iterator[Batch]:
        train = self.splits["train"]
        batch = self.config.batch_size
        step, cached_epoch, order = start_step, -1, torch.empty(0)
        while True:
            epoch, i = divmod(step, self.steps_per_epoch)
            if epoch != cached_epoch:
                order = epoch_order(self.num_train, self.config.seed, epoch).to(self.device)
                cached_epoch = epoch
            idx = order[i * batch : (i + 1) * batch][self.rank :: self.world]
            g = step_generator(self.config.seed, step, self.rank, self.device)
            x = self._to_input(train.images[idx]) - self.mean  # N x C x H x W
            yield self._finish(self.augment(x, g)), train.labels[idx]
            step += 1

    def eval_batches(self, which: str) -> Iterator[Batch]:
        split = self.splits[which]
        idx = torch.arange(self.rank, len(split), self.world, device=self.device)
        for chunk in idx.split(self.config.eval_batch_size):
            x = self._to_input(split.images[chunk]) - self.mean
            yield self._finish(x), split.labels[chunk]
