"""Data sets for the runner: where images come from, and how batches reach the device.

``--data`` takes one of:

- ``digits`` (default): scikit-learn's bundled 1,797 real 8x8 handwritten digits, 1,497 for training
  and 300 for test, scaled to the network's input and replicated across its channels. Works offline.
- ``synthetic``: random images and labels at the network's input size, for throughput only.
- ``cifar10:DIR`` / ``cifar100:DIR``: the official python-pickle layout, md5-checked.
- ``imagefolder:DIR``: ``DIR/train/CLASS/*.jpg`` and ``DIR/val/CLASS/*.jpg`` (see ``folder.py``).

NOTE: small data sets (digits, CIFAR, synthetic) live whole on the device as uint8 and every
batch is gathered, resized, augmented (pad + random crop + flip) and mean-subtracted there: no
loader workers to wait for. Randomness is a pure function of (seed, step, rank), so a resumed run
sees exactly the batches the interrupted one would have.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from resdsl.train.errors import TrainError

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Split:
    """Images (uint8, N x C x H x W, at their source size) and integer labels."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class InMemoryData:
    name: str
    classes: int
    train: Split
    test: Split
    val: Split | None = None


def step_generator(seed: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """A generator whose stream depends only on (seed, step, rank): resumable, no saved state."""
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + step) * 1_009 + rank)
    return g


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled training order for one epoch; every rank computes the same one."""
    g = torch.Generator()
    g.manual_seed(seed * 7_919 + epoch)
    return torch.randperm(n, generator=g)


def split_validation(train: Split, val_split: int) -> tuple[Split, Split | None]:
    """Hold out ``val_split`` training images, chosen by a fixed seed so every run shares them."""
    if val_split == 0:
        return train, None
    if val_split >= len(train):
        raise TrainError(f"val_split {val_split} leaves no training images (only {len(train)})")
    order = epoch_order(len(train), seed=12345, epoch=0)
    keep, held = order[:-val_split], order[-val_split:]
    return Split(train.images[keep], train.labels[keep]), Split(
        train.images[held], train.labels[held]
    )


# -- sources ---------------------------------------------------------------------------------------


def load_digits_data() -> InMemoryData:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(np.rint(digits.images * (255 / 16)).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(digits.target.astype(np.int64))
    order = epoch_order(len(labels), seed=0, epoch=0)  # fixed: the test set never changes
    train, test = order[:-300], order[-300:]
    return InMemoryData(
        "digits", 10, Split(images[train], labels[train]), Split(images[test], labels[test])
    )


def synthetic_data(input_shape: tuple[int, int, int], classes: int, n: int) -> InMemoryData:
    g = torch.Generator().manual_seed(0)
    c, h, w = input_shape

    def make(count: int) -> Split:
        images = torch.randint(0, 256, (count, c, h, w), dtype=torch.uint8, generator=g)
        return Split(images, torch.randint(0, classes, (count,), generator=g))

    return InMemoryData("synthetic", classes, make(n), make(max(64, n // 8)))


CIFAR_URL = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}
CIFAR_TGZ_MD5 = {
    "cifar10": "c58f30108f718f92721af3b95e74349a",
    "cifar100": "eb9058c3a382ffc7106e4002c42a8d85",
}
# The official release's files and md5 sums (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR_FILES = {
    "cifar10": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    },
    "cifar100": {
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
        "meta": "7973b15100ade9c7d40fb424638fde48",
    },
}
CIFAR_FOLDER = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_cifar(kind: str, root: Path) -> None:
    """Fetch and unpack the official archive into ``root``; a clear error when offline."""
    url = CIFAR_URL[kind]
    root.mkdir(parents=True, exist_ok=True)
    archive = root / Path(url).name
    try:
        urllib.request.urlretrieve(url, archive)
    except OSError as e:
        raise TrainError(
            f"cannot download {kind} from {url} ({e}); without a network, fetch the archive "
            f"elsewhere and extract it into {root}"
        ) from e
    if _md5(archive) != CIFAR_TGZ_MD5[kind]:
        raise TrainError(f"{archive}: md5 does not match the official {kind} archive")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, and for nothing else."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"codecs.encode({encoding!r}) is not allowed")
    return text.encode("latin-1")


def _plain_dtype(*args: object) -> np.dtype:
    dtype = np.dtype(*args)  # type: ignore[call-overload]
    if dtype.hasobject:  # an object array would unpickle arbitrary Python objects into it
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dtype


def _numpy_reconstruct() -> object:
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(name)._reconstruct
        except (ImportError, AttributeError):
            continue
    raise ImportError("numpy has no multiarray._reconstruct")


class CifarUnpickler(pickle.Unpickler):
    """CIFAR's python format holds dicts, lists, bytes, str, ints and numpy uint8 arrays; only
    the few callables those need may be named in the pickle. ``pickle.load`` would import and call
    anything a file names (``--no-verify`` accepts files of unknown origin)."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("_codecs", "encode"):
            return _latin1
        if (module, name) == ("numpy", "dtype"):
            return _plain_dtype
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if module in ("numpy._core.multiarray", "numpy.core.multiarray") and name == "_reconstruct":
            return _numpy_reconstruct()
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")


