"""The canonical layout of a spec (``resdsl fmt``): the text laid out from its parse tree.

    >>> print(layout("network n{input 3x32x32 classes 10 # ten\\n stem{conv 3x3,16}}"), end="")
    network n {
        input 3x32x32
        classes 10  # ten
        stem {
            conv 3x3, 16
        }
    }

The rules, all of them:

- **One statement a line.** A file's items and the statements of a body (what a rule holds
  between its own ``{`` and ``}``: a network's, a stem's, a block's, a branch's) each start a
  line, indented four spaces a body deep; ``{`` ends its statement's line and ``}`` has a line
  of its own (an empty body is ``{}``). Braces inside a statement (``with stem { conv 3x3, 64
  }``) stay on its line.
- **Line breaks inside a statement are the author's**: a break written between two of its
  words is kept, and none is added, so a long ``with`` or a stage's list of widths stays
  grouped as written (no line is ever wrapped). A line never starts with ``,``, ``:`` or
  ``.``: a break written before one moves after it.
- **A continuation line is indented** four spaces beyond the line where the innermost thing
  still open on it began: the statement, a bracket (``(``, ``[``, an inline ``{``), or an item
  of a list that starts with a statement's keyword (``stage ...`` in a ``with``: its options on
  the lines after it are indented under it). A line starting with a closing bracket is
  indented as the line that opened it.
- **Spacing**: one space between words; none before ``,`` ``:`` ``)`` ``]`` ``.``, none after
  ``(`` ``[`` ``.``; none before the ``(`` of a call or a parameter list (``max(8, c)``,
  ``cifar_resnet(n=9)``), none around a family argument's ``=`` (``n=9``, where a block's
  parameters are spaced: ``stride = 1``) and none after a unary minus (``-1``).
- **Comments stay where they are**: a comment at the end of a line stays at the end of the
  line of the word it followed, two spaces after it; a comment on a line of its own stays on
  its own line, above what followed it, indented as that is (inside a body, before its ``}``:
  as the body). Its text is kept as written.
- **Blank lines**: one where the source has one or more between two items or statements
  (comment lines included), none at the start or end of a body or the file, none inside a
  statement. The file ends with one newline.

NOTE: why from the parse tree. The printer knows no statement: it walks the tree that
``grammars/res.lark`` gives (every token kept: :func:`~resdsl.lang.grammar.token_parser`) and
reads only its shape (which rules hold a body, where brackets open and close, which words
start a statement), so a rule added to the grammar is laid out with no code here; only a new
exception to the spacing rules would be one entry in the tables below. Comments, which the
grammar ignores, are found between the tokens and put back by position. The printer changes
whitespace only, never a token; :mod:`resdsl.formatting` holds it to that by comparing the
syntax trees and the IR before and after.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from lark import Token, Tree

from resdsl.keywords import statement_keywords
from resdsl.lang.grammar import token_parser

INDENT = 4
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_NO_SPACE_BEFORE = frozenset({",", ":", ")", "]", "."})
_NO_SPACE_AFTER = frozenset({"(", "[", "."})
_NO_BREAK_BEFORE = frozenset({",", ":", "."})
# A call's or a parameter list's "(" right after its name: max(8, c), cifar_resnet(n=9).
_CALLERS = frozenset({"NAME", "FUNCTION"})
# (rule, word): written without a space after it, or before it, in that rule.
_TIGHT_AFTER = frozenset({("argument", "="), ("neg", "-")})
_TIGHT_BEFORE = frozenset({("argument", "=")})
_COMMENT = re.compile(r"#[^\n]*")


@dataclass(frozen=True)
class _Comment:
    position: int  # offset in the text
    line: int  # 1-based
    text: str  # "# ...", trailing whitespace dropped


def layout(text: str) -> str:
    """``text`` (a spec that parses; lines ending in ``\\n``) in the canonical layout."""
    tree = token_parser().parse(text)
    found: list[Token] = []
    _collect(tree, found)
    return _Printer(_comments(text, found)).file(tree)


def tokens(text: str) -> list[Token]:
    """Every token of ``text`` (a spec that parses), in order, with its position."""
    found: list[Token] = []
    _collect(token_parser().parse(text), found)
    return found


def _collect(tree: Tree, into: list[Token]) -> None:
    for child in tree.children:
        if isinstance(child, Token):
            into.append(child)
        elif isinstance(child, Tree):
            _collect(child, into)


def _comments(text: str, words: list[Token]) -> list[_Comment]:
    """The comments of ``text``: the grammar ignores them, so they lie between its tokens."""
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    found: list[_Comment] = []
    bounds = [0, *(b for t in words for b in (t.start_pos, t.end_pos)), len(text)]
    for begin, end in zip(bounds[::2], bounds[1::2], strict=True):
        for match in _COMMENT.finditer(text, begin, end):
            line = bisect.bisect_right(starts, match.start())
            found.append(_Comment(match.start(), line, match.group().rstrip()))
    return found


@functools.cache
def _starters() -> frozenset[str]:
    """The words that start a statement (``stage``, ``block``, ``stem`` ...)."""
    return frozenset(statement_keywords())


def _first_token(tree: Tree) -> Token | None:
    node: Tree | Token = tree
    while isinstance(node, Tree):
        if not node.children:
            return None
        node = node.children[0]
    return node


class _Printer:
    """One pass over the tree, writing lines; comments are put in as their places come."""

    def __init__(self, comments: list[_Comment]) -> None:
        self.comments, self.next_comment = comments, 0
        self.out: list[str] = []  # finished lines
        self.pieces: list[str] = []  # the line being written, without its indent
        self.indent = 0  # of the line being written
        self.tail: str | None = None  # its comment
        self.prev: Token | None = None  # the last token written, and its rule
        self.prev_rule = ""
        self.groups: list[int] = [0]  # the indent of the line where each open thing began
        self.start: tuple[int, bool] | None = None  # the next token starts a statement's line
        self.item_opens = False  # the next token starts an item of a list
        self.broken = False  # a comment came since the last token: the next starts a line
        self.carried = False  # a break written before the last token goes after it
        self.fresh_body = True  # nothing written since the file began or a body opened
        self.last_line = 0  # the source line of the last thing written

    def file(self, tree: Tree) -> str:
        for item in tree.children:
            self._statement(item, 0)
        self._flush_comments(None, 0, statement_level=True)
        self._end_line()
        return "\n".join(self.out) + "\n" if self.out else ""

    # --- statements and bodies ---------------------------------------------------------------

    def _statement(self, node: Tree | Token, depth: int) -> None:
        outer = self.groups
        self.groups = [INDENT * depth]
        self.start = (INDENT * depth, True)
        if isinstance(node, Token):
            self._token(node, "")
        else:
            self._walk(node, depth)
        self.groups = outer

    def _walk(self, tree: Tree, depth: int | None = None) -> None:
        """Write a tree's tokens; ``depth`` is given for a statement, whose own ``{ ... }``
        holds a body of statements."""
        children, item, k = tree.children, False, 0
        while k < len(children):
            child = children[k]
            if isinstance(child, Tree):
                first = _first_token(child)
                if first is not None and first.type != "NAME" and str(first) in _starters():
                    if item:
                        self.groups.pop()
                    item, self.item_opens = True, True
                self._walk(child)
            else:
                body = depth is not None and str(child) == "{"
                if item and (body or str(child) in _CLOSERS):
                    self.groups.pop()
                    item = False
                if body:
                    k = self._body(tree, k, depth or 0)
                    continue
                self._token(child, tree.data)
            k += 1
        if item:
            self.groups.pop()

    def _body(self, tree: Tree, opening: int, depth: int) -> int:
        """Write ``{``, the statements up to its ``}`` one a line, and the ``}``; the index
        of the child after the ``}``."""
        children = tree.children
        closing = next(
            i
            for i in range(opening + 1, len(children))
            if isinstance(children[i], Token) and str(children[i]) == "}"
        )
        brace, end = children[opening], children[closing]
        self._token(brace, tree.data)
        inner = children[opening + 1 : closing]
        quiet = not self._comment_before(end.start_pos)
        if not inner and quiet:
            self._token(end, tree.data, join=True)  # an empty body: {}
            return closing + 1
        self.fresh_body = True
        outer = self.groups
        for statement in inner:
            self._statement(statement, depth + 1)
        self.groups = outer
        self._flush_comments(end.start_pos, INDENT * (depth + 1), statement_level=True)
        self.start = (INDENT * depth, False)
        self._token(end, tree.data)
        return closing + 1

    # --- tokens ------------------------------------------------------------------------------

    def _token(self, token: Token, rule: str, join: bool = False) -> None:
        text, moved = str(token), False
        if self.start is not None:
            indent, blank = self.start
            self.start = None
            self._flush_comments(token.start_pos, indent, statement_level=blank)
            self._end_line()
            if blank:
                self._blank(token.line)
            self.indent = indent
        else:
            inside = self.groups[-1] + INDENT
            self._flush_comments(token.start_pos, inside, statement_level=False)
            assert self.prev is not None
            written = token.line > self.prev.end_line or self.carried
            glued = text in _NO_BREAK_BEFORE and not self.broken
            if not join and (self.broken or (written and not glued)):
                self._end_line()
                closes = text in _CLOSERS and len(self.groups) > 1
                self.indent = self.groups[-1] if closes else inside
            elif self._spaced(token, rule):
                self.pieces.append(" ")
            moved = written and glued and not join  # the break goes after a `,` written after it
        self.pieces.append(text)
        self.carried = moved
        self.broken = self.fresh_body = False
        if self.item_opens:
            self.groups.append(self.indent)
            self.item_opens = False
        if text in _OPENERS:
            self.groups.append(self.indent)
        elif text in _CLOSERS and len(self.groups) > 1:
            self.groups.pop()
        self.prev, self.prev_rule = token, rule
        self.last_line = token.end_line

    def _spaced(self, token: Token, rule: str) -> bool:
        assert self.prev is not None
        text, before = str(token), str(self.prev)
        if text in _NO_SPACE_BEFORE or before in _NO_SPACE_AFTER:
            return False
        if text == "(" and self.prev.type in _CALLERS:
            return False
        if before == "{" and text == "}":
            return False
        return (self.prev_rule, before) not in _TIGHT_AFTER and (rule, text) not in _TIGHT_BEFORE

    # --- lines and comments ------------------------------------------------------------------

    def _end_line(self) -> None:
        if self.pieces:
            line = " " * self.indent + "".join(self.pieces)
            self.out.append(line if self.tail is None else f"{line}  {self.tail}")
        self.pieces, self.tail = [], None

    def _blank(self, line: int) -> None:
        """One blank line before what stands on source line ``line``, where the source has
        one since the last thing written (and not first in a body or the file)."""
        if not self.fresh_body and line - self.last_line >= 2 and self.out and self.out[-1]:
            self.out.append("")

    def _comment_before(self, position: int) -> bool:
        nxt = self.next_comment
        return nxt < len(self.comments) and self.comments[nxt].position < position

    def _flush_comments(self, position: int | None, indent: int, statement_level: bool) -> None:
        """Write the comments before ``position`` (all that are left: None): one at the end
        of the last token's line stays there; one on a line of its own gets a line, at
        ``indent``."""
        while position is None or self._comment_before(position):
            if self.next_comment >= len(self.comments):
                return
            comment = self.comments[self.next_comment]
            self.next_comment += 1
            if self.prev is not None and comment.line == self.prev.end_line and self.pieces:
                self.tail = comment.text
                self._end_line()
            else:
                self._end_line()
                if statement_level:
                    self._blank(comment.line)
                self.out.append(" " * indent + comment.text)
                self.fresh_body = False
            self.broken = True
            self.last_line = comment.line
