"""Export a generated network for deployment, and check that the export computes what it does.

    resdsl export generated/resnet50.py --onnx resnet50.onnx --exported resnet50.pt2

Two targets, both through torch's own exporters: ONNX (``torch.onnx.export`` with the dynamo
exporter, opset from torch; needs ``onnx`` and ``onnxscript``) and a ``torch.export`` program
(``.pt2``, loadable with ``torch.export.load``). The batch dimension stays dynamic.

NOTE: an export that writes a file without running it proves little: operators can be
dropped, decomposed differently or specialised on the example's shapes. So each file is
loaded back and run on a random batch (of a size other than the example's, to exercise the
dynamic batch), and its outputs are compared with the eval-mode module's: onnxruntime runs
the ONNX file when it is installed (otherwise the ``onnx`` checker validates the graph and the
report says the outputs were not compared), ``torch.export.load`` runs the ``.pt2``. Files are
written to a temporary file beside the target and renamed into place only once the check
passed, so a failed export leaves nothing, and an existing file is never half-overwritten.
torch is imported here, only by this command.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resdsl.diagnostics import ResdslError
from resdsl.files import ordinary_mode

# Largest difference accepted between the export's outputs and the module's (eval mode, fp32),
# relative to the largest output (at least 1): ONNX Runtime's kernels sum in another order
# than torch's, and a freshly initialised deep network's logits can be in the thousands.
TOLERANCE = 1e-4


class ExportError(ResdslError):
    """An export that could not be made or does not compute what the module computes."""


@dataclass(frozen=True)
class Exported:
    """One written file and what its check found."""

    path: Path
    kind: str  # onnx | torch.export
    bytes: int
    max_difference: float | None  # None: outputs not compared (no onnxruntime)
    note: str

    def describe(self) -> str:
        return f"{self.path}: {self.kind}, {self.bytes:,} bytes; {self.note}"


def export(
    module_path: str | Path,
    onnx: str | Path | None = None,
    exported: str | Path | None = None,
    batch: int = 2,
    seed: int = 0,
) -> list[Exported]:
    """Export the network of a generated module to each target given, checking each."""
    import torch

    from resdsl.train.module import load_generated

    if onnx is None and exported is None:
        raise ExportError("nothing to export: give --onnx OUT.onnx and/or --exported OUT.pt2")
    for target, suffix in ((onnx, ".onnx"), (exported, ".pt2")):
        if target is not None and Path(target).suffix != suffix:
            raise ExportError(f"{target}: the file name should end in {suffix}")
    if batch < 1:
        raise ExportError(f"--batch must be positive, not {batch}")
    generated = load_generated(module_path)
    torch.manual_seed(seed)
    model = generated.build(int(generated.meta["classes"])).eval()
    example = torch.randn(batch, *generated.input_shape)
    check = torch.randn(batch + 1, *generated.input_shape)  # another batch size: still dynamic
    with torch.no_grad():
        expected = model(check)
    done = []
    if onnx is not None:
        done.append(_write(Path(onnx), lambda tmp: _onnx(model, example, check, expected, tmp)))
    if exported is not None:
        done.append(
            _write(Path(exported), lambda tmp: _program(model, example, check, expected, tmp))
        )
    return done


def _write(target: Path, make: Callable[[Path], tuple[str, float | None, str]]) -> Exported:
    """Make the file at a temporary path beside ``target``, then rename it into place."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{target}: the folder {folder} does not exist")
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name")
    try:
        # The temporary name keeps the suffix: torch.export.load wants a .pt2 file name.
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=folder)
    except OSError as error:
        raise ExportError(f"cannot write in {folder}: {error.strerror}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        kind, difference, note = make(temporary)
        size = temporary.stat().st_size
        os.chmod(temporary, ordinary_mode())  # mkstemp's 0600 is for the temporary only
        os.replace(temporary, target)
    except OSError as error:
        raise ExportError(f"cannot write {target}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return Exported(target, kind, size, difference, note)


def _compare(what: str, got: Any, expected: Any) -> float:
    import torch

    difference = float((torch.as_tensor(got) - expected).abs().max())
    scale = max(1.0, float(expected.abs().max()))
    if not difference <= TOLERANCE * scale:
        raise ExportError(
            f"the {what} does not compute what the module does: outputs differ by up to "
            f"{difference:.3g} (more than {TOLERANCE:g} of the largest output, {scale:.3g})"
        )
    return difference


def _onnx(model, example, check, expected, path: Path) -> tuple[str, float | None, str]:
    import torch

    try:
        import onnx  # the dynamo exporter needs it, and onnxscript
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ExportError(
            f"ONNX export needs the onnx and onnxscript packages ({error.name} is missing): "
            "pip install 'resdsl[export]'"
        ) from None
    batch = torch.export.Dim("batch", min=1)
    # torch's exporter logs a warning per torchvision operator it cannot register when
    # torchvision is absent, and its internals raise FutureWarnings of their own: noise that
    # says nothing about this network. Real failures still raise.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    # One self-contained file (weights inside, not in a .data file beside it): what is
    # checked is what is renamed into place. Protobuf caps that at 2 GB, far above ResNets.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            dynamic_shapes=({0: batch},),
            external_data=False,
            verbose=False,
        )
    try:
        import onnxruntime
    except ImportError:
        import onnx

        onnx.checker.check_model(str(path))
        return (
            "onnx",
            None,
            "valid ONNX (onnx.checker); outputs NOT compared: onnxruntime is not installed",
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: check.numpy()})
    difference = _compare("ONNX file", got, expected)
    rows = check.shape[0]
    return (
        "onnx",
        difference,
        f"onnxruntime matches the module on a batch of {rows} (max |diff| {difference:.2g})",
    )


def _program(model, example, check, expected, path: Path) -> tuple[str, float | None, str]:
    import torch

    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    with torch.no_grad():
        got = torch.export.load(str(path)).module()(check)
    difference = _compare("exported program", got, expected)
    rows = check.shape[0]
    return (
        "torch.export",
        difference,
        f"reloaded, matches the module on a batch of {rows} (max |diff| {difference:.2g})",
    )
