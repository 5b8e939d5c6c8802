"""``resdsl compile``: one readable PyTorch module per concrete network."""

from __future__ import annotations

import sys

import click

from resdsl.cli.arguments import SPECS


@click.command("compile", short_help="Write one readable PyTorch module per network.")
@SPECS
@click.option(
    "--output",
    "-o",
    default="generated",
    show_default=True,
    metavar="DIR",
    help="Write DIR/NAME.py for every concrete network.",
)
@click.option("--network", "-n", help="Compile only this network of FILES.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if out of date.")
def compile_(files: tuple[str, ...], output: str, network: str | None, check_only: bool) -> None:
    """Compile FILES to PyTorch: one module DIR/NAME.py per concrete network.

    --check writes nothing, names every file that is missing or differs from what would be
    generated, and exits 1 if there is any (for CI). torch is not imported.
    """
    from resdsl.codegen.emit import compile_specs, write_outputs
    from resdsl.diagnostics import printable

    outputs = compile_specs(files, output, network)  # every spec first: errors write nothing
    if check_only:
        stale = [o for o in outputs if o.stale()]
        for o in stale:
            click.echo(printable(f"{o.path}: out of date (run resdsl compile {o.spec})"), err=True)
        click.echo(f"{len(outputs) - len(stale)} of {len(outputs)} generated files up to date")
        if stale:
            sys.exit(1)
        return
    # All or none: a full disk or an unwritable folder changes no file (see codegen.emit).
    for o, written in zip(outputs, write_outputs(outputs), strict=True):
        click.echo(printable(f"{o.path}: {'written' if written else 'unchanged'} ({o.spec})"))
