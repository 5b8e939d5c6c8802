"""Where each image's training crop comes from, and the one line an unreadable image gets.

Both image-folder decoders use these (:mod:`resdsl.train.folder` with PIL, one image at a time in
the workers; :mod:`resdsl.train.jpeg` with nvJPEG, a batch at a time on the GPU), so that a run's
augmentation is the same function of (seed, image size) whichever decoder the machine offers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from resdsl.train.config import TrainConfig


@dataclass(frozen=True)
class Crop:
    """Where an image's crop comes from: resize the whole image to ``size`` (width, height), take
    the input-sized window at ``(left, top)``, maybe mirror it. Both decoders use the same one."""

    size: tuple[int, int]
    left: int
    top: int
    flip: bool


def crop_for(seed: int, width: int, height: int, config: TrainConfig, input_hw: tuple[int, int]):
    """The crop of an image of ``width`` x ``height``: a pure function of (seed, image size).

    Training (seed >= 0): the shorter side scaled to a random length in [scale_min, scale_max]
    (scaled with the input: the recipe's numbers are for 224), a random window, a coin for the flip.
    Evaluation (seed < 0): the shorter side scaled to scale_min, the centre window, no flip.
    """
    h, w = input_hw
    ratio = h / 224
    rng = random.Random(seed)
    if seed >= 0:
        short = rng.randint(round(config.scale_min * ratio), round(config.scale_max * ratio))
    else:
        short = round(config.scale_min * ratio)
    short = max(short, h, w)
    scale = short / min(width, height)
    size = (max(w, round(width * scale)), max(h, round(height * scale)))
    if seed >= 0:
        left, top = rng.randint(0, size[0] - w), rng.randint(0, size[1] - h)
    else:
        left, top = (size[0] - w) // 2, (size[1] - h) // 2
    flip = seed >= 0 and config.flip and rng.random() < 0.5
    return Crop(size, left, top, flip)


def unreadable(path: Path, error: BaseException) -> str:
    first = (str(error).strip().splitlines() or [""])[0][:160]
    return f"{path}: cannot read image ({type(error).__name__}: {first})"
