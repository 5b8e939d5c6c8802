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

    @property
    def name(self) -> str:
        return str(self.meta["network"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.meta["input"]
        return int(c), int(h), int(w)

    def build(self, num_classes: int) -> nn.Module:
        """Call the factory; the weights come from torch's global RNG, so seed it first."""
        factory = getattr(self.module, self.meta["factory"])
        try:
            return factory(num_classes=num_classes)
        except TypeError as e:
            raise TrainError(f"{self.path}: factory {self.meta['factory']}() failed: {e}") from e


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
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # any import-time failure of user code is a user-facing error
        sys.modules.pop(name, None)
        first = str(e).splitlines()[0] if str(e) else ""
        raise TrainError(
            f"{path} is not a generated resdsl module: importing it failed "
            f"({type(e).__name__}: {first})"
        ) from e
    meta = getattr(module, "META", None)
    if not isinstance(meta, dict):
        raise TrainError(f"{path} is not a generated resdsl module: it has no META dict")
    missing = [key for key in REQUIRED_META if key not in meta]
    if missing:
        raise TrainError(
            f"{path} is not a generated resdsl module: META lacks {', '.join(missing)}"
        )
    shape = meta["input"]
    if not (isinstance(shape, list | tuple) and len(shape) == 3 and all(int(d) > 0 for d in shape)):
        raise TrainError(f"{path}: META['input'] must be [C, H, W], not {shape!r}")
    if not callable(getattr(module, str(meta["factory"]), None)):
        raise TrainError(
            f"{path} is not a generated resdsl module: no factory function {meta['factory']!r}"
        )
    return Generated(path=path, module=module, meta=dict(meta))


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


__all__ = ["REQUIRED_META", "Generated", "count_params", "load_generated", "weighted_depth"]
