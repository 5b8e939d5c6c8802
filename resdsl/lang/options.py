"""Options, as parsing folds them into the statement they belong to: structure, no meaning.

    >>> from resdsl.lang.parse import parse
    >>> (derivation,) = parse("network a = b with block preact, dropout 0.3, "
    ...                       "stage conv3_x: 4 x 128, stride 2", "a.res").items
    >>> block, stage = derivation.overrides
    >>> block.dropout.text, stage.stride.value
    ('0.3', 2)

A statement's options (``conv 3x3, 64, stride 2``; ``block bottleneck, groups 32``) arrive
from the grammar as :class:`Option` items. In a body they follow their statement's keyword;
in a ``with`` the commas also separate the overrides, so the grammar gives each option as an
override of its own and :func:`fold_overrides` puts it back into the block (or, for a
``stride``, the stage) before it. Part of :mod:`resdsl.lang.parse`; what the options mean is
resolving's business (:mod:`resdsl.lang.settings`).
"""

from __future__ import annotations

from dataclasses import replace

from resdsl.lang import syntax as s

# A block option's keyword, and the field of syntax.Block it fills.
BLOCK_FIELDS = {
    "expansion": "expansion",
    "stride on": "stride_on",
    "zero init": "zero_init",
    "groups": "groups",
    "width per group": "width_per_group",
    "dropout": "dropout",
}


class Option:
    """A `, stride 2`-style option before it is folded into its statement."""

    def __init__(self, key: str, value: object, name: s.Name):
        self.key, self.value, self.name = key, value, name


def fold(options: list[Option]) -> tuple[dict[str, object], tuple[s.Name, ...]]:
    """First occurrence of each option wins; the rest are kept to be reported."""
    chosen: dict[str, object] = {}
    repeated = []
    for option in options:
        if option.key in chosen:
            repeated.append(option.name)
        else:
            chosen[option.key] = option.value
    return chosen, tuple(repeated)


def fold_overrides(children: list) -> tuple[s.Override, ...]:
    """Fold `with block bottleneck, stride on 3x3` options into the block they follow, and
    `with stage conv3_x: 4 x 128, stride 2` strides (and a block parameter written after a
    stage: `width1 [47, 52, 64]`) into the stage."""
    settings: list = []
    for child in children:
        if not isinstance(child, Option):
            settings.append(child)
            continue
        if child.key == "stride":
            settings.append(_stage_stride(settings, child))
            continue
        if child.key.startswith("named ") and settings and isinstance(settings[-1], s.Stage):
            settings[-1] = _stage_named(settings[-1], child)  # `stage ..., width1 [47, 52]`
            continue
        block = settings[-1] if settings and isinstance(settings[-1], s.Block) else None
        if block is None:  # an option with no block before it: an empty block name
            block = s.Block(s.Name("", child.name.span), None, None, False, child.name.span)
            settings.append(block)
        settings[-1] = _with_option(block, child)
    return tuple(settings)


def _stage_stride(settings: list, option: Option) -> s.Stage | s.Stray:
    """The stage before a `, stride S` in a `with`, with that stride; a stray if none."""
    if not settings or not isinstance(settings[-1], s.Stage):
        return s.Stray(option.name, option.name.span)
    stage = settings.pop()
    if stage.stride is not None:
        return replace(stage, repeated=(*stage.repeated, option.name))
    return replace(stage, stride=option.value)


def _stage_named(stage: s.Stage, option: Option) -> s.Stage:
    if any(name.text == option.name.text for name, _ in stage.named):
        return replace(stage, repeated=(*stage.repeated, option.name))
    return replace(stage, named=(*stage.named, (option.name, option.value)))


def _with_option(block: s.Block, option: Option) -> s.Block:
    if option.key.startswith("named "):  # `ratio 8`: a parameter of the block's definition
        if any(name.text == option.name.text for name, _ in block.named):
            return replace(block, repeated=(*block.repeated, option.name))
        return replace(block, named=(*block.named, (option.name, option.value)))
    name = BLOCK_FIELDS[option.key]
    if getattr(block, name) not in (None, False):
        return replace(block, repeated=(*block.repeated, option.name))
    return replace(block, **{name: option.value})
