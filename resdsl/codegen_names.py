"""Names and literals for generated code: nothing from a spec reaches the source unchecked.

Helpers of :mod:`resdsl.codegen`. As torch.fx's ``_Namespace``, a :class:`Namespace` hands
out identifiers, but it refuses rather than rewrites: a network called ``class`` or
``conv3x3`` is a spec error with a location, not a silently renamed function. Numbers must be
``int``; strings are JSON-escaped by the caller.
"""

from __future__ import annotations

import builtins
import keyword
from pathlib import Path
from typing import Any

from resdsl.diagnostics import Diagnostic, ResdslError, Span

# Names the generated module defines or imports; none may be taken by a network's factory.
MODULE_NAMES = frozenset(
    {
        "annotations", "torch", "Tensor", "nn", "F", "META", "conv3x3", "conv1x1", "projection",
        "ZeroPadShortcut", "BasicBlock", "Bottleneck", "PlainBasicBlock", "PlainBottleneck",
        "ResNet", "PlainNet",
    }
)  # fmt: skip


class CodegenError(ResdslError):
    """The IR cannot be emitted safely (an unsafe name, an op codegen does not know)."""


def error_at(span: Span, message: str) -> CodegenError:
    """A located CodegenError, with the caret excerpt when the spec can still be read."""
    try:
        sources = {span.file: Path(span.file).read_text(encoding="utf-8")}
    except (OSError, UnicodeDecodeError):
        sources = {}
    return CodegenError([Diagnostic(span, message)], sources)


class Namespace:
    """Identifiers for generated code, as torch.fx's ``_Namespace``: refuse, never rewrite.

    A name is accepted only if it is an ASCII Python identifier, not a keyword or soft
    keyword, not a builtin, not private or dunder, and not taken already.
    """

    def __init__(self, taken: frozenset[str] = MODULE_NAMES) -> None:
        self._taken = set(taken)

    @staticmethod
    def problem(name: object) -> str | None:
        """Why ``name`` cannot be a generated identifier, or None if it can."""
        if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
            return "is not a Python identifier"
        if keyword.iskeyword(name) or keyword.issoftkeyword(name):
            return "is a Python keyword"
        if name.startswith("_"):
            return "starts with an underscore (private or dunder names are refused)"
        if hasattr(builtins, name):
            return "is a Python builtin"
        return None

    def claim(self, name: object, span: Span, what: str) -> str:
        """Reserve a global name (``what`` says what it names) or raise a located error."""
        problem = self.problem(name)
        if problem is None and name in self._taken:
            problem = "would shadow a name the generated code defines"
        if problem is not None:
            raise error_at(span, f"{what} {name!r} {problem}; choose another name")
        self._taken.add(name)  # type: ignore[arg-type]
        return name  # type: ignore[return-value]


def attribute(name: object, span: Span) -> str:
    """A module attribute name from an IR path component (``conv1``, ``layer2``)."""
    problem = Namespace.problem(name)
    if problem is not None:
        raise error_at(span, f"module name {name!r} {problem}; resdsl cannot emit it")
    return name  # type: ignore[return-value]


def integer(value: object, span: Span) -> int:
    """An int literal; anything else in the IR (a float, a string) is refused."""
    if type(value) is not int:
        raise error_at(span, f"expected an integer in the IR, got {value!r}")
    return value


def pair(value: Any, span: Span) -> str:
    """A (h, w) pair as torch writes it: ``3`` when square, ``(3, 5)`` otherwise."""
    h, w = (integer(v, span) for v in value)
    return str(h) if h == w else f"({h}, {w})"
