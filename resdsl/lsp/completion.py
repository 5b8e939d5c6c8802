"""Completion: the keywords the parser takes at the cursor, and the names that fit there.

    >>> from resdsl.lsp.documents import Documents
    >>> (analysis,) = Documents().update("specs/n.res", "network n {\\n    block \\n}\\n")
    >>> [item.label for item in completion(analysis, 1, 10).items]
    ['basic', 'bottleneck', 'preact', 'preact_bottleneck']
    >>> [item.label for item in completion(analysis, 1, 4).items]
    ['block', 'classes', 'head', 'input', 'modules', 'shortcut', 'stage', 'stem']

Which keywords fit is the grammar's answer: the text before the cursor (less the word being
typed) goes through Lark's interactive parser, which says which terminals it would take next
(:meth:`lark.parsers.lalr_interactive_parser.InteractiveParser.accepts`), and each keyword
terminal among them is offered. A keyword added to ``grammars/res.lark`` is offered where
the grammar takes it without a change here. Where the parser takes a name, the name that
fits is offered: a block kind after ``block``, a shortcut option after ``shortcut``, a named
stem after ``stem``, a layer at the start of a line of a stem or head, a network after
``network NAME =``, and the ``.res`` files beside the document after ``use``.

If the text before the cursor does not parse (a mistake further up, or a line left half
written), the parse starts again at the last top-level ``network`` or ``use`` before the
cursor, then at the one before that, then on the cursor's line alone behind the openers of
the braces around it (``network _ {``, ``stem {``); if all of those fail, the keywords that
start a statement are offered, so the answer is never empty-handed.
"""

from __future__ import annotations

import re
from pathlib import Path

from lark import Token
from lark.exceptions import LarkError
from lark.lexer import PatternStr
from lsprotocol import types

from resdsl.keywords import keywords, statement_keywords, vocabulary
from resdsl.lang.grammar import parser
from resdsl.lsp.documents import Analysis

# A definition's first line: `block NAME(params) {`, `block NAME as Class = base ...`; one whose
# parameters name out_planes is a shortcut's, which a network does not name.
_DEFINES = re.compile(r"block\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?=[({=]|as\b)(?![^)]*\bout_planes\b)")
_TYPING = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*$")
_TOP_LEVEL = re.compile(r"^(?:network|use)\b", re.M)
_KIND = types.CompletionItemKind


def completion(
    analysis: Analysis, line: int, character: int, encoding: str = "utf-16"
) -> types.CompletionList:
    """What may be written at the editor's (0-based) ``line`` and ``character``."""
    column = analysis.text.column(line, character, encoding)
    before = analysis.text.line(line)[:column]
    if _in_comment_or_string(before):
        return _files(analysis) if re.search(r'\buse\s+"[^"]*$', before) else _listed([])
    typing = _TYPING.search(before)
    start = column - (len(typing.group()) if typing else 0)
    text = analysis.text.prefix(line, start)
    state = _parse(text)
    if state is None:
        return _listed([_item(word, _KIND.Keyword) for word in statement_keywords()])
    accepts, tokens, owners = state
    items = [_item(word, _KIND.Keyword) for word in _keywords(accepts)]
    if "NAME" in accepts:
        items += _names(analysis, tokens, owners)
    if "STRING" in accepts and tokens and tokens[-1].type == "USE":
        items += _files(analysis, quoted=True).items
    return _listed(items)


def _parse(text: str):
    """(terminals acceptable next, the tokens read, the owner of each open brace), or None."""
    tops = [m.start() for m in _TOP_LEVEL.finditer(text)]
    attempts = [text, *(text[start:] for start in reversed(tops[-2:])), _enclosing(text)]
    for attempt in attempts:  # at most four parses
        try:
            interactive = parser().parse_interactive(attempt)
            tokens: list[Token] = []
            owners: list[str] = []  # STEM, HEAD or NAME (a network's body), innermost last
            for token in interactive.iter_parse():
                if token.type == "LBRACE":
                    owners.append(tokens[-1].type if tokens else "")
                elif token.type == "RBRACE" and owners:
                    owners.pop()
                tokens.append(token)
            return interactive.accepts(), tokens, owners
        except (LarkError, RecursionError):
            continue
    return None


