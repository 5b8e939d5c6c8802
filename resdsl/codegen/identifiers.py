"""Names and literals for generated code: nothing from a spec reaches the source unchecked.

As torch.fx's ``_Namespace``, a :class:`Namespace` hands out identifiers, but it refuses
rather than rewrites: a network called ``class`` or ``conv3x3`` is a spec error with a
location, not a silently renamed function. The rules themselves are :mod:`resdsl.lang.names`,
which :mod:`resdsl.ir.validate` asks too. Numbers must be ``int``; strings are JSON-escaped by
the caller.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from resdsl.diagnostics import Diagnostic, ResdslError, Span
from resdsl.lang import names
from resdsl.ops import Op


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
    """Identifiers for generated code, as torch.fx's ``_Namespace``: refuse, never rewrite."""

    def __init__(self, taken: frozenset[str] = names.MODULE_NAMES) -> None:
        self._taken = frozenset(taken)
        self._claimed: set[str] = set()

    def claim(self, name: object, span: Span, what: str) -> str:
        """Reserve a global name (``what`` says what it names) or raise a located error."""
        problem = names.problem(name, self._taken)
        if problem is None and name in self._claimed:
            problem = "is taken by another network"
        if problem is not None:
            raise error_at(span, f"{what} {name!r} {problem}; choose another name")
        self._claimed.add(name)  # type: ignore[arg-type]
        return name  # type: ignore[return-value]


def attribute(name: object, span: Span) -> str:
    """A module attribute name from an IR path component (``conv1``, ``layer2``)."""
    problem = names.identifier_problem(name)
    if problem is not None:
        raise error_at(span, f"module name {name!r} {problem}; resdsl cannot emit it")
    return name  # type: ignore[return-value]


def integer(value: object, span: Span) -> int:
    """An int literal; anything else in the IR (a float, a string) is refused."""
    if type(value) is not int:
        raise error_at(span, f"expected an integer in the IR, got {value!r}")
    return value


def literal_op(op: Op, span: Span) -> Op:
    """``op``, once every parameter is a number or a flag (an int, a pair of ints, a finite
    float such as an eps or a probability, a bool such as a pool's ``ceil_mode``): only those
    reach the source, never a string a spec could smuggle code in."""
    for field in dataclasses.fields(op) if dataclasses.is_dataclass(op) else ():
        value = getattr(op, field.name)
        for part in value if isinstance(value, tuple) else (value,):
            if type(part) is bool or (type(part) is float and math.isfinite(part)):
                continue
            integer(part, span)
    return op
