"""A document's text and its positions: the front end's spans <-> the editor's ranges.

    >>> text = Text.of("# é\\nnetwork n { }\\n")
    >>> from resdsl.diagnostics import Span
    >>> text.range(Span("n.res", 2, 9, 2, 10))  # line:character, from 0
    1:8-1:9
    >>> text.position(0, 3, "utf-8"), text.column(0, 4, "utf-8")  # é is two bytes
    (0:4, 3)
    >>> text.word_at(1, 9)
    ('n', 8, 9)

NOTE: two ways of counting. The front end counts lines at ``\\n`` (it turns CR and CRLF into
``\\n`` first) and columns in characters, from 1; the protocol counts from 0, lines at CR,
LF or CRLF (the same lines, then), and columns in the code units the client and server agreed
on: UTF-16 unless the client offers another. A character beyond the Basic Multilingual Plane
is one column to the front end and two to VS Code. A byte order mark, which the front end
drops, shifts the first line by one. Every conversion goes through this module; positions
past the end are clamped, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types

from resdsl.diagnostics import Span

LINE_END = re.compile(r"\r\n|\r|\n")
# A name, not the x of a size such as 3x3.
WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*")
BOM = "\ufeff"


def units(chars: str, encoding: str = "utf-16") -> int:
    """How many code units ``chars`` takes in ``encoding`` (utf-8, utf-16 or utf-32)."""
    if encoding == "utf-32" or chars.isascii():
        return len(chars)
    if encoding == "utf-8":
        return len(chars.encode("utf-8", "surrogatepass"))
    return len(chars.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True)
class Text:
    """One document's text, split into lines as the protocol splits them."""

    source: str
    lines: tuple[str, ...]
    bom: bool = False

    @classmethod
    def of(cls, source: str) -> Text:
        bom = source.startswith(BOM)
        return cls(source, tuple(LINE_END.split(source[len(BOM) if bom else 0 :])), bom)

    def line(self, line: int) -> str:
        """Line ``line`` (0-based) without its end; empty past the end."""
        return self.lines[line] if 0 <= line < len(self.lines) else ""

    def position(self, line: int, column: int, encoding: str = "utf-16") -> types.Position:
        """The editor's position of 0-based ``line`` and character ``column``."""
        line = min(max(line, 0), max(len(self.lines) - 1, 0))
        text = self.line(line)
        column = min(max(column, 0), len(text))
        shift = 1 if self.bom and line == 0 else 0
        return types.Position(line, units(text[:column], encoding) + shift)

    def column(self, line: int, character: int, encoding: str = "utf-16") -> int:
        """The character column (0-based) of the editor's ``character`` on ``line``."""
        text = self.line(line)
        if self.bom and line == 0:
            character -= 1
        if encoding == "utf-32" or text.isascii():
            return min(max(character, 0), len(text))
        counted = 0
        for index, char in enumerate(text):
            if counted >= character:
                return index
            counted += units(char, encoding)
        return len(text)

    def range(self, span: Span, encoding: str = "utf-16") -> types.Range:
        """The editor's range of a front-end span (1-based, end exclusive)."""
        start = self.position(span.line - 1, span.column - 1, encoding)
        end = self.position(span.end_line - 1, span.end_column - 1, encoding)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start, end)

    def prefix(self, line: int, column: int) -> str:
        """The text before (0-based) ``line`` and character ``column``, lines ending in
        ``\\n`` as the parser reads them."""
        before = list(self.lines[: max(line, 0)])
        return "\n".join([*before, self.line(line)[: max(column, 0)]])

    def word_at(self, line: int, column: int) -> tuple[str, int, int] | None:
        """The name under or just before character ``column``: (word, start, end), or None."""
        for match in WORD.finditer(self.line(line)):
            if match.start() <= column <= match.end():
                return match.group(), match.start(), match.end()
        return None