_LEXEME = re.compile(r'#[^\n]*|"[^"\n]*"?|[A-Za-z_][A-Za-z0-9_]*|\S')
_OPENERS = {"stem": "stem {\n", "head": "head {\n"}


def _enclosing(text: str) -> str:
    """The cursor's line behind the openers of the braces around it (``network _ {``,
    ``stem {``), as read without the parser: what the parser can take where the text before
    the line does not parse."""
    before, _, line = text.rpartition("\n")
    opened: list[str] = []
    previous = ""
    for lexeme in _LEXEME.findall(before):
        if lexeme == "{":
            opened.append(_OPENERS.get(previous, "network _ {\n"))
        elif lexeme == "}" and opened:
            opened.pop()
        if not lexeme.startswith("#"):
            previous = lexeme
    if opened and opened[0] != "network _ {\n":
        opened.insert(0, "network _ {\n")
    return "".join(opened) + line


def _keywords(accepts) -> list[str]:
    words = set(keywords())
    found = set()
    for name in accepts:
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            continue
        if isinstance(pattern, PatternStr) and pattern.value in words:
            found.add(pattern.value)
    return sorted(found)


def _names(
    analysis: Analysis, tokens: list[Token], owners: list[str]
) -> list[types.CompletionItem]:
    """The names that fit where the parser takes a name, from the token before it."""
    words = vocabulary()
    last = tokens[-1].type if tokens else ""
    if last == "BLOCK":
        # The spec's own definitions after the prelude's: the program's (its used files'
        # too) once it parses, else what the document's `block NAME ...` lines say.
        items = analysis.checked.program.block_items
        written = (m.group(1) for line in analysis.text.lines if (m := _DEFINES.match(line)))
        own = [
            name
            for name in dict.fromkeys([*items, *written])
            if name not in words.blocks and not (name in items and _projects(items[name]))
        ]
        return [
            *(_item(w, _KIND.EnumMember, "block kind") for w in words.blocks),
            *(_item(w, _KIND.Class, "block defined in the spec") for w in own),
        ]
    if last == "SHORTCUT":
        return [_item(w, _KIND.EnumMember, "shortcut option") for w in words.shortcuts]
    if last == "STEM":
        return [_item(w, _KIND.EnumMember, "named stem") for w in words.stems]
    if last == "EQUAL" and len(tokens) >= 3 and tokens[-3].type == "NETWORK":
        defining = str(tokens[-2])
        return [
            _item(name, _KIND.Class, "network")
            for name in sorted(analysis.names)
            if name != defining
        ]
    starts_layer = last in ("LBRACE", "INT", "DIMS", "NAME", "RPAR")
    if owners and owners[-1] in ("STEM", "HEAD") and starts_layer:
        layers = words.stem_layers if owners[-1] == "STEM" else words.head_layers
        return [_item(w, _KIND.Function, f"{owners[-1].lower()} layer") for w in layers]
    return []


def _projects(item) -> bool:
    """Whether a block definition is a shortcut's (its parameters name ``out_planes``)."""
    return any(p.name.text == "out_planes" for p in getattr(item, "params", ()))


def _files(analysis: Analysis, quoted: bool = False) -> types.CompletionList:
    """The ``.res`` files beside the document (not the document itself)."""
    folder = Path(analysis.path).parent
    try:
        names = sorted(p.name for p in folder.glob("*.res") if p.name != Path(analysis.path).name)
    except OSError:
        names = []
    return _listed(
        [
            _item(name, _KIND.File, "file", insert=f'"{name}"' if quoted else None)
            for name in names[:200]
        ]
    )


def _in_comment_or_string(before: str) -> bool:
    """Whether the cursor, after ``before`` on its line, is in a comment or a string."""
    inside = False
    for char in before:
        if char == '"':
            inside = not inside
        elif char == "#" and not inside:
            return True
    return inside


def _item(label: str, kind, detail: str | None = None, insert: str | None = None):
    return types.CompletionItem(label=label, kind=kind, detail=detail, insert_text=insert)


def _listed(items: list[types.CompletionItem]) -> types.CompletionList:
    return types.CompletionList(is_incomplete=False, items=items)
