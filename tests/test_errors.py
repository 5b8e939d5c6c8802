"""Golden wrong specs: each file under golden/errors/ gets exactly the report in its .expected.

To add a case: write ``golden/errors/NAME.res``, run ``resdsl check`` on it from the
repository root, read the report, and save it as ``NAME.expected`` only if it is right.
"""

from __future__ import annotations

import pytest

from resdsl.cli import cli
from tests.conftest import GOLDEN

CASES = sorted((GOLDEN / "errors").glob("*.res"))


def test_there_are_at_least_thirty_wrong_specs():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_wrong_spec_gets_its_exact_diagnostics(case, runner, at_root):
    relative = case.relative_to(at_root).as_posix()
    result = runner.invoke(cli, ["check", relative])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == case.with_suffix(".expected").read_text()
    assert "Traceback" not in result.output


def test_language_md_wrong_spec_example(runner, tmp_path, monkeypatch):
    """LANGUAGE.md's example report, byte for byte, for a spec laid out as its line 9."""
    (tmp_path / "specs").mkdir()
    source = (GOLDEN / "errors" / "option_a_shrinks.res").read_text()
    (tmp_path / "specs" / "broken.res").write_text(source)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["check", "specs/broken.res"])
    expected = (GOLDEN / "language" / "wrong_spec.expected").read_text()
    assert result.exit_code == 1
    assert result.stderr.startswith(expected)


def test_all_errors_of_a_file_are_reported_in_one_run(runner, at_root):
    result = runner.invoke(cli, ["check", "tests/golden/errors/several_errors.res"])
    assert result.stderr.count(": error: ") == 3
