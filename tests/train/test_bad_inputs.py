"""Issue 13, the training rows: every bad input is exit 1 with one clear line, never a traceback or
an internal error, and leaves every earlier output as it was. Crafted checkpoints, a checkpoint that
names another module, a CIFAR pickle that would run code, a module whose META or factory is wrong,
and a full disk."""

from __future__ import annotations

import errno
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from resdsl.cli.train import train as train_command
from resdsl.train import checkpoint as checkpoint_module
from resdsl.train.data import load_cifar
from resdsl.train.errors import TrainError
from resdsl.train.runner import train
from tests.train.conftest import DEVICE_FLAGS

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--threads", "1", "--no-progress", *DEVICE_FLAGS]


def _cli(*args: str):
    return CliRunner().invoke(train_command, [*args, *FAST])


def _one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A real 4-iteration run (evaluations at 2 and 4) to copy and tamper with."""
    from tests.train.conftest import small  # a module-scoped fixture cannot take small_config

    out = tmp_path_factory.mktemp("finished") / "run"
    train(small(out=str(out), steps=4, eval_every=2))
    return out


def _tampered(finished_run: Path, tmp_path: Path, change: Callable[[dict], Any]) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    for path in finished_run.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    state = torch.load(out / "last.pt", weights_only=True)
    change(state)
    torch.save(state, out / "last.pt")
    return out


def _set(key: str, value: Any) -> Callable[[dict], None]:
    return lambda state: state.__setitem__(key, value)


def _config(key: str, value: Any) -> Callable[[dict], None]:
    return lambda state: state["config"].__setitem__(key, value)


def _first_weight(change: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[dict], None]:
    def apply(state: dict) -> None:
        name = next(iter(state["model"]))
        state["model"][name] = change(state["model"][name])

    return apply


def _momentum(change: Callable[[torch.Tensor], Any]) -> Callable[[dict], None]:
    def apply(state: dict) -> None:
        entry = state["optimizer"]["state"][0]
        entry["momentum_buffer"] = change(entry["momentum_buffer"])

    return apply


CRAFTED = [
    ("step abc", _set("step", "abc"), "step must be a non-negative integer, not 'abc'"),
    ("step -5", _set("step", -5), "step must be a non-negative integer, not -5"),
    ("step 1.5", _set("step", 1.5), "step must be a non-negative integer"),
    ("step True", _set("step", True), "step must be a non-negative integer"),
    ("no model", lambda s: s.pop("model"), "checkpoint is missing model"),
    ("no window", lambda s: s.pop("window"), "checkpoint is missing window"),
    ("config a list", _set("config", []), "config must be a mapping"),
    ("config steps abc", _config("steps", "abc"), "steps must be an integer, not 'abc'"),
    ("config batch -1", _config("batch_size", -1), "batch_size must be positive"),
    ("config device tpu", _config("device", "tpu"), "device must be 'auto' or 'cpu' or 'cuda'"),
    ("config lr str", _config("lr", "0.1"), "lr must be a number"),
    ("weights int64", _first_weight(lambda t: t.long()), "is torch.int64"),
    ("weights reshaped", _first_weight(lambda t: t.flatten()), "this network's is torch.float32"),
    ("weights missing", lambda s: s["model"].popitem(), "checkpoint weights do not fit"),
    ("model a string", _set("model", "weights"), "model must map parameter names to tensors"),
    ("optimizer empty", _set("optimizer", {}), "must be an optimizer state dict"),
    (
        "optimizer no groups",
        _set("optimizer", {"state": {}, "param_groups": []}),
        "optimizer has parameter groups of sizes []",
    ),
    ("momentum reshaped", _momentum(lambda t: t.flatten()[:3]), "momentum for parameter 0"),
    ("momentum a string", _momentum(lambda t: "fast"), "momentum for parameter 0 is 'fast'"),
    (
        "group lr a string",
        lambda s: s["optimizer"]["param_groups"][0].__setitem__("momentum", "x"),
        "optimizer momentum must be like 0.9",
    ),
    (
        "state for no parameter",
        lambda s: s["optimizer"]["state"].__setitem__(999, {}),
        "has state for no parameter 999",
    ),
    ("window float32", _set("window", torch.zeros(5)), "window must be a float64 tensor"),
    ("rng float", _set("rng_cpu", torch.zeros(10)), "rng_cpu must be torch's CPU generator"),
    (
        "rng short",
        _set("rng_cpu", torch.zeros(10, dtype=torch.uint8)),
        "rng_cpu is not a generator state",
    ),
    ("warming yes", _set("warming", "yes"), "warming must be true or false"),
    ("seconds -1", _set("seconds", -1.0), "seconds must be a non-negative number"),
    ("best None", _set("best_error", None), "best_error must be a number"),
    ("params many", _set("params", "many"), "params an integer"),
]


@pytest.mark.parametrize(("case", "change", "message"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_checkpoint_is_refused_before_anything_is_touched(
    finished_run: Path, tmp_path: Path, small_config, case: str, change, message: str
) -> None:
    out = _tampered(finished_run, tmp_path, change)
    before = _snapshot(out)
    with pytest.raises(TrainError) as refused:
        train(small_config(resume=str(out)), steps=6)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith(str(out / "last.pt"))
    assert _snapshot(out) == before  # metrics.jsonl, errors.png, both checkpoints: untouched


@pytest.mark.parametrize("case", ["step -5", "optimizer no groups", "weights int64"])
def test_crafted_checkpoints_from_the_command_line(
    finished_run: Path, tmp_path: Path, case: str
) -> None:
    _, change, message = next(c for c in CRAFTED if c[0] == case)
    out = _tampered(finished_run, tmp_path, change)
    before = _snapshot(out)
    _one_line_error(_cli("--resume", str(out), "--steps", "6"), message)
    assert _snapshot(out) == before


# -- 14: the module a checkpoint names ---------------------------------------------------------


def test_resume_runs_only_the_recorded_module_if_unchanged(
    finished_run: Path, tmp_path: Path, fixture_module: Path
) -> None:
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').close()\n" + fixture_module.read_text())
    out = _tampered(finished_run, tmp_path, _config("module", str(evil)))
    before = _snapshot(out)
    _one_line_error(
        _cli("--resume", str(out), "--steps", "6"),
        f"{evil} is not the file this run started with (its sha256 differs); name the module",
    )
    assert not marker.exists() and _snapshot(out) == before  # never imported, nothing touched
    # naming the module is the user's choice, and then that module runs
    named = _cli(str(fixture_module), "--resume", str(out), "--steps", "6")
    assert named.exit_code == 0, named.output
    assert not marker.exists()


def test_a_checkpoint_without_a_module_hash_needs_the_module_named(
    finished_run: Path, tmp_path: Path, fixture_module: Path
) -> None:
    out = _tampered(finished_run, tmp_path, lambda s: s.pop("module_sha256"))
    _one_line_error(_cli("--resume", str(out)), "records no sha256 of its module")
    assert _cli(str(fixture_module), "--resume", str(out), "--steps", "6").exit_code == 0


def test_an_edited_module_is_not_resumed_silently(tmp_path: Path, fixture_module: Path) -> None:
    module = tmp_path / "net.py"
    module.write_text(fixture_module.read_text())
    out = tmp_path / "run"
    assert _cli(str(module), "--out", str(out), "--steps", "2", "--eval-every", "2").exit_code == 0
    assert _cli("--resume", str(out), "--steps", "4").exit_code == 0  # unchanged: runs
    module.write_text(fixture_module.read_text() + "\n# edited\n")
    _one_line_error(_cli("--resume", str(out), "--steps", "6"), "sha256 differs")


# -- 15: CIFAR pickles -------------------------------------------------------------------------


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_cifar_pickle_cannot_run_code(cifar10_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    entry = {b"data": _RunsCode(marker), b"labels": [0]}
    (cifar10_dir / "data_batch_2").write_bytes(pickle.dumps(entry, protocol=2))
    with pytest.raises(TrainError, match=r"data_batch_2: not a CIFAR python batch .*posix.system"):
        load_cifar("cifar10", cifar10_dir, verify=False)
    assert not marker.exists()
    (cifar10_dir / "data_batch_2").write_bytes(
        pickle.dumps({b"data": np.zeros((2, 3072), dtype=object), b"labels": [0, 1]})
    )
    with pytest.raises(TrainError, match="object arrays are not allowed"):
        load_cifar("cifar10", cifar10_dir, verify=False)


def test_cifar_pickles_of_old_numpy_and_python_2_still_load(cifar10_dir: Path) -> None:
    """The official files were written by Python 2 and an old numpy (numpy.core.multiarray)."""
    path = cifar10_dir / "data_batch_1"
    old = path.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in old
    path.write_bytes(old)
    assert len(load_cifar("cifar10", cifar10_dir, verify=False).train) == 300


def test_a_code_running_cifar_pickle_from_the_command_line(
    cifar10_dir: Path, tmp_path: Path, fixture_module: Path
) -> None:
    marker = tmp_path / "ran"
    (cifar10_dir / "test_batch").write_bytes(pickle.dumps(_RunsCode(marker), protocol=4))
    out = tmp_path / "run"
    result = _cli(
        str(fixture_module), "--data", f"cifar10:{cifar10_dir}", "--no-verify", "--out", str(out)
    )
    _one_line_error(result, "test_batch: not a CIFAR python batch")
    assert not marker.exists() and not out.exists()


# -- 17: a module whose META or factory is wrong -----------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('"classes": 10', '"classes": "ten"'), "META['classes'] must be a positive integer"),
        (('"input": [3, 16, 16]', '"input": [3, "a", 16]'), "META['input'] must be [C, H, W]"),
        (('"params": 19954', '"params": -1'), "META['params'] must be a non-negative integer"),
        (('"network": "resnet8"', '"network": 8'), "META['network'] must be a non-empty string"),
        (("    return ResNet(", "    return None\n    ResNet("), "returned NoneType, not a torch"),
        (("    return ResNet(", "    raise KeyError('x')\n    ResNet("), "failed (KeyError: 'x')"),
    ],
)
def test_a_module_with_a_wrong_meta_or_factory(
    tmp_path: Path, fixture_module: Path, edit: tuple[str, str], message: str
) -> None:
    source = fixture_module.read_text()
    assert edit[0] in source
    module = tmp_path / "net.py"
    module.write_text(source.replace(edit[0], edit[1], 1))
    out = tmp_path / "run"
    _one_line_error(_cli(str(module), "--out", str(out)), message)
    assert not out.exists()


# -- 12: a full disk ---------------------------------------------------------------------------


def test_a_full_disk_is_one_line_and_earlier_outputs_stay(
    finished_run: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    for path in finished_run.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    before = _snapshot(out)
    real = os.fsync
    calls = []

    def full(fd: int) -> None:
        # the disk fills up while the evaluation at step 6 writes last.pt, after its metrics.jsonl
        # and errors.png were already staged: none of the three may replace the old ones
        name = os.readlink(f"/proc/self/fd/{fd}")
        calls.append(Path(name).name)
        if Path(name).name.startswith(".last.pt."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(checkpoint_module.os, "fsync", full)
    result = _cli("--resume", str(out), "--steps", "6")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert errors == [
        f"Error: cannot write to {out} (No space left on device); what it held before is unchanged"
    ]
    staged = [c.split(".")[1] for c in calls if c.startswith(".")][-4:]
    assert staged[-1] == "last" and {"metrics", "errors"} <= set(staged)
    assert _snapshot(out) == before  # no new evaluation, no temp files left
