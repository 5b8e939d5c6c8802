"""Formatting a spec, held to its meaning: the printer's layout, checked before it is used.

    >>> print(format_text("network n{input 3x32x32 classes 10 # ten\\n}", "n.res"), end="")
    network n {
        input 3x32x32
        classes 10  # ten
    }

:func:`format_text` is what ``resdsl fmt``, the language server's document formatting and
``resdsl import`` use: text that does not parse is refused with its syntax errors (a
:class:`~resdsl.diagnostics.ResdslError`, as ``resdsl check`` reports them), and text that
does is laid out by :func:`resdsl.lang.printer.layout`.

NOTE: the meaning check. The printer changes whitespace only, so the text it gives must mean
what the text it was given means, and every change is checked before it is handed out: the
two syntax trees are compared field by field with their spans left out (comments the tree
keeps, a block's docstring and its parameters' comments, included), then both texts go
through :func:`resdsl.pipeline.check` and every network's description, blocks and IR nodes
(ops, module paths, shapes, inputs and their roles) must be equal, and so must the
diagnostics, less their places in this file. A difference is a bug in the printer, never the
user's: :class:`MeaningChanged`, which the command turns into exit status 2 with nothing
written. The check costs a parse and a check of each text (a few milliseconds a spec; 0.2 s
for resnet1202's 4,208 nodes), and only a text the printer changed pays it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from resdsl.diagnostics import ResdslError, Span
from resdsl.lang.parse import parse
from resdsl.lang.printer import layout

# Fields that differ between two layouts of one spec without a difference in meaning.
_LAYOUT_FIELDS = frozenset({"span", "spec_sha256"})


class MeaningChanged(Exception):
    """The layout of a spec would mean something else than the spec: a bug in resdsl."""

    def __init__(self, span: Span | None, what: str) -> None:
        where = f"{span}: " if span is not None else ""
        super().__init__(
            f"{where}internal error: formatting would change {what}; nothing was written "
            "(this is a bug in resdsl fmt; please report it)"
        )


def format_text(text: str, path: str) -> str:
    """``text`` (of the file ``path``) in the canonical layout; ResdslError with every
    syntax error if it does not parse, MeaningChanged if the layout would not mean the same."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    parse(text, path)  # every syntax error, as `resdsl check` reports them
    formatted = layout(text)
    if formatted != text:
        same_meaning(text, formatted, path)
    return formatted


def same_meaning(before: str, after: str, path: str) -> None:
    """Raise MeaningChanged unless ``after`` says what ``before`` says (see the NOTE)."""
    first = parse(before, path)
    try:
        second = parse(after, path)
    except ResdslError as error:
        raise MeaningChanged(None, f"{path} into text that does not parse ({error})") from None
    for old, new in zip(first.items, second.items, strict=False):
        if plain(old) != plain(new):
            raise MeaningChanged(old.span, "this statement")
    if len(first.items) != len(second.items):
        raise MeaningChanged(None, f"the number of items of {path}")
    _same_networks(before, after, path)


def _same_networks(before: str, after: str, path: str) -> None:
    from resdsl.pipeline import check

    old, new = check(path, text=before), check(path, text=after)
    here = re.compile(re.escape(path) + r":\d+:\d+")
    said = [[(d.severity, here.sub(path, d.message)) for d in r.diagnostics] for r in (old, new)]
    if said[0] != said[1]:
        raise MeaningChanged(None, f"what resdsl check says of {path}")
    if [n.name for n in old.networks] != [n.name for n in new.networks]:
        raise MeaningChanged(None, f"the networks of {path}")
    for a, b in zip(old.networks, new.networks, strict=True):
        for part in ("spec", "blocks", "nodes"):
            if plain(getattr(a, part)) != plain(getattr(b, part)):
                raise MeaningChanged(a.spec.name_span, f"network {a.name}'s {part}")


def plain(value: object) -> object:
    """``value`` as nested tuples to compare, without spans or anything else of the layout:
    a dataclass is its type's name and its compared fields.

    >>> from resdsl.lang import syntax as s
    >>> plain(s.Int(3, Span("a.res", 1, 1, 1, 2))) == plain(s.Int(3, Span("b.res", 9, 9, 9, 9)))
    True
    """
    if isinstance(value, Span):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        kept = (f.name for f in fields if f.compare and f.name not in _LAYOUT_FIELDS)
        return (type(value).__name__, *(plain(getattr(value, name)) for name in kept))
    if isinstance(value, tuple | list):
        return tuple(plain(item) for item in value)
    if isinstance(value, Mapping):
        return tuple((key, plain(item)) for key, item in value.items())
    return value
