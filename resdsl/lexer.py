"""A Pygments lexer for ``.res`` specs: ``pygmentize -l res``, Sphinx and MkDocs code blocks.

    >>> from pygments import lex
    >>> [(str(kind), text) for kind, text in lex("stage conv3_x: 4 x 128", ResLexer())][:5]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Token.Keyword', 'stage'), ('Token.Text.Whitespace', ' '), ('Token.Name.Label', 'conv3_x'),
     ('Token.Punctuation', ':'), ('Token.Text.Whitespace', ' ')]

Registered as the ``res`` lexer through the ``pygments.lexers`` entry point of the package
(pyproject.toml), for files called ``*.res``. Keywords come from the grammar
(:func:`resdsl.keywords.keywords`) and the names the resolver knows (``basic``, ``conv``,
``A``) from its tables (:func:`resdsl.keywords.vocabulary`), so the lexer follows the language
without being edited. Sizes written as one word (``3x224x224``, ``7x7``) are numbers, ``x``
between spaced sizes an operator word, a network's name after ``network`` a class name and
a stage's label a label. A character no token starts with (a stray ``$``, a replacement
character where a file is not UTF-8) is plain ``Text``, not ``Error``: a highlighter shows the
spec as written, and the diagnostics of ``resdsl check`` and the language server say what is
wrong with it.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from resdsl.keywords import keywords, vocabulary

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class ResLexer(RegexLexer):
    """The ``.res`` language of resdsl."""

    name = "resdsl"
    aliases = ["res", "resdsl"]  # noqa: RUF012 (Pygments reads these class attributes)
    filenames = ["*.res"]  # noqa: RUF012
    mimetypes = ["text/x-resdsl"]  # noqa: RUF012

    tokens = {  # noqa: RUF012
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\n]*"?', String.Double),
            (r"[0-9]+(?:x[0-9]+)+\b", Number),  # a size: 3x224x224
            (r"[0-9]+\.[0-9]+", Number.Float),
            (r"[0-9]+", Number.Integer),
            (rf"(network)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (r"\bx\b", Operator.Word),  # 3 x s x s, 4 x 128
            (words([w for w in keywords() if w != "x"], prefix=r"\b", suffix=r"\b"), Keyword),
            (rf"{_NAME}(?=\s*:)", Name.Label),  # stage conv3_x: ...
            (words(vocabulary().names, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (_NAME, Name),
            (r"[=+\-*]", Operator),
            (r"[{}(),:]", Punctuation),
            (r".", Text),
        ]
    }
