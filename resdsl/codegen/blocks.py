"""The classes and helpers a network's block needs, written from its definition.

A network's stages use one block definition under one shortcut option, so its module has one
block class (``BasicBlock``, ``Bottleneck``, ``PreActBasicBlock``, a user's ``SEBottleneck``:
the definition's ``as`` name), one class per block its layers name (``SEModule``), and one
function per shortcut block its blocks use (``projection``: an ``nn.Sequential`` of the
layers its definition names ``downsample.0``, ``downsample.1``; a shortcut of one op is built
by that op's own class, option A's ``ZeroPadShortcut``). Each is written from the same
definition lowering elaborated (:mod:`resdsl.codegen.emitter`), so the class builds what the
IR holds; the stages list one constructor call per block, runs of identical blocks folded.

A stage block's class keeps torchvision's contract: ``__init__(inplanes, planes, stride=1,
downsample=None)``, ``expansion`` as a class attribute (its parameter, or what the block's
width makes of ``planes``), every other network-wide whole number as a class attribute
(``groups``, ``width_per_group``), with the comment its parameter has in the definition.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections import Counter
from itertools import groupby
from typing import Any

from resdsl.codegen.emitter import Body, emit, stage_env, varied_values
from resdsl.codegen.identifiers import error_at
from resdsl.codegen.symbolic import Sym, condition, term
from resdsl.ir.network import BlockInfo, Network
from resdsl.lang import syntax as s
from resdsl.lang.definitions import Definition
from resdsl.lang.elaborate import bind
from resdsl.lang.vocabulary import LAYERS, PER_BLOCK, LayerArgs

_STRIDED = "H / stride, W / stride"
# Where a pre-activation unit's shortcut reads (`shortcut here`): said once, in the class.
_PREACT_FLAG = "preact_shortcut"
# The helper functions a block's lines may call, and the one the grouped convolution calls.
_HELPERS = ("conv3x3", "conv1x1")


def block_context(net: Network) -> dict[str, Any]:
    """Everything the template needs to write the network's block, its classes and helpers."""
    spec, span = net.block, net.name_span
    definition = spec.definition
    shortcuts = {info.shortcut for info in net.blocks}
    residual = "none" not in shortcuts
    special = sorted(shortcuts - {"identity", "none"})
    if ("none" in shortcuts and len(shortcuts) > 1) or len(special) > 1:
        raise error_at(span, f"resdsl compile cannot mix shortcuts {sorted(shortcuts)}")
    shortcut = net.spec.shortcuts.get(special[0]) if special else None
    attr = _attribute(shortcut) if shortcut else None
    flag: bool | str = definition.reads_here and residual
    if flag and definition.identity_raw:  # only a working shortcut reads the pre-activation
        flag = f"self.{attr} is not None" if attr else False
    varied = varied_values(net)
    env = stage_env(spec, varied)
    body = emit(definition, env, net.spec.definitions, preact_flag=flag, plain=not residual)
    init, forward = list(body.init), [list(p) for p in body.forward]
    params = []
    if attr is not None:
        params.append(f"{attr}: nn.Module | None = None")
        init.insert(len(init) if body.via_at is None else body.via_at, f"self.{attr} = {attr}")
    if flag is True:
        params.append(f"{_PREACT_FLAG}: bool = False")
        implied = f" or {attr} is not None" if attr else ""
        init.append(f"self.{_PREACT_FLAG} = {_PREACT_FLAG}{implied}")
    if varied:  # given block by block by the stage lines: the caller's, no default
        params += ["*", *(f"{name}: {_kind(net, name)}" for name in varied)]
    cls, (title, more) = definition.cls, _doc(definition, env)
    if not residual:
        cls = f"Plain{cls}"
        forward[-1] += body.after_add
        more.append("Plain: no shortcut and no addition (the paper's plain baseline).")
    out = body.out.shown if isinstance(body.out, Sym) else str(body.out)
    lines = [*init, *(line for paragraph in forward for line in paragraph), *body.after_add]
    helpers = _helpers(definition, net)
    return {
        "cls": cls,
        "doc": docstring(title, more),
        "attributes": _attributes(definition, net, lines),
        "params": params,
        "residual": residual,
        "shortcut": attr,
        "shortcut_input": "identity" if flag else "x",
        "init": init,
        "forward": forward,
        "after_add": body.after_add if residual else [],
        "out": out,
        "last_bn": body.last_norm,
        "helpers": helpers,
        "modules": [module_context(d, net) for d in _nested(body, net)],
        "functions": [
            function_context(net.spec.shortcuts[kind])
            for kind in special
            if _attribute(net.spec.shortcuts[kind]) and _indexed(net.spec.shortcuts[kind])
        ],
        "helper_sources": _helper_sources(net),
        "definition": definition,
    }


