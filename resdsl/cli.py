"""The ``resdsl`` command line: a thin click layer over the pipeline's functions.

Domain errors (:class:`~resdsl.diagnostics.ResdslError`) become compiler-style messages
and exit status 1 here, at the boundary, and nowhere else.
"""

from __future__ import annotations

import os
import sys

import click

from resdsl import __version__
from resdsl.diagnostics import ResdslError, render_all
from resdsl.ir import depth
from resdsl.pipeline import check as check_file

# Spec arguments are plain strings (not click.Path(exists=True)) so that a missing file gets
# the same file:line:col diagnostic as every other error.
SPECS = click.argument("files", nargs=-1, required=True, metavar="FILES...")


class SpecError(click.ClickException):
    """A ResdslError at the CLI boundary: printed as diagnostics, exit status 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ResdslError as error:
            raise SpecError(error.render()) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resdsl")
def cli() -> None:
    """resdsl: ResNets written the way the paper writes them, compiled to PyTorch.

    \b
      resdsl check   specs/*.res            parse and validate
      resdsl ir      specs/resnet34.res     show the elaborated IR
    """


@cli.command()
@SPECS
def check(files: tuple[str, ...]) -> None:
    """Parse and validate FILES; report every error with file:line:col."""
    failed = False
    for path in files:
        result = check_file(path)
        if result.diagnostics:
            click.echo(render_all(result.diagnostics, result.sources), err=True)
        if not result.ok:
            failed = True
            errors = sum(d.severity == "error" for d in result.diagnostics)
            click.echo(f"{path}: {errors} error{'s' * (errors != 1)}", err=True)
            continue
        names = ", ".join(f"{g.graph['name']} ({depth(g)} layers)" for g in result.networks)
        click.echo(f"{path}: ok: {names or 'no concrete networks'}")
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("file", metavar="FILE")
@click.option("--network", "-n", help="Show this network of FILE (default: every one).")
def ir(file: str, network: str | None) -> None:
    """Show the IR of FILE: every operation in order, with its module path and shape."""
    result = check_file(file, network)
    result.raise_for_errors()
    for graph in result.networks:
        info = graph.graph
        click.echo(
            f"network {info['name']}  input {_shape(info['input'])}  classes "
            f"{info['classes']}  block {info['block'].kind}  shortcut {info['shortcut']}"
        )
        click.echo(f"{'#':>5}  {'op':<8} {'path':<28} {'shape':<14} line")
        for node, attrs in graph.nodes(data=True):
            click.echo(
                f"{node:>5}  {attrs['op']:<8} {attrs['path']:<28} "
                f"{_shape(attrs['shape']):<14} {attrs['span'].line}"
            )


def _shape(shape) -> str:
    return "?" if shape is None else "x".join(str(d) for d in shape)


def main() -> None:
    """Console entry point. Spec errors exit 1 (see SpecError); a bug in resdsl exits 2 with
    a one-line message rather than a traceback, unless RESDSL_DEBUG is set."""
    try:
        cli(prog_name="resdsl")
    except Exception as error:
        if os.environ.get("RESDSL_DEBUG"):
            raise
        click.echo(
            f"resdsl: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in resdsl; set RESDSL_DEBUG=1 to see where.",
            err=True,
        )
        sys.exit(2)
