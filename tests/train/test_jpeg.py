"""imagefolder decoding: which decoder is chosen, the GPU decoder's batch path (run here on the CPU
with a PIL stand-in for nvJPEG: torchvision cannot be installed beside this torch), the PIL fallback
for real, and the contract both keep: batches are a pure function of (seed, step, rank)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from resdsl.cli.train import train as train_command
from resdsl.train import jpeg
from resdsl.train.crop import crop_for
from resdsl.train.folder import FolderSource, Images
from resdsl.train.runner import train
from tests.train.conftest import DEVICE_FLAGS

CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)  # a device object only: nothing here runs on it


def write_jpegs(root: Path, per_class: int = 8, val: int = 3) -> Path:
    """Two classes told apart by colour, JPEGs of varying sizes, and one PNG (which the GPU
    decoder's workers decode themselves)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("val", val)):
        for label, name in enumerate(("red", "green")):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 60, (36 + 6 * i, 44 + 4 * (i % 3), 3), dtype=np.uint8)
                pixels[..., label] = 230
                Image.fromarray(pixels).save(root / split / name / f"{i}.jpg", quality=95)
    Image.fromarray(np.full((30, 30, 3), 200, np.uint8)).save(root / "train" / "red" / "png.png")
    return root


def pil_decode(data: list[torch.Tensor], channels: int, device: torch.device) -> list[torch.Tensor]:
    """What torchvision.io.decode_jpeg(list, device=...) returns, computed with PIL."""
    import io

    from PIL import Image

    out = []
    for raw in data:
        with Image.open(io.BytesIO(raw.numpy().tobytes())) as img:
            array = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
        out.append(
            torch.from_numpy(array.reshape(*array.shape[:2], channels).copy())
            .permute(2, 0, 1)
            .to(device)
        )
    return out


