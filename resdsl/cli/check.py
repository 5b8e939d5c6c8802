"""``resdsl check``: parse and validate; every error with file:line:col."""

from __future__ import annotations

import json
import sys

import click

from resdsl.cli.arguments import SPECS


@click.command(short_help="Parse and validate specs; every error located.")
@SPECS
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="text: compiler-style on stderr; json: resdsl.check/1 on stdout; sarif: SARIF 2.1.0.",
)
def check(files: tuple[str, ...], fmt: str) -> None:
    """Parse and validate FILES; report every error with file:line:col.

    Exits 1 if any file has an error, whatever the format.
    """
    from resdsl.diagnostics import printable, render_all
    from resdsl.pipeline import check as check_file

    results = [(path, check_file(path)) for path in files]
    failed = any(not result.ok for _, result in results)
    if fmt != "text":
        from resdsl.report.serialize import check_data, sarif

        data = check_data(results) if fmt == "json" else sarif(results)
        click.echo(json.dumps(data, indent=2))
        sys.exit(1 if failed else 0)
    for path, result in results:
        if result.diagnostics:
            click.echo(render_all(result.diagnostics, result.sources), err=True)
        if not result.ok:
            errors = sum(d.severity == "error" for d in result.diagnostics)
            click.echo(printable(f"{path}: {errors} error{'s' * (errors != 1)}"), err=True)
            continue
        names = ", ".join(f"{net.name} ({net.depth} layers)" for net in result.networks)
        click.echo(printable(f"{path}: ok: {names or 'no concrete networks'}"))
    if failed:
        sys.exit(1)
