"""Stage 2: AST to IR. Resolves families and derivations, applies defaults, and expands
``stage 36 x 256`` into 36 blocks of torchvision-named operations.

    >>> from resdsl.load import load
    >>> result = elaborate(load("specs/cifar.res"))           # doctest: +SKIP
    >>> [g.graph["name"] for g in result.networks][:2]         # doctest: +SKIP
    ['resnet20', 'resnet32']

Defaults: ``block basic``, ``shortcut B``, bottleneck expansion 4 with the stride on the
first 1x1 (the paper's placement), conv and pool padding k//2. Whatever cannot be resolved
(an unknown name, a missing parameter, a size that is not positive) is a diagnostic; the
network it belongs to is skipped and every other one is still elaborated.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from resdsl import syntax as s
from resdsl.blocks import build_block
from resdsl.diagnostics import Diagnostic, Span
from resdsl.ir import BlockInfo, BlockSpec, StageInfo
from resdsl.load import Program

# Far beyond any ResNet (resnet1202 has 200 blocks a stage) yet small enough to build.
MAX_SIZE = 1 << 20
MAX_BLOCKS = 10_000

BLOCK_KINDS = ("basic", "bottleneck")
SHORTCUTS = ("A", "B", "C", "none")


@dataclass(frozen=True)
class Elaboration:
    networks: tuple[nx.DiGraph, ...]
    diagnostics: tuple[Diagnostic, ...]


def elaborate(program: Program, only: str | None = None) -> Elaboration:
    """Build the IR of every concrete network of the program's root file (or just ``only``)."""
    diagnostics: list[Diagnostic] = []
    networks = []
    names = program.own
    if only is not None:
        if only not in program.definitions:
            span = Span(program.root, 1, 1, 1, 1)
            hint = _did_you_mean(only, program.own)
            diagnostics.append(Diagnostic(span, f"{program.root} has no network {only}{hint}"))
            return Elaboration((), tuple(diagnostics))
        names = (only,)
    for name in names:
        definition = program.definitions[name]
        if isinstance(definition, s.Network) and definition.params:
            if only is not None:
                params = ", ".join(f"{p.text}=..." for p in definition.params)
                message = f"{name} is a family; derive a network from it: {name}({params})"
                diagnostics.append(Diagnostic(definition.name.span, message))
            continue  # a family is not compiled itself
        graph = _Network(program, definition, diagnostics).build()
        if graph is not None:
            networks.append(graph)
    return Elaboration(tuple(networks), tuple(diagnostics))


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


