"""Code actions: where a diagnostic says "did you mean X?", replace the word it points at with X.

    >>> from lsprotocol import types
    >>> from resdsl.lsp.documents import Documents
    >>> text = open("tests/golden/errors/unknown_block.res").read()
    >>> (analysis,) = Documents().update("tests/golden/errors/unknown_block.res", text)
    >>> from resdsl.lsp.diagnostics import diagnostics
    >>> (action,) = code_actions(analysis, "file:///u.res", diagnostics(analysis))
    >>> action.title, action.edit.changes["file:///u.res"][0].new_text
    ('Replace basik with basic', 'basic')

The front end's messages already name the fix (``unknown block basik; expected basic, ...;
did you mean basic?``); the action is offered only where it is the one obvious edit: the
diagnostic spans one name on one line, that name is in the message, and the replacement is
a name too. A diagnostic put on a ``use`` line for a problem in another file gets none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from resdsl.lsp.diagnostics import SOURCE
from resdsl.lsp.documents import Analysis

# "...; did you mean basic?", maybe followed by " (in resnet20, with n=3)".
_HINT = re.compile(r"; did you mean ([A-Za-z_][A-Za-z0-9_]*)\?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def code_actions(
    analysis: Analysis, uri: str, diagnostics: Sequence[types.Diagnostic], encoding: str = "utf-16"
) -> list[types.CodeAction]:
    """A quick fix for each of ``diagnostics`` (those the editor sends for a range) that
    has one."""
    actions: dict[tuple, types.CodeAction] = {}  # one per edit: a family's error repeats
    for diagnostic in diagnostics:
        if diagnostic.source not in (None, SOURCE):
            continue
        hint = _HINT.search(diagnostic.message)
        where = diagnostic.range
        if hint is None or where.start.line != where.end.line:
            continue
        line = analysis.text.line(where.start.line)
        start = analysis.text.column(where.start.line, where.start.character, encoding)
        end = analysis.text.column(where.end.line, where.end.character, encoding)
        written = line[start:end]
        if not _NAME.fullmatch(written) or not re.search(rf"\b{written}\b", diagnostic.message):
            continue
        replacement = hint.group(1)
        edit = types.TextEdit(range=where, new_text=replacement)
        same = (where.start.line, where.start.character, where.end.character, replacement)
        if same in actions:
            actions[same].diagnostics.append(diagnostic)  # type: ignore[union-attr]
            continue
        actions[same] = types.CodeAction(
            title=f"Replace {written} with {replacement}",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
            is_preferred=True,
        )
    return list(actions.values())
