"""Stage 1b: a file and everything it ``use``s, parsed, with one table of network names.

    >>> program = load("specs/resnet110.res")
    >>> program.own                                   # what `resdsl compile` builds
    ('resnet110',)

``use "cifar.res"`` makes every network of that file (and of the files it uses) visible;
only the networks of the file asked for are compiled. Paths are relative to the using
file. Missing files, a file that uses itself, names defined twice and text that is not
UTF-8 are diagnostics, not exceptions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from resdsl import syntax as s
from resdsl.diagnostics import Diagnostic, ResdslError, Span
from resdsl.parse import parse

Definition = s.Network | s.Derivation


@dataclass(frozen=True)
class Program:
    """The file asked for, the files it uses, and every network name they define."""

    root: str
    files: tuple[s.SourceFile, ...]
    definitions: dict[str, Definition] = field(hash=False)
    own: tuple[str, ...]  # names defined in the root file, in order
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str] = field(hash=False)

    @property
    def sha256(self) -> str:
        """Hash of every source the root file depends on, in load order."""
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(file.source.encode("utf-8"))
        return digest.hexdigest()


def load(path: str | Path, text: str | None = None) -> Program:
    """Read and parse ``path`` and, transitively, the files it uses.

    With ``text``, that is the root file's source and ``path`` only names it (in diagnostics,
    and as the folder its ``use`` paths are relative to); nothing is read for it.
    """
    root = str(path)
    loader = _Loader()
    if text is not None:
        loader.given[root] = text
    loader.visit(root, via=None, stack=())
    own = tuple(n for n, d in loader.definitions.items() if d.span.file == root)
    return Program(
        root=root,
        files=tuple(loader.files),
        definitions=loader.definitions,
        own=own,
        diagnostics=tuple(loader.diagnostics),
        sources=loader.sources,
    )


def read_source(path: str, via: Span | None) -> tuple[str | None, Diagnostic | None]:
    """The file's text, and a diagnostic saying why it cannot be used (None if it can).

    Text that is not UTF-8 comes back decoded with replacement characters, for the excerpt.
    """
    where = via or Span(path, 1, 1, 1, 1)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, Diagnostic(where, f"no such file: {path}")
    except IsADirectoryError:
        return None, Diagnostic(where, f"{path} is a directory, not a .res file")
    except OSError as error:
        return None, Diagnostic(where, f"cannot read {path}: {error.strerror}")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        span = Span(path, line, column, line, column + 1)
        byte = data[error.start]
        return data.decode("utf-8", "replace"), Diagnostic(
            span, f"this file is not UTF-8 text (byte 0x{byte:02x})"
        )


class _Loader:
    def __init__(self) -> None:
        self.files: list[s.SourceFile] = []
        self.definitions: dict[str, Definition] = {}
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, str] = {}
        self.seen: set[Path] = set()
        self.given: dict[str, str] = {}  # sources passed in as text, by the name they go by

    def visit(self, path: str, via: Span | None, stack: tuple[Path, ...]) -> None:
        resolved = Path(path).resolve()
        if resolved in stack:
            chain = " -> ".join(p.name for p in (*stack[stack.index(resolved) :], resolved))
            self.diagnostics.append(Diagnostic(via, f"{path} uses itself ({chain})"))
            return
        if resolved in self.seen:  # a diamond: already loaded through another file
            return
        self.seen.add(resolved)
        given = self.given.pop(path, None)
        text, problem = (given, None) if given is not None else read_source(path, via)
        if text is not None:  # kept even when undecodable, for the caret excerpt
            self.sources[path] = text
        if problem is not None:
            self.diagnostics.append(problem)
            return
        try:
            tree = parse(text, path)
        except ResdslError as error:
            self.diagnostics.extend(error.diagnostics)
            return
        self.files.append(tree)
        for item in tree.items:
            if isinstance(item, s.Use):
                target = str(Path(path).parent / item.path)
                self.visit(target, item.span, (*stack, resolved))
            else:
                self._define(item)

    def _define(self, item: Definition) -> None:
        name = item.name.text
        first = self.definitions.get(name)
        if first is not None:
            message = f"network {name} is defined twice (first at {first.name.span})"
            self.diagnostics.append(Diagnostic(item.name.span, message))
            return
        self.definitions[name] = item