def _doc(definition: Definition, env) -> tuple[list[str], list[str]]:
    """The docstring: the comment above the definition, then each ``doc`` paragraph that
    holds, wrapped to stay within ruff's 100 columns once indented."""
    more: list[str] = []
    for statement in definition.body:
        holds = isinstance(statement, s.Doc) and (
            statement.condition is None or condition(statement.condition, env) is True
        )
        if holds:
            more += textwrap.wrap(statement.text, 92)
    title = list(definition.comments) or [f"The block {definition.name}."]
    if any(len(line) > 92 for line in title):  # the author's breaks, unless a line is too long
        title = textwrap.wrap(" ".join(title), 92)
    return title, more


def docstring(title: list[str], more: list[str], indent: str = "    ") -> str:
    """A docstring as PEP 257 writes one: its first paragraph, then (after a blank line) the
    rest, the closing quotes on a line of their own where there is a rest. The text is the
    spec's comments and ``doc`` lines, escaped (:func:`in_docstring`).
    """
    title = [in_docstring(line) for line in title]
    more = [in_docstring(line) for line in more]
    last = title[-1]
    backslashes = len(last[:-1]) - len(last[:-1].rstrip("\\"))  # an even number escape none
    if not more and last.endswith('"') and backslashes % 2 == 0:
        title[-1] = last[:-1] + '\\"'  # a `"` right before the closing quotes would end them
    lines = [f'{indent}"""{title[0]}', *(f"{indent}{line}" for line in title[1:])]
    if not more:
        return "\n".join(lines) + '"""'
    lines += ["", *(f"{indent}{line}" for line in more), f'{indent}"""']
    return "\n".join(lines)


