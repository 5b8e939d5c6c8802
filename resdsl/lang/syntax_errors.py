"""Syntax errors in the language's own words, every one of a file rather than only the first.

    >>> text = "network a { classes }\\nnetwork b { input 3x32x32 stage 2 x }\\n"
    >>> for d in syntax_errors(text, "f.res"):
    ...     print(d.span.line, d.span.column, d.message)
    1 21 unexpected '}'; expected a name, a number, '(' or '-'
    2 37 unexpected '}'; expected a name, a number, '(' or '-'

Called by :func:`resdsl.lang.parse.parse` once a file has failed to parse, so a file that parses
pays nothing for it. Each message says what was expected as the language names it ("a
name", "'}'"), never Lark's terminal names.

NOTE: recovery. After an error the parser does what rustc and clang do: it skips ahead to
the next statement and goes on. A statement starts with its keyword (``use``, ``network``,
``input``, ``classes``, ``block``, ``shortcut``, ``stem``, ``head``, ``stage``) or is closed by
``}``. Tokens up to the next such word are dropped, unreported; then the LALR stack is cut
back to the innermost state that can take that word (a ``stage`` after a broken stem line
goes back to the network's body, a ``network`` after an unclosed body to the top level) and
parsing goes on from there with Lark's interactive parser. A body statement after a ``{``
the parser never took (a broken network header) gets a body opened for it, so that the
body is checked too. An error on the very next token is an echo of the first (a ``}`` that
closed the wrong body) and is recovered from silently. The tokens are Lark's own, so every
span is where the parser found it. The cost is one more parse, paid only by a file with an
error. Errors beyond the shown ones (:data:`~resdsl.lang.limits.MAX_ERRORS_SHOWN`) are counted
but not described, which would cost a parse-state copy per expected word.
"""

from __future__ import annotations

from copy import copy

import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_analysis import Shift

from resdsl.diagnostics import Diagnostic, Span
from resdsl.lang.grammar import parser
from resdsl.lang.limits import MAX_ERRORS_SHOWN

# The words a statement starts with, and the brace that closes a body.
RESUME_AT = frozenset(
    {"use", "network", "input", "classes", "block", "shortcut", "stem", "head", "stage", "}"}
)
# Tokens after the one resumed at within which an error is taken for an echo of the one
# before (a `}` that closed the wrong body): recovered from, not reported. yacc waits for 3,
# which here would hide `block basic bottleneck` right after a broken stem.
QUIET_AFTER_RESUMING = 1


def syntax_errors(text: str, path: str) -> list[Diagnostic]:
    """Every syntax error of ``text``, in order; empty if it parses."""
    return _Recovery(text, path).run()


