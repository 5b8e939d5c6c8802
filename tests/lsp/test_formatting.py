"""``textDocument/formatting`` over stdio (pytest-lsp): the document as ``resdsl fmt`` lays it
out, as one edit of the whole text; no edit for a canonical document or one that does not
parse."""

from __future__ import annotations

import pytest
from lsprotocol import types

from resdsl.formatting import format_text
from resdsl.lsp.server import make_server
from tests.conftest import ROOT
from tests.lsp.session import ask, doc, open_file

pytestmark = pytest.mark.asyncio

MESSY = """\
# a family, written in a hurry
network tiny(n){input 3x32x32   classes 10  # CIFAR-10
stem{conv 3x3,16}
  block basic shortcut A
stage n x 16
stage n x 32 ,stride 2
head{avgpool fc}}

network tiny20=tiny( n = 3 )
"""

CANONICAL = """\
# a family, written in a hurry
network tiny(n) {
    input 3x32x32
    classes 10  # CIFAR-10
    stem {
        conv 3x3, 16
    }
    block basic
    shortcut A
    stage n x 16
    stage n x 32, stride 2
    head {
        avgpool
        fc
    }
}

network tiny20 = tiny(n=3)
"""


def _formatting(uri: str) -> types.DocumentFormattingParams:
    return types.DocumentFormattingParams(doc(uri), types.FormattingOptions(2, False))


async def test_a_canonical_document_gets_no_edit(client):
    assert types.TEXT_DOCUMENT_FORMATTING in make_server().protocol.fm.features
    uri = await open_file(client, ROOT / "specs" / "resnet34.res")
    assert not await ask(client.text_document_formatting_async(_formatting(uri)))


async def test_formatting_a_document_is_one_edit_giving_resdsl_fmt_s_text(client):
    spec = ROOT / "specs" / "unsaved_formatting.res"
    uri = await open_file(client, spec, MESSY)
    (edit,) = await ask(client.text_document_formatting_async(_formatting(uri)))
    assert edit.new_text == CANONICAL == format_text(MESSY, "specs/unsaved_formatting.res")
    lines = MESSY.split("\n")
    whole = types.Range(types.Position(0, 0), types.Position(len(lines) - 1, len(lines[-1])))
    assert edit.range == whole  # the editor's options (2 spaces) are not the layout's


async def test_a_document_that_does_not_parse_gets_no_edit_and_no_error(client):
    uri = await open_file(client, ROOT / "specs" / "unsaved_broken.res", "network n { input }\n")
    assert client.diagnostics[uri]  # its syntax error, published as ever
    assert not await ask(client.text_document_formatting_async(_formatting(uri)))
