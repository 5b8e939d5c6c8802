"""``resdsl lsp`` driven over stdio by a real client (pytest-lsp): open, edit, diagnostics,
hover, definition, completion, symbols, code actions, shutdown."""

from __future__ import annotations

import re

import pytest
from lsprotocol import types

from resdsl.keywords import keywords, statement_keywords
from tests.conftest import GOLDEN, ROOT
from tests.lsp.session import ask, at, change, doc, forget, open_file, published

pytestmark = pytest.mark.asyncio

CIFAR, R1202 = ROOT / "specs" / "cifar.res", ROOT / "specs" / "resnet1202.res"
# The one golden file that is not text: an editor cannot send it.
NOT_TEXT = {"not_utf8.res"}
_HEADER = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+): error: (?P<message>.*)$")


async def test_every_golden_error_is_published_as_resdsl_check_reports_it(client):
    """Each golden wrong spec's diagnostics: the same message at the same line and column as
    its .expected report (what `resdsl check` prints), in the same order."""
    compared = 0
    for case in sorted((GOLDEN / "errors").glob("*.res")):
        if case.name in NOT_TEXT:
            continue
        uri = await open_file(client, case)
        found = client.diagnostics[uri]
        relative = case.relative_to(ROOT).as_posix()
        shown = [
            f"{relative}:{d.range.start.line + 1}:{d.range.start.character + 1}: error: {d.message}"
            for d in found
        ]
        expected = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
        headers = [line for line in expected if _HEADER.match(line)]
        assert shown[: len(headers)] == headers, case.name
        assert all(d.severity == types.DiagnosticSeverity.Error for d in found)
        compared += len(headers)
    assert compared > 60


async def test_an_edit_of_a_used_file_recheck_its_user_before_saving(client):
    cifar = await open_file(client, CIFAR)
    r1202 = await open_file(client, R1202)
    assert not client.diagnostics[r1202] and not client.diagnostics[cifar]
    broken = CIFAR.read_text().replace("block basic", "block basik")
    forget(client, cifar, r1202)
    change(client, cifar, 2, broken)
    got = await published(client, cifar, r1202)
    # The family's error, once for each network derived from it in cifar.res ...
    assert len(got[cifar]) == 8 and len({(d.range.start.line, d.message) for d in got[cifar]}) == 8
    own = got[cifar][0]
    assert (own.range.start.line, own.range.start.character) == (7, 10)
    assert (
        own.message.startswith("unknown block basik;") and "(in resnet20, with n=3)" in own.message
    )
    # ... and in resnet1202.res, on its `use` line, as `resdsl check` names the place.
    (used,) = got[r1202]
    assert used.range.start.line == 1
    assert used.message == (
        "specs/cifar.res:8:11: unknown block basik; expected basic, bottleneck, preact or "
        "preact_bottleneck; did you mean basic? (in resnet1202, with n=200)"
    )
    (related,) = used.related_information
    assert related.location.uri == cifar and related.location.range == own.range
    assert related.message == used.message.removeprefix("specs/cifar.res:8:11: ")
    forget(client, cifar, r1202)
    change(client, cifar, 3, CIFAR.read_text())
    assert await published(client, cifar, r1202) == {cifar: [], r1202: []}


async def test_closing_a_document_clears_its_diagnostics(client):
    case = GOLDEN / "errors" / "unknown_block.res"
    uri = await open_file(client, case)
    assert client.diagnostics[uri]
    forget(client, uri)
    client.text_document_did_close(types.DidCloseTextDocumentParams(doc(uri)))
    assert await published(client, uri) == {uri: []}


async def test_hover_on_a_network_gives_its_totals_and_training_memory(client):
    uri = await open_file(client, R1202)
    answer = await ask(client.text_document_hover_async(types.HoverParams(doc(uri), at(3, 12))))
    text = answer.contents.value
    assert "**network resnet1202** = cifar_resnet(n=200): 1202 layers" in text
    assert "| **total** | | | **19,421,274** |" in text  # Table 6
    assert "training memory at batch 32, fp32, SGD with momentum: peak " in text
    assert answer.range.start == at(3, 8)


async def test_hover_on_stage_and_stem_lines(client):
    uri = await open_file(client, ROOT / "specs" / "resnet34.res")
    stage = await ask(client.text_document_hover_async(types.HoverParams(doc(uri), at(14, 6))))
    assert "**stage** `layer2` (conv3_x)" in stage.contents.value
    assert "| resnet34 | 128x28x28 | 4 | 1,116,416 |" in stage.contents.value
    stem = await ask(client.text_document_hover_async(types.HoverParams(doc(uri), at(6, 9))))
    assert "| resnet34 | 64x112x112 | 9,536 | 118,013,952 |" in stem.contents.value
    blank = await ask(client.text_document_hover_async(types.HoverParams(doc(uri), at(0, 3))))
    assert blank is None  # a comment


