"""The ``resdsl`` command line: a click group over one module per command, loaded lazily.

Each command lives in ``resdsl/cli/NAME.py`` and imports what it needs (the pipeline, the
code generator, torch) inside its function, so ``resdsl --help`` reads only click, and
``resdsl check`` loads the front end and nothing else: click's documented lazy-group
pattern (https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands).

NOTE: errors. Every error a user can cause is a :class:`~resdsl.diagnostics.ResdslError`
(a bad spec, a module that is not a generated one, a missing Graphviz, an unwritable
folder); :class:`ResdslGroup` turns it into its message and exit status 1, here and nowhere
else. Anything else is a bug in resdsl: :func:`main` prints one line and exits 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from resdsl import __version__
from resdsl.diagnostics import ResdslError, printable

# Command name -> "module:attribute" of its click command, imported on first use.
COMMANDS = {
    "check": "resdsl.cli.check:check",
    "compile": "resdsl.cli.compile:compile_",
    "diff": "resdsl.cli.diff:diff",
    "experiment": "resdsl.cli.experiment:experiment",
    "export": "resdsl.cli.export:export",
    "fmt": "resdsl.cli.fmt:fmt",
    "graph": "resdsl.cli.graph:graph",
    "import": "resdsl.cli.import_:import_",
    "ir": "resdsl.cli.ir:ir",
    "lsp": "resdsl.cli.lsp:lsp",
    "stats": "resdsl.cli.stats:stats",
    "train": "resdsl.cli.train:train",
}


class UserError(click.ClickException):
    """A ResdslError at the CLI boundary: its text as is, exit status 1."""

    exit_code = 1

    def __init__(self, error: ResdslError) -> None:
        super().__init__(error.render())
        self.located = bool(error.diagnostics)

    def show(self, file=None) -> None:
        # Diagnostics carry their own file:line:col prefix; a plain message gets click's.
        click.echo(self.message if self.located else f"Error: {self.message}", err=True)


class ResdslGroup(click.Group):
    """A group whose commands are imported when first asked for; ResdslError -> exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ResdslError as error:
            raise UserError(error) from None
        except click.UsageError as error:
            # A wrong option or argument is bad input like any other: exit 1 with click's
            # usage line and message. Exit status 2 is kept for bugs in resdsl.
            error.exit_code = 1
            raise


@click.group(cls=ResdslGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resdsl")
def cli() -> None:
    """resdsl: ResNets written the way the paper writes them, compiled to PyTorch.

    \b
      resdsl check   specs/*.res            parse and validate
      resdsl ir      specs/resnet34.res     show the IR, op by op
      resdsl stats   specs/resnet50.res     parameters and multiply-adds
      resdsl diff    A.res B.res            what changes, stage by stage
      resdsl fmt     specs/                 the canonical layout, comments kept
      resdsl compile specs/*.res -o generated   write PyTorch modules
      resdsl graph   A.res B.res -o fig.svg     draw them, as the paper's Fig. 3
      resdsl import  torchvision.models:resnet50   a PyTorch model back to a spec
      resdsl lsp                            the language server, for editors
    """


def main() -> None:
    """Console entry point. User errors exit 1 (see UserError); a bug in resdsl exits 2 with
    a one-line message rather than a traceback, unless RESDSL_DEBUG is set."""
    try:
        cli(prog_name="resdsl")
    except Exception as error:
        if os.environ.get("RESDSL_DEBUG"):
            raise
        click.echo(
            printable(f"resdsl: internal error: {type(error).__name__}: {error}")
            + "\nThis is a bug in resdsl; set RESDSL_DEBUG=1 to see where.",
            err=True,
        )
        sys.exit(2)
