"""Resolving: the AST of a program to a typed description of each concrete network.

    >>> from resdsl.load import load
    >>> result = resolve(load("specs/cifar.res"))
    >>> [spec.name for spec in result.networks][:2], result.diagnostics
    (['resnet20', 'resnet32'], ())

Binds families to their arguments, applies derivations and ``with`` overrides, fills in the
defaults (``block basic``, ``shortcut B``, a bottleneck's expansion 4 with the stride on the
first 1x1, conv and pool padding k//2), evaluates every size and checks every rule of the
language that the text alone decides. Each problem is a located diagnostic; the network it
belongs to is dropped and every other one is still resolved, so one run reports every error
of a file. What comes out (:class:`~resdsl.spec.NetworkSpec`) cannot fail to lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from resdsl import syntax as s
from resdsl.diagnostics import Diagnostic, Span, did_you_mean, either
from resdsl.limits import MAX_BLOCKS, MAX_DERIVATION_DEPTH
from resdsl.load import Program
from resdsl.recipes import BLOCKS
from resdsl.scope import Scope
from resdsl.sections import head_layers, stem_layers
from resdsl.spec import BlockSpec, NetworkSpec, StageInfo

SHORTCUTS = ("A", "B", "C", "none")


@dataclass(frozen=True)
class Resolution:
    networks: tuple[NetworkSpec, ...]
    diagnostics: tuple[Diagnostic, ...]


def resolve(program: Program, only: str | None = None) -> Resolution:
    """Describe every concrete network of the program's root file (or just ``only``)."""
    names = program.own
    if only is not None:
        if only not in program.definitions:
            span = Span(program.root, 1, 1, 1, 1)
            hint = did_you_mean(only, program.own)
            problem = Diagnostic(span, f"{program.root} has no network {only}{hint}")
            return Resolution((), (problem,))
        names = (only,)
    networks, diagnostics = [], []
    for name in names:
        definition = program.definitions[name]
        if isinstance(definition, s.Network) and definition.params:
            if only is not None:
                params = ", ".join(f"{p.text}=..." for p in definition.params)
                message = f"{name} is a family; derive a network from it: {name}({params})"
                diagnostics.append(Diagnostic(definition.name.span, message))
            continue  # a family is not compiled itself
        spec, problems = resolve_network(program, definition)
        diagnostics += problems
        if spec is not None:
            networks.append(spec)
    return Resolution(tuple(networks), tuple(diagnostics))


def resolve_network(
    program: Program, definition: s.Network | s.Derivation
) -> tuple[NetworkSpec | None, list[Diagnostic]]:
    """One concrete network's description, or None with the diagnostics that say why."""
    scope = Scope(definition.name.text)
    found = _origin(program, definition, scope)
    spec = None if found is None else _describe(program, definition, scope, *found)
    return (None if scope.diagnostics else spec), scope.diagnostics


# --- families and derivations ---------------------------------------------------------------


def _origin(program: Program, definition, scope: Scope):
    """The network body a definition comes down to, the overrides on the way (the innermost
    first), the base it was derived from and the family's arguments; None (reported) if the
    chain is broken. A loop rather than recursion: a chain is at most MAX_DERIVATION_DEPTH."""
    if isinstance(definition, s.Network):
        return definition, (), None, {}
    chain: list[s.Derivation] = []
    current = definition
    while True:
        if len(chain) == MAX_DERIVATION_DEPTH:
            message = f"network {scope.name} is derived through more than {MAX_DERIVATION_DEPTH}"
            scope.error(definition.base.span, f"{message} others; resdsl follows no longer chains")
            return None
        chain.append(current)
        base_name = current.base.text
        base = program.definitions.get(base_name)
        if base is None:
            hint = did_you_mean(base_name, list(program.definitions))
            scope.error(current.base.span, f"unknown network {base_name}{hint}")
            return None
        seen = [d.name.text for d in chain[:-1]]
        if base_name in seen or base_name == scope.name:
            loop = " = ".join((scope.name, *seen[1:], current.name.text, base_name))
            message = f"network {scope.name} is derived from itself ({loop})"
            scope.error(definition.base.span, message)
            return None
        family = isinstance(base, s.Network) and bool(base.params)
        if family and not _bind(base, current, scope):
            return None
        if not family and current.arguments:
            first = current.arguments[0].name
            scope.error(first.span, f"{base_name} is not a family and takes no parameters")
            return None
        if isinstance(base, s.Network):
            overrides = tuple(o for d in reversed(chain) for o in d.overrides)
            return base, overrides, definition.base.text, dict(scope.env) if family else {}
        current = base


def _bind(family: s.Network, derivation: s.Derivation, scope: Scope) -> bool:
    params = [p.text for p in family.params]
    ok = True
    for argument in derivation.arguments:
        key = argument.name.text
        if key not in params:
            listed = ", ".join(params)
            scope.error(
                argument.name.span,
                f"{family.name.text} has no parameter {key} (its parameters: {listed})",
            )
            ok = False
        elif key in scope.env:
            scope.error(argument.name.span, f"parameter {key} is given twice")
            ok = False
        else:
            value = scope.eval(argument.value, {})
            if value is None:
                ok = False
            else:
                scope.env[key] = value
    missing = [p for p in params if p not in scope.env]
    if missing and ok:
        needed = ", ".join(f"{p}=..." for p in missing)
        scope.error(derivation.base.span, f"{family.name.text} is a family and needs {needed}")
        ok = False
    if not ok:
        scope.env = {}
    return ok


