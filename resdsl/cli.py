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
from resdsl.experiment_command import experiment
from resdsl.graph_command import graph as graph_command
from resdsl.ir import depth
from resdsl.pipeline import check as check_file
from resdsl.stats_command import diff, stats
from resdsl.train.command import train

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
      resdsl stats   specs/resnet50.res     parameters and multiply-adds
      resdsl diff    A.res B.res            what changes, stage by stage
      resdsl compile specs/*.res -o generated   write PyTorch modules
      resdsl graph   A.res B.res -o fig.svg     draw them, as the paper's Fig. 3
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


@cli.command("compile")
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
    from resdsl.emit import compile_specs

    outputs = compile_specs(files, output, network)  # every spec first: errors write nothing
    if check_only:
        stale = [o for o in outputs if o.stale()]
        for o in stale:
            click.echo(f"{o.path}: out of date (run resdsl compile {o.spec})", err=True)
        click.echo(f"{len(outputs) - len(stale)} of {len(outputs)} generated files up to date")
        if stale:
            sys.exit(1)
        return
    for o in outputs:
        click.echo(f"{o.path}: {'written' if o.write() else 'unchanged'} ({o.spec})")


cli.add_command(train)
cli.add_command(stats)
cli.add_command(diff)
cli.add_command(graph_command)
cli.add_command(experiment)


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
