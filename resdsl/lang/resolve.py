"""Resolving: the AST of a program to a typed description of each concrete network.

    >>> from resdsl.lang.load import load
    >>> result = resolve(load("specs/cifar.res"))
    >>> [spec.name for spec in result.networks][:2], result.diagnostics
    (['resnet20', 'resnet32'], ())

Binds families to their arguments, applies derivations and ``with`` overrides (settings,
the stem, stages by label), fills in the defaults (``block basic``, ``shortcut B``, a
bottleneck's expansion 4 with the stride on the first 1x1, conv and pool padding k//2),
evaluates every size and checks every rule of the language that the text alone decides
(the settings' rules are :mod:`resdsl.lang.settings`, the stem's and head's
:mod:`resdsl.lang.sections`). Each problem is a located diagnostic; the network it belongs to is
dropped and every other one is still resolved, so one run reports every error of a file.
What comes out (:class:`~resdsl.lang.spec.NetworkSpec`) cannot fail to lower.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from resdsl.diagnostics import Diagnostic, Span, did_you_mean
from resdsl.lang import syntax as s
from resdsl.lang.definitions import Definitions, definitions
from resdsl.lang.elaborate import Shortcut, Unmet, bind, elaborate
from resdsl.lang.evaluate import EvaluationError, value
from resdsl.lang.limits import MAX_BLOCKS, MAX_DERIVATION_DEPTH
from resdsl.lang.load import Program
from resdsl.lang.scope import Scope
from resdsl.lang.sections import head_layers, stem_layers
from resdsl.lang.settings import (
    block_setting,
    block_shortcut,
    check_pairing,
    chosen_settings,
    input_shape,
    modules_pattern,
    shortcut_blocks,
    shortcut_option,
)
from resdsl.lang.spec import BlockSpec, NetworkSpec, StageInfo
from resdsl.lang.vocabulary import PER_BLOCK


@dataclass(frozen=True)
class Resolution:
    networks: tuple[NetworkSpec, ...]
    diagnostics: tuple[Diagnostic, ...]


def resolve(program: Program, only: str | None = None) -> Resolution:
    """Describe every concrete network of the program's root file (or just ``only``), after
    checking the block definitions it and its uses hold."""
    defs = definitions(program)
    names = program.own
    if only is not None:
        if only not in program.definitions:
            span = Span(program.root, 1, 1, 1, 1)
            hint = did_you_mean(only, program.own)
            problem = Diagnostic(span, f"{program.root} has no network {only}{hint}")
            return Resolution((), (*defs.diagnostics, problem))
        names = (only,)
    networks, diagnostics = [], list(defs.diagnostics)
    for name in names:
        definition = program.definitions[name]
        if isinstance(definition, s.Network) and definition.params:
            if only is not None:
                params = ", ".join(f"{p.text}=..." for p in definition.params)
                message = f"{name} is a family; derive a network from it: {name}({params})"
                diagnostics.append(Diagnostic(definition.name.span, message))
            continue  # a family is not compiled itself
        spec, problems = resolve_network(program, definition, defs)
        diagnostics += problems
        if spec is not None:
            networks.append(spec)
    return Resolution(tuple(networks), tuple(diagnostics))


def resolve_network(
    program: Program, definition: s.Network | s.Derivation, defs: Definitions | None = None
) -> tuple[NetworkSpec | None, list[Diagnostic]]:
    """One concrete network's description, or None with the diagnostics that say why."""
    defs = defs if defs is not None else definitions(program)
    scope = Scope(definition.name.text)
    found = _origin(program, definition, scope)
    spec = None if found is None else _describe(program, definition, scope, defs, *found)
    return (None if scope.diagnostics or scope.broken else spec), scope.diagnostics


# --- families and derivations ---------------------------------------------------------------


def _origin(program: Program, definition, scope: Scope):
    """The network body a definition comes down to, the overrides on the way (one tuple per
    derivation, the base's first), the base it was derived from and the family's arguments;
    None (reported) if the chain is broken. A loop rather than recursion: a chain is at most
    MAX_DERIVATION_DEPTH."""
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
            overrides = tuple(d.overrides for d in reversed(chain))
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


# --- the network ----------------------------------------------------------------------------


