"""What a test does as an editor: open, edit and ask, waiting for the server's answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

# Long enough for a loaded machine, short enough that a hang fails the test rather than CI.
PATIENCE = 60.0


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def at(line: int, character: int) -> types.Position:
    return types.Position(line, character)


async def published(client: LanguageClient, *uris: str) -> dict[str, list[types.Diagnostic]]:
    """Wait until diagnostics for every one of ``uris`` have come (since they were cleared)."""

    async def each() -> None:
        while not all(uri in client.diagnostics for uri in uris):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(each(), PATIENCE)
    return {uri: list(client.diagnostics[uri]) for uri in uris}


def forget(client: LanguageClient, *uris: str) -> None:
    for uri in uris:
        client.diagnostics.pop(uri, None)


async def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    """Open ``path`` (with ``text``, unsaved, if given) and wait for its diagnostics."""
    uri = path.resolve().as_uri()
    forget(client, uri)
    source = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "res", 1, source))
    )
    await published(client, uri)
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Send the whole new text, as a client of a server that asks for full sync does."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def ask(request) -> object:
    """A request's answer, or a failed test if none comes."""
    return await asyncio.wait_for(request, PATIENCE)


def errors_logged(client: LanguageClient) -> list[str]:
    """What the server reported as its own failures (it reports none for any input)."""
    return [m.message for m in client.log_messages if m.type == types.MessageType.Error]