def _read_batch(path: Path, label_key: bytes, classes: int) -> Split:
    try:
        with path.open("rb") as f:
            entry = CifarUnpickler(f, encoding="bytes").load()
        if not isinstance(entry, dict):
            raise TypeError(f"a dict expected, not {type(entry).__name__}")
        data = np.asarray(entry[b"data"])
        labels = np.asarray(entry[label_key], dtype=np.int64)
    except (
        OSError,
        pickle.UnpicklingError,
        EOFError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        ImportError,
    ) as e:  # whatever a malformed file makes the unpickler raise
        raise TrainError(f"{path}: not a CIFAR python batch ({type(e).__name__}: {e})") from e
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise TrainError(f"{path}: data must be uint8 N x 3072, not {data.dtype} {data.shape}")
    if (
        labels.shape != (data.shape[0],)
        or labels.min(initial=0) < 0
        or labels.max(initial=0) >= classes
    ):
        raise TrainError(f"{path}: labels must be {data.shape[0]} integers in [0, {classes})")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return Split(images, torch.from_numpy(labels))


def load_cifar(
    kind: str, directory: Path, *, verify: bool = True, download: bool = False
) -> InMemoryData:
    """CIFAR-10/100 from the python-pickle layout in ``directory`` (or its extracted sub-folder)."""
    if (directory / CIFAR_FOLDER[kind]).is_dir():
        directory = directory / CIFAR_FOLDER[kind]
    files = CIFAR_FILES[kind]
    missing = [name for name in files if not (directory / name).is_file()]
    if missing and download:
        download_cifar(kind, directory)
        return load_cifar(kind, directory, verify=verify, download=False)
    if missing:
        raise TrainError(
            f"{directory}: no {kind} data ({', '.join(missing)} missing); extract "
            f"{CIFAR_URL[kind]} there, or pass --download when a network is reachable"
        )
    if verify:
        for name, md5 in files.items():
            if _md5(directory / name) != md5:
                raise TrainError(
                    f"{directory / name} does not match the official {kind} release (md5); pass "
                    f"--no-verify to train on a CIFAR-format folder of your own"
                )
    if kind == "cifar10":
        label_key, classes = b"labels", 10
        train_parts = [
            _read_batch(directory / f"data_batch_{i}", label_key, classes) for i in range(1, 6)
        ]
        test = _read_batch(directory / "test_batch", label_key, classes)
    else:
        label_key, classes = b"fine_labels", 100
        train_parts = [_read_batch(directory / "train", label_key, classes)]
        test = _read_batch(directory / "test", label_key, classes)
    train = Split(
        torch.cat([p.images for p in train_parts]), torch.cat([p.labels for p in train_parts])
    )
    return InMemoryData(kind, classes, train, test)
