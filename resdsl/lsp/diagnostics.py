"""A document's diagnostics as the editor shows them: ``resdsl check``'s, located in the document.

    >>> from resdsl.lsp.documents import Documents
    >>> text = 'use "missing.res"\\nnetwork n { classes 10 }\\n'
    >>> (analysis,) = Documents().update("specs/n.res", text)
    >>> for d in diagnostics(analysis):
    ...     print(d.range, d.message)
    0:4-0:17 no such file: specs/missing.res

Each diagnostic of the document itself keeps its message and span, so the editor underlines
what ``resdsl check`` points its caret at. A problem in a file the document uses (directly or
through others) is put on the document's ``use`` line that led to it, its message prefixed
with where it is, as ``resdsl check`` would print it (``specs/cifar.res:9:11: unknown block
basik; ...``), and the place itself attached as related information, which the editor links to.
"""

from __future__ import annotations

from lsprotocol import types

from resdsl.diagnostics import Diagnostic, Span
from resdsl.lsp.documents import Analysis, key, shown, uri
from resdsl.lsp.text import Text

SOURCE = "resdsl"
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}


def diagnostics(analysis: Analysis, encoding: str = "utf-16") -> list[types.Diagnostic]:
    """Every diagnostic of the document's check, in the order ``resdsl check`` prints them."""
    own = key(analysis.path)
    found = []
    for problem in analysis.checked.diagnostics:
        if key(problem.span.file) == own:
            found.append(_located(problem, analysis.text.range(problem.span, encoding)))
        else:
            found.append(_elsewhere(analysis, problem, encoding))
    return found


def _located(problem: Diagnostic, where: types.Range, message: str | None = None):
    return types.Diagnostic(
        range=where,
        message=message or problem.message,
        severity=SEVERITY.get(problem.severity, types.DiagnosticSeverity.Error),
        source=SOURCE,
    )


def _elsewhere(analysis: Analysis, problem: Diagnostic, encoding: str) -> types.Diagnostic:
    """A problem of a used file, on the ``use`` of this document that reads that file."""
    use = analysis.via(problem.span.file)
    span = use.span if use is not None else Span(analysis.path, 1, 1, 1, 1)
    message = f"{shown(problem.span.file)}:{problem.span.line}:{problem.span.column}: "
    diagnostic = _located(problem, analysis.text.range(span, encoding), message + problem.message)
    source = analysis.checked.sources.get(problem.span.file)
    if source is not None:
        place = types.Location(
            uri(problem.span.file), Text.of(source).range(problem.span, encoding)
        )
        info = types.DiagnosticRelatedInformation(place, problem.message)
        diagnostic.related_information = [info]
    return diagnostic
