"""The Lark parser of ``grammars/res.lark``, with its tables kept between runs.

    >>> tree = parser().parse("network n { classes 10 }")
    >>> str(tree.data), [str(child.data) for child in tree.children]
    ('start', ['network'])

Building the LALR tables takes about 50 ms, a fifth of a whole ``resdsl check``. Lark can
save them (``cache=``) and load them in a few milliseconds; it checks a hash of the grammar
and options, so a changed grammar rebuilds them. The file is a pickle, which can run code, so
resdsl keeps it only in a private folder of the user's own (``$XDG_CACHE_HOME/resdsl`` or
``~/.cache/resdsl``, mode 0700), never in a shared temporary directory as Lark's default
does, and uses it only if that folder and the file belong to the user, are not writable by
anyone else and are not links. Where that cannot be had (no home, a read-only disk, someone
else's folder) the tables are built each time. ``RESDSL_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import functools
import os
import pickle
import stat
from importlib import resources
from pathlib import Path

import lark


@functools.cache
def parser() -> lark.Lark:
    """The parser; one per process (a Lark object is never mutated)."""
    grammar = resources.files("resdsl.grammars").joinpath("res.lark").read_text("utf-8")
    options = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}
    return lark.Lark(grammar, cache=cache_file() or False, **options)


@functools.cache
def token_parser() -> lark.Lark:
    """The same grammar with every token kept in the tree, punctuation included (``{``, ``,``,
    ``=``): what :mod:`resdsl.lang.printer` lays out. Its tables are cached as the parser's."""
    grammar = resources.files("resdsl.grammars").joinpath("res.lark").read_text("utf-8")
    options = {"parser": "lalr", "keep_all_tokens": True, "maybe_placeholders": False}
    name = f"res-grammar-tokens-lark-{lark.__version__}.pickle"
    return lark.Lark(grammar, cache=cache_file(name) or False, **options)


def cache_file(name: str | None = None) -> str | None:
    """Where the tables (or another pickle of resdsl's, ``name``) are kept, or None where no
    private place is to be had."""
    if os.environ.get("RESDSL_NO_CACHE"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(root) / "resdsl"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / (name or f"res-grammar-lark-{lark.__version__}.pickle")
        if not _private(folder) or (os.path.lexists(path) and not _private(path)):
            return None
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        return None
    return str(path)


def cached(name: str, key: bytes, build):
    """``build()``'s value, kept as a pickle in the private cache under ``name`` and reused
    while ``key`` (a digest of what it is built from) is the same; built anew where there is
    no private cache, or the file is unreadable."""
    path = cache_file(name)
    if path is not None:
        try:
            with open(path, "rb") as file:
                stored_key, value = pickle.load(file)
            if stored_key == key:
                return value
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            pass
    value = build()
    if path is not None:
        try:
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "wb") as file:
                pickle.dump((key, value), file)
            os.replace(temporary, path)
        except OSError:
            pass
    return value


def _private(path: Path) -> bool:
    """Owned by this user, not a link, and writable by no one else."""
    info = path.lstat()
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return (
        mine and not stat.S_ISLNK(info.st_mode) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