def _describe(
    program: Program, definition, scope: Scope, defs, network, overrides, base, arguments
):
    settings = chosen_settings(network, overrides, scope)
    shape = input_shape(settings.get(s.Input), network, scope)
    classes_setting = settings.get(s.Classes)
    classes = None
    if classes_setting is None:
        scope.error(
            network.name.span,
            f"network {network.name.text} has no classes; add a line like `classes 1000`",
        )
    else:
        classes = scope.size(classes_setting.count, "classes")
    block = block_setting(settings.get(s.Block), scope, defs)
    shortcut = shortcut_option(settings.get(s.Shortcut), scope)
    check_pairing(block, shortcut, settings, scope)
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
    stem_section, stages = _overridden(network, sections.get("stem"), stages, overrides, scope)
    sections = {**sections, **_head_overridden(overrides, scope)}
    # Go on with stand-ins for settings that failed, so that the stages and layers are
    # checked too: every error of a file is reported in one run. The network is then dropped.
    shape = shape or (3, 224, 224)
    classes = classes or 1
    block = block or block_setting(None, scope, defs)
    preact = block.definition.preactivated
    channels = shape[0]
    stem: tuple = ()
    # A stem or head naming a broken block: reported where it is defined, not elaborated.
    stem_broken, head_broken = (
        section is not None and section.preset is not None and section.preset.text in defs.broken
        for section in (stem_section, sections.get("head"))
    )
    scope.broken |= stem_broken or head_broken
    if stem_section is not None and not stem_broken:
        stem, channels = stem_layers(
            stem_section, channels, scope, preact, dict(defs.stems), defs.blocks
        )
    shortcuts = shortcut_blocks(shortcut or "B", block.definition, defs)
    infos, channels = _stages(stages, block, shortcut or "B", shortcuts, defs, channels, scope)
    head = ()
    if "head" in sections and not head_broken:
        head = head_layers(sections["head"], channels, classes, scope, preact, defs.blocks)
        taken = {layer.name.partition(".")[0] for layer in stem} | {i.path for i in infos}
        written_layers = sections["head"].layers
        for written, layer in zip(written_layers, head[-len(written_layers) :], strict=False):
            if written.label is not None and layer.name in taken:
                scope.error(
                    written.label.span,
                    f"{layer.name} is a module of the stem or a stage; name the head's "
                    f"{written.kind.text} otherwise",
                )
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
        definitions=defs.blocks,
        shortcuts=shortcuts,
        modules=modules_pattern(network, scope),
    )


def _overridden(network: s.Network, stem, stages: list[s.Stage], derivations, scope: Scope):
    """The stem and stages once the derivations' ``with`` have replaced theirs: ``stem deep``
    or ``stem { ... }`` replaces the whole stem; ``stage conv4_x: 23 x 256`` replaces that
    stage's blocks and width (named by its label or its module, ``layer3``), and its stride
    where one is written. Later derivations win; one ``with`` may not say a thing twice."""
    stages = list(stages)
    names = {_stage_name(stage, i): i for i, stage in enumerate(stages)}
    names.update({f"layer{i + 1}": i for i in range(len(stages))})
    for overrides in derivations:
        seen: set[str] = set()
        for item in overrides:
            if isinstance(item, s.Stray):
                scope.error(
                    item.span,
                    f"a {item.option.text} in `with` belongs to the stage before it: write "
                    "`with stage conv3_x: 4 x 128, stride 2`",
                )
                continue
            if isinstance(item, s.Section) and item.kind == "head":
                continue  # _head_overridden's
            if isinstance(item, s.Section):
                if "stem" in seen:
                    scope.error(item.span, "stem is overridden twice")
                seen.add("stem")
                stem = item
                continue
            if not isinstance(item, s.Stage) or item.label is None:
                continue
            label = item.label.text
            if label not in names:
                known = ", ".join(_stage_name(stage, i) for i, stage in enumerate(stages))
                hint = did_you_mean(label, list(names))
                scope.error(
                    item.label.span,
                    f"{network.name.text} has no stage {label} (its stages: {known}){hint}",
                )
                continue
            index = names[label]
            if f"stage {index}" in seen:
                canonical = _stage_name(stages[index], index)
                also = f" ({canonical})" if canonical != label else ""
                scope.error(item.label.span, f"stage {label}{also} is overridden twice")
            seen.add(f"stage {index}")
            old = stages[index]
            stride = item.stride if item.stride is not None else old.stride
            stages[index] = replace(item, label=old.label, stride=stride)
    return stem, stages


def _head_overridden(derivations, scope: Scope) -> dict[str, s.Section]:
    """The head a derivation's ``with`` gives (``with head v2_head_gn``), the last one's; none
    if no ``with`` says one. One ``with`` may not say it twice."""
    found: dict[str, s.Section] = {}
    for overrides in derivations:
        heads = [item for item in overrides if isinstance(item, s.Section) and item.kind == "head"]
        for extra in heads[1:]:
            scope.error(extra.span, "head is overridden twice")
        if heads:
            found["head"] = heads[0]
    return found


def _stage_name(stage: s.Stage, index: int) -> str:
    return stage.label.text if stage.label else f"layer{index + 1}"