def test_without_torchvision_the_pil_decoder_is_chosen(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # `import torchvision` now fails
    monkeypatch.delitem(sys.modules, "torchvision.io", raising=False)
    assert jpeg.torchvision_decoder() is None
    assert jpeg.choose_decoder(CUDA) == "pil" and jpeg.choose_decoder(CPU) == "pil"


def test_with_torchvision_cuda_decodes_on_the_gpu_and_the_cpu_does_not(monkeypatch) -> None:
    calls = []
    io_module = types.ModuleType("torchvision.io")
    io_module.ImageReadMode = types.SimpleNamespace(RGB="RGB", GRAY="GRAY")  # type: ignore[attr-defined]

    def decode_jpeg(data, mode, device):
        calls.append((len(data), mode, device))
        return [torch.zeros(3, 2, 2, dtype=torch.uint8) for _ in data]

    io_module.decode_jpeg = decode_jpeg  # type: ignore[attr-defined]
    package = types.ModuleType("torchvision")
    package.io = io_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.io", io_module)
    assert jpeg.choose_decoder(CUDA) == "nvjpeg" and jpeg.choose_decoder(CPU) == "pil"
    decode = jpeg.torchvision_decoder()
    assert decode is not None
    decode([torch.zeros(4, dtype=torch.uint8)] * 3, 3, CUDA)  # one call for the whole batch
    assert calls == [(3, "RGB", CUDA)]


def _source(root: Path, small_config, decoder: str, monkeypatch, **overrides) -> FolderSource:
    monkeypatch.setattr(jpeg, "torchvision_decoder", lambda: pil_decode)
    config = small_config(
        data=f"imagefolder:{root}", batch_size=6, workers=0, flip=True, **overrides
    )
    return FolderSource(root, config, (3, 24, 24), CPU, 0, 1, False, decoder=decoder)


def test_the_gpu_decoder_path_keeps_the_loader_contract(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    root = write_jpegs(tmp_path / "images")
    source = _source(root, small_config, "nvjpeg", monkeypatch)
    assert source.decoder == "nvjpeg" and "on the GPU (nvJPEG)" in source.description
    stream = source.train_batches(0)
    batches = [next(stream) for _ in range(4)]  # past an epoch (17 images / 6 = 2 per epoch)
    again = next(_source(root, small_config, "nvjpeg", monkeypatch).train_batches(3))
    x, y = batches[3]
    assert x.shape == (6, 3, 24, 24) and x.dtype == torch.float32
    assert torch.equal(x, again[0]) and torch.equal(y, again[1])  # a function of the step
    assert not torch.equal(batches[0][0], batches[1][0])
    test = list(source.eval_batches("test"))
    x, y = torch.cat([b[0] for b in test]), torch.cat([b[1] for b in test])
    # classes are the sorted folder names: green is 0, red (the bright first channel) is 1
    assert len(y) == 6 and torch.equal((x[:, 0].mean((1, 2)) > x[:, 1].mean((1, 2))).long(), y)


def test_both_decoders_take_the_same_crops(tmp_path: Path, small_config, monkeypatch) -> None:
    root = write_jpegs(tmp_path / "images")
    gpu = _source(root, small_config, "nvjpeg", monkeypatch)
    pil = _source(root, small_config, "pil", monkeypatch)
    for step in (0, 5):
        (xg, yg), (xp, yp) = next(gpu.train_batches(step)), next(pil.train_batches(step))
        assert torch.equal(yg, yp)
        # same windows and flips; only the resampling differs (one resize of a region vs a resize
        # of the whole image and then a crop), so pixels agree to within a few levels on average
        assert (xg - xp).abs().mean() < 0.03


def test_crops_are_a_function_of_seed_and_image_size(small_config) -> None:
    config = small_config(flip=True)
    one = crop_for(17, 500, 375, config, (224, 224))
    assert one == crop_for(17, 500, 375, config, (224, 224))
    assert one.size[1] >= 256 and one.size[1] <= 480  # the shorter side, in [256, 480]
    assert 0 <= one.left <= one.size[0] - 224 and 0 <= one.top <= one.size[1] - 224
    centre = crop_for(-1, 500, 375, config, (224, 224))
    assert centre.size == (341, 256) and (centre.left, centre.top) == (58, 16) and not centre.flip


def test_a_bad_jpeg_in_a_gpu_batch_is_named(tmp_path: Path, small_config, monkeypatch) -> None:
    root = write_jpegs(tmp_path / "images")
    bad = root / "val" / "green" / "1.jpg"
    bad.write_bytes(bad.read_bytes()[:40])  # a JPEG header, then nothing

    def strict(data, channels, device):
        if any(len(d) < 100 for d in data):
            raise RuntimeError("nvjpeg: bad stream")  # nvJPEG fails the batch, not the image
        return pil_decode(data, channels, device)

    source = _source(root, small_config, "nvjpeg", monkeypatch)
    source.decode = strict
    with pytest.raises(Exception, match=rf"{bad}: cannot decode JPEG \(nvjpeg: bad stream\)"):
        list(source.eval_batches("test"))


def test_pil_workers_return_errors_instead_of_raising(tmp_path: Path, small_config) -> None:
    root = write_jpegs(tmp_path / "images")
    (root / "train" / "red" / "0.jpg").write_bytes(b"not an image at all")
    samples = [(root / "train" / "red" / "0.jpg", 0)]
    x, label, error = Images(samples, (3, 16, 16), small_config())[(0, 5)]
    assert x.shape == (3, 16, 16) and label == 0
    assert error.startswith(f"{samples[0][0]}: cannot read image (UnidentifiedImageError")


def test_imagefolder_trains_with_the_decoder_its_device_gets(
    tmp_path: Path, small_config, capsys
) -> None:
    """Here: the PIL fallback, for real, with loader workers. Under RESDSL_TEST_DEVICE=cuda with
    torchvision installed (benchmarks/gpu.sh): nvJPEG on the GPU, for real."""
    root = write_jpegs(tmp_path / "images")
    config = small_config(
        data=f"imagefolder:{root}", out=str(tmp_path / "run"), batch_size=8, workers=2,
        steps=4, eval_every=2, crop_pad=0,
    )  # fmt: skip
    summary = train(config)
    assert summary.steps == 4 and 0 <= summary.final_test_error <= 1
    chosen = jpeg.choose_decoder(torch.device(config.device))
    expected = "decoded on the GPU (nvJPEG)" if chosen == "nvjpeg" else "decoded by 2 PIL workers"
    assert expected in capsys.readouterr().err


def test_a_corrupt_image_is_one_line_and_leaves_nothing(tmp_path: Path, fixture_module) -> None:
    root = write_jpegs(tmp_path / "images")
    bad = root / "train" / "green" / "2.jpg"
    bad.write_bytes(bad.read_bytes()[:300])  # truncated mid-stream
    out = tmp_path / "run"
    result = CliRunner().invoke(
        train_command,
        [str(fixture_module), "--data", f"imagefolder:{root}", "--out", str(out), "--batch-size",
         "16", "--workers", "2", "--steps", "4", "--threads", "1", "--no-progress", *DEVICE_FLAGS],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    # "cannot read image" from a PIL worker, "cannot decode JPEG" from nvJPEG on a GPU
    assert errors == [errors[0]] and errors[0].startswith(f"Error: {bad}: cannot ")
    assert "Traceback" not in result.output and not out.exists()
