"""Hostile input (issue 13), each reproducer through the command line: exit status 1, one
located line saying what is wrong, nothing written, nothing read that should not be.

The rows are the issue's table: huge numbers, null bytes and devices in `use`, paths outside
the spec, long chains, floods of errors, odd line ends, escape sequences, rich markup in file
names, long and shadowing names, planted links, unwritable outputs and derived sizes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdsl.cli import cli
from tests.conftest import ROOT

LOCATED = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$", re.MULTILINE)
NET = (
    "network {name} {{ input 3x32x32 classes 10 stem {{ conv 3x3, 16 }} stage 2 x 16 "
    "head {{ avgpool fc }} }}\n"
)


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def refused(result, line: int, column: int, *words: str) -> str:
    """Exit 1 with exactly one located error, at line:column, saying every word; its text."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = LOCATED.findall(result.stderr)
    assert len(errors) == 1, result.stderr
    (_, at_line, at_column, message) = errors[0]
    assert (int(at_line), int(at_column)) == (line, column), result.stderr
    for word in words:
        assert word in message, message
    assert "internal error" not in result.output and "Traceback" not in result.output
    return message


# --- 1: numbers of 4,301 digits and more -------------------------------------------------------


@pytest.mark.parametrize("setting", ["classes {n}", "input 3x{n}x32", "stage {n} x 16"])
def test_a_number_python_cannot_convert_is_refused_where_it_is_written(here, setting):
    digits = "1" * 4301
    written = {"classes": "classes 10", "input": "input 3x32x32", "stage": "stage 2 x 16"}
    text = NET.format(name="n").replace(written[setting.split()[0]], setting.format(n=digits))
    (here / "n.res").write_text(text)
    for command in ("check", "stats", "compile"):
        message = refused(run(command, "n.res"), 1, text.index(digits) + 1, "4,301 digits")
        assert message.endswith("is larger than resdsl supports (1048576)")
    assert not (here / "generated").exists()


def test_a_huge_argument_of_a_family_is_refused_too(here):
    (here / "f.res").write_text(
        "network fam(n) { input 3x32x32 classes 10 stage n x 16 head { avgpool fc } }\n"
        f"network big = fam(n={'9' * 5000})\n"
    )
    refused(run("check", "f.res"), 2, 21, "5,000 digits")


def test_stats_of_the_largest_sizes_resdsl_takes_are_exact(here):
    """Everything at 2^20 at once: counts of 25 digits, printed and in JSON, exactly."""
    side = 1 << 20
    (here / "big.res").write_text(
        f"network big {{ input {side}x{side}x{side} classes {side} "
        f"stem {{ conv 3x3, {side} }} stage 1 x {side} head {{ avgpool fc }} }}\n"
    )
    table = run("stats", "big.res", "--count-all")
    assert table.exit_code == 0, table.output
    result = run("stats", "big.res", "--format", "json", "--count-all")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    conv = 9 * side * side  # the stem's 3x3 conv, no bias
    assert report["params"] > conv and report["flops"] > conv * side * side
    assert f"{report['params']:,}" in table.stdout


# --- 2, 3, 4: what `use` may name ---------------------------------------------------------------


def test_a_null_byte_in_a_use_is_refused(here):
    (here / "u.res").write_text('use "a\x00b.res"\n')
    refused(run("check", "u.res"), 1, 5, "printable name", "\\x00")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/stdin", "/dev/urandom", "/etc/passwd"])
def test_a_use_of_anything_but_a_res_file_is_refused_before_reading(here, target):
    (here / "u.res").write_text(f'use "{target}"\n')
    refused(run("check", "u.res"), 1, 5, f'a use names a .res file; "{target}" is not one')


def test_a_file_outside_the_spec_is_not_echoed(here):
    (here / "secret").write_text("root:TOPSECRET:20228:0:99999:7:::\n")
    (here / "sub").mkdir()
    (here / "sub" / "u.res").write_text('use "../secret"\n')
    result = run("check", "sub/u.res")
    refused(result, 1, 5, "a use names a .res file")
    assert "TOPSECRET" not in result.output


