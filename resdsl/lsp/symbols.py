"""The outline of a document: each network (family, derivation) with its stem, stages and head.

    >>> from resdsl.lsp.documents import Documents
    >>> (analysis,) = Documents().update("specs/resnet18.res", open("specs/resnet18.res").read())
    >>> (network,) = symbols(analysis)
    >>> network.name, [child.name for child in network.children][:3]
    ('resnet18', ['stem', 'stage conv2_x', 'stage conv3_x'])

Read from the syntax tree of the document, so it is there whether or not the networks
check, and empty while the document does not parse (the editor keeps the last outline).
An item of a kind this module does not know (a definition the language gains) is listed by
its name all the same: any top-level item with a ``name`` is a symbol.
"""

from __future__ import annotations

from lsprotocol import types

from resdsl.diagnostics import Span
from resdsl.lang import syntax as s
from resdsl.lsp.documents import Analysis
from resdsl.lsp.text import Text

_KIND = types.SymbolKind


def symbols(analysis: Analysis, encoding: str = "utf-16") -> list[types.DocumentSymbol]:
    """The document's networks, in the order written."""
    tree = analysis.tree
    if tree is None:
        return []
    named = [item for item in tree.items if isinstance(getattr(item, "name", None), s.Name)]
    starts = [item.span for item in tree.items]
    found = []
    for item in named:
        following = [span for span in starts if (span.line, span.column) > _at(item.span)]
        end = _end_before(analysis.text, following[0] if following else None)
        whole = _range(analysis.text, item.span, end, encoding)
        children = _children(analysis.text, _statements(item), encoding)
        found.append(
            types.DocumentSymbol(
                name=item.name.text,
                detail=_detail(analysis.text, item),
                kind=_KIND.Class if isinstance(item, s.Network | s.Derivation) else _KIND.Struct,
                range=whole,
                selection_range=analysis.text.range(item.name.span, encoding),
                children=children,
            )
        )
    return found


def _statements(item) -> tuple:
    return (*getattr(item, "body", ()), *getattr(item, "overrides", ()))


def _children(text: Text, statements, encoding: str) -> list[types.DocumentSymbol]:
    """The stem, stages and head among a body's statements; an unlabelled stage goes by its
    module's name (``layer2``), as ``resdsl stats`` calls it."""
    found, stages = [], 0
    for statement in statements:
        stages += isinstance(statement, s.Stage)
        child = _child(text, statement, stages, encoding)
        if child is not None:
            found.append(child)
    return found


def _child(text: Text, statement, index: int, encoding: str) -> types.DocumentSymbol | None:
    span = statement.span
    if isinstance(statement, s.Stage):
        label = statement.label.text if statement.label else None
        name = f"stage {label or f'layer{index}'}"
        line = _code(text.line(span.line - 1))
        end = (span.line - 1, len(line))
        detail = line.strip()[len("stage") :].strip()
        if label:
            detail = detail[len(label) + 1 :].strip()
        return _symbol(text, name, detail, _KIND.Field, span, end, encoding)
    if isinstance(statement, s.Section):
        if statement.preset is not None:
            end = (statement.preset.span.end_line - 1, statement.preset.span.end_column - 1)
            detail = statement.preset.text
        else:
            end = _closing(text, span.line - 1, span.column - 1)
            detail = f"{len(statement.layers)} layer{'s' * (len(statement.layers) != 1)}"
        return _symbol(text, statement.kind, detail, _KIND.Namespace, span, end, encoding)
    return None


def _symbol(text: Text, name, detail, kind, span: Span, end, encoding) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=name,
        detail=detail,
        kind=kind,
        range=_range(text, span, end, encoding),
        selection_range=text.range(span, encoding),
    )


def _detail(text: Text, item) -> str:
    if isinstance(item, s.Network):
        params = ", ".join(p.text for p in item.params)
        return f"family ({params})" if params else "network"
    if isinstance(item, s.Derivation):
        line = _code(text.line(item.name.span.line - 1))
        return line[line.find("=") + 1 :].strip() if "=" in line else f"= {item.base.text}"
    return type(item).__name__.lower()


def _range(text: Text, span: Span, end: tuple[int, int], encoding: str) -> types.Range:
    start = text.position(span.line - 1, span.column - 1, encoding)
    stop = text.position(*end, encoding)
    if (stop.line, stop.character) < (start.line, start.character):
        stop = text.position(span.end_line - 1, span.end_column - 1, encoding)
    return types.Range(start, stop)


def _at(span: Span) -> tuple[int, int]:
    return span.line, span.column


def _end_before(text: Text, following: Span | None) -> tuple[int, int]:
    """(line, column), from 0, just past the last code before ``following`` (or the end)."""
    last = (following.line - 2) if following else len(text.lines) - 1
    for line in range(last, -1, -1):
        code = _code(text.line(line)).rstrip()
        if code:
            return line, len(code)
    return 0, 0


def _closing(text: Text, line: int, column: int) -> tuple[int, int]:
    """Just past the ``}`` that closes the first ``{`` from (line, column), from 0; the end
    of the text if it is never closed. Comments and strings are skipped."""
    depth = 0
    for number in range(line, len(text.lines)):
        code = _code(text.line(number))
        for index in range(column if number == line else 0, len(code)):
            char = code[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return number, index + 1
    return _end_before(text, None)


def _code(line: str) -> str:
    """A line without its comment (a ``#`` outside a string starts one)."""
    inside = False
    for index, char in enumerate(line):
        if char == '"':
            inside = not inside
        elif char == "#" and not inside:
            return line[:index]
    return line
