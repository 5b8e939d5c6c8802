"""The network-wide settings: ``input``, ``classes``, ``block`` and ``shortcut``, as written in
a network's body or a derivation's ``with``, resolved with located errors.

    >>> from resdsl.lang.definitions import definitions
    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.parse import parse
    >>> tree = parse("network n { block bottleneck, groups 32, width per group 4 }", "n.res")
    >>> (block,) = tree.items[0].body
    >>> spec = block_setting(block, Scope("n"), definitions(load("specs/resnet18.res")))
    >>> spec.kind, dict(spec.values)
    ('bottleneck', {'expansion': 4, 'stride_on': (1, 1), 'groups': 32, 'width_per_group': 4})

Part of resolving (:mod:`resdsl.lang.resolve`). What a block line may say is its definition's
parameters (:mod:`resdsl.lang.definitions`): by the line's own words (``expansion``, ``stride
on``, ``groups``, ``width per group``, ``dropout``) or by name (``ratio 8``); a ``require`` of
the definition that a value breaks is reported at that value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from resdsl.diagnostics import Span, did_you_mean, either
from resdsl.lang import syntax as s
from resdsl.lang.definitions import Definition, Definitions
from resdsl.lang.elaborate import bind, unmet_requirements
from resdsl.lang.evaluate import EvaluationError, value
from resdsl.lang.scope import Scope
from resdsl.lang.spec import BlockSpec
from resdsl.lang.vocabulary import PER_BLOCK, Number

SHORTCUTS = ("A", "B", "C", "D", "none")
SETTINGS = (s.Input, s.Classes, s.Block, s.Shortcut)
DEFAULT_BLOCK = "basic"


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


# The block line's own words for a definition's parameters, and what they say where the
# block has no such parameter (the prelude's bottlenecks have the first four; `preact` has
# dropout). Any other parameter is named as it is defined: `block se_bottleneck, ratio 8`.
OPTION_WORDS: dict[str, tuple[str, str]] = {
    "expansion": ("expansion", "only a bottleneck block has an expansion"),
    "stride_on": (
        "stride_on",
        "only a bottleneck block places its stride (a {kind} block strides its first 3x3)",
    ),
    "groups": (
        "groups",
        "only a bottleneck's 3x3 takes groups (torchvision's BasicBlock refuses them too)",
    ),
    "width_per_group": (
        "width_per_group",
        "only a bottleneck's 3x3 takes width per group (torchvision's BasicBlock refuses them too)",
    ),
    "dropout": (
        "dropout",
        "only a pre-activation basic block has dropout (WRN's, between its two convolutions): "
        "write `block preact, dropout 0.3`",
    ),
}


def block_setting(setting: s.Block | None, scope: Scope, defs: Definitions) -> BlockSpec | None:
    """The ``block`` line resolved: its definition, and each parameter's value checked."""
    if setting is None:
        return _bound(defs.blocks[DEFAULT_BLOCK], {}, False, {}, scope, None)
    for name in setting.repeated:
        scope.error(name.span, f"block option {name.text} is given twice")
    kind = setting.kind.text
    if not kind:
        scope.error(
            setting.span,
            "a block option needs its block: write `with block bottleneck, stride on 3x3`",
        )
        return None
    known = defs.stage_blocks()
    if kind not in known:
        hint = did_you_mean(kind, known)
        if kind in defs.blocks:
            message = f"block {kind} takes no planes and stride, so no stage can use it"
        else:
            message = f"unknown block {kind}; expected {either(known)}{hint}"
        scope.error(setting.kind.span, message)
        return None
    if kind in defs.broken:  # reported where it is defined
        scope.broken = True
        return None
    definition = defs.blocks[kind]
    given: dict[str, Number] = {}
    spans: dict[str, Span] = {}
    for field_name, (param, message) in OPTION_WORDS.items():
        expr = getattr(setting, field_name)
        if expr is None:
            continue
        if definition.param(param) is None:
            scope.error(expr.span, message.format(kind=kind))
            continue
        number = _option_value(field_name, expr, scope)
        if number is not None:
            given[param], spans[param] = number, expr.span
    for name, expr in setting.named:
        if name.text in PER_BLOCK or definition.param(name.text) is None:
            listed = ", ".join(p for p in definition.param_names if p not in PER_BLOCK) or "none"
            scope.error(
                name.span, f"block {kind} has no parameter {name.text} (its parameters: {listed})"
            )
            continue
        if isinstance(expr, s.ValueList):
            scope.error(
                expr.span,
                f"a value for each block is given on a stage line: `stage 3 x 64, {name.text} "
                "[a, b, c]`; the block line gives one for all",
            )
            continue
        try:
            given[name.text], spans[name.text] = value(expr, scope.env), expr.span
        except EvaluationError as error:
            scope.error(error.span, error.message)
    return _bound(definition, given, setting.zero_init, spans, scope, setting.kind.span)