def in_docstring(text: str) -> str:
    """A line of the spec's text as it must be written inside a docstring to read the same:
    backslashes doubled, three quotes escaped, control characters (a null byte: not Python
    source at all) written as escapes.
    """
    return in_comment(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"'))


def in_comment(text: str) -> str:
    """The spec's text inside a ``#`` comment: control characters written as escapes."""
    return "".join(
        repr(c)[1:-1] if unicodedata.category(c) == "Cc" and c != "\t" else c for c in text
    )


def _attributes(definition: Definition, net: Network, lines: list[str]) -> list[str]:
    """``expansion`` first (torchvision's contract), then every network-wide whole number the
    class's lines read as ``self.NAME``, with its parameter's comment."""
    values = dict(net.block.values)
    expansion = values.get("expansion", _expansion(net))
    found = [f"expansion: int = {expansion}"]
    text = "\n".join(lines)
    for param in definition.params:
        name = param.name.text
        if name in PER_BLOCK or name == "expansion" or type(values.get(name)) is not int:
            continue
        if not re.search(rf"\bself\.{name}\b", text):
            continue
        comment = f"  # {in_comment(param.comment)}" if param.comment else ""
        found.append(f"{name}: int = {values[name]}{comment}")
    return found


def _expansion(net: Network) -> int:
    """What a block without an ``expansion`` parameter makes of its planes (basic: 1)."""
    stage = net.stages[0]
    return stage.out_channels // stage.width


def _helpers(definition: Definition, net: Network) -> dict[str, bool]:
    """Which of torchvision's conv helpers the generated module defines, and whether its
    conv3x3 takes groups."""
    text = "\n".join(_all_lines(net))
    return {
        "conv3x3": "conv3x3(" in text,
        "conv1x1": "conv1x1(" in text,
        "grouped": bool(re.search(r"conv3x3\([^()]*,[^()]*,[^()]*,[^()]*\)", text)),
    }


def _all_lines(net: Network) -> list[str]:
    spec = net.block
    body = emit(spec.definition, stage_env(spec), net.spec.definitions)
    found = list(body.init)
    for kind in {info.shortcut for info in net.blocks} & set(net.spec.shortcuts):
        definition = net.spec.shortcuts[kind]
        if _attribute(definition) and _indexed(definition):
            found += [line for line in function_context(definition)["lines"]]
    return found


def _helper_sources(net: Network) -> list[str]:
    """The helper classes the network's ops name (option A's ``ZeroPadShortcut``, BiT's
    ``StdConv2d``, ...), each once, as their ops write them (``Op.helper_source``)."""
    found = dict.fromkeys(n.op.helper_source for n in net.nodes if n.op.helper_source)
    return [source.rstrip("\n") for source in found]


def _nested(body: Body, net: Network) -> list[Definition]:
    """The block classes a block's layers name, each once, the innermost first."""
    found: dict[str, Definition] = {}

    def visit(inner: Body) -> None:
        for name, definition in inner.nested.items():
            env = {
                "channels": Sym("channels"),
                **{p.name.text: Sym(p.name.text) for p in definition.params},
            }
            visit(emit(definition, env, net.spec.definitions))
            found.setdefault(name, definition)

    visit(body)
    return list(found.values())


def module_context(definition: Definition, net: Network) -> dict[str, Any]:
    """A block that a block's layer names, as a class of its own: ``__init__(channels,
    params...)``, the definition's defaults as the arguments' defaults."""
    env: dict[str, Any] = {"channels": Sym("channels")}
    params = ["channels: int"]
    for param in definition.params:
        name = param.name.text
        default = term(param.default, env) if param.default is not None else None
        kind = type(default).__name__ if default is not None else "int"
        params.append(f"{name}: {kind}" + (f" = {default!r}" if default is not None else ""))
        env[name] = Sym(name)
    body = emit(definition, env, net.spec.definitions)
    return {
        "cls": definition.cls,
        "doc": docstring(*_doc(definition, env)),
        "params": params,
        "init": body.init,
        "forward": body.forward,
        "result": body.result,
    }


def _attribute(definition: Definition) -> str | None:
    """The block attribute a shortcut's layers live under (``downsample``, ``shortcut``)."""
    labels = {
        st.label.text.split(".")[0]
        for st in definition.body
        if isinstance(st, s.BlockLayer) and st.label
    }
    return labels.pop() if len(labels) == 1 else None


def _indexed(definition: Definition) -> bool:
    """Whether a shortcut's layers are items of a Sequential (``downsample.0`` ...)."""
    return all(
        st.label is not None and "." in st.label.text
        for st in definition.body
        if isinstance(st, s.BlockLayer)
    )


def function_context(definition: Definition) -> dict[str, Any]:
    """A shortcut block as a function returning its ``nn.Sequential``: ``projection(in_planes,
    out_planes, stride=1)``. A layer that exists only at some strides (ResNet-D's pool) is an
    ``nn.Identity()`` at the others, so that the layers after it keep their indices; two
    alternatives of one layer (each with an ``if``: SENet's 3x3 projection, a 1x1 at stride 1)
    are one local, set by whichever holds."""
    env: dict[str, Any] = {
        "channels": Sym("in_planes"),
        "out_planes": Sym("out_planes"),
        "stride": Sym("stride"),
    }
    lines: list[str] = []
    items: list[str] = []
    locals_: dict[str, tuple[str, Any]] = {}  # a conditional layer's label -> local, input
    for st in definition.body:
        if not isinstance(st, s.BlockLayer):
            continue
        label = st.label.text if st.label else st.op.text
        if label in locals_:  # an alternative of the layer before: it reads what that read
            env["channels"] = locals_[label][1]
        kind = LAYERS[st.op.text]
        options = {
            (o.name.text if o.name else ""): (True if o.value is None else term(o.value, env))
            for o in st.options
        }
        number = options.pop("", None)
        size = term(st.size, env) if st.size is not None else None
        channels_in = env["channels"]
        op = kind.build(LayerArgs(env["channels"], size, number, options, symbolic=True))
        if kind.widens:
            env["channels"] = number
        decided = True if st.condition is None else condition(st.condition, env)
        if decided is True:
            items.append(op.module())
            continue
        if label in locals_:
            lines += [f"if {decided}:", f"    {locals_[label][0]} = {op.module()}"]
            continue
        local = "pool" if op.pool else op.kind
        lines += [f"{local} = nn.Identity()", f"if {decided}:", f"    {local} = {op.module()}"]
        locals_[label] = (local, channels_in)
        items.append(local)
    names = [
        st.label.text.partition(".")[2]  # type: ignore[union-attr]
        for st in definition.body
        if isinstance(st, s.BlockLayer)
        and (st.condition is None or condition(st.condition, env) is not False)
    ]
    if all(name.isdecimal() for name in names):
        lines.append(f"return nn.Sequential({', '.join(items)})")
    else:  # named items (timm's downsample.conv): an nn.Sequential of an OrderedDict
        named = ", ".join(f"{name}={item}" for name, item in zip(names, items, strict=True))
        lines.append(f"return nn.Sequential(OrderedDict({named}))")
    return {"name": definition.name, "doc": docstring(*_doc(definition, env)), "lines": lines}


def _kind(net: Network, name: str) -> str:
    """The Python type of a parameter the stage lines give."""
    kinds = {type(v).__name__ for info in net.blocks for n, v in info.values if n == name}
    return kinds.pop() if len(kinds) == 1 else "Any"


def _call(info: BlockInfo, block: dict[str, Any], net: Network) -> str:
    """The constructor call of one block: ``Bottleneck(256, 128, stride=2, downsample=...)``."""
    stride = f", stride={info.stride}" if info.stride != 1 else ""
    extra = ""
    if info.shortcut in ("projection", "pad"):
        definition = net.spec.shortcuts[info.shortcut]
        if _indexed(definition):
            made = f"{definition.name}({info.in_channels}, {info.out_channels}{stride})"
        else:  # one op, built by its own class: ZeroPadShortcut(16, 32, stride=2)
            made = _single(definition, info).torch()
        extra = f", {block['shortcut']}={made}"
    elif info.preactivated:  # an identity on the pre-activation: the network's first unit
        extra = f", {_PREACT_FLAG}=True"
    varied = varied_values(net)
    values = ""
    if varied:  # each block's own, where its stage line gives none the block line's or default
        per_block = {"planes": info.width, "stride": info.stride, "channels": info.in_channels}
        bound = bind(
            net.block.definition, {**dict(net.block.values), **per_block, **dict(info.values)}
        )
        values = "".join(f", {name}={bound[name]!r}" for name in varied)
    return f"{block['cls']}({info.in_channels}, {info.width}{stride}{extra}{values})"


def _single(definition: Definition, info: BlockInfo):
    """The one op of a shortcut block of one layer, at this block's values."""
    from resdsl.lang.elaborate import elaborate

    given = {"channels": info.in_channels, "out_planes": info.out_channels, "stride": info.stride}
    (piece,) = elaborate(definition, given, {}).pieces
    return piece.op


def check_blocks(net: Network) -> None:
    """Raise a located error if any block's nodes in the IR differ from its stage's layout,
    which the emitted class is written from (the same definition, elaborated)."""
    found: dict[tuple[int, int], list] = {}
    for index, node in enumerate(net.nodes):
        if node.section == "stage":
            found.setdefault((node.stage, node.block), []).append((index, node))  # type: ignore[arg-type]
    infos = {(info.stage, info.index): info for info in net.blocks}
    for key in sorted(set(found) | set(infos)):
        info = infos.get(key)
        if info is None:
            raise error_at(net.name_span, f"IR nodes of an unknown block {key}")
        stage = net.stage(info.stage)
        layout = stage.layout(info.index)
        members = found.get(key, [])
        start = members[0][0] if members else len(net.nodes)
        actual = Counter((n.op, n.path, n.branch) for _, n in members)
        expected = Counter(
            (p.op, f"{info.path}.{p.path}", p.branch) for p in (layout.pieces if layout else ())
        )
        wired = all(
            n.inputs == tuple(start - 1 if i == -1 else start + i for i in p.inputs)
            for (_, n), p in zip(members, layout.pieces if layout else (), strict=False)
        )
        if actual != expected or not wired:
            extra = sorted(map(str, (actual - expected).elements()))
            missing = sorted(map(str, (expected - actual).elements()))
            raise error_at(
                info.span,
                f"resdsl compile cannot emit block {info.path}: the IR has {extra or 'no'} "
                f"extra and {missing or 'no'} missing nodes for a {net.block.kind} block",
            )


def stage_entries(net: Network, stage: int, block: dict[str, Any]) -> list[str]:
    """The stage's blocks as ``nn.Sequential`` entries, runs of identical blocks folded."""
    infos = [info for info in net.blocks if info.stage == stage]
    entries = []
    for call, run in groupby(_call(info, block, net) for info in infos):
        count = len(list(run))
        entries.append(call if count == 1 else f"*({call} for _ in range({count}))")
    return entries
