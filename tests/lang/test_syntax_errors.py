"""Syntax errors: every one of a file in one run, each where the parser found it, capped."""

from __future__ import annotations

import pytest

from resdsl.cli import cli
from resdsl.diagnostics import ResdslError
from resdsl.lang.limits import MAX_ERRORS_SHOWN, MAX_NESTING
from resdsl.lang.parse import parse
from resdsl.lang.syntax_errors import syntax_errors
from tests.conftest import GOLDEN

NET = "network {name} {{ input 3x32x32 classes 10 stage 2 x 16 head {{ avgpool fc }} }}\n"


def positions(text: str) -> list[tuple[int, int]]:
    return [(d.span.line, d.span.column) for d in syntax_errors(text, "f.res")]


def test_a_file_that_parses_has_no_syntax_errors():
    assert syntax_errors(NET.format(name="n"), "f.res") == []


def test_one_error_per_broken_statement_in_order():
    text = (
        "network a {\n"
        "  input 3x32x32 3\n"  # a stray number
        "  classes 10\n"
        "  stem { conv 3x3 16 }\n"  # a missing comma
        "  stage 2 x 16 @\n"  # a character no token starts with
        "  head { avgpool fc }\n"
        "}\n"
        "network b = a shortcut none\n"  # `with` left out
        "network c {\n"
        "  input 3x32x32\n"
    )  # and a body never closed
    found = syntax_errors(text, "f.res")
    assert [(d.span.line, d.span.column) for d in found] == [
        (2, 17),
        (4, 19),
        (5, 16),
        (8, 15),
        (10, 16),
    ]
    assert found[2].message.startswith("unexpected character '@'")
    assert found[4].message.startswith("unexpected end of file")


def test_the_first_error_is_the_one_a_single_error_file_gets():
    for case in sorted((GOLDEN / "errors").glob("syntax_*.res")):
        text = case.read_text()
        with pytest.raises(ResdslError) as caught:
            parse(text, "f.res")
        assert caught.value.diagnostics == tuple(syntax_errors(text, "f.res"))
        assert caught.value.diagnostics[0].message.startswith("unexpected")


def test_a_stage_after_a_broken_stem_resumes_in_the_body():
    text = "network n {\n stem { conv 3x3, 16\n stage 2 x 16\n head { avgpool fc }\n}\n" + (
        "network m { input 3x }\n"
    )
    assert positions(text) == [(3, 2), (6, 22)]


def test_a_broken_header_still_has_its_body_checked():
    text = "network f(n m) {\n input 3x32x32\n stem { conv 3x3, 16, }\n}\n"
    assert positions(text) == [(1, 13), (3, 23)]


def test_a_brace_that_closed_the_wrong_body_is_not_reported_again():
    # `stride` takes `head` as its value, so the first `}` after the error closes the network;
    # the network's own `}` is an echo of that, not a second mistake.
    text = "network n {\n stage 2 x 32, stride\n head {\n avgpool fc\n }\n}\nnetwork m = n\n"
    assert positions(text) == [(3, 7)]


@pytest.mark.parametrize(
    "text",
    [
        "}" * 5000,
        "{" * 5000,
        "network n {" + "(" * 5000,
        ") ) ) stage stage }" * 500,
        "\x00" * 5000,
    ],
)
def test_pathological_text_gets_a_bounded_report(text):
    found = syntax_errors(text, "f.res")
    assert 1 <= len(found) <= len(text)
    assert all(d.span.line == 1 for d in found)


def test_errors_past_the_cap_are_counted_not_described(runner, tmp_path):
    lines = [f"network n{k} {{ input 3x32x32 3 }}\n" for k in range(200)]
    found = syntax_errors("".join(lines), "f.res")
    assert len(found) == 200
    assert all(d.message.startswith("unexpected '3'") for d in found[:MAX_ERRORS_SHOWN])
    assert {d.message for d in found[MAX_ERRORS_SHOWN:]} == {"syntax error"}
    spec = tmp_path / "many.res"
    spec.write_text("".join(lines))
    result = runner.invoke(cli, ["check", str(spec)])
    assert result.exit_code == 1
    assert result.stderr.count(": error: ") == MAX_ERRORS_SHOWN
    assert "... and 150 more errors (the first 50 are shown)" in result.stderr
    assert result.stderr.endswith("many.res: 200 errors\n")


def test_nesting_is_refused_past_its_limit_and_read_up_to_it(runner, tmp_path):
    deep = "network n { input 3x32x32 classes %s10 stage 2 x 16 head { avgpool fc } }"
    ok, too_deep = tmp_path / "ok.res", tmp_path / "deep.res"
    ok.write_text(deep % ("- - " * (MAX_NESTING // 2)))
    too_deep.write_text(deep % ("1 + " * (MAX_NESTING + 1)))
    assert runner.invoke(cli, ["check", str(ok)]).exit_code == 0  # - - 10 is 10
    result = runner.invoke(cli, ["check", str(too_deep)])
    assert result.exit_code == 1
    assert f"arithmetic is nested too deeply (more than {MAX_NESTING} levels)" in result.stderr
