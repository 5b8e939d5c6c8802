"""``resdsl fmt``: files rewritten in the canonical layout, --check, --diff, standard input,
syntax errors as check reports them, a meaning changed as the bug it is, nothing written but
what changes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from resdsl import formatting
from resdsl.cli import cli
from tests.conftest import GOLDEN

MESSY = "network tiny = cifar_resnet( n = 3 )   # twenty layers\n\n\n\nnetwork   b = tiny\n"
TIDY = "network tiny = cifar_resnet(n=3)  # twenty layers\n\nnetwork b = tiny\n"


@pytest.fixture
def specs(tmp_path, monkeypatch):
    """A folder of specs: one to tidy, one tidy, one in a subfolder to tidy."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs" / "zoo").mkdir(parents=True)
    (tmp_path / "specs" / "messy.res").write_text(MESSY)
    (tmp_path / "specs" / "tidy.res").write_text(TIDY)
    (tmp_path / "specs" / "zoo" / "deep.res").write_text(MESSY)
    return tmp_path / "specs"


def test_the_bundled_specs_and_the_language_examples_are_formatted(runner, at_root):
    """What CI holds the repository to (and `make lint` runs)."""
    result = runner.invoke(cli, ["fmt", "--check", "specs/", "tests/golden/language"])
    assert result.exit_code == 0, result.output
    files = [*Path("specs").rglob("*.res"), *Path("tests/golden/language").rglob("*.res")]
    assert len(files) > 30  # specs/zoo/ included
    assert result.stderr == f"{len(files)} of {len(files)} files already formatted\n"
    prelude = runner.invoke(cli, ["fmt", "--check", "resdsl/lang/prelude.res"])
    assert prelude.exit_code == 0, prelude.output


def test_fmt_rewrites_what_changes_and_never_touches_the_rest(runner, specs):
    tidy = specs / "tidy.res"
    before = os.stat(tidy)
    result = runner.invoke(cli, ["fmt", "specs"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "specs/messy.res: reformatted\nspecs/zoo/deep.res: reformatted\n"
        "2 reformatted, 1 unchanged\n"
    )
    assert (specs / "messy.res").read_text() == TIDY == (specs / "zoo" / "deep.res").read_text()
    after = os.stat(tidy)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    again = runner.invoke(cli, ["fmt", "specs"])
    assert again.stderr == "0 reformatted, 3 unchanged\n"
    assert sorted(p.name for p in specs.iterdir()) == ["messy.res", "tidy.res", "zoo"]  # no temps


def test_check_lists_what_would_change_and_writes_nothing(runner, specs):
    result = runner.invoke(cli, ["fmt", "--check", "specs/messy.res", "specs/tidy.res"])
    assert result.exit_code == 1
    assert (
        result.stderr == "specs/messy.res: would be reformatted\n1 of 2 files already formatted\n"
    )
    assert (specs / "messy.res").read_text() == MESSY


def test_diff_prints_a_unified_diff_and_writes_nothing(runner, specs):
    result = runner.invoke(cli, ["fmt", "--diff", "specs/messy.res", "specs/tidy.res"])
    assert result.exit_code == 1
    assert result.stdout.startswith("--- specs/messy.res\n+++ specs/messy.res (formatted)\n@@ ")
    assert "-network tiny = cifar_resnet( n = 3 )   # twenty layers\n" in result.stdout
    assert "+network tiny = cifar_resnet(n=3)  # twenty layers\n" in result.stdout
    assert "tidy.res" not in result.stdout
    assert (specs / "messy.res").read_text() == MESSY


def test_a_dash_reads_standard_input_and_writes_standard_output(runner, specs):
    result = runner.invoke(cli, ["fmt", "-"], input=MESSY)
    assert result.exit_code == 0 and result.stdout == TIDY and result.stderr == ""
    checked = runner.invoke(cli, ["fmt", "--check", "-"], input=MESSY)
    assert checked.exit_code == 1 and checked.stdout == ""
    assert checked.stderr.startswith("-: would be reformatted\n")


@pytest.mark.parametrize(
    "case", sorted(p.name for p in (GOLDEN / "errors").glob("*.res") if "syntax" in p.name)
)
def test_a_file_that_does_not_parse_gets_check_s_report_and_exit_1(case, runner, at_root):
    relative = f"tests/golden/errors/{case}"
    result = runner.invoke(cli, ["fmt", relative])
    assert result.exit_code == 1
    assert result.stderr == (GOLDEN / "errors" / case).with_suffix(".expected").read_text()
    assert result.stdout == ""


def test_one_file_that_does_not_parse_leaves_every_file_as_it_was(runner, specs):
    (specs / "broken.res").write_text("network n { input }\n")
    result = runner.invoke(cli, ["fmt", "specs"])
    assert result.exit_code == 1
    assert result.stderr.startswith("specs/broken.res:1:19: error: unexpected '}'")
    assert result.stderr.endswith("specs/broken.res: 1 error\n")
    assert (specs / "messy.res").read_text() == MESSY


def test_a_missing_file_and_text_that_is_not_utf8_are_located_errors(runner, specs):
    (specs / "latin1.res").write_bytes(b"# caf\xe9\nnetwork a = b\n")
    result = runner.invoke(cli, ["fmt", "specs/nope.res", "specs/latin1.res"])
    assert result.exit_code == 1
    assert "specs/nope.res:1:1: error: no such file: specs/nope.res" in result.stderr
    assert "specs/latin1.res:1:6: error: this file is not UTF-8 text (byte 0xe9)" in result.stderr


def test_a_layout_that_would_change_the_meaning_is_a_bug_exit_2_nothing_written(
    runner, specs, monkeypatch
):
    monkeypatch.setattr(formatting, "layout", lambda text: text.replace("n=3", "n=4") + "\n")
    result = runner.invoke(cli, ["fmt", "specs"])
    assert result.exit_code == 2
    assert result.stderr.startswith("specs/tidy.res:1:1: internal error: formatting would change")
    assert "bug in resdsl fmt" in result.stderr
    # messy.res was laid out well, tidy.res tripped the bug: neither is written
    assert (specs / "messy.res").read_text() == MESSY


def test_a_rewrite_keeps_the_file_s_mode_and_goes_through_a_link(runner, specs):
    messy = specs / "messy.res"
    messy.chmod(0o640)
    (specs / "link.res").symlink_to("zoo/deep.res")
    result = runner.invoke(cli, ["fmt", "specs/messy.res", "specs/link.res"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert (specs / "link.res").is_symlink()
    assert (specs / "zoo" / "deep.res").read_text() == TIDY


def test_fmt_is_listed_by_help(runner):
    result = runner.invoke(cli, ["--help"])
    assert "fmt" in result.stdout


def test_a_spec_with_crlf_line_ends_is_rewritten_with_lf(runner, specs):
    (specs / "crlf.res").write_bytes(TIDY.replace("\n", "\r\n").encode())
    result = runner.invoke(cli, ["fmt", "specs/crlf.res"])
    assert result.exit_code == 0
    assert (specs / "crlf.res").read_bytes() == TIDY.encode()
