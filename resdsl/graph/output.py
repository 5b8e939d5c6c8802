"""The picture: DOT -> SVG, PNG or PDF through the real Graphviz ``dot``, and onto disk.

    >>> output_format("fig3.PDF"), output_format("fig3.gv"), output_format(None)
    ('pdf', 'dot', 'dot')

NOTE: writing. A picture goes to a temporary file made exclusively in the target's own
folder, then takes the target's name (:func:`resdsl.files.write_atomically`): a reader never
sees half a picture, and a render or a write that fails leaves what was there untouched. The
folder must exist
(``graph`` makes none: a mistyped path is an error, not a new tree), and every way the write
can fail is one :class:`GraphOutputError` line naming the path, not a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from resdsl.diagnostics import ResdslError
from resdsl.files import write_atomically

FORMATS: tuple[str, ...] = ("svg", "png", "pdf")
DOT_SUFFIXES: tuple[str, ...] = (".dot", ".gv")
# PNG at 1.5x Graphviz's 96 dpi, so that the labels stay legible at a README's width.
PNG_DPI = 144


class GraphvizNotFound(ResdslError):
    """A picture was asked for but Graphviz's ``dot`` is not on PATH."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz 'dot' was not found on PATH; it is needed for SVG, PNG and PDF output.\n"
            "Install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz;\n"
            "or run 'make graphviz'), or write DOT instead: -o FILE.dot, or no -o for stdout."
        )


class GraphvizFailed(ResdslError):
    """``dot`` ran and failed; carries its error output."""


class GraphOutputError(ResdslError):
    """The output path cannot take the picture: an unknown suffix, a folder, no such folder,
    no permission, a full disk."""


def output_format(output: str | None) -> str:
    """``dot`` (for ``.dot``, ``.gv`` or stdout) or a picture format, from OUT's suffix."""
    if output is None:
        return "dot"
    suffix = Path(output).suffix.lower()
    if suffix in DOT_SUFFIXES:
        return "dot"
    if suffix.lstrip(".") in FORMATS:
        return suffix.lstrip(".")
    known = ", ".join((*DOT_SUFFIXES, *(f".{f}" for f in FORMATS)))
    raise GraphOutputError(f"{output}: unknown suffix {suffix or '(none)'!r}; use {known}")


def check_output(output: str) -> Path:
    """``output`` as a path a file can be written to, checked before any work is done."""
    path = Path(output)
    if path.is_dir():
        raise GraphOutputError(f"{output} is a folder; give a file name, e.g. {path / 'fig3.svg'}")
    if not path.parent.is_dir():
        what = "a file, not a folder" if path.parent.exists() else "no such folder"
        raise GraphOutputError(f"cannot write {output}: {path.parent} is {what}")
    return path


def render(source: str, fmt: str, dot: str | None = None) -> bytes:
    """Run Graphviz ``dot -T<fmt>`` over DOT source and return the picture's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    executable = dot or shutil.which("dot")
    if executable is None:
        raise GraphvizNotFound()
    command = [executable, f"-T{fmt}", *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    result = subprocess.run(command, input=source.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise GraphvizFailed(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def write_output(data: bytes, output: str) -> Path:
    """Write ``data`` to ``output`` atomically (see the module's note); returns the path."""
    path = check_output(output)
    try:
        write_atomically(path, data)
    except OSError as error:
        raise GraphOutputError(f"cannot write {output}: {error.strerror}") from None
    return path
