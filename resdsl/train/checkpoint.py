"""Checkpoints: written atomically, read back with ``weights_only=True``, schema-checked.

NOTE: a checkpoint is written to a temporary file in the same folder, flushed and fsync'd, then
renamed over the old one (and the folder fsync'd), so a run killed at any instant leaves either the
previous ``last.pt`` or the new one, never half of one. An evaluation's outputs (metrics.jsonl,
errors.png, best.pt, last.pt) are all staged first and renamed only once every one of them is
written (:class:`Staged`), so a full disk leaves the previous set whole. Loading uses
``weights_only=True``: a checkpoint holds tensors, numbers, strings, lists and dicts, so nothing in
it can run code; :func:`check_state` then checks every field's type and range before the runner
uses any of it (a crafted file must be an error, not a crash or a truncated metrics.jsonl).
"""

from __future__ import annotations

import math
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


def _stage(path: Path, write: Any) -> Path:
    """Call ``write(file)`` on a temp file beside ``path`` and fsync it; returns the temp path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide outputs from the group
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _sync_dir(directory: Path) -> None:
    try:  # make renames durable; not every platform can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it, and rename it into place."""
    tmp = _stage(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


class Staged:
    """Several files written as one: each is staged beside its target, and only when all are
    written are they renamed into place (renames need no space). A failure while staging removes
    the temp files and leaves every target as it was::

        with Staged() as group:
            group.add(out / "metrics.jsonl", write_metrics)
            group.add(out / "last.pt", write_checkpoint)
        # all renamed here, in the order added
    """

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []

    def add(self, path: Path, write: Any) -> None:
        self.staged.append((_stage(path, write), path))

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        if kind is not None:
            for tmp, _ in self.staged:
                tmp.unlink(missing_ok=True)
            return
        try:
            for tmp, path in self.staged:
                os.replace(tmp, path)
        finally:
            for tmp, _ in self.staged:
                tmp.unlink(missing_ok=True)  # only those a failed rename left behind
        for directory in {path.parent for _, path in self.staged}:
            _sync_dir(directory)


def write_failed(out: Path, error: OSError) -> TrainError:
    """The one line for a failed write (a full disk, a vanished folder): staged writes leave
    what was there before, so it can say so."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    return TrainError(f"cannot write to {out} ({reason}); what it held before is unchanged")


def checkpoint_writer(state: dict[str, Any]) -> Any:
    """A ``write(file)`` for :func:`atomic_write` or :meth:`Staged.add` that saves ``state``."""
    return lambda f: torch.save({"format": FORMAT, **state}, f)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format tag) to ``path`` atomically."""
    atomic_write(path, checkpoint_writer(state))


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# What a resumable checkpoint holds beside format/network/params/config/model/optimizer, and the
# test each value must pass (checked before anything is loaded or any output is touched).
RESUME_FIELDS: dict[str, tuple[str, Any]] = {
    "step": ("a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "warming": ("true or false", lambda v: isinstance(v, bool)),
    "best_error": ("a number", lambda v: _is_number(v) and not math.isnan(v)),
    "seconds": ("a non-negative number", lambda v: _is_number(v) and v >= 0),
    "window": (
        "a float64 tensor of 5 running sums",
        lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.float64 and v.shape == (5,),
    ),
    "rng_cpu": (
        "torch's CPU generator state (a uint8 tensor)",
        lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.dim() == 1,
    ),
}


def check_state(path: Path, state: dict[str, Any]) -> None:
    """The types of a resumable checkpoint's fields; one TrainError naming the first bad one."""
    missing = [key for key in RESUME_FIELDS if key not in state]
    if missing:
        raise TrainError(f"{path}: checkpoint is missing {', '.join(missing)}")
    if not isinstance(state["network"], str) or not _is_int(state["params"]):
        raise TrainError(f"{path}: checkpoint's network must be a name and params an integer")
    for key, (what, ok) in RESUME_FIELDS.items():
        if not ok(state[key]):
            raise TrainError(f"{path}: checkpoint's {key} must be {what}, not {_show(state[key])}")
    model = state["model"]
    if not isinstance(model, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items()
    ):
        raise TrainError(f"{path}: checkpoint's model must map parameter names to tensors")
    optimizer = state["optimizer"]
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("state"), dict)
        and isinstance(optimizer.get("param_groups"), list)
        and all(isinstance(g, dict) for g in optimizer["param_groups"])
    ):
        raise TrainError(
            f"{path}: checkpoint's optimizer must be an optimizer state dict "
            "(state and param_groups)"
        )
    if not isinstance(state["config"], dict):
        raise TrainError(f"{path}: checkpoint's config must be a mapping of training options")


