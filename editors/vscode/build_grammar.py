"""Write syntaxes/res.tmLanguage.json, the TextMate grammar VS Code highlights ``.res`` with.

    python editors/vscode/build_grammar.py

The keywords are the grammar's (``resdsl.keywords.keywords``, read from grammars/res.lark) and
the names the resolver knows (``basic``, ``conv``, ``A``) its own tables', so a word added to
the language is highlighted once this is run again; tests/editors/test_vscode.py fails while
the committed file is not what this writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from resdsl.keywords import keywords, vocabulary

HERE = Path(__file__).resolve().parent
OUT = HERE / "syntaxes" / "res.tmLanguage.json"
NAME = "[A-Za-z_][A-Za-z0-9_]*"


def _words(words) -> str:
    return r"\b(?:" + "|".join(re.escape(w) for w in sorted(words)) + r")\b"


def grammar() -> dict:
    """The TextMate grammar, as data."""
    return {
        "name": "resdsl",
        "scopeName": "source.res",
        "fileTypes": ["res"],
        "patterns": [
            {"include": f"#{part}"}
            for part in (
                "comment",
                "string",
                "network",
                "label",
                "number",
                "keyword",
                "builtin",
                "operator",
                "punctuation",
                "name",
            )
        ],
        "repository": {
            "comment": {"name": "comment.line.number-sign.res", "match": "#.*$"},
            "string": {"name": "string.quoted.double.res", "match": '"[^"]*"?'},
            "network": {
                "match": rf"\b(network)\s+({NAME})",
                "captures": {
                    "1": {"name": "keyword.declaration.network.res"},
                    "2": {"name": "entity.name.type.network.res"},
                },
            },
            "label": {
                "match": rf"\b({NAME})\s*(:)",
                "captures": {
                    "1": {"name": "entity.name.label.res"},
                    "2": {"name": "punctuation.separator.colon.res"},
                },
            },
            "number": {
                "patterns": [
                    {"name": "constant.numeric.size.res", "match": r"\b[0-9]+(?:x[0-9]+)+\b"},
                    {"name": "constant.numeric.float.res", "match": r"\b[0-9]+\.[0-9]+\b"},
                    {"name": "constant.numeric.integer.res", "match": r"\b[0-9]+\b"},
                ]
            },
            "keyword": {
                "patterns": [
                    {"name": "keyword.operator.word.res", "match": r"\bx\b"},
                    {"name": "keyword.other.res", "match": _words(set(keywords()) - {"x"})},
                ]
            },
            "builtin": {"name": "support.constant.res", "match": _words(vocabulary().names)},
            "operator": {"name": "keyword.operator.res", "match": r"[=+\-*]"},
            "punctuation": {
                "patterns": [
                    {"name": "punctuation.section.block.begin.res", "match": r"\{"},
                    {"name": "punctuation.section.block.end.res", "match": r"\}"},
                    {"name": "punctuation.section.parens.begin.res", "match": r"\("},
                    {"name": "punctuation.section.parens.end.res", "match": r"\)"},
                    {"name": "punctuation.separator.comma.res", "match": ","},
                ]
            },
            "name": {"name": "variable.other.res", "match": rf"\b{NAME}\b"},
        },
    }


def text() -> str:
    return json.dumps(grammar(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
