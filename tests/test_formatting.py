"""Formatting held to meaning (resdsl.formatting): every spec the project holds, the golden
wrong specs included, formats idempotently and means the same, whatever its spacing and
indentation; a printer that would change a spec's meaning is caught."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from resdsl import formatting
from resdsl.diagnostics import ResdslError
from resdsl.formatting import MeaningChanged, format_text, same_meaning
from resdsl.lang.load import read_source
from resdsl.lang.printer import tokens
from tests.conftest import GOLDEN, ROOT

CORPUS = sorted(
    [
        *(ROOT / "specs").rglob("*.res"),
        *(GOLDEN / "language").glob("*.res"),
        *(GOLDEN / "import").glob("*.res"),
        *(GOLDEN / "errors").glob("*.res"),
        ROOT / "resdsl" / "lang" / "prelude.res",
    ]
)
_HEADER = re.compile(r"^\S+:\d+:\d+: error: ")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _scrambled(text: str, seed: int) -> str:
    """``text`` with its spaces and indentation changed at random where the language does not
    care: between words on a line, and at the start of each line. Line breaks, comments and
    strings are kept."""
    rng = random.Random(seed)
    pieces, at = [], 0
    for token in tokens(text):
        gap = text[at : token.start_pos]
        pieces.append(_shuffle_gap(gap, at == 0, rng, text[at - 1 : at], str(token)[:1]))
        pieces.append(str(token))
        at = token.end_pos
    pieces.append(text[at:])
    return "".join(pieces)


def _shuffle_gap(gap: str, first: bool, rng: random.Random, left: str, right: str) -> str:
    if "\n" in gap or "#" in gap:  # keep the lines and comments, change each line's indent
        lines = gap.split("\n")
        lines[1:] = [" " * rng.randint(0, 9) + line.strip(" \t") for line in lines[1:]]
        return "\n".join(lines)
    if first:
        return gap
    words = bool(left) and (left.isalnum() or left in '_"')
    words = words and (right.isalnum() or right in '_"')
    return " " * rng.randint(1 if words else 0, 3)


@pytest.mark.parametrize("path", CORPUS, ids=_relative)
def test_every_spec_formats_idempotently_and_means_the_same(path, at_root):
    name = _relative(path)
    text, problem = read_source(name, None)
    expected = path.with_suffix(".expected")
    if problem is not None:  # not UTF-8: refused as check refuses it
        assert problem.message in expected.read_text()
        return
    assert text is not None
    try:
        formatted = format_text(text, name)
    except ResdslError as error:  # a syntax error: refused with check's report
        assert path.parent.name == "errors"
        assert expected.read_text().startswith(error.render())
        return
    assert format_text(formatted, name) == formatted
    same_meaning(text, formatted, name)
    scrambled = _scrambled(formatted, seed=len(text))
    assert format_text(scrambled, name) == formatted
    same_meaning(scrambled, formatted, name)


def test_the_golden_error_specs_are_both_refused_and_formatted():
    refused = formatted = 0
    for path in (GOLDEN / "errors").glob("*.res"):
        text, problem = read_source(str(path), None)
        try:
            if problem is None:
                format_text(text or "", str(path))
                formatted += 1
                continue
        except ResdslError:
            pass
        refused += 1
    assert refused >= 8 and formatted >= 50


def test_a_layout_that_changes_a_number_is_caught(monkeypatch):
    monkeypatch.setattr(formatting, "layout", lambda text: text.replace("16", "17") + "\n")
    with pytest.raises(MeaningChanged, match=r"^n\.res:1:1: internal error: formatting would"):
        format_text("network n { classes 16 }", "n.res")


def test_a_layout_that_moves_a_docstring_is_caught(monkeypatch):
    text = "# The docstring.\nblock b {\n    relu\n}\n"
    moved = "# The docstring.\n\nblock b {\n    relu\n}\n"  # no longer right above it
    monkeypatch.setattr(formatting, "layout", lambda _: moved)
    with pytest.raises(MeaningChanged, match="this statement"):
        format_text(text, "b.res")


def test_a_layout_that_changes_a_network_is_caught(at_root):
    text = (ROOT / "specs" / "cifar.res").read_text()
    other = text.replace("stage n x 64, stride 2", "stage n x 64")
    with pytest.raises(MeaningChanged, match=r"specs/cifar\.res:2:1: internal error"):
        same_meaning(text, other, "specs/cifar.res")


def test_a_layout_that_does_not_parse_is_caught():
    with pytest.raises(MeaningChanged, match="into text that does not parse"):
        same_meaning("network a = b\n", "network a = \n", "a.res")
