"""A real client for the language server: pytest-lsp starts ``resdsl lsp`` as a subprocess and
speaks the protocol to it over stdio, as an editor does."""

from __future__ import annotations

import sys

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import ROOT
from tests.lsp.session import errors_logged

# The server runs from the repository root, as an editor opened on it would start it, so that
# its messages name files as `resdsl check` run there does.
SERVER = [
    sys.executable,
    "-c",
    f"import os, sys; os.chdir({str(ROOT)!r}); sys.argv = ['resdsl', 'lsp', '--stdio']; "
    "from resdsl.cli import main; main()",
]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri(), process_id=None
    )
    await lsp_client.initialize_session(params)
    yield
    assert errors_logged(lsp_client) == []
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def utf8_client(lsp_client: LanguageClient):
    """A client that counts columns in UTF-8 bytes, as some editors (Neovim, Helix) offer."""
    general = types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf8])
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(general=general),
        root_uri=ROOT.as_uri(),
        process_id=None,
    )
    result = await lsp_client.initialize_session(params)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    yield
    assert errors_logged(lsp_client) == []
    await lsp_client.shutdown_session()
