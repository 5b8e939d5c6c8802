"""Stage 1b: a file and everything it ``use``s, parsed, with one table of network names.

    >>> program = load("specs/resnet110.res")
    >>> program.own                                   # what `resdsl compile` builds
    ('resnet110',)

``use "cifar.res"`` makes every network of that file (and of the files it uses) visible;
only the networks of the file asked for are compiled. ``use se, se_bottleneck from
"seresnet.res"`` makes only the definitions it names visible (the file's networks, which a
spec may want to name itself, stay out of the way). Paths are relative to the using
file. Missing files, a file that uses itself, names defined twice and text that is not
UTF-8 are diagnostics, not exceptions.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from resdsl.diagnostics import Diagnostic, ResdslError, Span
from resdsl.lang import syntax as s
from resdsl.lang.grammar import cached
from resdsl.lang.limits import MAX_FILES, MAX_SPEC_BYTES
from resdsl.lang.parse import parse

Definition = s.Network | s.Derivation
BlockItem = s.BlockDef | s.BlockDerivation


@functools.cache
def prelude() -> s.SourceFile:
    """The bundled prelude (``resdsl/lang/prelude.res``): the blocks and stems every spec can
    name without a ``use``, parsed once per process, and its tree kept in the private cache
    beside the parser's tables (a third of a small spec's check went to parsing it)."""
    resource = resources.files("resdsl.lang").joinpath("prelude.res")
    text, path = resource.read_text("utf-8"), str(resource)
    # What the tree depends on: the text, the grammar, and the code that builds the tree.
    digest = hashlib.sha256(f"{path}\n{text}".encode())
    digest.update(resources.files("resdsl.grammars").joinpath("res.lark").read_bytes())
    for module in ("syntax.py", "parse.py", "options.py"):
        digest.update(resources.files("resdsl.lang").joinpath(module).read_bytes())
    key = digest.digest()
    # One file per installation, so that two checkouts do not take turns rewriting it.
    name = f"prelude-{hashlib.sha256(path.encode()).hexdigest()[:12]}.pickle"
    return cached(name, key, lambda: parse(text, path))


@dataclass(frozen=True)
class Program:
    """The file asked for, the files it uses, and every name they define: networks, and the
    blocks and stems beside the prelude's."""

    root: str
    files: tuple[s.SourceFile, ...]
    definitions: dict[str, Definition] = field(hash=False)
    own: tuple[str, ...]  # names defined in the root file, in order
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str] = field(hash=False)
    block_items: dict[str, BlockItem] = field(default_factory=dict, hash=False)
    stem_items: dict[str, s.StemDef] = field(default_factory=dict, hash=False)

    def blocks(self) -> Iterator[tuple[BlockItem, bool]]:
        """Every block definition, the prelude's first, each with whether it is the prelude's."""
        for item in prelude().items:
            if isinstance(item, s.BlockDef | s.BlockDerivation):
                yield item, True
        for item in self.block_items.values():
            yield item, False

    def stems(self) -> Iterator[tuple[str, s.StemDef]]:
        """Every named stem, the prelude's first."""
        for item in prelude().items:
            if isinstance(item, s.StemDef):
                yield item.name.text, item
        yield from self.stem_items.items()

    @property
    def sha256(self) -> str:
        """Hash of every source the root file depends on, in load order."""
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(file.source.encode("utf-8"))
        return digest.hexdigest()


def load(
    path: str | Path, text: str | None = None, *, unsaved: dict[str, str] | None = None
) -> Program:
    """Read and parse ``path`` and, transitively, the files it uses.

    With ``text``, that is the root file's source and ``path`` only names it (in diagnostics,
    and as the folder its ``use`` paths are relative to); nothing is read for it. ``unsaved``
    holds sources by the path they stand in for (an editor's open documents), taken in place
    of the files; its ``pop(path, None)`` is asked for each path as the spec writes it.
    """
    root = str(path)
    loader = _Loader()
    if unsaved is not None:
        loader.given = unsaved
    if text is not None:
        loader.given[root] = text
    loader.load(root)
    own = tuple(n for n, d in loader.definitions.items() if d.span.file == root)
    return Program(
        root=root,
        files=tuple(loader.files),
        definitions=loader.definitions,
        own=own,
        diagnostics=tuple(loader.diagnostics),
        sources=loader.sources,
        block_items=loader.blocks,
        stem_items=loader.stems,
    )


