"""The GPU decoder for ``imagefolder:`` data: workers read bytes, the GPU decodes and augments.

Chosen when the device is CUDA and torchvision is importable (:func:`choose_decoder`); otherwise
the PIL decoder of ``folder.py`` runs in the workers. On a GPU the PIL path is bound by the CPU
(a ResNet-50 step on an H100 consumes more images per second than a few cores can decode and
resize), so here the workers only read each file's bytes, and the main process:

1. decodes the whole batch of JPEGs at once with nvJPEG,
   ``torchvision.io.decode_jpeg(list_of_byte_tensors, device="cuda")``;
2. takes each image's crop from the same pure function of (seed, image size) as the PIL path
   (``crop.crop_for``), so data order and augmentation stay a function of (seed, step, rank) and
   resuming stays exact; it crops the region in the decoded image and resizes it to the input
   size (bilinear, antialiased when shrinking), mirrors it if the coin says so;
3. stacks and normalises the batch on the GPU.

Files that are not JPEG (PNG, ...) are decoded by the worker with PIL and join the batch as pixels.
A file that cannot be read or decoded is named in one TrainError line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from resdsl.train.config import TrainConfig
from resdsl.train.crop import crop_for, unreadable
from resdsl.train.errors import TrainError

JPEG_MAGIC = b"\xff\xd8\xff"


def torchvision_decoder() -> Callable[..., Any] | None:
    """``decode(list_of_byte_tensors, channels, device) -> list of CxHxW uint8``, or None when
    torchvision (with list-decoding ``decode_jpeg``, 0.19+) cannot be imported."""
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except (ImportError, OSError, RuntimeError):  # absent, or a build that does not match torch
        return None

    def decode(data: list[torch.Tensor], channels: int, device: torch.device) -> list[torch.Tensor]:
        mode = ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY
        return list(decode_jpeg(data, mode=mode, device=device))

    return decode


def choose_decoder(device: torch.device) -> str:
    """``"nvjpeg"`` on CUDA with torchvision importable, else ``"pil"`` (decoding in workers)."""
    if device.type == "cuda" and torchvision_decoder() is not None:
        return "nvjpeg"
    return "pil"


class EncodedImages(Dataset):
    """One item per (index, seed): the file's bytes (JPEG) or its PIL-decoded pixels (anything
    else), its label and seed, and an error message instead of raising (see ``folder.Images``)."""

    def __init__(self, samples: list[tuple[Path, int]], channels: int) -> None:
        self.samples, self.channels = samples, channels

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, bool, int, int, int, str]:

        index, seed = item
        path, label = self.samples[index]
        try:
            data = path.read_bytes()
            if data.startswith(JPEG_MAGIC):
                raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
                return raw, True, label, seed, index, ""
            return pil_pixels(path, self.channels), False, label, seed, index, ""
        except Exception as e:  # the file's fault, reported by the main process in one line
            return torch.zeros(0, dtype=torch.uint8), False, label, seed, index, unreadable(path, e)


def pil_pixels(path: Path, channels: int) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as img:
        array = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    return torch.from_numpy(array.reshape(array.shape[0], array.shape[1], channels).copy()).permute(
        2, 0, 1
    )


def as_lists(items: Sequence[tuple]) -> tuple[list, ...]:
    """collate_fn: images differ in size, so a batch stays a tuple of lists."""
    return tuple(list(column) for column in zip(*items, strict=True))


def decode_batch(
    batch: tuple[list, ...],
    samples: list[tuple[Path, int]],
    channels: int,
    device: torch.device,
    decode: Callable[..., list[torch.Tensor]],
) -> tuple[list[torch.Tensor], list[int], list[int]]:
    """Decoded CxHxW uint8 images on ``device``, their labels and seeds; bad files -> TrainError."""
    data, is_jpeg, labels, seeds, indices, errors = batch
    bad = next((e for e in errors if e), None)
    if bad:
        raise TrainError(bad)
    images: list[torch.Tensor | None] = [
        None if jpeg else pixels.to(device, non_blocking=True)
        for pixels, jpeg in zip(data, is_jpeg, strict=True)
    ]
    jpegs = [i for i, jpeg in enumerate(is_jpeg) if jpeg]
    if jpegs:
        try:
            decoded = decode([data[i] for i in jpegs], channels, device)
        except RuntimeError:  # one bad file fails the whole batch: find it, one by one
            decoded = []
            for i in jpegs:
                try:
                    decoded.extend(decode([data[i]], channels, device))
                except RuntimeError as e:
                    path = samples[indices[i]][0]
                    first = (str(e).strip().splitlines() or [""])[0][:160]
                    raise TrainError(f"{path}: cannot decode JPEG ({first})") from None
        for i, image in zip(jpegs, decoded, strict=True):
            images[i] = image
    return [image for image in images if image is not None], labels, seeds


def crop_batch(
    images: list[torch.Tensor], seeds: list[int], config: TrainConfig, input_hw: tuple[int, int]
) -> torch.Tensor:
    """N x C x H x W float in [0, 1]: each image cropped, resized and maybe flipped on its device.

    The crop is ``crop.crop_for``'s window, mapped back into the decoded image (a resize of the
    whole image followed by a crop equals a crop of the matching region followed by the resize).
    """

    h, w = input_hw
    out = []
    for image, seed in zip(images, seeds, strict=True):
        height, width = image.shape[-2:]
        crop = crop_for(seed, width, height, config, input_hw)
        sx, sy = crop.size[0] / width, crop.size[1] / height
        x0, y0 = math.floor(crop.left / sx), math.floor(crop.top / sy)
        x1 = min(width, max(x0 + 1, math.ceil((crop.left + w) / sx)))
        y1 = min(height, max(y0 + 1, math.ceil((crop.top + h) / sy)))
        region = image[:, y0:y1, x0:x1].unsqueeze(0).float()
        shrink = region.shape[-2] > h or region.shape[-1] > w
        region = F.interpolate(
            region, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink
        )
        out.append(region.flip(-1) if crop.flip else region)
    return torch.cat(out).clamp_(0, 255).div_(255)
