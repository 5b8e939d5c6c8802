"""Half-typed text: prefixes of every bundled and golden spec, sent as edits, each answered
(diagnostics, hover, completion, formatting over stdio, and the rest) with no crash, hang or
logged traceback.

A sample of prefixes goes through the real server over stdio (a few seconds); every prefix of
every spec goes through the same handlers in process (marked slow: about a minute).
"""

from __future__ import annotations

import random

import pytest
from lsprotocol import types

from resdsl.lsp.actions import code_actions
from resdsl.lsp.completion import completion
from resdsl.lsp.definition import definition
from resdsl.lsp.diagnostics import diagnostics
from resdsl.lsp.documents import Documents
from resdsl.lsp.hover import hover
from resdsl.lsp.symbols import symbols
from tests.conftest import GOLDEN, ROOT, SPECS
from tests.lsp.session import ask, at, change, doc, errors_logged, forget, open_file, published

EVERY_SPEC = [*SPECS, *sorted(GOLDEN.rglob("*.res"))]
PER_FILE = 4  # prefixes of each spec sent over stdio


def _text(spec) -> str:
    return spec.read_text(encoding="utf-8", errors="replace")


def _end(text: str) -> tuple[int, int]:
    """The editor's position (UTF-16) at the end of ``text``."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2


@pytest.mark.asyncio
async def test_sampled_prefixes_over_stdio_are_all_answered(client):
    chooser = random.Random(0)
    sent = 0
    for spec in EVERY_SPEC:
        text = _text(spec)
        uri = await open_file(client, spec, "")
        cuts = sorted({len(text) // 2, *chooser.sample(range(len(text) + 1), PER_FILE - 1)})
        for version, cut in enumerate(cuts, start=2):
            prefix = text[:cut]
            forget(client, uri)
            change(client, uri, version, prefix)
            found = (await published(client, uri))[uri]
            assert all(isinstance(d, types.Diagnostic) for d in found)
            line, character = _end(prefix)
            here = types.TextDocumentPositionParams(doc(uri), at(line, character))
            await ask(client.text_document_hover_async(types.HoverParams(**_fields(here))))
            offered = await ask(
                client.text_document_completion_async(types.CompletionParams(**_fields(here)))
            )
            assert offered is not None
            await ask(
                client.text_document_definition_async(types.DefinitionParams(**_fields(here)))
            )
            options = types.FormattingOptions(4, True)
            formatting = types.DocumentFormattingParams(doc(uri), options)
            await ask(client.text_document_formatting_async(formatting))
            sent += 1
        client.text_document_did_close(types.DidCloseTextDocumentParams(doc(uri)))
    assert sent >= len(EVERY_SPEC) * 2
    assert errors_logged(client) == []


def _fields(params: types.TextDocumentPositionParams) -> dict:
    return {"text_document": params.text_document, "position": params.position}


@pytest.mark.slow
@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_prefix_in_process_is_answered(spec):
    text = _text(spec)
    documents = Documents()
    for cut in range(len(text) + 1):
        prefix = text[:cut]
        try:
            analysis, *_ = documents.update(str(spec), prefix, cut)
            found = diagnostics(analysis)
            line, character = _end(prefix)
            hover(analysis, line, character)
            hover(analysis, line // 2, character // 2)
            assert isinstance(completion(analysis, line, character), types.CompletionList)
            definition(analysis, line, max(character - 1, 0))
            symbols(analysis)
            code_actions(analysis, spec.as_uri(), found)
        except Exception as error:
            raise AssertionError(f"{spec.name}, the first {cut} characters: {error!r}") from error