async def test_definition_of_a_use_and_of_a_base_network(client):
    uri = await open_file(client, R1202)
    use = await ask(
        client.text_document_definition_async(types.DefinitionParams(doc(uri), at(1, 8)))
    )
    assert use.uri == CIFAR.as_uri()
    base = await ask(
        client.text_document_definition_async(types.DefinitionParams(doc(uri), at(3, 25)))
    )
    assert base.uri == CIFAR.as_uri()
    assert (base.range.start, base.range.end) == (at(1, 8), at(1, 20))  # cifar_resnet


async def test_completion_offers_what_fits_at_the_cursor(client):
    opened = 0

    async def labels(text: str) -> list[str]:
        """The labels offered at the end of ``text`` (in a document that goes on after it)."""
        nonlocal opened
        opened += 1
        uri = await open_file(client, ROOT / "specs" / f"unsaved{opened}.res", text + "\n}\n")
        lines = text.split("\n")
        params = types.CompletionParams(doc(uri), at(len(lines) - 1, len(lines[-1])))
        answer = await ask(client.text_document_completion_async(params))
        return [item.label for item in answer.items]

    body = {"block", "classes", "head", "input", "modules", "shortcut", "stage", "stem"}
    assert set(await labels("network n {\n    ")) == body
    assert body <= set(statement_keywords()) <= set(keywords())
    assert set(await labels("")) == {"block", "network", "stem", "use"}
    assert await labels("network n {\n    block ") == [
        "basic",
        "bottleneck",
        "preact",
        "preact_bottleneck",
    ]
    assert await labels("network n {\n    block basic\n    shortcut ") == [
        "A",
        "B",
        "C",
        "D",
        "none",
    ]
    assert await labels("network n {\n    stem {\n        ") == ["conv", "maxpool", "avgpool"]
    assert await labels("network n {\n    head {\n        avgpool\n        ") == ["avgpool", "fc"]
    assert await labels("network n {\n    block bottleneck, ") == [
        "dropout",
        "expansion",
        "groups",
        "stride",
        "width",
        "zero",
    ]
    assert "cifar.res" in await labels("use ")
    # A derivation's base: the networks this file sees (cifar.res's, through the use).
    based = await labels('use "cifar.res"\nnetwork r = ')
    assert {"cifar_resnet", "resnet20", "plain56"} <= set(based) and "r" not in based
    # A broken line above does not stop it: the parse starts again at the network.
    assert await labels("use \nnetwork n {\n    shortcut ") == ["A", "B", "C", "D", "none"]


async def test_document_symbols_outline_networks(client):
    uri = await open_file(client, ROOT / "specs" / "resnet18.res")
    params = types.DocumentSymbolParams(doc(uri))
    (network,) = await ask(client.text_document_document_symbol_async(params))
    assert network.name == "resnet18" and network.kind == types.SymbolKind.Class
    names = [child.name for child in network.children]
    assert names == ["stem", *(f"stage conv{i}_x" for i in range(2, 6)), "head"]


async def test_a_did_you_mean_becomes_a_quick_fix_that_fixes_it(client):
    case = GOLDEN / "errors" / "unknown_block.res"
    uri = await open_file(client, case)
    (problem,) = client.diagnostics[uri]
    context = types.CodeActionContext(diagnostics=[problem])
    params = types.CodeActionParams(doc(uri), problem.range, context)
    (action,) = await ask(client.text_document_code_action_async(params))
    assert action.title == "Replace basik with basic"
    (edit,) = action.edit.changes[uri]
    lines = case.read_text().split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = (
        line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
    )
    forget(client, uri)
    change(client, uri, 2, "\n".join(lines))
    assert await published(client, uri) == {uri: []}


async def test_shutdown_ends_the_server_cleanly(client):
    await open_file(client, CIFAR)
    await client.shutdown_session()
    assert client._server.returncode == 0
    client.capabilities = None  # the fixture's own shutdown has nothing left to do


async def test_columns_are_counted_in_the_encoding_the_client_chose(client, utf8_client):
    text = 'use "é.res" use "nowhere.res"\n'
    spec = ROOT / "specs" / "encodings.res"
    for each, column in ((client, 16), (utf8_client, 17)):  # é: one UTF-16 unit, two bytes
        uri = await open_file(each, spec, text)
        first, second = each.diagnostics[uri]
        assert first.range.start == at(0, 4)  # before the é: the same in both
        assert second.message == "no such file: specs/nowhere.res"
        assert second.range.start == at(0, column)
