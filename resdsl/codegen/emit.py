"""Spec files to generated modules on disk: what ``resdsl compile`` does, minus click.

    >>> outputs = compile_specs(["specs/cifar.res"], "generated")
    >>> [o.path.name for o in outputs][:2]
    ['resnet20.py', 'resnet32.py']
    >>> [o.path.name for o in outputs if o.stale()]                  # what --check reports
    []

Every file is compiled before anything is written, so a spec error leaves the output folder
as it was. torch is not imported.

NOTE: writing. Each module goes first to a temporary file that ``mkstemp`` creates in the
output folder (exclusively: a link planted under a predictable temporary name is never
written through), is flushed to disk, and only once every module is written are they
renamed into place. So a full disk, a folder that cannot be written or a path that is a file
fails with one plain error and leaves every file that was there as it was, and a reader never
sees half a module. A module that is a link is replaced by a file, not written through.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from resdsl.codegen.generate import generate
from resdsl.codegen.identifiers import Namespace
from resdsl.diagnostics import ResdslError
from resdsl.files import ordinary_mode
from resdsl.pipeline import check_or_raise

DEFAULT_OUTPUT = "generated"


@dataclass(frozen=True)
class Output:
    """One generated module: the network, where it goes, and its source."""

    network: str
    spec: str
    path: Path
    source: str

    def stale(self) -> bool:
        """True when the file on disk is missing or differs from ``source``."""
        return _differs(self.source, self.path)

    def write(self) -> bool:
        """Write the file if it changed; True if it was written."""
        return write_module(self.source, self.path)


def compile_specs(
    files: Iterable[str | Path], output: str | Path = DEFAULT_OUTPUT, network: str | None = None
) -> list[Output]:
    """The modules of every concrete network in ``files`` (only ``network`` if given).

    Raises :class:`~resdsl.diagnostics.ResdslError` for a spec error (an unknown
    ``network`` included), and a located :class:`~resdsl.codegen.CodegenError` for a name
    that is unsafe or that two networks would both write.
    """
    outputs: list[Output] = []
    claimed = Namespace()  # one file per name across all FILES
    for file in dict.fromkeys(files):  # a file named twice is compiled once
        for net in check_or_raise(file, network):
            name = claimed.claim(net.name, net.name_span, "network name")
            # The header names the canonical command (not this invocation's argv), so that
            # the file is the same however it was compiled: `--check` compares exact text.
            source = generate(net)
            outputs.append(Output(name, str(file), Path(output) / f"{name}.py", source))
    return outputs


def write_module(source: str, path: str | Path) -> bool:
    """Write ``source`` to ``path`` unless it already holds exactly that; True if written."""
    return write_all([(source, Path(path))])[0]


def write_outputs(outputs: Sequence[Output]) -> list[bool]:
    """Write every output that changed, all or none; for each, True if it was written."""
    return write_all([(o.source, o.path) for o in outputs])


def write_all(files: Sequence[tuple[str, Path]]) -> list[bool]:
    """Write each (source, path) whose file differs, all or none (see the NOTE above).

    Raises a plain :class:`~resdsl.diagnostics.ResdslError` naming the path and the reason
    when anything cannot be written; then no file has changed and no temporary is left.
    """
    changed = [(source, path) for source, path in files if _differs(source, path)]
    for folder in dict.fromkeys(path.parent for _, path in changed):
        _make_folder(folder)
    staged: list[tuple[str, Path]] = []
    current = None
    try:
        for source, current in changed:
            if current.is_dir():
                raise IsADirectoryError(0, "it is a folder")
            staged.append((_stage(source, current), current))
        for temporary, current in staged:
            os.replace(temporary, current)  # atomic: a reader never sees half a module
    except OSError as error:
        for temporary, _ in staged:
            _remove(temporary)  # those already renamed are gone: nothing to remove
        raise ResdslError(f"cannot write {current}: {error.strerror or error}") from None
    written = {path for _, path in changed}
    return [path in written for _, path in files]


def _differs(source: str, path: Path) -> bool:
    """True unless ``path`` holds exactly ``source`` (a file that cannot be read differs)."""
    try:
        return path.read_text(encoding="utf-8") != source
    except (OSError, UnicodeDecodeError):
        return True


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ResdslError(f"cannot write into {folder}: it is a file, not a folder") from None
    except NotADirectoryError:
        raise ResdslError(
            f"cannot write into {folder}: part of that path is a file, not a folder"
        ) from None
    except OSError as error:
        raise ResdslError(f"cannot create the folder {folder}: {error.strerror}") from None


def _stage(source: str, path: Path) -> str:
    """``source`` in a new temporary file beside ``path``, flushed to disk; its name."""
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), ordinary_mode())  # as an ordinary new file, not 0600
            file.write(source)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
