"""Document formatting (``textDocument/formatting``): the document as ``resdsl fmt`` lays it out.

    >>> from resdsl.lsp.documents import Documents
    >>> (analysis,) = Documents().update("n.res", "network n{input 3x32x32 classes 10}")
    >>> (edit,) = formatting_edits(analysis)
    >>> edit.range, edit.new_text
    (0:0-0:35, 'network n {\\n    input 3x32x32\\n    classes 10\\n}\\n')

One edit replaces the whole text with :func:`resdsl.formatting.format_text`'s, meaning check
included; none where the text is already canonical, or while it does not parse (its
diagnostics say why). The client's options (tab size, spaces) are not asked: the layout is
the one ``resdsl fmt`` writes, whoever formats the file. A layout that would change the
document's meaning raises, and the server logs it as the bug it is and answers no edits.
"""

from __future__ import annotations

from lsprotocol import types

from resdsl.formatting import format_text
from resdsl.lsp.documents import Analysis


def formatting_edits(analysis: Analysis, encoding: str = "utf-16") -> list[types.TextEdit]:
    """The edits that lay the document out canonically: one, or none."""
    text = analysis.text
    if analysis.tree is None:
        return []
    formatted = format_text(text.source, analysis.path)
    if formatted == text.source:
        return []
    last = len(text.lines) - 1
    end = text.position(last, len(text.line(last)), encoding)
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]