class _Network:
    """Elaboration of one concrete network; collects diagnostics instead of raising."""

    def __init__(self, program: Program, definition: s.Network | s.Derivation, out: list):
        self.program = program
        self.definition = definition
        self.name = definition.name.text
        self.diagnostics: list[Diagnostic] = []
        self.out = out
        self.env: dict[str, int] = {}

    def error(self, span: Span, message: str) -> None:
        if self.env:  # say which derived network a family's line failed for
            bound = ", ".join(f"{k}={v}" for k, v in self.env.items())
            message = f"{message} (in {self.name}, with {bound})"
        self.diagnostics.append(Diagnostic(span, message))

    def build(self) -> nx.DiGraph | None:
        resolved = self._resolve(self.definition, seen=())
        if resolved is not None:
            network, overrides, base, arguments = resolved
            graph = self._build(network, overrides, base, arguments)
        else:
            graph = None
        self.out.extend(self.diagnostics)
        return graph if not self.diagnostics else None

    # --- families and derivations ------------------------------------------------------

    def _resolve(self, definition, seen: tuple[str, ...]):
        if isinstance(definition, s.Network):
            return definition, (), None, {}
        base_name = definition.base.text
        base = self.program.definitions.get(base_name)
        if base is None:
            hint = _did_you_mean(base_name, list(self.program.definitions))
            self.error(definition.base.span, f"unknown network {base_name}{hint}")
            return None
        if base_name in seen or base_name == self.name:
            chain = " = ".join((self.name, *seen[1:], definition.name.text, base_name))
            self.error(
                self.definition.base.span, f"network {self.name} is derived from itself ({chain})"
            )
            return None
        if isinstance(base, s.Network) and base.params:
            if not self._bind(base, definition):
                return None
            return base, definition.overrides, base_name, dict(self.env)
        if definition.arguments:
            first = definition.arguments[0].name
            self.error(first.span, f"{base_name} is not a family and takes no parameters")
            return None
        inner = self._resolve(base, (*seen, definition.name.text))
        if inner is None:
            return None
        network, overrides, _, arguments = inner
        return network, (*overrides, *definition.overrides), base_name, arguments

    def _bind(self, family: s.Network, derivation: s.Derivation) -> bool:
        params = [p.text for p in family.params]
        ok = True
        for argument in derivation.arguments:
            key = argument.name.text
            if key not in params:
                listed = ", ".join(params)
                self.error(
                    argument.name.span,
                    f"{family.name.text} has no parameter {key} (its parameters: {listed})",
                )
                ok = False
            elif key in self.env:
                self.error(argument.name.span, f"parameter {key} is given twice")
                ok = False
            else:
                value = self._eval(argument.value, {})
                if value is None:
                    ok = False
                else:
                    self.env[key] = value
        missing = [p for p in params if p not in self.env]
        if missing and ok:
            needed = ", ".join(f"{p}=..." for p in missing)
            self.error(derivation.base.span, f"{family.name.text} is a family and needs {needed}")
            ok = False
        if not ok:
            self.env = {}
        return ok

    # --- expressions ------------------------------------------------------------------

    def _eval(self, expr: s.Expr, env: dict[str, int] | None = None) -> int | None:
        env = self.env if env is None else env
        if isinstance(expr, s.Int):
            value = expr.value
        elif isinstance(expr, s.Var):
            if expr.name not in env:
                known = ", ".join(env) or "none"
                self.error(expr.span, f"unknown name {expr.name} (parameters here: {known})")
                return None
            value = env[expr.name]
        else:
            left, right = self._eval(expr.left, env), self._eval(expr.right, env)
            if left is None or right is None:
                return None
            value = {"+": left + right, "-": left - right, "*": left * right}[expr.op]
        if abs(value) > MAX_SIZE:
            self.error(expr.span, f"{value} is larger than resdsl supports ({MAX_SIZE})")
            return None
        return value

    def _size(self, expr: s.Expr, what: str) -> int | None:
        value = self._eval(expr)
        if value is not None and value < 1:
            self.error(expr.span, f"{what} must be a positive number, not {value}")
            return None
        return value

    def _kernel(self, dims: s.Dims | None, what: str) -> tuple[int, int] | None:
        if dims is None:
            return None
        if len(dims.parts) != 2:
            self.error(dims.span, f"{what} is written as height x width, like 3x3")
            return None
        sizes = [self._size(part, what) for part in dims.parts]
        return None if None in sizes else (sizes[0], sizes[1])

    # --- settings ---------------------------------------------------------------------

    def _settings(self, network: s.Network, overrides: Sequence[s.Setting]) -> dict:
        chosen: dict[type, s.Setting] = {}
        for statement in network.body:
            if isinstance(statement, s.Input | s.Classes | s.Block | s.Shortcut):
                if type(statement) in chosen:
                    keyword = type(statement).__name__.lower()
                    self.error(
                        statement.span, f"{keyword} is set twice in network {network.name.text}"
                    )
                chosen.setdefault(type(statement), statement)
        seen_override: set[type] = set()
        for setting in overrides:
            if type(setting) in seen_override:
                self.error(setting.span, f"{type(setting).__name__.lower()} is overridden twice")
            seen_override.add(type(setting))
            chosen[type(setting)] = setting
        return chosen

    def _input(self, setting: s.Input | None, network: s.Network) -> tuple[int, int, int] | None:
        if setting is None:
            self.error(
                network.name.span,
                f"network {network.name.text} has no input; add a line like `input 3x224x224`",
            )
            return None
        if len(setting.dims.parts) != 3:
            self.error(
                setting.dims.span, "input is written channels x height x width, like 3x224x224"
            )
            return None
        sizes = [self._size(p, "an input size") for p in setting.dims.parts]
        return None if None in sizes else (sizes[0], sizes[1], sizes[2])

    def _block(self, setting: s.Block | None) -> BlockSpec | None:
        if setting is None:
            return BlockSpec("basic", 1, "1x1", False)
        for name in setting.repeated:
            self.error(name.span, f"block option {name.text} is given twice")
        kind = setting.kind.text
        if not kind:
            self.error(
                setting.span,
                "a block option needs its block: write `with block bottleneck, stride on 3x3`",
            )
            return None
        if kind not in BLOCK_KINDS:
            hint = _did_you_mean(kind, BLOCK_KINDS)
            self.error(
                setting.kind.span, f"unknown block {kind}; expected basic or bottleneck{hint}"
            )
            return None
        expansion, stride_on = (4 if kind == "bottleneck" else 1), "1x1"
        if setting.expansion is not None:
            if kind != "bottleneck":
                self.error(setting.expansion.span, "only a bottleneck block has an expansion")
            expansion = self._size(setting.expansion, "the expansion") or expansion
        if setting.stride_on is not None:
            written = "x".join(str(p.value) for p in setting.stride_on.parts)
            if kind != "bottleneck":
                self.error(
                    setting.stride_on.span,
                    "only a bottleneck block places its stride "
                    "(a basic block strides its first 3x3)",
                )
            elif written not in ("1x1", "3x3"):
                self.error(
                    setting.stride_on.span,
                    f"a bottleneck's stride sits on its 1x1 or its 3x3, not {written}",
                )
            else:
                stride_on = written
        return BlockSpec(kind, expansion, stride_on, setting.zero_init)

    def _shortcut(self, setting: s.Shortcut | None) -> str | None:
        if setting is None:
            return "B"
        option = setting.option.text
        if option in SHORTCUTS:
            return option
        hint = _did_you_mean(option, [*SHORTCUTS, "a", "b", "c"])
        hint = f"; did you mean {hint.split()[-1].upper().rstrip('?')}?" if hint else ""
        self.error(
            setting.option.span, f"unknown shortcut {option}; expected A, B, C or none" + hint
        )
        return None

    # --- the graph ----------------------------------------------------------------------

    def _build(self, network, overrides, base, arguments) -> nx.DiGraph | None:
        settings = self._settings(network, overrides)
        shape = self._input(settings.get(s.Input), network)
        classes_setting = settings.get(s.Classes)
        classes = None
        if classes_setting is None:
            self.error(
                network.name.span,
                f"network {network.name.text} has no classes; add a line like `classes 1000`",
            )
        else:
            classes = self._size(classes_setting.count, "classes")
        block = self._block(settings.get(s.Block))
        shortcut = self._shortcut(settings.get(s.Shortcut))
        sections = {st.kind: st for st in network.body if isinstance(st, s.Section)}
        for st in network.body:
            if isinstance(st, s.Section) and sections[st.kind] is not st:
                self.error(st.span, f"{st.kind} is written twice in network {network.name.text}")
        stages = [st for st in network.body if isinstance(st, s.Stage)]
        if not stages:
            self.error(
                network.name.span,
                f"network {network.name.text} has no stage; add one like `stage 3 x 64`",
            )
        if "head" not in sections:
            self.error(
                network.name.span,
                f"network {network.name.text} has no head; add `head {{ avgpool fc }}`",
            )
        # Go on with stand-ins for settings that failed, so that the stages and layers are
        # checked too: every error of a file is reported in one run. The graph is then dropped.
        shape = shape or (3, 224, 224)
        classes = classes or 1
        block = block or BlockSpec("basic", 1, "1x1", False)
        shortcut = shortcut or "B"

        graph = nx.DiGraph(
            name=self.name,
            file=self.definition.span.file,
            name_span=self.definition.name.span,
            input=shape,
            classes=classes,
            block=block,
            shortcut=shortcut,
            spec_sha256=self.program.sha256,
            base=base,
            arguments=arguments,
        )
        builder = _Builder(graph)
        input_span = settings[s.Input].span if s.Input in settings else network.name.span
        x = builder.add(
            "input",
            "input",
            "input",
            input_span,
            channels=shape[0],
            height=shape[1],
            width=shape[2],
        )
        channels = shape[0]
        if "stem" in sections:
            x, channels = self._stem(builder, sections["stem"], x, channels)
        x, channels = self._stages(builder, stages, block, shortcut, x, channels)
        if "head" in sections:
            self._head(builder, sections["head"], x, channels, classes)
        return None if self.diagnostics else graph

    def _stem(self, builder, section: s.Section, x: int, channels: int):
        counts: dict[str, int] = {}
        for layer in section.layers:
            kind = layer.kind.text
            counts[kind] = counts.get(kind, 0) + 1
            number = "" if counts[kind] == 1 else str(counts[kind])
            self._no_repeats(layer)
            if kind == "conv":
                kernel = self._kernel(layer.kernel, "a conv kernel")
                if layer.kernel is None:
                    self.error(
                        layer.span, "conv needs a kernel and a width, like `conv 7x7, 64, stride 2`"
                    )
                if layer.channels is None:
                    self.error(
                        layer.span, "conv needs a width (output channels), like `conv 3x3, 16`"
                    )
                    continue
                width = self._size(layer.channels, "a conv's width")
                stride, padding = self._stride_padding(layer, kernel)
                if None in (kernel, width, stride, padding):
                    continue
                # torchvision's names: conv1/bn1; a deeper stem goes on with conv2/bn2.
                n = counts[kind]
                x = builder.add(
                    "conv",
                    f"conv{n}",
                    "stem",
                    layer.span,
                    x,
                    in_channels=channels,
                    out_channels=width,
                    kernel=kernel,
                    stride=stride,
                    padding=padding,
                )
                x = builder.add("bn", f"bn{n}", "stem", layer.span, x, channels=width)
                x = builder.add("relu", "relu", "stem", layer.span, x)
                channels = width
            elif kind in ("maxpool", "avgpool"):
                if layer.kernel is None:
                    self.error(
                        layer.span,
                        f"{kind} in the stem needs a kernel, like `{kind} 3x3, stride 2`",
                    )
                    continue
                if layer.channels is not None:
                    self.error(layer.channels.span, f"{kind} keeps its channels; remove this")
                kernel = self._kernel(layer.kernel, f"a {kind} kernel")
                stride, padding = self._stride_padding(layer, kernel)
                if None in (kernel, stride, padding):
                    continue
                x = builder.add(
                    kind,
                    f"{kind}{number}",
                    "stem",
                    layer.span,
                    x,
                    kernel=kernel,
                    stride=stride,
                    padding=padding,
                )
            else:
                hint = _did_you_mean(kind, ["conv", "maxpool", "avgpool"])
                self.error(
                    layer.kind.span,
                    f"unknown stem layer {kind}; expected conv, maxpool or avgpool{hint}",
                )
        return x, channels

    def _stride_padding(self, layer: s.Layer, kernel):
        stride = 1 if layer.stride is None else self._size(layer.stride, "a stride")
        if layer.padding is None:
            padding = (kernel[0] // 2, kernel[1] // 2) if kernel else None
        else:
            value = self._eval(layer.padding)
            if value is not None and value < 0:
                self.error(layer.padding.span, f"padding cannot be negative ({value})")
                value = None
            padding = None if value is None else (value, value)
        return (None if stride is None else (stride, stride)), padding

    def _no_repeats(self, statement) -> None:
        for name in statement.repeated:
            self.error(name.span, f"{name.text} is given twice")

    def _stages(self, builder, stages, block: BlockSpec, shortcut: str, x: int, channels: int):
        infos, block_infos, labels = [], [], {}
        total = 0
        for index, stage in enumerate(stages, start=1):
            self._no_repeats(stage)
            if stage.malformed is not None:
                self.error(stage.malformed.span, "a stage is written blocks x width, like 3 x 64")
            if stage.label is not None:
                if stage.label.text in labels:
                    self.error(stage.label.span, f"stage {stage.label.text} is defined twice")
                labels[stage.label.text] = stage
            count = self._size(stage.blocks, "a stage's number of blocks")
            width = self._size(stage.width, "a stage's width")
            stride = 1 if stage.stride is None else self._size(stage.stride, "a stride")
            if None in (count, width, stride):
                continue
            total += count
            if total > MAX_BLOCKS:
                self.error(
                    stage.blocks.span, f"{total} blocks is more than resdsl builds ({MAX_BLOCKS})"
                )
                return x, channels
            out_channels = width * block.expansion
            label = stage.label.text if stage.label else None
            infos.append(StageInfo(index, label, count, width, out_channels, stride, stage.span))
            for b in range(count):
                info = BlockInfo(
                    stage=index,
                    index=b,
                    in_channels=channels,
                    width=width,
                    out_channels=out_channels,
                    stride=stride if b == 0 else 1,
                    shortcut=_block_shortcut(
                        shortcut, channels, out_channels, stride if b == 0 else 1
                    ),
                    span=stage.span,
                )
                x = build_block(builder, block, info, x)
                block_infos.append(info)
                channels = out_channels
        builder.graph.graph["stages"] = tuple(infos)
        builder.graph.graph["blocks"] = tuple(block_infos)
        return x, channels

    def _head(self, builder, section: s.Section, x: int, channels: int, classes: int) -> None:
        kinds = [layer.kind.text for layer in section.layers]
        pooled = False
        for layer in section.layers:
            kind = layer.kind.text
            for option in (layer.kernel, layer.channels, layer.stride, layer.padding):
                if option is not None:
                    self.error(
                        option.span,
                        f"the head's {kind} takes no options (the pool is "
                        "global and fc maps to `classes`)",
                    )
            if kind == "avgpool":
                x = builder.add("avgpool", "avgpool", "head", layer.span, x, **{"global": True})
                pooled = True
            elif kind == "fc":
                if not pooled:
                    self.error(
                        layer.span,
                        "fc needs the global average pool before it: write `avgpool` first",
                    )
                    return
                x = builder.add(
                    "fc", "fc", "head", layer.span, x, in_features=channels, out_features=classes
                )
            else:
                hint = _did_you_mean(kind, ["avgpool", "fc"])
                self.error(
                    layer.kind.span, f"unknown head layer {kind}; expected avgpool or fc{hint}"
                )
        if kinds.count("fc") != 1 or kinds[-1:] != ["fc"] or kinds.count("avgpool") > 1:
            self.error(
                section.span,
                "the head is global average pooling then one fc: `head { avgpool fc }`",
            )


def _block_shortcut(option: str, in_channels: int, out_channels: int, stride: int) -> str:
    """What a block's shortcut is under the paper's options A, B, C and none."""
    changes = stride != 1 or in_channels != out_channels
    if option == "none":
        return "none"
    if option == "C" or (option == "B" and changes):
        return "projection"
    if option == "A" and changes:
        return "pad"
    return "identity"


class _Builder:
    """Appends IR nodes in execution order."""

    def __init__(self, graph: nx.DiGraph):
        self.graph = graph

    def add(
        self,
        op: str,
        path: str,
        section: str,
        span: Span,
        *inputs: int,
        stage: int | None = None,
        block: int | None = None,
        branch: str | None = None,
        **attrs,
    ) -> int:
        node = self.graph.number_of_nodes()
        self.graph.add_node(
            node,
            op=op,
            path=path,
            section=section,
            stage=stage,
            block=block,
            branch=branch,
            span=span,
            **attrs,
        )
        for source in inputs:
            self.graph.add_edge(source, node)
        return node
