"""``resdsl fmt``: specs rewritten in the one canonical layout (docs/fmt.md).

NOTE: all or none. Every file is read, parsed, laid out and checked before any is written: a
file with a syntax error (reported as ``resdsl check`` reports it: exit status 1) or a layout
that would change a spec's meaning (a bug in resdsl: exit status 2) leaves every file as it
was. A file whose layout is already canonical is never written; one that changes is written
through a temporary beside it (:func:`resdsl.files.write_atomically`), keeping its mode, and
through a link to the file it names.
"""

from __future__ import annotations

import sys

import click


@click.command("fmt", short_help="Rewrite specs in the one canonical layout.")
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@click.option(
    "--check", "check_only", is_flag=True, help="Write nothing; exit 1 if any file would change."
)
@click.option(
    "--diff", "show_diff", is_flag=True, help="Write nothing; print what would change, as a diff."
)
def fmt(files: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite FILES in the canonical layout of docs/fmt.md, comments kept where they are.

    A folder stands for the .res files under it; - reads standard input and writes the spec to
    standard output. --check lists the files that would change, --diff prints a unified diff
    of each; either writes nothing and exits 1 if any file would change. A file that does not
    parse is refused with its syntax errors (exit 1); nothing is written unless every file
    can be.
    """
    from resdsl.diagnostics import printable, render_all
    from resdsl.formatting import MeaningChanged

    try:
        results = [_format(path) for path in _expand(files)]
    except MeaningChanged as bug:
        click.echo(printable(str(bug)), err=True)
        sys.exit(2)
    refused = [r for r in results if r.error is not None]
    for result in refused:
        error = result.error
        click.echo(render_all(error.diagnostics, error.sources) or error.render(), err=True)
        if error.diagnostics:
            count = len(error.diagnostics)
            click.echo(printable(f"{result.path}: {count} error{'s' * (count != 1)}"), err=True)
    if refused:
        sys.exit(1)
    changed = [r for r in results if r.changed]
    if check_only or show_diff:
        for result in changed:
            if show_diff:
                click.echo(result.diff(), nl=False)
            if check_only:
                click.echo(printable(f"{result.path}: would be reformatted"), err=True)
        tidy = len(results) - len(changed)
        click.echo(f"{tidy} of {len(results)} files already formatted", err=True)
        sys.exit(1 if changed else 0)
    for result in results:
        if result.path == "-":
            sys.stdout.buffer.write(result.after.encode("utf-8"))
            sys.stdout.flush()
        elif result.changed:
            result.write()
            click.echo(printable(f"{result.path}: reformatted"), err=True)
    files_given = [r for r in results if r.path != "-"]
    if files_given:
        done = sum(r.changed for r in files_given)
        click.echo(f"{done} reformatted, {len(files_given) - done} unchanged", err=True)


class _Result:
    """One file: its bytes as read, its text formatted, or why it was refused."""

    def __init__(self, path: str, before: bytes, after: str = "", error=None) -> None:
        self.path, self.before, self.after, self.error = path, before, after, error

    @property
    def changed(self) -> bool:
        return self.error is None and self.after.encode("utf-8") != self.before

    def diff(self) -> str:
        import difflib

        from resdsl.diagnostics import printable

        old = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        name = printable(self.path)
        lines = difflib.unified_diff(old, new, f"{name}", f"{name} (formatted)")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def write(self) -> None:
        import os
        import stat
        from pathlib import Path

        from resdsl.diagnostics import ResdslError
        from resdsl.files import write_atomically

        target = Path(os.path.realpath(self.path))  # through a link, to the file it names
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
            write_atomically(target, self.after.encode("utf-8"), mode=mode)
        except OSError as error:
            raise ResdslError(f"cannot write {self.path}: {error.strerror or error}") from None


def _expand(paths: tuple[str, ...]) -> list[str]:
    """The files FILES names: a folder's .res files, sorted, at any depth."""
    from pathlib import Path

    found: list[str] = []
    for path in paths:
        if path != "-" and Path(path).is_dir():
            found += sorted(str(p) for p in Path(path).rglob("*.res") if p.is_file())
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _format(path: str) -> _Result:
    """Read and format one file (``-``: standard input)."""
    from resdsl.diagnostics import ResdslError
    from resdsl.formatting import format_text
    from resdsl.lang.load import decode, read_source

    if path == "-":
        before = sys.stdin.buffer.read()
        text, problem = decode(before, path)
    else:
        text, problem = read_source(path, None)
        before = b""
        if problem is None:
            with open(path, "rb") as file:
                before = file.read()
    if problem is not None:
        return _Result(path, before, error=ResdslError([problem], {path: text or ""}))
    assert text is not None
    try:
        return _Result(path, before, format_text(text, path))
    except ResdslError as error:
        return _Result(path, before, error=error)