def read_source(
    path: str, via: Span | None, budget: int = MAX_SPEC_BYTES
) -> tuple[str | None, Diagnostic | None]:
    """The file's text, and a diagnostic saying why it cannot be used (None if it can).

    ``via`` is the ``use`` that names the file (None for the file the user named). A used
    file must be a regular ``.res`` file: anything else is refused before it is opened, so
    a spec cannot make resdsl read ``/dev/zero``, wait on a FIFO or echo a line of
    ``/etc/shadow`` in an excerpt. Any file is read only up to ``budget`` bytes, what is left
    of ``MAX_SPEC_BYTES`` for the spec and the files it uses together. Text that
    is not UTF-8 comes back decoded with replacement characters, for the excerpt. A byte
    order mark is dropped and CR or CRLF line ends become ``\n``, the one line end the
    parser and the excerpts count.
    """
    where = via or Span(path, 1, 1, 1, 1)
    try:
        data = _read_bounded(path, via is not None, budget)
    except FileNotFoundError:
        return None, Diagnostic(where, f"no such file: {path}")
    except IsADirectoryError:
        return None, Diagnostic(where, f"{path} is a directory, not a .res file")
    except _Refused as refusal:
        return None, Diagnostic(where, str(refusal))
    except OSError as error:
        return None, Diagnostic(where, f"cannot read {path}: {error.strerror or error}")
    return decode(data, path)


