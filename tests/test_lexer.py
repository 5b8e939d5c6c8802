"""The Pygments lexer: every bundled and golden spec, the entry point, pygmentize."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pygments import lex
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from resdsl.keywords import keywords
from resdsl.lexer import ResLexer
from tests.conftest import GOLDEN, ROOT, SPECS

EVERY_SPEC = [*SPECS, *sorted(GOLDEN.rglob("*.res"))]


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_lexes_without_an_error_token_and_losing_nothing(spec):
    text = spec.read_text(encoding="utf-8", errors="replace")
    tokens = list(lex(text, ResLexer()))
    assert [value for kind, value in tokens if kind in Error] == []
    assert "".join(value for _, value in tokens) == text + ("" if text.endswith("\n") else "\n")


def _kinds(text: str) -> dict[str, object]:
    return {value: kind for kind, value in lex(text, ResLexer()) if value.strip()}


def test_the_parts_of_a_spec():
    kinds = _kinds((ROOT / "specs" / "resnet34.res").read_text())
    assert kinds["network"] in Keyword and kinds["resnet34"] in Name.Class
    assert kinds["3x224x224"] in Number and kinds["7x7"] in Number and kinds["1000"] in Number
    assert kinds["stage"] in Keyword and kinds["conv3_x"] in Name.Label
    assert kinds["basic"] in Name.Builtin and kinds["B"] in Name.Builtin
    assert kinds["x"] in Operator.Word and kinds[","] not in Error
    assert any(kind in Comment.Single for kind in kinds.values())
    used = _kinds((ROOT / "specs" / "resnet1202.res").read_text())
    assert used['"cifar.res"'] in String and used["="] in Operator


@pytest.mark.parametrize("word", [w for w in keywords() if w != "x"])
def test_every_keyword_of_the_grammar_is_a_keyword(word):
    ((kind, value), _) = lex(word, ResLexer())
    assert value == word and kind in Keyword


def test_pygments_finds_it_by_name_and_file_name():
    assert isinstance(get_lexer_by_name("res"), ResLexer)
    assert isinstance(get_lexer_for_filename("resnet34.res"), ResLexer)


def test_pygmentize_highlights_a_spec():
    done = subprocess.run(
        [sys.executable, "-m", "pygments", "-l", "res", "-f", "html", "specs/resnet18.res"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '<span class="k">stage</span>' in done.stdout
    assert '<span class="nc">resnet18</span>' in done.stdout
