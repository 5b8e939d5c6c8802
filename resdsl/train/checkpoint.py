"""Checkpoints: written atomically, read back with ``weights_only=True``.

NOTE: a checkpoint is written to a temporary file in the same folder, flushed and fsync'd, then
renamed over the old one (and the folder fsync'd), so a run killed at any instant leaves either the
previous ``last.pt`` or the new one, never half of one. Loading uses ``weights_only=True``: a
checkpoint holds tensors, numbers, strings, lists and dicts, so nothing in it can run code.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from resdsl.train.errors import TrainError

FORMAT = "resdsl-train-1"
REQUIRED = ("format", "network", "params", "config", "step", "model", "optimizer")


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it, and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide outputs from the group
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every platform can open a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format tag) to ``path`` atomically."""
    atomic_write(path, lambda f: torch.save({"format": FORMAT, **state}, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; any damage is a one-line TrainError."""
    if not path.is_file():
        raise TrainError(
            f"{path}: no checkpoint there; was the run started with --out in that folder?"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrainError(f"{path}: corrupt or unreadable checkpoint ({first[:200]})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TrainError(f"{path}: not a resdsl training checkpoint (format {FORMAT} expected)")
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise TrainError(f"{path}: checkpoint is missing {', '.join(missing)}")
    return state


def check_matches(path: Path, state: dict[str, Any], network: str, params: int) -> None:
    """Refuse a checkpoint written for a different network before loading any weights."""
    if state["network"] != network or int(state["params"]) != params:
        raise TrainError(
            f"{path}: checkpoint is for {state['network']} ({state['params']} parameters), "
            f"not {network} ({params} parameters)"
        )


def load_model_state(path: Path, model: torch.nn.Module, weights: dict[str, Any]) -> None:
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise TrainError(f"{path}: checkpoint weights do not fit this network ({first})") from e