def _option_value(field_name: str, expr, scope: Scope) -> Number | None:
    """A value the block line's own words give, checked as those words always were."""
    if field_name == "stride_on":
        return tuple(part.value for part in expr.parts)
    if field_name == "dropout":
        return float(expr.text) if isinstance(expr, s.Real) else float(expr.value)
    what = {"expansion": "the expansion", "width_per_group": "width per group"}.get(
        field_name, field_name
    )
    return scope.size(expr, what)


def _bound(
    definition, given, zero_init, spans, scope: Scope, where: Span | None
) -> BlockSpec | None:
    """The definition's network-wide parameters bound; its requirements on them checked, each
    failure at the value that broke it."""
    try:
        values = bind(definition, given, skip=PER_BLOCK)
    except EvaluationError as error:
        scope.error(error.span, error.message)
        return None
    missing = [
        p.name.text
        for p in definition.params
        if p.name.text not in PER_BLOCK and p.name.text not in values and p.default is None
    ]
    for name in missing:
        scope.error(
            where or definition.name_span,
            f"block {definition.name} needs {name}: write `block {definition.name}, {name} ...`",
        )
    unmet = unmet_requirements(definition, values)
    for require in unmet:
        reads = sorted(require.reads & set(spans), key=list(spans).index)
        scope.error(spans[reads[0]] if reads else (where or definition.name_span), require.message)
    if missing or unmet:  # the network goes on with a stand-in, so that nothing is said twice
        return None
    ordered = tuple((p, values[p]) for p in definition.param_names if p in values)
    return BlockSpec(definition.name, definition, ordered, zero_init, spans)


def shortcut_blocks(
    option: str, definition: Definition, defs: Definitions
) -> dict[str, Definition]:
    """The blocks a network's shortcuts are built from: option A pads (``zero_pad``); B and C
    project with ``projection`` (a pre-activation unit with ``preact_projection``: the next
    unit's BN follows); D with ``avg_down_projection`` (ResNet-D)."""
    if definition.projects_via is not None:  # the block's own: `shortcut via NAME`
        projection = definition.projects_via
    elif definition.preactivated:
        projection = "preact_projection"
    else:
        projection = "avg_down_projection" if option == "D" else "projection"
    return {"projection": defs.blocks[projection], "pad": defs.blocks["zero_pad"]}


def block_shortcut(option: str, in_channels: int, out_channels: int, stride: int) -> str:
    """What a block's shortcut is under the paper's options A, B, C and none (sec. 3.3), and
    D (B's placement, ResNet-D's projection).

    >>> block_shortcut("B", 64, 128, 2), block_shortcut("B", 64, 64, 1)
    ('projection', 'identity')
    >>> block_shortcut("A", 16, 32, 2), block_shortcut("C", 64, 64, 1)
    ('pad', 'projection')
    """
    changes = stride != 1 or in_channels != out_channels
    if option == "none":
        return "none"
    if option == "C" or (option in ("B", "D") and changes):
        return "projection"
    if option == "A" and changes:
        return "pad"
    return "identity"


# `modules "stages.{stage}.blocks.{block}"`: a container of the stages (an nn.Sequential),
# then, optionally, the attribute of each stage that holds its blocks (timm's ResNetStage).
_MODULES = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.\{stage\}(\.[A-Za-z_][A-Za-z0-9_]*)?\.\{block\}")


def modules_pattern(network: s.Network, scope: Scope) -> str | None:
    """The module path pattern of the stages' blocks (``modules "..."``), checked; None for
    torchvision's ``layer1.0``.

    >>> from resdsl.lang.parse import parse
    >>> tree = parse('network n { modules "stages.{stage}.blocks.{block}" }', "n.res")
    >>> modules_pattern(tree.items[0], Scope("n"))
    'stages.{stage}.blocks.{block}'
    """
    written = [st for st in network.body if isinstance(st, s.Modules)]
    for extra in written[1:]:
        scope.error(extra.span, f"modules is set twice in network {network.name.text}")
    if not written:
        return None
    pattern = written[0].pattern
    if not _MODULES.fullmatch(pattern):
        scope.error(
            written[0].span,
            f"modules is a container, {{stage}}, perhaps an attribute, then {{block}}, like "
            f'"stages.{{stage}}.blocks.{{block}}" or "layers.{{stage}}.{{block}}", not {pattern!r}',
        )
        return None
    return pattern


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
    if block is None or shortcut is None or not block.definition.preactivated:
        return
    if block.definition.projects_via is not None and shortcut == "D":
        return  # the block projects with its own block, pooled or not
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
