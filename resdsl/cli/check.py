"""``resdsl check``: parse and validate; every error with file:line:col."""

from __future__ import annotations

import sys

import click

from resdsl.cli.options import SPECS


@click.command()
@SPECS
def check(files: tuple[str, ...]) -> None:
    """Parse and validate FILES; report every error with file:line:col."""
    from resdsl.diagnostics import printable, render_all
    from resdsl.pipeline import check as check_file

    failed = False
    for path in files:
        result = check_file(path)
        if result.diagnostics:
            click.echo(render_all(result.diagnostics, result.sources), err=True)
        if not result.ok:
            failed = True
            errors = sum(d.severity == "error" for d in result.diagnostics)
            click.echo(printable(f"{path}: {errors} error{'s' * (errors != 1)}"), err=True)
            continue
        names = ", ".join(f"{net.name} ({net.depth} layers)" for net in result.networks)
        click.echo(printable(f"{path}: ok: {names or 'no concrete networks'}"))
    if failed:
        sys.exit(1)
