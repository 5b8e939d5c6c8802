"""One block definition as the body of a PyTorch class: ``__init__`` lines and ``forward``.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> body = emit(net.block.definition, stage_env(net.block), net.spec.definitions)
    >>> body.init[:2]
    ['self.conv1 = conv3x3(inplanes, planes, stride)', 'self.bn1 = nn.BatchNorm2d(planes)']
    >>> for line in body.forward[0]:
    ...     print(line)
    out = self.conv1(x)  # (N, planes, H / stride, W / stride)
    out = self.bn1(out)
    out = self.relu(out)

The definition is walked as elaboration walks it (:mod:`resdsl.lang.elaborate`), but with its
values as Python source (:mod:`resdsl.codegen.symbolic`): what varies from block to block
(``inplanes``, ``planes``, ``stride``) is a constructor argument, a network-wide whole number
is a class attribute (``self.expansion``, as torchvision has it), anything else a literal.

NOTE: how a definition reads as torchvision's ``resnet.py``. Each layer is one ``__init__``
line (its op's :meth:`~resdsl.ops.Op.module`: ``conv3x3``, ``nn.BatchNorm2d``) and one
``forward`` line, with a shape comment where the op is drawn as a layer of its own. A layer
without a name is the module named after its word, and a parameterless one written several
times is one module used several times (torchvision's one ``self.relu``); it is declared
where it is first written, or where a layer names it (``relu: relu``: the prelude's
bottleneck declares its ReLU after bn3, as torchvision's does). ``forward`` opens a
paragraph at each convolution, or, in a pre-activation unit (one that opens with a norm), at
each norm: BN, ReLU, conv read as one unit, as He et al. 2016's Fig. 4(e) draws it. A ``let``
whose value, once the class attributes are known, is one name is written as that name (a
bottleneck of the usual width writes ``planes``; a grouped one computes ``width``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from resdsl import ops
from resdsl.codegen.identifiers import error_at
from resdsl.codegen.symbolic import Sym, Term, condition, term
from resdsl.lang import syntax as s
from resdsl.lang.definitions import Definition
from resdsl.lang.spec import BlockSpec
from resdsl.lang.vocabulary import LAYERS, PER_BLOCK, LayerArgs

_STRIDED = "H / stride, W / stride"


def stage_env(block: BlockSpec, varied: tuple[str, ...] = ()) -> dict[str, Term]:
    """A stage block's names as its class writes them: ``inplanes``, ``planes``, ``stride``,
    each network-wide whole number ``self.NAME``, any other value itself; a parameter a stage
    line gives (``varied``) is an argument of the constructor, and one whose default reads
    the block's own values (``width1 = planes``) that default, written out."""
    env: dict[str, Term] = {
        "channels": Sym("inplanes"),
        "planes": Sym("planes"),
        "stride": Sym("stride"),
    }
    values = dict(block.values)
    for param in block.definition.params:
        name = param.name.text
        if name in env:
            continue
        if name in varied:
            env[name] = Sym(name)
        elif name in values:
            number = values[name]
            if isinstance(number, int) and not isinstance(number, bool):
                env[name] = Sym(f"self.{name}", str(number), value=number)
            else:
                env[name] = number
        elif param.default is not None:
            env[name] = term(param.default, env)
    return env


def varied_values(net) -> tuple[str, ...]:
    """The block parameters some stage line of ``net`` gives, in the definition's order."""
    given = {name for info in net.blocks for name, _ in info.values}
    return tuple(p for p in net.block.definition.param_names if p in given)


@dataclass
class Body:
    """What a class body says: its ``__init__`` lines and ``forward`` paragraphs."""

    init: list[str] = field(default_factory=list)
    forward: list[list[str]] = field(default_factory=list)
    after_add: list[str] = field(default_factory=list)  # forward lines after `add shortcut`
    nested: dict[str, Definition] = field(default_factory=dict)  # block classes it uses
    residual: bool = False  # it meets `add shortcut`
    here: bool = False  # it says `shortcut here`
    last_norm: str | None = None  # the last norm before `add shortcut` (zero init's)
    out: Term = 0  # its output's channels
    result: str = "x"  # the variable forward returns
    # where its shortcut's module is declared: where it says `shortcut via` (timm's
    # pre-activation blocks declare `downsample` first), else after its layers
    via_at: int | None = None