def _stages(stages, block: BlockSpec, option: str, shortcuts, defs, channels: int, scope: Scope):
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
        per_block = _stage_values(stage, count, block, scope)
        if per_block is None:
            continue
        if per_block:  # `stage 3 x 19, width1 [47, 52, 64]`: each block elaborated with its own
            varied = _varied(
                block,
                per_block,
                option,
                shortcuts,
                defs,
                channels,
                width,
                stride,
                infos,
                stage,
                scope,
            )
            if varied is None:
                continue
            layouts, values = varied
            first, rest = layouts[0], None
            out = layouts[-1].channels
        else:
            found = _layouts(
                block,
                option,
                shortcuts,
                defs,
                (channels, width, stride, count),
                not infos,
                stage,
                scope,
            )
            if found is None:
                continue
            (first, rest), layouts, values = found, (), ()
            out = first.channels
        label = stage.label.text if stage.label else None
        infos.append(
            StageInfo(
                index,
                label,
                count,
                width,
                channels,
                out,
                stride,
                stage.span,
                first,
                rest,
                layouts,
                values,
            )
        )
        channels = out
    return tuple(infos), channels


def _stage_values(stage: s.Stage, count: int, block: BlockSpec, scope: Scope):
    """The block parameters a stage line gives (``width1 [47, 52, 64]``, ``ratio 8``), one
    dict per block; ``[]`` where it gives none, None (reported) where one is wrong."""
    if not stage.named:
        return []
    definition, ok = block.definition, True
    per_block: list[dict] = [{} for _ in range(count)]
    for name, written in stage.named:
        if name.text in PER_BLOCK or definition.param(name.text) is None:
            listed = ", ".join(p for p in definition.param_names if p not in PER_BLOCK) or "none"
            scope.error(
                name.span,
                f"block {block.kind} has no parameter {name.text} (its parameters: {listed})",
            )
            ok = False
            continue
        items = written.values if isinstance(written, s.ValueList) else (written,) * count
        if len(items) != count:
            scope.error(
                written.span,
                f"{len(items)} values of {name.text} for a stage of {count} blocks: "
                "give one for each block, or one for all",
            )
            ok = False
            continue
        for values, item in zip(per_block, items, strict=True):
            try:
                values[name.text] = value(item, scope.env)
            except EvaluationError as error:
                scope.error(error.span, error.message)
                ok = False
                break
    return per_block if ok else None


def _varied(
    block, per_block, option, shortcuts, defs, channels, width, stride, infos, stage, scope
):
    """Each block of a stage elaborated with the values the stage line gives it (the network's
    block line's for the rest): its layouts and, for each block, those values."""
    given = {name: number for name, number in block.values if name in block.spans}
    layouts, values = [], []
    for index, own in enumerate(per_block):
        try:
            bound = bind(block.definition, {**given, **own}, skip=PER_BLOCK)
        except EvaluationError as error:
            scope.error(error.span, error.message)
            return None
        ordered = tuple((p, bound[p]) for p in block.definition.param_names if p in bound)
        one = replace(block, values=ordered)
        sizes = (channels, width, stride if index == 0 else 1, 1)
        found = _layouts(
            one, option, shortcuts, defs, sizes, not infos and index == 0, stage, scope
        )
        if found is None:
            return None
        layouts.append(found[0])
        values.append(tuple(sorted(own.items())))
        channels = found[0].channels
    return tuple(layouts), tuple(values)


def _layouts(block: BlockSpec, option, shortcuts, defs, sizes, first_stage: bool, stage, scope):
    """A stage's first block and its later ones, elaborated; None (reported) where the
    definition cannot take the stage's values."""
    channels, width, stride, count = sizes
    values = dict(block.values)

    def shortcut_for(first: bool, stride: int):
        def plan(c_in: int, c_out: int) -> Shortcut:
            kind = block_shortcut(option, c_in, c_out, stride)  # type: ignore[arg-type]
            reads_here = (
                block.definition.reads_here and kind != "none" and (kind != "identity" or first)
            )
            return Shortcut(kind, shortcuts.get(kind), reads_here)

        return plan

    key = (block.kind, block.values, option, channels, width, stride, count > 1, first_stage)
    try:
        found = defs.layouts.get(key)
        if isinstance(found, Unmet):
            raise found
        if found is None:
            given = {**values, "planes": width, "stride": stride, "channels": channels}
            plan = shortcut_for(first_stage, stride)
            first = elaborate(block.definition, given, defs.blocks, plan)
            rest = None
            if count > 1:
                given = {**values, "planes": width, "stride": 1, "channels": first.channels}
                rest = elaborate(block.definition, given, defs.blocks, shortcut_for(False, 1))
            found = defs.layouts[key] = (first, rest)
    except Unmet as unmet:
        defs.layouts[key] = unmet
        user = [name for name in block.spans if name in unmet.reads]
        where = stage.width.span if unmet.reads & PER_BLOCK or not user else block.spans[user[0]]
        scope.error(where, unmet.message)
        return None
    return found
