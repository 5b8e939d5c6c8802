"""Load a generated module by path, check its ``META``, and build the network it describes.

A generated file (``resdsl compile``) defines nn.Module classes, a factory named in
``META["factory"]`` and a ``META`` dict with at least the keys in :data:`REQUIRED_META`. Anything
else is refused with a one-line :class:`TrainError` before any output is written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from resdsl.train.errors import TrainError

REQUIRED_META = ("network", "factory", "input", "classes", "params")


@dataclass(frozen=True)
class Generated:
    """A loaded generated module: where it came from and what its META says."""

    path: Path
    module: ModuleType
    meta: dict[str, Any]
    sha256: str = ""  # of the exact bytes that were executed; recorded in every checkpoint

    @property
    def name(self) -> str:
        return str(self.meta["network"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.meta["input"]
        return int(c), int(h), int(w)

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds per image at META's input size and class count (0: not recorded)."""
        return int(self.meta.get("flops", 0))

    def build(self, num_classes: int) -> nn.Module:
        """Call the factory; the weights come from torch's global RNG, so seed it first."""
        factory = getattr(self.module, self.meta["factory"])
        call = f"{self.meta['factory']}(num_classes={num_classes})"
        try:
            model = factory(num_classes=num_classes)
        except Exception as e:  # user code: whatever it raises is the module's fault, said once
            raise TrainError(f"{self.path}: {call} failed ({type(e).__name__}: {_first(e)})") from e
        if not isinstance(model, nn.Module):
            raise TrainError(
                f"{self.path}: {call} returned {type(model).__name__}, not a torch.nn.Module"
            )
        return model


def _first(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else ""


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a META dict's values, or None; the checks the runner relies on."""
    for key in ("network", "factory"):
        if not isinstance(meta[key], str) or not meta[key]:
            return f"META[{key!r}] must be a non-empty string, not {meta[key]!r}"
    shape = meta["input"]
    if not (isinstance(shape, list | tuple) and len(shape) == 3 and all(map(_positive_int, shape))):
        return f"META['input'] must be [C, H, W] of positive integers, not {shape!r}"
    if not _positive_int(meta["classes"]):
        return f"META['classes'] must be a positive integer, not {meta['classes']!r}"
    for key in ("params", "flops"):
        value = meta.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"META[{key!r}] must be a non-negative integer, not {value!r}"
    return None


def load_generated(path: str | Path) -> Generated:
    """Import ``path`` under a private name and validate its ``META``."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"{path}: no such file; pass a module written by `resdsl compile`")
    if path.suffix != ".py":
        raise TrainError(f"{path} is not a generated resdsl module: expected a .py file")
    # A private, path-derived name: two different files never share a sys.modules slot, and
    # loading the same network twice in one process (repeated train() calls) stays independent.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_resdsl_generated_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TrainError(f"{path} is not a generated resdsl module: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    # Hash and run the same bytes: the hash in a checkpoint then names exactly the code that ran
    # (resume compares it before importing a recorded module; see runner.resolve).
    source = path.read_bytes()
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except (Exception, SystemExit) as e:  # import-time failures of user code are user-facing
        sys.modules.pop(name, None)
        raise TrainError(
            f"{path} is not a generated resdsl module: importing it failed "
            f"({type(e).__name__}: {_first(e)})"
        ) from e
    meta = getattr(module, "META", None)
    if not isinstance(meta, dict):
        raise TrainError(f"{path} is not a generated resdsl module: it has no META dict")
    missing = [key for key in REQUIRED_META if key not in meta]
    if missing:
        raise TrainError(
            f"{path} is not a generated resdsl module: META lacks {', '.join(missing)}"
        )
    problem = _meta_problem(meta)
    if problem:
        raise TrainError(f"{path} is not a usable generated module: {problem}")
    if not callable(getattr(module, str(meta["factory"]), None)):
        raise TrainError(
            f"{path} is not a generated resdsl module: no factory function {meta['factory']!r}"
        )
    return Generated(path, module, dict(meta), hashlib.sha256(source).hexdigest())


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (what :attr:`Generated.sha256` records)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weighted_depth(model: nn.Module) -> int:
    """Layers the paper counts: convs outside projection shortcuts, plus fully connected layers.

    ResNet-110 (6n+2 with n=18) gives 110; used to decide the ``warmup="auto"`` trick.
    """
    depth = 0
    for name, layer in model.named_modules():
        if (isinstance(layer, nn.Conv2d) and "downsample" not in name.split(".")) or isinstance(
            layer, nn.Linear
        ):
            depth += 1
    return depth


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "REQUIRED_META",
    "Generated",
    "count_params",
    "file_sha256",
    "load_generated",
    "weighted_depth",
]