def test_a_res_link_to_a_device_and_a_fifo_are_refused_without_blocking(here):
    """In a subprocess: opening a FIFO for reading waits for a writer, forever here. The test
    watches for that wait itself (the kernel names it) rather than for time running out."""
    os.symlink("/dev/zero", here / "zero.res")
    os.mkfifo(here / "fifo.res")
    (here / "a.res").write_text('use "zero.res"\n')
    (here / "b.res").write_text('use "fifo.res"\n')
    for spec in ("a.res", "b.res"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "resdsl", "check", spec],
            cwd=here,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        while True:
            try:
                _, stderr = proc.communicate(timeout=0.1)  # how often to look, not a limit
                break
            except subprocess.TimeoutExpired:
                if _waiting_for_a_fifo_writer(proc.pid):
                    proc.kill()
                    proc.communicate()
                    pytest.fail(f"resdsl check {spec} waits for a writer to open the FIFO")
        assert proc.returncode == 1, stderr
        assert "is not a regular file; a use names a .res file" in stderr


def _waiting_for_a_fifo_writer(pid: int) -> bool:
    """Whether a thread of process ``pid`` sleeps in the kernel's wait for a FIFO's other end
    (Linux names that wait in /proc/PID/task/TID/wchan)."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread, or the process, ended meanwhile
            if (task / "wchan").read_text() == "wait_for_partner":
                return True
    return False


def test_a_file_beyond_the_size_limit_is_not_read_whole(here):
    (here / "big.res").write_text("#" * (256 * 1024 + 1))
    refused(run("check", "big.res"), 1, 1, "too large", "256 KiB")
    # a device named on the command line is cut off at the limit, not read forever
    refused(run("check", "/dev/zero"), 1, 1, "too large")
    (here / "half.res").write_text("#" * (200 * 1024))
    (here / "top.res").write_text('use "half.res"\n' + "#" * (100 * 1024))
    refused(run("check", "top.res"), 1, 5, "too large")  # the limit is for all files together


# --- 5: long chains --------------------------------------------------------------------------


def test_a_chain_of_990_derivations_is_refused_past_its_limit(here):
    lines = [NET.format(name="a0")] + [f"network a{k} = a{k - 1}\n" for k in range(1, 990)]
    (here / "chain.res").write_text("".join(lines))
    result = run("check", "chain.res")
    assert result.exit_code == 1 and "internal error" not in result.output
    first = LOCATED.search(result.stderr)
    assert first is not None and first.group(2) == "102"  # network a101 = a100
    assert "derived through more than 100 others" in first.group(4)
    assert "chain.res: 889 errors" in result.stderr
    (here / "short.res").write_text("".join(lines[:101]))  # a100: 100 derivations, fine
    assert run("check", "short.res").exit_code == 0


def test_a_chain_of_1200_files_is_refused_at_the_file_limit(here):
    for k in range(1200):
        text = f'use "f{k + 1}.res"\n' if k < 1199 else NET.format(name="last")
        (here / f"f{k}.res").write_text(text)
    result = run("check", "f0.res")
    message = refused(result, 1, 5, "at most 1,000 files")
    assert "internal error" not in message
    assert LOCATED.search(result.stderr).group(1) == "f999.res"
    assert run("check", "f700.res").exit_code == 0  # 500 files deep: loaded without recursion


# --- 6: floods --------------------------------------------------------------------------------


def test_8000_errors_are_reported_as_50_and_a_count(here):
    layers = " ".join(["foo"] * 8000)
    (here / "flood.res").write_text(NET.format(name="n").replace("conv 3x3, 16", layers))
    result = run("check", "flood.res")
    assert result.exit_code == 1
    assert len(LOCATED.findall(result.stderr)) == 50
    assert "... and 7,950 more errors (the first 50 are shown)" in result.stderr
    assert "flood.res: 8000 errors" in result.stderr
    assert len(result.stderr) < 30_000  # the excerpts are cut around the caret too


# --- 7: line ends -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "line"), [("\u2028", 2), ("\x0c", 2), ("\x0b", 2), ("\r", 3), ("\r\n", 3)]
)
def test_the_excerpt_shows_the_line_the_parser_counted(here, ending, line):
    """CR and CRLF end lines; U+2028, form and line feeds do not, to the parser or the excerpt."""
    if ending in ("\r", "\r\n"):
        text = ending.join(["network n {", " input 3x32x32", " classes 10 bogus", "}", ""])
    else:
        text = f"network n {{\n input 3x32x32{ending} classes 10 bogus\n}}\n"
    (here / "e.res").write_bytes(text.encode())
    result = run("check", "e.res")
    assert result.exit_code == 1
    first = LOCATED.search(result.stderr)
    excerpt, caret = result.stderr.splitlines()[1:3]
    assert int(first.group(2)) == line
    if ending in ("\u2028", "\x0b"):  # not whitespace to the parser: that character is the error
        assert excerpt[caret.index("^")] == "?" and excerpt.startswith(" input")
    else:
        assert excerpt[caret.index("^") :].startswith("bogus")


# --- 8, 9: what is printed --------------------------------------------------------------------


def test_escape_sequences_are_escaped_in_every_message(here):
    (here / "u.res").write_text('use "\x1b[31mred.res"\nuse "\x1b]0;owned\x07.res"\n')
    result = run("check", "u.res")
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[31mred.res" in result.stderr
    spec = here / "\x1b[2Jclear.res"
    spec.write_text("network {")
    other = run("check", str(spec.name))
    assert other.exit_code == 1 and "\x1b" not in other.output
    assert "\\x1b[2Jclear.res:1:9: error:" in other.stderr


@pytest.mark.parametrize("name", ["x[/y].res", "x[bold]z.res", "[red]r[/red].res"])
def test_file_names_are_printed_literally_not_as_markup(here, name):
    (here / name).parent.mkdir(parents=True, exist_ok=True)
    (here / name).write_text(NET.format(name="n"))
    result = run("stats", name)
    assert result.exit_code == 0, result.output
    assert f"n  ({name})" in result.stdout


# --- 10, 19: names that cannot be files -----------------------------------------------------------


def test_a_name_too_long_for_a_file_is_refused_by_check(here):
    (here / "n.res").write_text(NET.format(name="a" * 250))
    message = refused(run("check", "n.res"), 1, 9, "longer than 64 characters")
    assert len(message) < 150
    refused(run("compile", "n.res"), 1, 9, "longer than 64 characters")
    assert not (here / "generated").exists()
    (here / "ok.res").write_text(NET.format(name="b" * 64))
    assert run("compile", "ok.res").exit_code == 0
    assert (here / "generated" / f"{'b' * 64}.py").is_file()


@pytest.mark.parametrize("name", ["math", "typing", "os", "numpy", "torch"])
def test_a_name_that_would_hide_a_module_is_refused(here, name):
    (here / "n.res").write_text(NET.format(name=name))
    refused(run("check", "n.res"), 1, 9, f"network name {name}")
    assert not (here / "generated").exists()


# --- 11, 12: writing -----------------------------------------------------------------------------


def test_a_link_planted_at_the_temporary_name_is_not_written_through(here):
    (here / "v.res").write_text(NET.format(name="victim"))
    (here / "out").mkdir()
    (here / "target.txt").write_text("precious\n")
    os.symlink(here / "target.txt", here / "out" / ".victim.py.tmp")
    os.symlink(here / "target.txt", here / "out" / "victim.py")  # the module itself a link
    result = run("compile", "v.res", "-o", "out")
    assert result.exit_code == 0, result.output
    assert (here / "target.txt").read_text() == "precious\n"
    assert not (here / "out" / "victim.py").is_symlink()
    assert "def victim(" in (here / "out" / "victim.py").read_text()
    assert os.readlink(here / "out" / ".victim.py.tmp") == str(here / "target.txt")
    assert sorted(p.name for p in (here / "out").iterdir()) == [".victim.py.tmp", "victim.py"]


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("afile", "cannot write into afile: it is a file, not a folder"),
        ("afile/sub", "cannot write into afile/sub: part of that path is a file, not a folder"),
    ],
)
def test_an_output_that_is_a_file_is_one_clear_line(here, output, words):
    (here / "v.res").write_text(NET.format(name="victim"))
    (here / "afile").write_text("mine\n")
    result = run("compile", "v.res", "-o", output)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {words}\n"
    assert (here / "afile").read_text() == "mine\n"


def _cifar(here: Path) -> str:
    (here / "cifar.res").write_text((ROOT / "specs" / "cifar.res").read_text())
    assert run("compile", "cifar.res", "-o", "out").exit_code == 0
    (here / "out" / "resnet20.py").write_text("# the user's edit\n")
    return "cifar.res"


def test_a_full_disk_changes_no_file_and_leaves_no_temporary(here, monkeypatch):
    spec = _cifar(here)
    before = {p.name: p.read_bytes() for p in (here / "out").iterdir()}
    (here / spec).write_text((here / spec).read_text().replace("16", "24"))
    calls = []

    def fsync(descriptor):
        calls.append(descriptor)
        if len(calls) == 3:  # the third module no longer fits
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    result = run("compile", "cifar.res", "-o", "out")
    assert result.exit_code == 1
    assert re.fullmatch(
        r"Error: cannot write out/\w+\.py: No space left on device\n", result.stderr
    )
    assert {p.name: p.read_bytes() for p in (here / "out").iterdir()} == before


def test_an_unwritable_folder_is_one_clear_line(here, monkeypatch):
    _cifar(here)
    (here / "cifar.res").write_text((here / "cifar.res").read_text().replace("16", "24"))

    def mkstemp(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = run("compile", "cifar.res", "-o", "out")
    assert result.exit_code == 1
    assert result.stderr == "Error: cannot write out/resnet20.py: Permission denied\n"
    assert (here / "out" / "resnet20.py").read_text() == "# the user's edit\n"


def test_a_module_path_that_is_a_folder_is_one_clear_line(here):
    (here / "v.res").write_text(NET.format(name="victim"))
    (here / "out" / "victim.py").mkdir(parents=True)
    result = run("compile", "v.res", "-o", "out")
    assert result.exit_code == 1
    assert result.stderr == "Error: cannot write out/victim.py: it is a folder\n"


# --- 18: derived sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "at", "words"),
    [
        (
            "stage 2 x 16",
            "block bottleneck, expansion 1048576 stage 1 x 1048576",
            "stage",
            "stage layer1: layer1.0.conv3 would output 1099511627776x32x32",
        ),
        ("conv 3x3, 16", "conv 3x3, 16, padding 1048576", "conv", "conv1 would output 16x2097182x"),
    ],
)
def test_derived_sizes_are_capped_like_written_ones(here, before, after, at, words):
    text = NET.format(name="big").replace(before, after)
    (here / "big.res").write_text(text)
    for command in ("check", "stats", "compile"):
        refused(run(command, "big.res"), 1, text.index(at) + 1, words, "each size at most 1048576")
    assert not (here / "generated").exists()


# --- 20: a byte order mark ---------------------------------------------------------------------


def test_a_byte_order_mark_is_accepted_and_columns_stay_right(here):
    (here / "bom.res").write_bytes(b"\xef\xbb\xbf" + NET.format(name="n").encode())
    result = run("check", "bom.res")
    assert result.exit_code == 0 and "bom.res: ok: n (6 layers)" in result.stdout
    (here / "bad.res").write_bytes(b"\xef\xbb\xbfnetwork n { classes }\r\n")
    refused(run("check", "bad.res"), 1, 21, "unexpected '}'")