def _show(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_matches(path: Path, state: dict[str, Any], network: str, params: int) -> None:
    """Refuse a checkpoint written for a different network before loading any weights."""
    if state["network"] != network or int(state["params"]) != params:
        raise TrainError(
            f"{path}: checkpoint is for {state['network']} ({state['params']} parameters), "
            f"not {network} ({params} parameters)"
        )


def load_model_state(path: Path, model: torch.nn.Module, weights: dict[str, Any]) -> None:
    """Load weights that match the model's names, shapes and dtypes exactly (load_state_dict alone
    would cast an int64 tensor into a float parameter without a word)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    if missing or extra:
        names = ", ".join((missing or extra)[:3])
        what = "lacks" if missing else "has unexpected"
        raise TrainError(f"{path}: checkpoint weights do not fit this network ({what} {names})")
    for name, tensor in own.items():
        saved = weights[name]
        if saved.shape != tensor.shape or saved.dtype != tensor.dtype:
            raise TrainError(
                f"{path}: checkpoint weight {name} is {saved.dtype} {tuple(saved.shape)}; "
                f"this network's is {tensor.dtype} {tuple(tensor.shape)}"
            )
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise TrainError(f"{path}: checkpoint weights do not fit this network ({first})") from e


def load_optimizer_state(path: Path, optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load an optimiser state after checking it against the fresh optimiser's own layout."""
    own = optimizer.state_dict()
    groups = saved["param_groups"]
    sizes = [len(g.get("params", ())) for g in groups]
    own_sizes = [len(g["params"]) for g in own["param_groups"]]
    if sizes != own_sizes:
        raise TrainError(
            f"{path}: checkpoint's optimizer has parameter groups of sizes {sizes}; "
            f"this network's optimizer has {own_sizes}"
        )
    for group, own_group in zip(groups, own["param_groups"], strict=True):
        if group["params"] != own_group["params"]:
            raise TrainError(f"{path}: checkpoint's optimizer numbers its parameters differently")
        for key, value in own_group.items():
            if key == "params":
                continue
            fine = (
                (_is_number(value) and _is_number(group.get(key)))
                or type(group.get(key)) is type(value)
                or key not in group
            )
            if not fine:
                raise TrainError(
                    f"{path}: checkpoint's optimizer {key} must be like {value!r}, "
                    f"not {_show(group[key])}"
                )
    # state_dict() numbers parameters consecutively across groups, in order
    shapes = dict(enumerate(p for g in optimizer.param_groups for p in g["params"]))
    for index, entry in saved["state"].items():
        param = shapes.get(index) if _is_int(index) else None
        if param is None or not isinstance(entry, dict):
            raise TrainError(f"{path}: checkpoint's optimizer has state for no parameter {index!r}")
        buffer = entry.get("momentum_buffer")
        if buffer is not None and (
            not isinstance(buffer, torch.Tensor)
            or buffer.shape != param.shape
            or buffer.dtype != param.dtype
        ):
            raise TrainError(
                f"{path}: checkpoint's momentum for parameter {index} is {_show(buffer)}; "
                f"the parameter is {param.dtype} {tuple(param.shape)}"
            )
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise TrainError(f"{path}: checkpoint's optimizer state does not load ({e})") from e


def restore_rng(path: Path, rng: torch.Tensor) -> None:
    try:
        torch.set_rng_state(rng)
    except (RuntimeError, TypeError, ValueError) as e:
        raise TrainError(f"{path}: checkpoint's rng_cpu is not a generator state ({e})") from e
