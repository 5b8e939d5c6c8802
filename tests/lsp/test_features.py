"""The language server's modules in process: positions, open documents, and each feature's
answers where a client test would be slow to reach them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lsprotocol import types

from resdsl.diagnostics import Span
from resdsl.lsp import hover as hover_module
from resdsl.lsp.actions import code_actions
from resdsl.lsp.completion import completion
from resdsl.lsp.definition import definition
from resdsl.lsp.diagnostics import diagnostics
from resdsl.lsp.documents import Documents, key
from resdsl.lsp.hover import hover
from resdsl.lsp.symbols import symbols
from resdsl.lsp.text import Text
from tests.conftest import GOLDEN, ROOT

CIFAR = (ROOT / "specs" / "cifar.res").read_text()


def _one(documents: Documents, path, text: str):
    analysis, *_ = documents.update(str(path), text)
    return analysis


def test_columns_in_utf16_utf8_and_utf32_and_after_a_byte_order_mark():
    text = Text.of("# 🙂 x\r\nnetwork n { }")
    span = Span("f.res", 1, 5, 1, 6)  # the x: the fifth character of line 1
    assert text.range(span, "utf-16").start.character == 5  # the smiley is two UTF-16 units
    assert text.range(span, "utf-8").start.character == 7
    assert text.range(span, "utf-32").start.character == 4
    assert text.column(0, 5, "utf-16") == 4 and text.lines[1] == "network n { }"
    marked = Text.of("\ufeffnetwork n {")
    assert marked.range(Span("f.res", 1, 9, 1, 10)).start.character == 9
    assert marked.column(0, 9) == 8
    assert text.position(99, 99) == types.Position(1, 13)  # clamped, never an error


def test_a_used_file_open_with_unsaved_text_is_read_from_the_editor(tmp_path):
    (tmp_path / "base.res").write_text(CIFAR)
    user = tmp_path / "user.res"
    user.write_text('use "base.res"\nnetwork big = cifar_resnet(n=200)\n')
    documents = Documents()
    assert _one(documents, user, user.read_text()).checked.ok
    changed = list(documents.update(str(tmp_path / "base.res"), CIFAR.replace("n x 16", "n x 0")))
    assert [key(a.path) for a in changed] == [str(tmp_path / "base.res"), str(user)]
    (problem,) = diagnostics(changed[1])
    assert problem.range.start == types.Position(0, 4)
    assert problem.message.startswith(f"{tmp_path / 'base.res'}:10:15: a stage's width")
    # Closed, the used file is read from disk again, where it was never broken.
    (again,) = documents.close(str(tmp_path / "base.res"))
    assert key(again.path) == str(user) and again.checked.ok


def test_a_problem_two_uses_away_is_put_on_the_first_use(tmp_path):
    (tmp_path / "a.res").write_text('use "b.res"\n')
    (tmp_path / "b.res").write_text("network b { classes }\n")
    analysis = _one(Documents(), tmp_path / "top.res", '# top\nuse "a.res"\n')
    (problem,) = diagnostics(analysis)
    assert problem.range.start.line == 1 and "b.res:1:21: unexpected '}'" in problem.message
    (related,) = problem.related_information
    assert related.location.uri == (tmp_path / "b.res").as_uri()
    assert code_actions(analysis, "file:///top.res", [problem]) == []


def test_names_while_the_document_does_not_parse():
    text = 'use "cifar.res"\nnetwork r = cifar_resnet('
    analysis = _one(Documents(), ROOT / "specs" / "r.res", text)
    assert not analysis.checked.ok and analysis.tree is None
    assert {"cifar_resnet", "resnet56", "r"} <= set(analysis.names)
    place = definition(analysis, 1, 14)
    assert place.uri.endswith("specs/cifar.res") and place.range.start == types.Position(1, 8)
    labels = [i.label for i in completion(analysis, 1, 19).items]
    assert "cifar_resnet" in labels and "r" not in labels


def test_completion_is_quiet_in_comments_and_offers_files_in_a_use_string():
    analysis = _one(Documents(), ROOT / "specs" / "n.res", '# network \nuse "\n')
    assert completion(analysis, 0, 10).items == []
    files = [i.label for i in completion(analysis, 1, 5).items]
    assert "cifar.res" in files and "n.res" not in files


def test_completion_after_a_broken_statement_keeps_the_braces_around_it():
    text = "network n {\n    stem { conv 3x3, , }\n    head {\n        avgpool\n        "
    analysis = _one(Documents(), ROOT / "specs" / "n.res", text)
    assert [i.label for i in completion(analysis, 4, 8).items] == ["avgpool", "fc"]


def test_symbols_name_unlabelled_stages_by_module_and_derivations_by_their_base():
    analysis = _one(Documents(), ROOT / "specs" / "cifar.res", CIFAR)
    family, resnet20, *_, plain56 = symbols(analysis)
    assert family.detail == "family (n)"
    assert [c.name for c in family.children] == [
        "stem",
        "stage layer1",
        "stage layer2",
        "stage layer3",
        "head",
    ]
    assert family.range.end == types.Position(16, 1)  # the closing brace
    assert resnet20.detail == "cifar_resnet(n=3)"
    assert plain56.detail == "cifar_resnet(n=9) with shortcut none"
    assert symbols(_one(Documents(), ROOT / "specs" / "x.res", "network {")) == []


def test_one_quick_fix_for_a_familys_error_repeated_in_each_network():
    analysis = _one(
        Documents(), ROOT / "specs" / "c.res", CIFAR.replace("shortcut A", "shortcut a")
    )
    found = diagnostics(analysis)  # resnet20 ... resnet56; the plain ones say `shortcut none`
    assert len(found) == 4
    (action,) = code_actions(analysis, "file:///c.res", found)
    assert action.title == "Replace a with A" and len(action.diagnostics) == 4


def test_hover_on_a_family_lists_its_networks_and_on_a_network_its_memory():
    analysis = _one(Documents(), ROOT / "specs" / "cifar.res", CIFAR)
    family = hover(analysis, 1, 10).contents.value
    assert family.startswith("**family cifar_resnet**: 8 networks derived in this file")
    assert "| resnet56 | n=9 | 56 | 853,018 | 125,485,696 |" in family
    network = hover(analysis, 19, 10).contents.value
    assert "training memory at batch 32, fp32, SGD with momentum: peak 49." in network
    assert hover(analysis, 17, 0) is None  # a blank line


def test_the_memory_kept_for_hovers_stays_bounded():
    documents = Documents()
    for n in range(1, 3 * hover_module._MEMORY_KEPT):
        text = f'use "cifar.res"\nnetwork r = cifar_resnet(n={n})\n'
        hover(_one(documents, ROOT / "specs" / "r.res", text), 1, 9)
    assert len(hover_module._MEMORY) == hover_module._MEMORY_KEPT


@pytest.mark.parametrize("case", sorted((GOLDEN / "errors").glob("*.res"))[:12], ids=str)
def test_diagnostics_are_the_checks_own(case):
    """Message for message and span for span what resdsl.pipeline.check says."""
    from resdsl.pipeline import check

    text = case.read_text(encoding="utf-8", errors="replace")
    relative = str(case.relative_to(ROOT))
    analysis = _one(Documents(), relative, text)
    expected = check(relative, text=text).diagnostics
    found = diagnostics(analysis)
    assert [d.message for d in found] == [d.message for d in expected]
    assert [(d.range.start.line + 1, d.range.start.character + 1) for d in found] == [
        (d.span.line, d.span.column) for d in expected
    ]


def test_the_command_and_the_server_import_neither_torch_nor_pygls_for_help():
    code = (
        "import sys\nfrom resdsl.cli import cli\n"
        "try:\n    cli(['lsp', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'pygls' not in sys.modules and 'torch' not in sys.modules\n"
        "from resdsl.lsp.server import make_server\nfrom resdsl.lsp.documents import Documents\n"
        "from resdsl.lsp.hover import hover\nmake_server()\n"
        "(a,) = Documents().update('specs/resnet50.res', open('specs/resnet50.res').read())\n"
        "assert 'training memory' in hover(a, 1, 10).contents.value\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_without_pygls_the_command_says_what_to_install():
    code = (
        "import sys\nsys.modules['pygls'] = None\n"
        "sys.argv = ['resdsl', 'lsp']\nfrom resdsl.cli import main\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: resdsl lsp needs pygls: pip install 'resdsl[lsp]'"


def test_edits_leave_nothing_behind_in_the_protocol():
    """pygls keeps the future of every notification it handles through a generator; the
    server's protocol drops each once done, or a long session grows with every edit."""
    from resdsl.lsp.server import make_server

    server = make_server()
    protocol = server.protocol

    class Discard:
        def write(self, data):
            pass

        def close(self):
            pass

    protocol.set_writer(Discard())

    def send(method: str, params: dict, **extra) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params, **extra}
        protocol.handle_message(protocol.structure_message(message))

    send("initialize", {"processId": None, "rootUri": ROOT.as_uri(), "capabilities": {}}, id=1)
    send("initialized", {})
    uri = (ROOT / "specs" / "cifar.res").as_uri()
    item = {"uri": uri, "languageId": "res", "version": 1, "text": CIFAR}
    send("textDocument/didOpen", {"textDocument": item})
    for version in range(2, 22):
        text = CIFAR.replace("classes 10", f"classes {version}")
        change = {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": text}],
        }
        send("textDocument/didChange", change)
    assert server.documents.get(str(ROOT / "specs" / "cifar.res")).version == 21
    assert protocol._request_futures == {}


def test_completion_after_block_offers_the_spec_s_own_blocks():
    text = (
        "block wide(planes, stride = 1) { conv1: conv 3x3, planes, stride stride }\n"
        "block mine(in_planes, out_planes, stride = 1) { downsample.0: conv 1x1, out_planes }\n"
        "network n {\n    block \n}\n"
    )
    analysis = _one(Documents(), ROOT / "specs" / "own.res", text)
    labels = [item.label for item in completion(analysis, 3, 10).items]
    assert labels == ["basic", "bottleneck", "preact", "preact_bottleneck", "wide"]
