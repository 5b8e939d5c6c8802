"""``resdsl import``: a PyTorch model (a factory, or a state dict and a hint) to a ``.res`` spec.

NOTE: writing. ``-o`` goes to a temporary file made exclusively in the target's folder, then
takes the target's name (:func:`resdsl.files.write_atomically`): with ``os.replace`` under
``--force``, else with ``os.link``, which
fails if the name exists, so a file the user had is never overwritten by accident nor left
half-written, even by a race between two runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from resdsl.diagnostics import ResdslError
from resdsl.files import write_atomically


@click.command("import", short_help="Read a PyTorch model back into a .res spec.")
@click.argument("source", metavar="[SOURCE]", required=False)
@click.option("--output", "-o", metavar="OUT.res", help="Write the spec here (default: stdout).")
@click.option("--force", is_flag=True, help="Overwrite OUT.res if it exists.")
@click.option("--name", help="The network's name (default: the factory's).")
@click.option(
    "--kwarg",
    "-k",
    "kwargs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A keyword for the factory, e.g. -k num_classes=10 (repeatable).",
)
@click.option(
    "--input", "input_", metavar="CxHxW", help="The input size (default: META's, or a guess)."
)
@click.option("--state-dict", metavar="FILE.pt", help="Import this state dict's network ...")
@click.option("--hint", metavar="SOURCE", help="... as built by this factory (or SOURCE).")
def import_(
    source: str | None,
    output: str | None,
    force: bool,
    name: str | None,
    kwargs: tuple[str, ...],
    input_: str | None,
    state_dict: str | None,
    hint: str | None,
) -> None:
    """Import the model SOURCE builds as a .res spec: SOURCE is package.module:factory
    (imported) or path/to/file.py:factory (loaded), called with no arguments but -k's.

    The model is built on the meta device and traced with torch.fx; what the language cannot
    write is refused with the module path of the first layer it could not place. The spec is
    checked, and its IR compared with the traced model, before it is printed or written.

    \b
      resdsl import torchvision.models:resnet50 -o resnet50_v1_5.res
      resdsl import generated/resnet20.py:resnet20
      resdsl import --state-dict run/model.pt --hint torchvision.models:resnet18
    """
    from resdsl.imports import import_model, load
    from resdsl.imports.source import keywords

    factory = hint or source
    if state_dict is not None and factory is None:
        raise ResdslError("--state-dict needs --hint SOURCE: the factory that builds its network")
    if factory is None:
        raise click.UsageError("give SOURCE (package.module:factory or file.py:factory)")
    if output is not None and not force and os.path.lexists(output):
        raise ResdslError(f"{output} exists; pass --force to overwrite it")
    arguments = keywords(kwargs)
    model = load(factory, arguments, state_dict)
    origin = factory if state_dict is None else f"{state_dict} (built by {factory})"
    text = import_model(
        model,
        name=name or factory.rpartition(":")[2],
        input=_size(input_),
        origin=origin + "".join(f" -k {pair}" for pair in kwargs),
    )
    if output is None:
        click.echo(text, nl=False)
        return
    _write(text, output, force)
    click.echo(f"{output}: written", err=True)


def _size(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ResdslError(f"--input {text}: expected channels x height x width, like 3x224x224")
    return int(parts[0]), int(parts[1]), int(parts[2])


def _write(text: str, output: str, force: bool) -> None:
    """Write ``text`` to ``output`` atomically, never over an existing file without force."""
    try:
        write_atomically(Path(output), text.encode("utf-8"), overwrite=force)
    except FileExistsError:
        raise ResdslError(f"{output} exists; pass --force to overwrite it") from None
    except OSError as error:
        raise ResdslError(f"cannot write {output}: {error.strerror}") from None
