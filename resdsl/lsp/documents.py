"""The open documents and what the front end makes of each: the server's whole state.

    >>> docs = Documents()
    >>> (first,) = docs.update("specs/resnet18.res", open("specs/resnet18.res").read())
    >>> first.checked.ok, [net.name for net in first.checked.networks]
    (True, ['resnet18'])
    >>> [a.path for a in docs.update("specs/cifar.res", "network broken {")]
    ['specs/cifar.res']

A document is checked when it is opened and on every change, with the unsaved text of every
other open document: ``resnet1202.res`` uses ``cifar.res``, so an edit of ``cifar.res`` in the
editor re-checks both, the edited file first, and what ``resnet1202.res`` says reflects the
edit before it is saved. Nothing else is re-checked, and nothing is written anywhere.

NOTE: unsaved files. The front end reads a used file from disk unless it is given the text:
this module loads a program with the unsaved text of every open document
(``load(path, unsaved=...)``, :func:`load_open`), then hands it to the rest of the pipeline
(:func:`resdsl.pipeline.check_program`).

NOTE: paths. A document is checked under its path relative to the server's working directory
where it lies below it (VS Code starts the server in the workspace folder), so that messages
name files as ``resdsl check`` run there does (``specs/cifar.res:12:5``); elsewhere under its
absolute path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from resdsl.diagnostics import Span
from resdsl.lang import syntax as s
from resdsl.lang.load import Program, load, refuse_use
from resdsl.lsp.text import Text
from resdsl.pipeline import Checked, check_program


def key(path: str) -> str:
    """A path as a key: absolute and normalised, so ``specs/../specs/cifar.res`` and the
    editor's ``/work/specs/cifar.res`` are the same file."""
    return os.path.normpath(os.path.abspath(path))


def shown(path: str) -> str:
    """The name a file goes by in messages: relative to the working directory where it lies
    below it, else absolute."""
    absolute = key(path)
    relative = os.path.relpath(absolute, os.getcwd())
    return absolute if relative.startswith("..") else relative


def uri(path: str) -> str:
    """The ``file:`` URI of a file as the front end names it."""
    return Path(key(path)).as_uri()


@dataclass(frozen=True)
class Analysis:
    """One version of one document and everything the front end says about it."""

    path: str  # as the front end knows it (see shown())
    text: Text
    version: int | None
    checked: Checked
    # Every network the document sees -> the span of its name (see visible_names()).
    names: Mapping[str, Span] = field(hash=False)
    cache: dict[Any, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @cached_property
    def reads(self) -> frozenset[str]:
        """The keys of every file this check read, its own included."""
        return frozenset(key(path) for path in (self.path, *self.checked.sources))

    @property
    def tree(self) -> s.SourceFile | None:
        """The document's syntax tree, or None while it does not parse."""
        return next((f for f in self.checked.program.files if f.path == self.path), None)

    def uses(self) -> dict[str, tuple[str, s.Use]]:
        """Each used file (as the loader names it) -> the file that uses it first and the
        ``use`` that does."""
        found: dict[str, tuple[str, s.Use]] = {}
        for file in self.checked.program.files:
            for item in file.items:
                if isinstance(item, s.Use):
                    found.setdefault(str(Path(file.path).parent / item.path), (file.path, item))
        return found

    def via(self, path: str) -> s.Use | None:
        """The ``use`` of this document through which ``path`` was read, or None."""
        uses, seen = self.uses(), set()
        while path in uses and path not in seen:
            seen.add(path)
            parent, use = uses[path]
            if parent == self.path:
                return use
            path = parent
        return None


_USE = re.compile(r'^\s*use\s+"([^"\n]*)"')
_NETWORK = re.compile(r"^\s*network\s+([A-Za-z_][A-Za-z0-9_]*)")


def visible_names(
    path: str, text: Text, checked: Checked, unsaved: Mapping[str, str]
) -> dict[str, Span]:
    """Each network a document sees -> the span of its name: the program's definitions; while
    the document does not parse, what its ``network NAME`` and ``use "FILE"`` lines say, read
    line by line (the used files loaded on their own), so that completion and
    go-to-definition still know the names while a line is half written."""
    if any(f.path == path for f in checked.program.files):
        return {n: d.name.span for n, d in checked.program.definitions.items()}
    own: dict[str, Span] = {}
    used: dict[str, Span] = {}
    for number, line in enumerate(text.lines, start=1):
        if found := _NETWORK.match(line):
            start, end = found.span(1)
            own.setdefault(found.group(1), Span(path, number, start + 1, number, end + 1))
        elif (found := _USE.match(line)) and refuse_use(found.group(1)) is None:
            target = str(Path(path).parent / found.group(1))
            if os.path.isfile(target):  # a regular file: never a FIFO to wait on
                given = unsaved.get(key(target))
                program = load(target) if given is None else load_open(target, given, unsaved)
                for n, d in program.definitions.items():
                    used.setdefault(n, d.name.span)
    return {**used, **own}


class _Given(dict):
    """The loader's table of given texts, looked up by key() rather than as written."""

    def pop(self, path, default=None):
        return super().pop(key(path), default)


def load_open(path: str, text: str, unsaved: Mapping[str, str]) -> Program:
    """Load ``path`` with ``text`` as its source and ``unsaved`` (key -> text) standing in for
    the files on disk of the same name."""
    return load(path, unsaved=_Given({**unsaved, key(path): text}))


class Documents:
    """The open documents by key, and their latest analyses."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int | None] = {}
        self.analyses: dict[str, Analysis] = {}

    def get(self, path: str) -> Analysis | None:
        return self.analyses.get(key(path))

    def update(self, path: str, text: str, version: int | None = None) -> Iterator[Analysis]:
        """Take the new text of an open document; re-check it, then every open document that
        read it, each yielded as soon as it is checked."""
        changed = key(path)
        self.texts[changed] = text
        self.versions[changed] = version
        yield self._analyse(changed)
        yield from self._dependents(changed)

    def close(self, path: str) -> Iterator[Analysis]:
        """Forget a closed document; what read it reads it from disk again."""
        closed = key(path)
        for table in (self.texts, self.versions, self.analyses):
            table.pop(closed, None)
        yield from self._dependents(closed)

    def _dependents(self, changed: str) -> Iterator[Analysis]:
        for other, analysis in list(self.analyses.items()):
            if other != changed and changed in analysis.reads and other in self.texts:
                yield self._analyse(other)

    def _analyse(self, path: str) -> Analysis:
        text = self.texts[path]
        name = shown(path)
        unsaved = {p: t for p, t in self.texts.items() if p != path}
        checked = check_program(load_open(name, text, unsaved))
        lines = Text.of(text)
        names = visible_names(name, lines, checked, unsaved)
        analysis = Analysis(name, lines, self.versions.get(path), checked, names)
        self.analyses[path] = analysis
        return analysis
