"""The language's words as resdsl.keywords reads them, against Lark's own reading of the grammar."""

from __future__ import annotations

import lark

from resdsl.keywords import grammar_text, keywords, statement_keywords, vocabulary
from resdsl.lang.grammar import parser
from resdsl.lang.syntax_errors import RESUME_AT


def _lark_words() -> dict[str, str]:
    """Terminal name -> word, for every terminal of the compiled grammar that is one word."""
    return {
        t.name: t.pattern.value
        for t in parser().terminals
        if isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value.isidentifier()
    }


def test_keywords_are_the_words_lark_compiles_from_the_grammar():
    assert set(keywords()) == set(_lark_words().values())
    assert {"use", "network", "stage", "with", "stride", "x"} <= set(keywords())


def test_statement_keywords_are_the_grammars_named_terminals():
    words = _lark_words()
    for word in statement_keywords():
        assert words.get(word.upper()) == word
        assert f'{word.upper()}: "{word}"' in grammar_text()
    # the words syntax recovery resumes at are these, and the closing brace
    assert set(statement_keywords()) == RESUME_AT - {"}"}


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
    assert not set(words.names) & set(keywords())  # names, never keywords
