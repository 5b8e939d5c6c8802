"""The language server: pygls wiring between the protocol and the modules of :mod:`resdsl.lsp`.

    >>> server = make_server()
    >>> sorted(m for m in server.protocol.fm.features if m.startswith("textDocument/"))[:3]
    ['textDocument/codeAction', 'textDocument/completion', 'textDocument/definition']

``resdsl lsp`` calls :func:`serve`, which speaks the protocol over stdin and stdout until the
client says ``exit``. Document formatting is ``resdsl fmt``'s
(:mod:`resdsl.lsp.reformat`). Documents are synchronised whole (``TextDocumentSyncKind.Full``: a
spec is a few kilobytes, and nothing can drift). Each change re-checks the document and then
the open documents that read it (:class:`~resdsl.lsp.documents.Documents`) and publishes
each one's diagnostics as soon as it is checked: no debouncing, no threads, so the order of
what the client sees is the order of its edits.

NOTE: never dying. Whatever a person has typed half-way, the server answers: every handler
runs under :func:`_guarded`, which turns an exception (a bug in resdsl: the front end reports
bad input as diagnostics, not exceptions) into an empty answer and one ``window/logMessage``
of type Error saying where, and the server goes on. The tests sweep prefixes of every spec
and require that no such message is ever sent.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from resdsl import __version__
from resdsl.lsp.actions import code_actions
from resdsl.lsp.completion import completion
from resdsl.lsp.definition import definition
from resdsl.lsp.diagnostics import diagnostics
from resdsl.lsp.documents import Analysis, Documents, shown, uri
from resdsl.lsp.hover import hover
from resdsl.lsp.reformat import formatting_edits
from resdsl.lsp.symbols import symbols


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, less one leak: pygls 2.1 files the future of each notification it
    handles through a generator (didOpen, didChange, didClose: every edit) under a fresh id,
    and never removes it, so an editing session grew by about 1.8 KB an edit (17.6 MiB over
    10,000, benchmarks/lsp.py). The future is dropped once its handler is done."""

    def _check_handler_result(self, future) -> None:
        super()._check_handler_result(future)
        for done in [key for key, kept in self._request_futures.items() if kept is future]:
            del self._request_futures[done]


class ResdslServer(LanguageServer):
    """A pygls server holding the open documents and their analyses."""

    def __init__(self) -> None:
        super().__init__(
            "resdsl",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            protocol_cls=_Protocol,
        )
        self.documents = Documents()
        self.uris: dict[str, str] = {}  # path as checked -> the client's URI for it

    @property
    def encoding(self) -> str:
        """The position encoding agreed with the client (UTF-16 unless it offered another)."""
        agreed = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(agreed, "value", agreed)  # "utf-16", not "PositionEncodingKind.Utf16"

    def analysis(self, uri: str) -> Analysis | None:
        return self.documents.get(_path(uri))

    def publish(self, analyses: Iterable[Analysis]) -> None:
        """Send each analysis's diagnostics as soon as it is made."""
        for analysis in analyses:
            address = self.uris.get(analysis.path) or uri(analysis.path)
            found = diagnostics(analysis, self.encoding)
            params = types.PublishDiagnosticsParams(address, found, analysis.version)
            self.text_document_publish_diagnostics(params)

    def remember(self, address: str) -> str:
        """The path of the client's URI, which is kept to publish to."""
        path = _path(address)
        self.uris[shown(path)] = address
        return path


def _path(uri: str) -> str:
    return to_fs_path(uri) or uri


def _guarded(default: Any = None) -> Callable:
    """Run a handler; on an exception, log it to the client and answer ``default``."""

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def guarded(ls: ResdslServer, params):
            try:
                return handler(ls, params)
            except Exception as error:  # a bug in resdsl: said, not fatal
                where = "".join(traceback.format_exception(error)[-3:]).strip()
                message = f"resdsl lsp: internal error in {handler.__name__}: {where}"
                ls.window_log_message(types.LogMessageParams(types.MessageType.Error, message))
                if os.environ.get("RESDSL_DEBUG"):
                    traceback.print_exception(error, file=sys.stderr)
                return default() if callable(default) else default

        return guarded

    return wrap


def make_server() -> ResdslServer:
    """A server with every feature registered, not yet started."""
    server = ResdslServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_guarded()
    def did_open(ls: ResdslServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        path = ls.remember(document.uri)
        ls.publish(ls.documents.update(path, document.text, document.version))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded()
    def did_change(ls: ResdslServer, params: types.DidChangeTextDocumentParams) -> None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        path = ls.remember(params.text_document.uri)
        ls.publish(ls.documents.update(path, document.source, params.text_document.version))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_guarded()
    def did_close(ls: ResdslServer, params: types.DidCloseTextDocumentParams) -> None:
        address = params.text_document.uri
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(address, []))
        ls.publish(ls.documents.close(_path(address)))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_guarded()
    def on_hover(ls: ResdslServer, params: types.HoverParams) -> types.Hover | None:
        analysis = ls.analysis(params.text_document.uri)
        where = params.position
        return hover(analysis, where.line, where.character, ls.encoding) if analysis else None

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_guarded()
    def on_definition(ls: ResdslServer, params: types.DefinitionParams) -> types.Location | None:
        analysis = ls.analysis(params.text_document.uri)
        where = params.position
        return definition(analysis, where.line, where.character, ls.encoding) if analysis else None

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "="])
    )
    @_guarded(lambda: types.CompletionList(is_incomplete=False, items=[]))
    def on_completion(ls: ResdslServer, params: types.CompletionParams) -> types.CompletionList:
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return types.CompletionList(is_incomplete=False, items=[])
        where = params.position
        return completion(analysis, where.line, where.character, ls.encoding)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guarded(list)
    def on_symbols(ls: ResdslServer, params: types.DocumentSymbolParams):
        analysis = ls.analysis(params.text_document.uri)
        return symbols(analysis, ls.encoding) if analysis else []

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @_guarded(list)
    def on_code_action(ls: ResdslServer, params: types.CodeActionParams):
        analysis = ls.analysis(params.text_document.uri)
        if analysis is None:
            return []
        found = params.context.diagnostics
        return code_actions(analysis, params.text_document.uri, found, ls.encoding)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_guarded(list)
    def on_formatting(ls: ResdslServer, params: types.DocumentFormattingParams):
        analysis = ls.analysis(params.text_document.uri)
        return formatting_edits(analysis, ls.encoding) if analysis else []

    return server


def serve() -> None:
    """Speak the protocol over stdin and stdout until the client says ``exit``."""
    make_server().start_io()
