"""The front half of the compiler as one function: file to checked IR, no torch.

    >>> result = check("specs/resnet34.res")             # doctest: +SKIP
    >>> result.ok, [g.graph["name"] for g in result.networks]
    (True, ['resnet34'])

load (parse every file) -> elaborate -> infer_shapes -> validate. Each stage is a plain
function in its own module; this driver only sequences them and gathers diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from resdsl.diagnostics import Diagnostic, ResdslError, has_errors
from resdsl.elaborate import elaborate
from resdsl.load import Program, load
from resdsl.shapes import infer_shapes
from resdsl.validate import validate


@dataclass(frozen=True)
class Checked:
    """What ``resdsl check`` learns about one file."""

    program: Program
    networks: tuple[nx.DiGraph, ...]
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str] = field(hash=False)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise ResdslError(self.diagnostics, self.sources)


def check(path: str | Path, network: str | None = None) -> Checked:
    """Run the front half of the pipeline over one file (and the files it uses)."""
    program = load(path)
    if program.diagnostics:  # a file that does not parse has nothing to elaborate
        return Checked(program, (), _ordered(program.diagnostics), program.sources)
    elaboration = elaborate(program, network)
    diagnostics = list(elaboration.diagnostics)
    networks = []
    for graph in elaboration.networks:
        shaped = infer_shapes(graph)
        problems = validate(shaped)
        diagnostics.extend(problems)
        if not problems:
            networks.append(shaped)
    return Checked(program, tuple(networks), _ordered(diagnostics), program.sources)


def check_or_raise(path: str | Path, network: str | None = None) -> tuple[nx.DiGraph, ...]:
    """The checked networks of a file, or a ResdslError carrying every diagnostic."""
    result = check(path, network)
    result.raise_for_errors()
    return result.networks


def _ordered(diagnostics) -> tuple[Diagnostic, ...]:
    """Unique diagnostics, sorted by file then position (stable for the same position)."""
    unique = list(dict.fromkeys(diagnostics))
    files = list(dict.fromkeys(d.span.file for d in unique))
    return tuple(
        sorted(unique, key=lambda d: (files.index(d.span.file), d.span.line, d.span.column))
    )
