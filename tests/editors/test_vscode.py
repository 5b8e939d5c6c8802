"""The VS Code extension: its TextMate grammar's scope tests (npm's vscode-tmgrammar-test, run
with Node.js, which CI has: without it these fail, they do not skip), the grammar as
build_grammar.py writes it from the language's keywords, and the extension's manifest."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess

import pytest

from resdsl.keywords import keywords, vocabulary
from tests.conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
TOOL = VSCODE / "node_modules" / "vscode-tmgrammar-test" / "dist" / "unit.js"


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js is needed for the editor tests: install it (CI has it)"
    assert TOOL.exists(), "npm packages missing: run `make install-dev` (npm ci in editors/vscode)"
    return node


def _build_grammar():
    spec = importlib.util.spec_from_file_location("build_grammar", VSCODE / "build_grammar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_textmate_grammar_passes_its_scope_tests():
    tests = sorted(p.name for p in (VSCODE / "tests").glob("*.test.res"))
    assert len(tests) >= 2
    done = subprocess.run(
        [_node(), str(TOOL), "-g", "syntaxes/res.tmLanguage.json", "tests/*.test.res"],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("run successfuly") == len(tests)


def test_a_wrong_scope_fails_the_scope_tests(tmp_path):
    """The tool really checks: an assertion that the grammar does not meet fails it."""
    wrong = (VSCODE / "tests" / "network.test.res").read_text()
    wrong = wrong.replace("entity.name.type.network.res", "keyword.other.res", 1)
    (tmp_path / "wrong.test.res").write_text(wrong)
    grammar = VSCODE / "syntaxes" / "res.tmLanguage.json"
    done = subprocess.run(
        [_node(), str(TOOL), "--config", str(VSCODE / "package.json"), "-g", str(grammar),
         str(tmp_path / "wrong.test.res")],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "missing required scopes: keyword.other.res" in done.stdout


def test_the_committed_grammar_is_what_build_grammar_writes():
    module = _build_grammar()
    committed = (VSCODE / "syntaxes" / "res.tmLanguage.json").read_text()
    assert committed == module.text(), "run: python editors/vscode/build_grammar.py"


def test_the_grammar_highlights_every_keyword_of_the_language():
    grammar = json.loads((VSCODE / "syntaxes" / "res.tmLanguage.json").read_text())
    keyword = grammar["repository"]["keyword"]["patterns"][1]["match"]
    listed = set(keyword.removeprefix(r"\b(?:").removesuffix(r")\b").split("|"))
    assert listed == set(keywords()) - {"x"}
    builtin = grammar["repository"]["builtin"]["match"]
    assert set(builtin.removeprefix(r"\b(?:").removesuffix(r")\b").split("|")) == set(
        vocabulary().names
    )


def test_the_manifest_starts_resdsl_lsp_for_res_files():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".res"] and language["id"] == "res"
    (grammar,) = manifest["contributes"]["grammars"]
    tm = json.loads((VSCODE / grammar["path"]).read_text())
    assert grammar["scopeName"] == tm["scopeName"] == "source.res"
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    assert ["{", "}"] in config["brackets"]
    extension = (VSCODE / manifest["main"]).read_text()
    assert 'args: ["lsp"]' in extension and "vscode-languageclient/node" in extension
    assert "vscode-languageclient" in manifest["dependencies"]


@pytest.mark.parametrize("script", ["extension.js"])
def test_the_extension_is_valid_javascript_and_its_client_library_is_there(script):
    node = _node()
    assert subprocess.run([node, "--check", script], cwd=VSCODE, check=False).returncode == 0
    found = subprocess.run(
        [node, "-e", "console.log(require.resolve('vscode-languageclient/node'))"],
        cwd=VSCODE,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0 and "vscode-languageclient" in found.stdout
