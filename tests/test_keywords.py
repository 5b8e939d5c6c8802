"""The language's words as resdsl.keywords reads them, against Lark's own reading of the grammar."""

from __future__ import annotations

import re

import lark

from resdsl.keywords import grammar_text, keywords, statement_keywords, vocabulary
from resdsl.lang.grammar import parser
from resdsl.lang.syntax_errors import RESUME_AT


def _lark_words() -> dict[str, str]:
    """Terminal name -> word, for every terminal of the compiled grammar that is one word, and
    each word of one that is a choice of words (``MERGE: "add" | "multiply" | "concat"``)."""
    found = {}
    for t in parser().terminals:
        if isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value.isidentifier():
            found[t.name] = t.pattern.value
        elif isinstance(t.pattern, lark.lexer.PatternRE):
            choice = re.fullmatch(r"\(\?:([A-Za-z0-9_|]+)\)", t.pattern.value)
            for word in choice.group(1).split("|") if choice else ():
                found[f"{t.name}:{word}"] = word
    return found


def test_keywords_are_the_words_lark_compiles_from_the_grammar():
    assert set(keywords()) == set(_lark_words().values())
    assert {"use", "network", "stage", "with", "stride", "x"} <= set(keywords())


def test_statement_keywords_are_the_grammars_named_terminals():
    words = _lark_words()
    for word in statement_keywords():
        assert words.get(word.upper()) == word
        assert f'{word.upper()}: "{word}"' in grammar_text()
    # the words syntax recovery resumes at are among them (a definition's body has its own:
    # let, require, doc, branch; and a layer its flags, bias and ceil, and if)
    assert RESUME_AT - {"}"} <= set(statement_keywords())


def test_a_word_added_to_the_grammar_is_a_keyword(monkeypatch):
    import resdsl.keywords as module

    grammar = grammar_text() + '\nrepeat: "repeat" INT\nLOOP: "loop"\n'
    monkeypatch.setattr(module, "grammar_text", lambda: grammar)
    module.keywords.cache_clear()
    module.statement_keywords.cache_clear()
    try:
        assert "repeat" in module.keywords() and "loop" in module.keywords()
        assert "loop" in module.statement_keywords()
        assert "repeat" not in module.statement_keywords()
    finally:
        module.keywords.cache_clear()
        module.statement_keywords.cache_clear()


def test_the_vocabulary_is_what_the_resolver_accepts():
    words = vocabulary()
    assert words.blocks == ("basic", "bottleneck", "preact", "preact_bottleneck")
    assert set(words.stem_layers) == {"conv", "maxpool", "avgpool"}
    # names, never keywords; dropout is both a layer's word and a network's setting
    assert set(words.names) & set(keywords()) == {"dropout"}
