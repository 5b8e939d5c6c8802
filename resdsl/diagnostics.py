"""Source spans, diagnostics, and the one error type every user-facing failure derives from.

Errors are data first (file, line, column, message) and text second: passes return
``Diagnostic`` values, and only the CLI turns them into the compiler-style report::

    specs/broken.res:9:5: error: stage conv3_x: shortcut A pads with zeros, so it cannot ...
        stage conv3_x: 4 x 32, stride 2
        ^~~~~
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from resdsl.lang.limits import MAX_ERRORS_SHOWN, MAX_EXCERPT_WIDTH

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Span:
    """Where something came from: 1-based line and column, end exclusive, in one file."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem with a spec, located at the span that caused it."""

    span: Span
    message: str
    severity: Severity = "error"

    def render(self, source: str | None = None) -> str:
        """The compiler-tradition text: ``file:line:col: error: message`` plus a caret excerpt."""
        head = printable(f"{self.span}: {self.severity}: {self.message}")
        excerpt = caret_excerpt(source, self.span) if source is not None else ""
        return f"{head}\n{excerpt}" if excerpt else head


class ResdslError(Exception):
    """Base of every error a user can cause: a bad spec, a bad module, a missing tool, a full disk.

    It carries either diagnostics (located problems of a spec, rendered compiler-style) or one
    plain message (``TrainError("--out already holds a run")``). ``str()`` is what the user sees,
    and the CLI maps every ResdslError to exit status 1 in one place (:mod:`resdsl.cli`).

    >>> print(ResdslError([Diagnostic(Span("n.res", 2, 5, 2, 10), "unknown block pre")]))
    n.res:2:5: error: unknown block pre
    >>> str(ResdslError("no such module"))
    'no such module'
    """

    def __init__(
        self, problem: Iterable[Diagnostic] | str, sources: dict[str, str] | None = None
    ) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = (
            () if isinstance(problem, str) else tuple(problem)
        )
        self.message = problem if isinstance(problem, str) else None
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        """The diagnostics with their caret excerpts, or the plain message."""
        if self.message is not None:
            return printable(self.message, keep="\n")
        return render_all(self.diagnostics, self.sources)


def printable(text: str, keep: str = "") -> str:
    """``text`` safe to print: every non-printable character (an escape sequence, a null
    byte, a line separator) written as Python escapes it, so nothing a spec or a file name
    holds can drive the terminal. ``keep`` names characters to leave as they are.

    >>> print(printable("use \\x1b[31mred.res"), printable("a\\u2028b"))
    use \\x1b[31mred.res a\\u2028b
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def caret_excerpt(source: str, span: Span) -> str:
    """The span's first line as written, with ``^~~~`` under the spanned columns.

    Lines end at ``\n`` alone, as the parser counts them (a form feed or U+2028 is not a
    line end). A line wider than the excerpt is cut around the span, with ``...`` where it
    was cut.
    """
    if span.line < 1:
        return ""
    lines = source.split("\n", span.line)  # only as far as the line wanted
    if span.line > len(lines):
        return ""
    text = lines[span.line - 1].removesuffix("\r").expandtabs(1)
    start = max(span.column - 1, 0)
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    width = max(min(end, len(text)) - start, 1)
    left = ""
    if len(text) > MAX_EXCERPT_WIDTH:
        cut = max(0, min(start - MAX_EXCERPT_WIDTH // 3, len(text) - MAX_EXCERPT_WIDTH))
        left = "..." if cut else ""
        right = "..." if cut + MAX_EXCERPT_WIDTH < len(text) else ""
        text = left + text[cut : cut + MAX_EXCERPT_WIDTH] + right
        start = start - cut + len(left)
        width = max(min(width, MAX_EXCERPT_WIDTH - (start - len(left))), 1)
    # Non-printable characters (a stray control byte) would garble the terminal; one "?"
    # each keeps the caret under the column it points at.
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return f"{shown}\n{' ' * start}^{'~' * (width - 1)}"


def render_all(
    diagnostics: Iterable[Diagnostic], sources: dict[str, str], limit: int = MAX_ERRORS_SHOWN
) -> str:
    """Every diagnostic with its excerpt, up to ``limit``; then one line counting the rest.

    A spec of 8,000 unknown layers gets 50 reports and "and 7,950 more errors", not 200 MB.
    """
    diagnostics = list(diagnostics)
    text = "\n".join(d.render(sources.get(d.span.file)) for d in diagnostics[:limit])
    rest = len(diagnostics) - limit
    if rest > 0:
        text += f"\n... and {rest:,} more error{'s' * (rest != 1)} (the first {limit} are shown)"
    return text


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A hint for a misspelt name: ``"; did you mean bottleneck?"``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def either(words: Sequence[str]) -> str:
    """``conv, maxpool or avgpool``."""
    words = list(words)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
