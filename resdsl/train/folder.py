"""``imagefolder:DIR``: ImageNet-style folders streamed from disk, ``DIR/train/CLASS/*.jpg`` for
training and ``DIR/val/CLASS/*.jpg`` for evaluation (reported as the test error, as the paper does).

Training images get the paper's scale augmentation (section 3.4): the shorter side is resized to a
random length in [scale_min, scale_max], then a random crop of the network's input size is taken and
maybe flipped. Evaluation resizes the shorter side to scale_min and takes the centre crop. The
scales are written for a 224 input and scale with the network's input (a 112 network samples
[128, 240]).

Decoding happens in loader workers; the crop parameters of every image are a pure function of
(seed, step, position in the batch), so a resumed run sees the same crops. Normalisation subtracts a
per-channel mean on the device (the ImageNet mean: with random scales a per-pixel mean is
undefined).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from resdsl.train.config import TrainConfig
from resdsl.train.crop import crop_for, unreadable
from resdsl.train.data import Batch, epoch_order
from resdsl.train.errors import TrainError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def scan(
    directory: Path, classes: list[str] | None = None
) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted sub-folders) and (image, label) pairs under ``directory``."""
    if not directory.is_dir():
        raise TrainError(
            f"{directory.parent} has no {directory.name}/ folder "
            f"(expected {directory.name}/CLASS/*.jpg)"
        )
    found = sorted(p.name for p in directory.iterdir() if p.is_dir())
    classes = classes or found
    if not classes:
        raise TrainError(f"{directory}: no class folders (expected {directory}/CLASS/*.jpg)")
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise TrainError(
            f"{directory}: classes {', '.join(unknown[:5])} are not among the training classes"
        )
    index = {name: i for i, name in enumerate(classes)}
    samples = [
        (path, index[name])
        for name in found
        for path in sorted((directory / name).iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not samples:
        raise TrainError(f"{directory}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return classes, samples


def ignore_sigint(worker: int) -> None:
    """Loader workers leave Ctrl-C to the main process, which stops cleanly between iterations
    (a worker that died of it would turn the clean stop into a loader error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Images(Dataset):
    """Decodes, scales, crops and flips one image per item with PIL (the CPU decoder).

    An item is (index, seed), seed < 0 meaning evaluation. A file that cannot be read is returned
    as an error message instead of raised: the main process reports it in one line, rather than
    every worker printing a traceback.
    """

    def __init__(
        self,
        samples: list[tuple[Path, int]],
        input_shape: tuple[int, int, int],
        config: TrainConfig,
    ):
        self.samples, self.input_shape, self.config = samples, input_shape, config

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int, str]:
        from PIL import Image

        index, seed = item
        path, label = self.samples[index]
        c, h, w = self.input_shape
        try:
            with Image.open(path) as img:
                img = img.convert("RGB" if c == 3 else "L")
                crop = crop_for(seed, img.width, img.height, self.config, (h, w))
                img = img.resize(crop.size, Image.BILINEAR)
                img = img.crop((crop.left, crop.top, crop.left + w, crop.top + h))
                if crop.flip:
                    img = img.transpose(Image.FLIP_LEFT_RIGHT)
                array = np.asarray(img, dtype=np.uint8).reshape(h, w, c)
        except Exception as e:  # PIL raises many kinds for a bad file; each is the file's fault
            return torch.zeros(c, h, w, dtype=torch.uint8), label, unreadable(path, e)
        return torch.from_numpy(array.copy()).permute(2, 0, 1), label, ""


class StepBatches:
    """This rank's items of every global batch from ``start`` on, in-memory order."""

    def __init__(self, n: int, config: TrainConfig, start: int, rank: int, world: int) -> None:
        self.n, self.config, self.start, self.rank, self.world = n, config, start, rank, world

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        batch, spe = self.config.batch_size, self.n // self.config.batch_size
        step = self.start
        while True:
            epoch, i = divmod(step, spe)
            order = epoch_order(self.n, self.config.seed, epoch)[i * batch : (i + 1) * batch]
            mine = order[self.rank :: self.world].tolist()
            base = (self.config.seed * 1_000_003 + step) * 1_009
            yield [(index, base + self.rank * batch + j) for j, index in enumerate(mine)]
            step += 1


class FolderSource:
    """``imagefolder:DIR`` behind the runner's source interface; ``decoder`` is "pil" or "nvjpeg"
    (default: :func:`resdsl.train.jpeg.choose_decoder` for the device)."""

    def __init__(self, directory: Path, config: TrainConfig, input_shape: tuple[int, int, int],
                 device: torch.device, rank: int, world: int, channels_last: bool,
                 decoder: str | None = None) -> None:  # fmt: skip
        from resdsl.train import jpeg

        if not directory.is_dir():
            raise TrainError(f"{directory}: no such data folder (from --data {config.data})")
        if config.val_split:
            raise TrainError(
                "val_split is not supported for imagefolder data; val/ is the test set"
            )
        names, self.train_samples = scan(directory / "train")
        _, self.test_samples = scan(directory / "val", names)
        self.name, self.classes, self.has_val = "imagefolder", len(names), False
        self.num_train = len(self.train_samples)
        self.steps_per_epoch = self.num_train // config.batch_size
        if self.steps_per_epoch == 0:
            raise TrainError(
                f"batch size {config.batch_size} exceeds the {self.num_train} training images"
            )
        self.config, self.input_shape, self.device = config, input_shape, device
        self.rank, self.world, self.channels_last = rank, world, channels_last
        mean = IMAGENET_MEAN if input_shape[0] == 3 else (sum(IMAGENET_MEAN) / 3,)
        self.mean = torch.tensor(mean, device=device).view(-1, 1, 1)
        self.decoder = decoder or jpeg.choose_decoder(device)
        self.decode = jpeg.torchvision_decoder() if self.decoder == "nvjpeg" else None
        self.eval_images = len(self.test_samples)
        where = (
            "on the GPU (nvJPEG)"
            if self.decoder == "nvjpeg"
            else f"by {config.workers} PIL workers"
        )
        self.description = (
            f"imagefolder {directory}: {self.num_train:,} train / {len(self.test_samples):,} val "
            f"images, {self.classes} classes → scale-augmented {'x'.join(map(str, input_shape))} "
            f"crops, decoded {where} (the estimate counts the network only)"
        )

    def _loader(self, dataset: Dataset, **kwargs) -> DataLoader:
        workers = self.config.workers
        return DataLoader(dataset, num_workers=workers, pin_memory=self.device.type == "cuda",
                          prefetch_factor=4 if workers else None,
                          worker_init_fn=ignore_sigint if workers else None, **kwargs)  # fmt: skip

    def _dataset(self, samples: list[tuple[Path, int]]) -> Dataset:
        from resdsl.train.jpeg import EncodedImages

        if self.decoder == "nvjpeg":
            return EncodedImages(samples, self.input_shape[0])
        return Images(samples, self.input_shape, self.config)

    def _batches(self, samples: list[tuple[Path, int]], **kwargs) -> Iterator[Batch]:
        from resdsl.train.jpeg import as_lists, crop_batch, decode_batch

        if self.decoder != "nvjpeg":
            for x, y, errors in self._loader(self._dataset(samples), **kwargs):
                bad = next((e for e in errors if e), None)
                if bad:
                    raise TrainError(bad)
                yield self._finish(x.to(self.device, non_blocking=True).float().div_(255), y)
            return
        assert self.decode is not None
        for batch in self._loader(self._dataset(samples), collate_fn=as_lists, **kwargs):
            images, labels, seeds = decode_batch(
                batch, samples, self.input_shape[0], self.device, self.decode
            )
            x = crop_batch(images, seeds, self.config, self.input_shape[1:])
            yield self._finish(x, torch.tensor(labels))

    def _finish(self, x: torch.Tensor, y: torch.Tensor) -> Batch:
        """Float in [0, 1] on the device -> mean-subtracted, in the model's memory format."""
        x = x - self.mean
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def train_batches(self, start_step: int) -> Iterator[Batch]:
        sampler = StepBatches(self.num_train, self.config, start_step, self.rank, self.world)
        yield from self._batches(self.train_samples, batch_sampler=sampler)

    def eval_batches(self, which: str) -> Iterator[Batch]:
        mine = list(range(self.rank, len(self.test_samples), self.world))
        items = [(i, -1) for i in mine]
        yield from self._batches(
            self.test_samples, sampler=items, batch_size=self.config.eval_batch_size
        )