class _Recovery:
    """One parse of the text that reports an error and resumes at the next statement."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path = text, path
        self.found: list[Diagnostic] = []
        self.recovering = False
        self.quiet = 0  # tokens still to take after resuming before an error is reported
        self.skipped_brace = False  # a `{` was dropped since the last error
        self.interactive = parser().parse_interactive(text)
        self.state = self.interactive.parser_state
        # No tree is wanted: without callbacks, reductions keep plain lists, cheaply.
        conf = copy(self.state.parse_conf)
        conf.callbacks = {}
        self.state.parse_conf = conf
        self.keywords = {
            t.pattern.value: t.name
            for t in parser().terminals
            if isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value in RESUME_AT
        }
        self.resumable: dict[str, int | None] = {}  # keyword -> states to drop; per recovery
        self.body = {self.keywords[w] for w in RESUME_AT - {"use", "network", "}"}}

    def run(self) -> list[Diagnostic]:
        last = None
        for token in self._tokens():
            last = token
            if self.recovering:
                self._resume(token)
                continue
            try:
                self.state.feed_token(token)
                self.quiet = max(self.quiet - 1, 0)
            except UnexpectedToken as error:
                self._fail(error)
                self._resume(token)  # `stage` after a broken line starts the next statement
        if not self.recovering:  # ran out of text mid-recovery: nothing more to say
            end = Token.new_borrow_pos("$END", "", last) if last else Token("$END", "", 0, 1, 1)
            try:
                self.state.feed_token(end, True)
            except UnexpectedToken as error:
                self._fail(error)
        return self.found

    def _tokens(self):
        """The tokens of the text; lexing goes on after a character no token starts with, and
        after a token the lexer knows but not here (Lark's contextual lexer raises those)."""
        lexer = self.interactive.lexer_thread
        while True:
            try:
                yield from lexer.lex(self.state)
                return
            except UnexpectedCharacters as error:
                self._fail(error)
                at = lexer.state.line_ctr.char_pos  # still on the character: step over it
                lexer.state.line_ctr.feed(self.text[at : at + 1])
            except UnexpectedToken as error:  # the token is consumed: resume from it
                self._fail(error)
                self._resume(error.token)

    def _fail(self, error: UnexpectedInput) -> None:
        """Report ``error`` (unless it follows another before the parser resumed)."""
        if not self.recovering and not self.quiet:
            error.interactive_parser = self.interactive  # what Lark's own parse() sets
            if len(self.found) < MAX_ERRORS_SHOWN:
                self.found.append(describe(error, self.path, self.text))
            else:  # counted, not described
                line, column = getattr(error, "line", 1), getattr(error, "column", 1)
                span = Span(self.path, line, column, line, column + 1)
                self.found.append(Diagnostic(span, "syntax error"))
        if not self.recovering:  # a new recovery (the lexer fails on skipped text as well)
            self.recovering = True
            self.resumable = {}
            self.skipped_brace = False

    def _resume(self, token: Token) -> None:
        """Drop ``token``, unless it starts a statement that some state on the stack takes:
        then cut the stack back to that state, feed it and parse on."""
        kind = self.keywords.get(str(token))
        if kind is None:
            self.skipped_brace = self.skipped_brace or str(token) == "{"
            return
        if kind not in self.resumable:
            self.resumable[kind] = self._depth_taking(kind)
        drop = self.resumable[kind]
        opens = self.skipped_brace and kind in self.body
        if drop is None and opens and self._depth_taking("NETWORK") is not None:
            # A body statement after a `{` the parser never took (the network's header was
            # broken): open a body, so that its statements are checked all the same.
            self._cut(self._depth_taking("NETWORK"))
            for opener, text in (("NETWORK", "network"), ("NAME", "_"), ("LBRACE", "{")):
                self.state.feed_token(Token.new_borrow_pos(opener, text, token))
            drop = 0
        if drop is None:
            return
        self._cut(drop)
        self.state.feed_token(Token.new_borrow_pos(kind, str(token), token))
        self.recovering = False
        self.quiet = QUIET_AFTER_RESUMING

    def _cut(self, drop: int) -> None:
        if drop:
            del self.state.state_stack[-drop:]
            del self.state.value_stack[-drop:]

    def _depth_taking(self, kind: str) -> int | None:
        """How many states to drop from the stack so that its top shifts ``kind``; None if
        no state on it does."""
        stack = self.state.state_stack
        for drop in range(len(stack)):
            if self._shifts(stack, len(stack) - drop, kind):
                return drop
        return None

    def _shifts(self, stack: list, top: int, kind: str) -> bool:
        """Whether the stack ``stack[:top]`` shifts ``kind`` after the reductions it causes,
        simulated without copying the stack."""
        states = self.state.parse_conf.states
        pushed: list = []
        while True:
            action = states[pushed[-1] if pushed else stack[top - 1]].get(kind)
            if action is None:
                return False
            what, rule = action
            if what is Shift:
                return True
            size = len(rule.expansion)
            kept = max(len(pushed) - size, 0)
            top -= size - (len(pushed) - kept)
            del pushed[kept:]
            if top < 1:
                return False
            goto = states[pushed[-1] if pushed else stack[top - 1]].get(rule.origin.name)
            if goto is None:
                return False
            pushed.append(goto[1])


# --- in the language's words -----------------------------------------------------------------

_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "DIMS": "a size such as 3x3",
    "DECIMAL": "a probability such as 0.3",
    "STRING": 'a file name in double quotes ("cifar.res")',
    "$END": "the end of the file",
    "MERGE": "a merge (add, multiply, concat)",
    "PLACE": "'after' or 'before'",
    "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
    "FUNCTION": "a function (max, min, log2)",
}


def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        pattern = parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"'{pattern.value}'" if isinstance(pattern, lark.lexer.PatternStr) else name.lower()


def _expected(names: set[str] | frozenset[str]) -> str:
    words = sorted({_describe_terminal(n) for n in names}, key=lambda w: (w.startswith("'"), w))
    if not words:
        return ""
    if len(words) == 1:
        return f"; expected {words[0]}"
    return f"; expected {', '.join(words[:-1])} or {words[-1]}"


def describe(error: UnexpectedInput, path: str, text: str) -> Diagnostic:
    """One Lark error as a located diagnostic in the language's words."""
    if isinstance(error, UnexpectedToken) and error.token.type == "$END":
        line, column = _end_position(text)
        message = "unexpected end of file" + _expected(error.accepts or error.expected)
        return Diagnostic(Span(path, line, column, line, column + 1), message)
    if isinstance(error, lark.exceptions.UnexpectedEOF):
        line, column = _end_position(text)
        return Diagnostic(
            Span(path, line, column, line, column + 1),
            "unexpected end of file" + _expected(error.expected),
        )
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        shown = repr(char) if char.isprintable() and char != "'" else f"U+{ord(char):04X}"
        allowed = error.allowed or set()
        message = f"unexpected character {shown}" + _expected(allowed)
        return Diagnostic(
            Span(path, error.line, error.column, error.line, error.column + 1), message
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = error.accepts or error.expected
    message = f"unexpected {_show_token(token)}" + _expected(expected)
    end_column = token.end_column if token.end_line == token.line else token.column + 1
    return Diagnostic(Span(path, token.line, token.column, token.line, end_column), message)


def _show_token(token: Token) -> str:
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"'{text}'"


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just past the last non-blank character: where the file ran out."""
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    return line, len(stripped) - (stripped.rfind("\n") + 1) + 1