# --- settings -------------------------------------------------------------------------------


def _settings(network: s.Network, overrides: Sequence[s.Setting], scope: Scope) -> dict:
    chosen: dict[type, s.Setting] = {}
    for statement in network.body:
        if isinstance(statement, s.Input | s.Classes | s.Block | s.Shortcut):
            if type(statement) in chosen:
                keyword = type(statement).__name__.lower()
                scope.error(
                    statement.span, f"{keyword} is set twice in network {network.name.text}"
                )
            chosen.setdefault(type(statement), statement)
    seen_override: set[type] = set()
    for setting in overrides:
        if type(setting) in seen_override:
            scope.error(setting.span, f"{type(setting).__name__.lower()} is overridden twice")
        seen_override.add(type(setting))
        chosen[type(setting)] = setting
    return chosen


def _input(setting: s.Input | None, network: s.Network, scope: Scope):
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


def _block(setting: s.Block | None, scope: Scope) -> BlockSpec | None:
    if setting is None:
        return BlockSpec("basic", 1, "1x1", False)
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
                "only a bottleneck block places its stride (a basic block strides its first 3x3)",
            )
        elif written not in ("1x1", "3x3"):
            scope.error(
                setting.stride_on.span,
                f"a bottleneck's stride sits on its 1x1 or its 3x3, not {written}",
            )
        else:
            stride_on = written
    return BlockSpec(kind, expansion, stride_on, setting.zero_init)  # type: ignore[arg-type]


def _shortcut(setting: s.Shortcut | None, scope: Scope) -> str | None:
    if setting is None:
        return "B"
    option = setting.option.text
    if option in SHORTCUTS:
        return option
    hint = did_you_mean(option, [*SHORTCUTS, "a", "b", "c"])
    hint = f"; did you mean {hint.split()[-1].upper().rstrip('?')}?" if hint else ""
    scope.error(setting.option.span, f"unknown shortcut {option}; expected A, B, C or none" + hint)
    return None


# --- the network ----------------------------------------------------------------------------


def _describe(program: Program, definition, scope: Scope, network, overrides, base, arguments):
    settings = _settings(network, overrides, scope)
    shape = _input(settings.get(s.Input), network, scope)
    classes_setting = settings.get(s.Classes)
    classes = None
    if classes_setting is None:
        scope.error(
            network.name.span,
            f"network {network.name.text} has no classes; add a line like `classes 1000`",
        )
    else:
        classes = scope.size(classes_setting.count, "classes")
    block = _block(settings.get(s.Block), scope)
    shortcut = _shortcut(settings.get(s.Shortcut), scope)
    sections = {st.kind: st for st in network.body if isinstance(st, s.Section)}
    for st in network.body:
        if isinstance(st, s.Section) and sections[st.kind] is not st:
            scope.error(st.span, f"{st.kind} is written twice in network {network.name.text}")
    stages = [st for st in network.body if isinstance(st, s.Stage)]
    if not stages:
        scope.error(
            network.name.span,
            f"network {network.name.text} has no stage; add one like `stage 3 x 64`",
        )
    if "head" not in sections:
        scope.error(
            network.name.span,
            f"network {network.name.text} has no head; add `head {{ avgpool fc }}`",
        )
    # Go on with stand-ins for settings that failed, so that the stages and layers are
    # checked too: every error of a file is reported in one run. The network is then dropped.
    shape = shape or (3, 224, 224)
    classes = classes or 1
    block = block or BlockSpec("basic", 1, "1x1", False)
    channels = shape[0]
    stem: tuple = ()
    if "stem" in sections:
        stem, channels = stem_layers(sections["stem"], channels, scope)
    infos, channels = _stages(stages, block, channels, scope)
    head = head_layers(sections["head"], channels, classes, scope) if "head" in sections else ()
    input_span = settings[s.Input].span if s.Input in settings else network.name.span
    return NetworkSpec(
        name=scope.name,
        file=definition.span.file,
        name_span=definition.name.span,
        input=shape,
        input_span=input_span,
        classes=classes,
        block=block,
        shortcut=shortcut or "B",  # type: ignore[arg-type]
        stem=stem,
        stages=infos,
        head=head,
        spec_sha256=program.sha256,
        base=base,
        arguments=arguments,
    )


def _stages(stages: Sequence[s.Stage], block: BlockSpec, channels: int, scope: Scope):
    infos: list[StageInfo] = []
    labels: dict[str, s.Stage] = {}
    total = 0
    for index, stage in enumerate(stages, start=1):
        scope.no_repeats(stage)
        if stage.malformed is not None:
            scope.error(stage.malformed.span, "a stage is written blocks x width, like 3 x 64")
        if stage.label is not None:
            if stage.label.text in labels:
                scope.error(stage.label.span, f"stage {stage.label.text} is defined twice")
            labels[stage.label.text] = stage
        count = scope.size(stage.blocks, "a stage's number of blocks")
        width = scope.size(stage.width, "a stage's width")
        stride = 1 if stage.stride is None else scope.size(stage.stride, "a stride")
        if count is None or width is None or stride is None:
            continue
        total += count
        if total > MAX_BLOCKS:
            scope.error(
                stage.blocks.span, f"{total} blocks is more than resdsl builds ({MAX_BLOCKS})"
            )
            break
        label = stage.label.text if stage.label else None
        out = width * block.expansion
        infos.append(StageInfo(index, label, count, width, channels, out, stride, stage.span))
        channels = out
    return tuple(infos), channels