def given_source(
    text: str, path: str, budget: int = MAX_SPEC_BYTES
) -> tuple[str | None, Diagnostic | None]:
    """Spec text passed in (``resdsl.check(text)``) under the rules a file is read by."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > budget:
        return None, Diagnostic(Span(path, 1, 1, 1, 1), _too_large(path))
    return decode(data, path)


def decode(data: bytes, path: str) -> tuple[str, Diagnostic | None]:
    """Bytes of a spec as text: the BOM dropped, line ends made ``\n``, UTF-8 checked."""
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as some editors write
        data = data[3:]
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
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


class _Refused(Exception):
    """A file resdsl will not read; the message says why."""


def refuse_use(written: str) -> str | None:
    """Why ``use "WRITTEN"`` is refused before anything is opened, or None.

    >>> refuse_use("cifar.res"), refuse_use("../../etc/shadow")
    (None, 'a use names a .res file; "../../etc/shadow" is not one')
    """
    if not written.isprintable():  # a null byte (no OS call takes one), an escape sequence
        return f"a use names a file by a printable name; {written!r} is not one"
    if not written.endswith(".res"):
        return f'a use names a .res file; "{written}" is not one'
    return None


def _read_bounded(path: str, regular_only: bool, budget: int) -> bytes:
    """At most ``budget`` bytes of ``path``; more is refused rather than read.

    The file is opened without blocking and checked on the open descriptor, so a FIFO or a
    device swapped in after a check cannot make resdsl wait (``regular_only``) and a device
    that never ends (``/dev/zero``) is cut off at the limit.
    """
    if "\x00" in path:
        raise _Refused(f"{path!r} is not a file name (it holds a null byte)")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if regular_only and not stat.S_ISREG(mode):
            raise _Refused(f"{path} is not a regular file; a use names a .res file")
        if not stat.S_ISREG(mode):  # the file the user named: a pipe may block, as it should
            os.set_blocking(descriptor, True)
        data = file.read(budget + 1)
    if len(data) > budget:
        raise _Refused(_too_large(path))
    return data


def _too_large(path: str) -> str:
    limit = f"{MAX_SPEC_BYTES // 1024} KiB"
    return f"{path} is too large: resdsl reads {limit} for a spec and its uses together"


class _Loader:
    """Loads a file and what it uses, depth first in the order the uses are written.

    NOTE: iterative, not recursive: a chain of 1,200 files each using the next would exceed
    Python's recursion limit. The stack holds, for each file being read, its resolved path
    (for the cycle check) and the items still to visit.
    """

    def __init__(self) -> None:
        self.files: list[s.SourceFile] = []
        self.definitions: dict[str, Definition] = {}
        self.blocks: dict[str, BlockItem] = {}
        self.stems: dict[str, s.StemDef] = {}
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, str] = {}
        self.seen: set[Path] = set()
        # every definition read, in load order, with its file; each use, as (the using file,
        # the used file, the use); the names each file's definitions may be seen by (None: all)
        self.read: list[tuple[Path, Definition | BlockItem | s.StemDef]] = []
        self.edges: list[tuple[Path, Path, s.Use]] = []
        self.root: Path | None = None
        self.budget = MAX_SPEC_BYTES  # bytes still to be read, for every file together
        self.given: dict[str, str] = {}  # sources passed in as text, by the name they go by

    def load(self, root: str) -> None:
        stack: list[tuple[Path, str, Iterator[s.Item]]] = []
        self._enter(root, None, stack)
        while stack:
            resolved, path, items = stack[-1]
            item = next(items, None)
            if item is None:
                stack.pop()
            elif isinstance(item, s.Use):
                used = str(Path(path).parent / item.path)
                self.edges.append((resolved, _resolved(used), item))
                self._enter(used, item, stack)
            else:
                self.read.append((resolved, item))
        visible = self._visible()
        for file, item in self.read:
            names = visible.get(file, frozenset())
            if names is None or item.name.text in names:
                self._define(item)

    def _visible(self) -> dict[Path, frozenset[str] | None]:
        """For each file, the names under which its definitions are visible from the root
        (None: all of them): a plain use passes on what its file sees, ``use NAMES from``
        only those names of it. A named definition no file below that use has is an error."""
        visible: dict[Path, frozenset[str] | None] = {}
        if self.root is None:
            return visible
        visible[self.root] = None
        changed = True
        while changed:  # the sets only grow, and the uses are finitely many
            changed = False
            for using, used, use in self.edges:
                if using not in visible:
                    continue
                seen, only = visible[using], frozenset(n.text for n in use.only) or None
                passed = only if seen is None else seen if only is None else seen & only
                before = visible.get(used, frozenset())
                after = None if before is None or passed is None else before | passed
                if used not in visible or after != before:
                    visible[used] = after
                    changed = True
        below: dict[Path, set[Path]] = {}
        for using, used, _ in self.edges:
            below.setdefault(using, set()).add(used)
        for _, used, use in self.edges:
            if not use.only:
                continue
            files, pending = set(), [used]
            while pending:
                file = pending.pop()
                if file not in files:
                    files.add(file)
                    pending += below.get(file, ())
            defined = {item.name.text for file, item in self.read if file in files}
            for name in use.only:
                if name.text not in defined:
                    message = (
                        f"{use.path} defines no network, block or stem {name.text} "
                        "(nor do the files it uses)"
                    )
                    self.diagnostics.append(Diagnostic(name.span, message))
        return visible

    def _enter(self, path: str, use: s.Use | None, stack: list) -> None:
        """Read and parse ``path`` and put its items on the stack, or report why not."""
        via = use.span if use is not None else None
        refused = refuse_use(use.path) if use is not None else None
        if refused is not None:
            self.diagnostics.append(Diagnostic(use.span, refused))  # type: ignore[union-attr]
            return
        resolved = _resolved(path)
        chain = [entry[0] for entry in stack]
        if resolved in chain:
            names = " -> ".join(p.name for p in (*chain[chain.index(resolved) :], resolved))
            self.diagnostics.append(Diagnostic(via, f"{path} uses itself ({names})"))
            return
        if resolved in self.seen:  # a diamond: already loaded through another file
            return
        if len(self.seen) >= MAX_FILES:
            message = f"a spec and the files it uses are at most {MAX_FILES:,} files"
            self.diagnostics.append(Diagnostic(via or Span(path, 1, 1, 1, 1), message))
            return
        self.seen.add(resolved)
        given = self.given.pop(path, None)
        if given is not None:
            text, problem = given_source(given, path, self.budget)
        else:
            text, problem = read_source(path, via, self.budget)
        if text is not None:  # kept even when undecodable, for the caret excerpt
            self.sources[path] = text
            self.budget -= len(text.encode("utf-8"))
        if problem is not None:
            self.diagnostics.append(problem)
            return
        try:
            tree = parse(text, path)
        except ResdslError as error:
            self.diagnostics.extend(error.diagnostics)
            return
        self.files.append(tree)
        if self.root is None:
            self.root = resolved
        stack.append((resolved, path, iter(tree.items)))

    def _define(self, item: Definition | BlockItem | s.StemDef) -> None:
        name = item.name.text
        if isinstance(item, s.Network | s.Derivation):
            first = self.definitions.get(name)
            if first is not None:
                message = f"network {name} is defined twice (first at {first.name.span})"
                self.diagnostics.append(Diagnostic(item.name.span, message))
                return
            self.definitions[name] = item
            return
        kind = "stem" if isinstance(item, s.StemDef) else "block"
        table: dict = self.stems if kind == "stem" else self.blocks
        first = table.get(name) or _prelude_item(kind, name)
        if first is not None:
            where = f"at {first.name.span}"
            if first.name.span.file == prelude().path:  # the same words wherever resdsl lives
                where = f"in the prelude, line {first.name.span.line}"
            message = f"{kind} {name} is defined twice (first {where})"
            self.diagnostics.append(Diagnostic(item.name.span, message))
            return
        table[name] = item


def _prelude_item(kind: str, name: str) -> BlockItem | s.StemDef | None:
    """The prelude's block or stem called ``name``."""
    types = (s.StemDef,) if kind == "stem" else (s.BlockDef, s.BlockDerivation)
    return next((i for i in prelude().items if isinstance(i, types) and i.name.text == name), None)


def _resolved(path: str) -> Path:
    """The absolute path with links followed, for the cycle check; as written if it cannot be
    resolved (a loop of links is reported when the file is read)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))
