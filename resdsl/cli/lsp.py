"""``resdsl lsp``: the language server, over stdin and stdout (docs/editor.md)."""

from __future__ import annotations

import click


@click.command(short_help="Run the language server (LSP) over stdio, for editors.")
@click.option(
    "--stdio",
    is_flag=True,
    help="Speak over stdin and stdout (the only transport; accepted because editors pass it).",
)
def lsp(stdio: bool) -> None:
    """Run the language server for .res files over stdin and stdout.

    An editor starts it and speaks the Language Server Protocol to it: diagnostics as you
    type (the errors of `resdsl check`), hover with shapes, parameters, multiply-adds and
    training memory, go to definition, completion, the outline and quick fixes.

    \b
      VS Code: the extension in editors/vscode starts it
      Neovim:  vim.lsp.start({ name = "resdsl", cmd = { "resdsl", "lsp" } })
    """
    try:
        from resdsl.lsp.server import serve
    except ModuleNotFoundError as missing:
        package = (missing.name or "").split(".")[0]
        if package not in ("pygls", "lsprotocol"):
            raise
        from resdsl.diagnostics import ResdslError

        raise ResdslError(f"resdsl lsp needs {package}: pip install 'resdsl[lsp]'") from None
    serve()
