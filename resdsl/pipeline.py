"""The front half of the compiler as one function: file to checked IR, no torch.

    >>> result = check("specs/resnet34.res")
    >>> result.ok, [net.name for net in result.networks]
    (True, ['resnet34'])

load (parse every file) -> resolve -> lower (shapes included) -> validate. Each stage is a plain
function in its own module; this driver only sequences them and gathers diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from resdsl.diagnostics import Diagnostic, ResdslError, has_errors
from resdsl.ir.lower import lower
from resdsl.ir.network import Network
from resdsl.ir.validate import validate
from resdsl.lang.load import Program, load
from resdsl.lang.resolve import resolve


@dataclass(frozen=True)
class Checked:
    """What ``resdsl check`` learns about one file."""

    program: Program
    networks: tuple[Network, ...]
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str] = field(hash=False)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise ResdslError(self.diagnostics, self.sources)


def check(path: str | Path, network: str | None = None, *, text: str | None = None) -> Checked:
    """Run the front half of the pipeline over one file (and the files it uses); with
    ``text``, over that source, which ``path`` names."""
    return check_program(load(path, text), network)


def check_program(program: Program, network: str | None = None) -> Checked:
    """The rest of :func:`check` for a program already loaded (the language server loads
    one with the unsaved text of every file open in the editor)."""
    if program.diagnostics:  # a file that does not parse has nothing to resolve
        return Checked(program, (), _ordered(program.diagnostics), program.sources)
    resolution = resolve(program, network)
    diagnostics = list(resolution.diagnostics)
    networks = []
    for spec in resolution.networks:
        shaped = lower(spec)
        problems = validate(shaped)
        diagnostics.extend(problems)
        if not problems:
            networks.append(shaped)
    return Checked(program, tuple(networks), _ordered(diagnostics), program.sources)


def check_or_raise(
    path: str | Path, network: str | None = None, *, text: str | None = None
) -> tuple[Network, ...]:
    """The checked networks of a file, or a ResdslError carrying every diagnostic."""
    result = check(path, network, text=text)
    result.raise_for_errors()
    return result.networks


def _ordered(diagnostics) -> tuple[Diagnostic, ...]:
    """Unique diagnostics, sorted by file then position (stable for the same position)."""
    unique = list(dict.fromkeys(diagnostics))
    files = list(dict.fromkeys(d.span.file for d in unique))
    return tuple(
        sorted(unique, key=lambda d: (files.index(d.span.file), d.span.line, d.span.column))
    )
