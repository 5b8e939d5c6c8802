"""The network-wide settings: ``input``, ``classes``, ``block`` and ``shortcut``, as written in
a network's body or a derivation's ``with``, resolved with located errors.

    >>> from resdsl.lang.parse import parse
    >>> tree = parse("network n { block bottleneck, groups 32, width per group 4 }", "n.res")
    >>> (block,) = tree.items[0].body
    >>> spec = block_setting(block, Scope("n"))
    >>> spec.kind, spec.expansion, spec.groups, spec.width_per_group, spec.inner_width(64)
    ('bottleneck', 4, 32, 4, 128)

Part of resolving (:mod:`resdsl.lang.resolve`). What each block kind allows (``expansion``,
``stride on``, ``groups``, ``width per group``, ``dropout``) is its entry in
:data:`resdsl.ir.recipes.BLOCKS`; this module only reads it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from resdsl.diagnostics import did_you_mean, either
from resdsl.ir.recipes import BLOCKS
from resdsl.lang import syntax as s
from resdsl.lang.scope import Scope
from resdsl.lang.spec import BlockSpec

SHORTCUTS = ("A", "B", "C", "D", "none")
SETTINGS = (s.Input, s.Classes, s.Block, s.Shortcut)
DEFAULT_BLOCK = BlockSpec("basic", 1, "1x1", False)


def chosen_settings(
    network: s.Network, derivations: Sequence[Sequence[s.Override]], scope: Scope
) -> dict[type, s.Setting]:
    """Each setting's statement: the body's, unless a derivation overrides it (the last one,
    ``b = a with classes 10`` after ``a = resnet18 with classes 100``, wins). Written twice in
    the body or in one ``with`` is an error."""
    chosen: dict[type, s.Setting] = {}
    for statement in network.body:
        if isinstance(statement, SETTINGS):
            if type(statement) in chosen:
                keyword = type(statement).__name__.lower()
                scope.error(
                    statement.span, f"{keyword} is set twice in network {network.name.text}"
                )
            chosen.setdefault(type(statement), statement)
    for overrides in derivations:
        seen: set[type] = set()
        for setting in overrides:
            if not isinstance(setting, SETTINGS):
                continue
            if type(setting) in seen:
                scope.error(setting.span, f"{type(setting).__name__.lower()} is overridden twice")
            seen.add(type(setting))
            chosen[type(setting)] = setting
    return chosen


def input_shape(setting: s.Input | None, network: s.Network, scope: Scope):
    if setting is None:
        scope.error(
            network.name.span,
            f"network {network.name.text} has no input; add a line like `input 3x224x224`",
        )
        return None
    if len(setting.dims.parts) != 3:
        scope.error(setting.dims.span, "input is written channels x height x width, like 3x224x224")
        return None
    sizes = [scope.size(p, "an input size") for p in setting.dims.parts]
    return None if None in sizes else (sizes[0], sizes[1], sizes[2])


def block_setting(setting: s.Block | None, scope: Scope) -> BlockSpec | None:
    """The ``block`` line resolved, each option checked against what its kind allows."""
    if setting is None:
        return DEFAULT_BLOCK
    for name in setting.repeated:
        scope.error(name.span, f"block option {name.text} is given twice")
    kind = setting.kind.text
    if not kind:
        scope.error(
            setting.span,
            "a block option needs its block: write `with block bottleneck, stride on 3x3`",
        )
        return None
    if kind not in BLOCKS:
        hint = did_you_mean(kind, list(BLOCKS))
        scope.error(setting.kind.span, f"unknown block {kind}; expected {either(BLOCKS)}{hint}")
        return None
    allows = BLOCKS[kind]
    expansion, stride_on = allows.default_expansion, "1x1"
    if setting.expansion is not None:
        if not allows.has_expansion:
            scope.error(setting.expansion.span, "only a bottleneck block has an expansion")
        expansion = scope.size(setting.expansion, "the expansion") or expansion
    if setting.stride_on is not None:
        written = "x".join(str(p.value) for p in setting.stride_on.parts)
        if not allows.places_stride:
            scope.error(
                setting.stride_on.span,
                f"only a bottleneck block places its stride (a {kind} block strides its first 3x3)",
            )
        elif written not in ("1x1", "3x3"):
            scope.error(
                setting.stride_on.span,
                f"a bottleneck's stride sits on its 1x1 or its 3x3, not {written}",
            )
        else:
            stride_on = written
    groups = _grouping(setting.groups, "groups", kind, allows.grouped, 1, scope)
    per_group = _grouping(
        setting.width_per_group, "width per group", kind, allows.grouped, 64, scope
    )
    dropout = _dropout(setting.dropout, kind, allows.has_dropout, scope)
    return BlockSpec(kind, expansion, stride_on, setting.zero_init, groups, per_group, dropout)  # type: ignore[arg-type]


def _grouping(expr: s.Expr | None, what: str, kind: str, allowed: bool, default: int, scope):
    if expr is None:
        return default
    if not allowed:
        scope.error(
            expr.span,
            f"only a bottleneck's 3x3 takes {what} (torchvision's BasicBlock refuses them too)",
        )
        return default
    return scope.size(expr, what) or default


def _dropout(value: s.Real | s.Int | None, kind: str, allowed: bool, scope: Scope) -> float:
    if value is None:
        return 0.0
    if not allowed:
        scope.error(
            value.span,
            "only a pre-activation basic block has dropout (WRN's, between its two "
            "convolutions): write `block preact, dropout 0.3`",
        )
        return 0.0
    p = float(value.text) if isinstance(value, s.Real) else float(value.value)
    if not (0.0 <= p < 1.0 and math.isfinite(p)):
        scope.error(value.span, f"dropout is a probability below 1, like 0.3, not {p:g}")
        return 0.0
    return p


def shortcut_option(setting: s.Shortcut | None, scope: Scope) -> str | None:
    if setting is None:
        return "B"
    option = setting.option.text
    if option in SHORTCUTS:
        return option
    hint = did_you_mean(option, [*SHORTCUTS, "a", "b", "c", "d"])
    hint = f"; did you mean {hint.split()[-1].upper().rstrip('?')}?" if hint else ""
    scope.error(
        setting.option.span, f"unknown shortcut {option}; expected A, B, C, D or none" + hint
    )
    return None


def check_pairing(
    block: BlockSpec | None, shortcut: str | None, settings: dict[type, s.Setting], scope: Scope
) -> None:
    """The block kinds that some shortcut options do not fit."""
    if block is None or shortcut is None or not BLOCKS[block.kind].preactivated:
        return
    where = settings[s.Shortcut].span if s.Shortcut in settings else settings[s.Block].span
    if shortcut == "none":
        scope.error(
            where,
            f"a {block.kind} block is a pre-activation residual unit and needs its shortcut; "
            "resdsl has no plain pre-activation network: use shortcut A, B or C",
        )
    elif shortcut == "D":
        scope.error(
            where,
            "shortcut D is ResNet-D's projection (average pool, 1x1 conv, BN) for "
            f"post-activation blocks; a {block.kind} block projects with a bare 1x1 conv: "
            "use shortcut B",
        )