def emit(
    definition: Definition,
    env: Mapping[str, Term],
    blocks: Mapping[str, Definition],
    *,
    preact_flag: bool | str = False,
    plain: bool = False,
) -> Body:
    """The class body of ``definition`` under ``env``. ``preact_flag``: write where a working
    shortcut reads (``shortcut here``), under ``self.preact_shortcut`` or the condition it
    is; ``plain``: the network has no shortcuts."""
    walker = _Walker(definition, dict(env), blocks, preact_flag, plain)
    walker.walk(definition.body, branch=None)
    body = walker.body
    body.out = walker.channels
    body.result = walker.current
    return body


class _Walker:
    def __init__(self, definition, env, blocks, preact_flag: bool | str, plain: bool) -> None:
        self.d, self.env, self.blocks = definition, env, blocks
        self.preact_flag, self.plain = preact_flag, plain
        self.body = Body()
        self.current, self.channels, self.spatial = "x", env["channels"], "H, W"
        self.declared: set[str] = set()
        self.alternatives: set[str] = set()  # the labels of conditional layers met
        self.named_later = {
            st.label.text for st in _layers(definition.body) if st.label and st.op.text in LAYERS
        }
        self.after_add = False

    def line(self, text: str, opens: bool = False) -> None:
        target = self.body.after_add if self.after_add else self.body.forward
        if self.after_add:
            target.append(text)
            return
        if opens or not target:
            target.append([])
        target[-1].append(text)

    def walk(self, body, branch: str | None) -> None:
        for statement in body:
            if isinstance(statement, s.BlockLayer):
                self._layer(statement, branch)
            elif isinstance(statement, s.Let):
                self._let(statement)
            elif isinstance(statement, s.Branch):
                saved = self.current, self.channels, self.spatial
                self.walk(statement.body, statement.name.text)
                self.env[f"branch {statement.name.text}"] = Sym(statement.name.text)
                self.current, self.channels, self.spatial = saved
            elif isinstance(statement, s.Merge):
                self._merge(statement)
            elif isinstance(statement, s.ShortcutVia):
                self.body.via_at = len(self.body.init)
            elif isinstance(statement, s.ShortcutHere) and self.preact_flag:
                self.body.here = True
                flag = "self.preact_shortcut" if self.preact_flag is True else self.preact_flag
                self.line(f"if {flag}:")
                self.line("    identity = out  # the shortcut reads the pre-activated input")

    def _let(self, let: s.Let) -> None:
        made = term(let.value, self.env)
        if isinstance(made, Sym) and not made.simple:
            self.body.init.append(f"{let.name.text} = {made}")
            made = Sym(let.name.text)
        elif isinstance(made, Sym):
            made = Sym(made.scaled[0])  # type: ignore[index]
        self.env[let.name.text] = made

    def _layer(self, layer: s.BlockLayer, branch: str | None) -> None:
        decided = True if layer.condition is None else condition(layer.condition, self.env)
        if decided is False:
            return
        word = layer.op.text
        name = layer.label.text if layer.label else word
        if "." in name:  # a Sequential's item: a stem written as a block, or a shortcut
            raise error_at(
                layer.label.span,  # type: ignore[union-attr]
                f"resdsl compile cannot emit {name} as an attribute of class {self.d.cls}: "
                "items of a Sequential are a stem's or a shortcut's",
            )
        if layer.condition is not None and name in self.alternatives:
            raise error_at(
                layer.label.span,  # type: ignore[union-attr]
                f"resdsl compile cannot emit two alternatives of {name} in class {self.d.cls}: "
                "alternatives are a shortcut's or a stem's",
            )
        if layer.condition is not None and layer.label is not None:
            self.alternatives.add(name)
        source, target = self.current, branch or "out"
        if word in self.blocks:
            self._nested(layer, name, source, target)
            return
        options = {
            (o.name.text if o.name else ""): _neutral(
                True if o.value is None else term(o.value, self.env)
            )
            for o in layer.options
        }
        number = options.pop("", None) if layer.direct is None else term(layer.direct, self.env)
        size = term(layer.size, self.env) if layer.size is not None else None
        kind = LAYERS[word]
        op = kind.build(LayerArgs(self.channels, size, number, options, symbolic=True))  # type: ignore[arg-type]
        if kind.widens:
            self.channels = number  # type: ignore[assignment]
        stride = options.get("stride", 1)
        if isinstance(stride, Sym) or (isinstance(stride, int) and stride > 1):
            self.spatial = _STRIDED if isinstance(stride, Sym) else f"H / {stride}, W / {stride}"
        if isinstance(op, ops.GlobalAvgPool):
            self.spatial = "1, 1"
        opens = kind.norm if self.d.preactivated else op.shown
        inline = getattr(op, "inline", None)
        if layer.label is None and inline is not None and inline(source) is not None:
            self.line(f"{target} = {inline(source)}{self._comment(op, True)}", opens)
        else:
            self._declare(
                name,
                op.module()
                if decided is True
                else f"{op.module()} if {decided} else nn.Identity()",
                layer,
            )
            call = getattr(op, "call", None)
            applied = call(f"self.{name}", source) if call else f"self.{name}({source})"
            self.line(f"{target} = {applied}{self._comment(op)}", opens)
        if kind.norm and branch is None and not self.after_add:
            self.body.last_norm = name
        self.current = target

    def _comment(self, op, always: bool = False) -> str:
        if not (op.shown or always):
            return ""
        channels = self.channels.shown if isinstance(self.channels, Sym) else str(self.channels)
        return f"  # (N, {channels}, {self.spatial})"

    def _declare(self, name: str, module: str, layer: s.BlockLayer) -> None:
        if name in self.declared:
            return
        if layer.label is None and name in self.named_later:
            return  # declared where a layer names it
        self.declared.add(name)
        self.body.init.append(f"self.{name} = {module}")

    def _nested(self, layer: s.BlockLayer, name: str, source: str, target: str) -> None:
        nested = self.blocks[layer.op.text]
        self.body.nested[nested.name] = nested
        args = [str(self.channels)]
        given: dict[str, Term] = {}
        for option in layer.options:
            value = term(option.value, self.env) if option.value is not None else True
            given[option.name.text] = value  # type: ignore[union-attr]
            args.append(f"{option.name.text}={value}")  # type: ignore[union-attr]
        self._declare(name, f"{nested.cls}({', '.join(args)})", layer)
        self.line(f"{target} = self.{name}({source})")
        self.channels = nested_channels(nested, self.channels, self.blocks, given)
        self.current = target

    def _merge(self, merge: s.Merge) -> None:
        operands = [o.text for o in merge.operands]
        if merge.kind == "add" and operands == ["shortcut"]:
            if self.plain:  # the plain network: the layers after the addition follow on
                return
            self.body.residual = True
            self.after_add = True
            return
        op = {"add": "+", "multiply": "*"}[merge.kind]
        joined = f" {op} ".join([self.current, *operands])
        self.line(f"out = {joined}")
        self.current = "out"


def _neutral(value: Term) -> Term:
    """An option whose class attribute is 1 (``groups`` of an ungrouped bottleneck) is left
    to the op's default, as torchvision's helpers take it."""
    return 1 if isinstance(value, Sym) and value.value == 1 else value


def nested_channels(
    definition: Definition, channels: Term, blocks, given: Mapping[str, Term] | None = None
) -> Term:
    """The channels a block within a block makes from ``channels``, with the values its layer
    gives it (``se: sized_eca(width = unpruned)``)."""
    env: dict[str, Term] = {"channels": channels}
    for param in definition.params:
        name = param.name.text
        if given and name in given:
            env[name] = given[name]
        elif param.default is not None and name not in PER_BLOCK:
            env[name] = term(param.default, env)
    return emit(definition, env, blocks).out


def _layers(body):
    for statement in body:
        if isinstance(statement, s.BlockLayer):
            yield statement
        elif isinstance(statement, s.Branch):
            yield from _layers(statement.body)
