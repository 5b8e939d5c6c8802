"""The stem and the head of a network, resolved into ops with torchvision's module names.

    >>> from resdsl.lang.parse import parse
    >>> tree = parse("network n { stem { conv 7x7, 64, stride 2 maxpool 3x3, stride 2 } }", "n")
    >>> (stem,) = [st for st in tree.items[0].body]
    >>> layers, channels = stem_layers(stem, 3, Scope("n"))
    >>> [(layer.name, layer.op.label()) for layer in layers], channels
    ([('conv1', '7x7 conv, 64, /2'), ('bn1', 'bn'), ('relu', 'relu'), ('maxpool', 'pool, /2')], 64)

Part of resolving (:mod:`resdsl.lang.resolve`). In a stem, ``conv K, C`` means a convolution, a
batch norm and a ReLU (``conv1``, ``bn1``, ``relu``), and ``maxpool``/``avgpool`` a pooling
window. A stem of several convolutions is named as timm names its deep stem (ResNet-C of He
et al. 2019): ``conv1`` is an ``nn.Sequential`` of the convolutions with BN and ReLU between
them (``conv1.0``, ``conv1.1``, ``conv1.2``, ``conv1.3`` ...), and the last one's BN and ReLU
are ``bn1`` and ``relu``. ``stem deep`` is that stem by name. A head is global average pooling
then one fc to ``classes``.

In a network of pre-activation blocks (He et al. 2016) the stem's last convolution has no BN
or ReLU of its own (the first unit's opens with them), and the head opens with the BN and
ReLU that follow the last addition (``bn``, ``relu``), as that paper's networks end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from resdsl import ops
from resdsl.diagnostics import Span, did_you_mean, either
from resdsl.lang import syntax as s
from resdsl.lang.scope import Scope
from resdsl.lang.spec import Layer

# The stem's pooling words and the op each one is.
POOLS: dict[str, type[ops.MaxPool] | type[ops.AvgPool]] = {
    "maxpool": ops.MaxPool,
    "avgpool": ops.AvgPool,
}


def stem_layers(
    section: s.Section,
    channels: int,
    scope: Scope,
    preact: bool = False,
    stems: Mapping[str, s.StemDef] | None = None,
    blocks: Mapping | None = None,
) -> tuple[tuple[Layer, ...], int]:
    """The stem's ops in order with their module names, and the channels it ends with.
    ``stems`` are the named stems (``stem deep``: the prelude's and the program's); a stem may
    also name a block (``blocks``), whose layers are the stem's under their own names."""
    name = section.preset
    if name is not None and name.text not in (stems or {}) and name.text in (blocks or {}):
        given = _arguments(section, scope)
        return _block_section(blocks[name.text], name, given, channels, scope, blocks)  # type: ignore[index]
    if section.arguments and name is not None:
        scope.error(
            name.span, f"stem {name.text} takes no arguments; a stem written as a block does"
        )
    if section.preset is None:
        written = section.layers
    else:
        written = _preset(section.preset, scope, stems or {})
    items: list[tuple[str, ops.Op, Span]] = []
    for layer in written:
        kind = layer.kind.text
        scope.no_repeats(layer)
        if layer.label is not None:
            scope.error(
                layer.label.span,
                "a stem's layers are named as torchvision and timm name them (conv1, bn1, "
                "maxpool); to name them otherwise, write the stem as a block",
            )
        if kind == "conv":
            conv = _conv(layer, channels, scope)
            if conv is not None:
                items.append((kind, conv, layer.span))
                channels = conv.out_channels
        elif kind in POOLS:
            pool = _pool(layer, kind, scope)
            if pool is not None:
                items.append((kind, pool, layer.span))
        else:
            hint = did_you_mean(kind, ["conv", *POOLS])
            scope.error(
                layer.kind.span,
                f"unknown stem layer {kind}; expected conv, maxpool or avgpool{hint}",
            )
    return _named(items, preact), channels


def _arguments(section: s.Section, scope: Scope) -> dict | None:
    """The values a stem or head written as a block is given (``stem bit(width = 64 * k)``),
    under the family's parameters; None (reported) where one cannot be evaluated."""
    from resdsl.lang.evaluate import EvaluationError, value

    given = {}
    for key, expr in section.arguments:
        try:
            given[key.text] = value(expr, scope.env)
        except EvaluationError as error:
            scope.error(error.span, error.message)
            return None
    return given


def _block_section(definition, name: s.Name, given, channels: int, scope: Scope, blocks):
    """A stem or head written as a block (``stem rs_stem``, ``block rs_stem { conv1.0: conv
    3x3, 32, stride 2 ... maxpool.0: conv 3x3, 64, stride 2 ... }``): its layers in order,
    named as the block names them (a stem whose norm is not batch norm, or whose pool is a
    convolution; timm's ``stem.conv``, ``head.fc``), at the span of the line that names it. It
    is one chain: no branch, no merge. ``given``: the values the line gives its parameters."""
    from resdsl.lang.elaborate import Unmet, elaborate

    if given is None:
        return (), channels
    for key in given:
        if definition.param(key) is None or key == "channels":
            listed = ", ".join(p for p in definition.param_names if p != "classes") or "none"
            scope.error(name.span, f"block {definition.name} has no parameter {key} ({listed})")
            return (), channels
    try:
        made = elaborate(definition, {**given, "channels": channels}, blocks)
    except Unmet as unmet:
        scope.error(name.span, unmet.message)
        return (), channels
    if any(piece.inputs != (index - 1,) for index, piece in enumerate(made.pieces)):
        scope.error(name.span, f"block {definition.name} is not one chain of layers, as a stem is")
        return (), channels
    return tuple(Layer(piece.path, piece.op, name.span) for piece in made.pieces), made.channels


def _preset(name: s.Name, scope: Scope, stems: Mapping[str, s.StemDef]) -> tuple[s.Layer, ...]:
    """A named stem's layers, as if written out on the ``stem`` line: every span is the
    line's, so that what goes wrong with them is reported where the spec names the stem."""
    if name.text not in stems:
        hint = did_you_mean(name.text, list(stems))
        scope.error(
            name.span,
            f"unknown stem {name.text}; expected {either(list(stems))} or `stem {{ ... }}`{hint}",
        )
        return ()
    return tuple(_respan(layer, name.span) for layer in stems[name.text].layers)


def _respan(node, span: Span):
    """A copy of a syntax node with every span in it replaced by ``span``."""
    if isinstance(node, tuple):
        return tuple(_respan(item, span) for item in node)
    if not dataclasses.is_dataclass(node):
        return node
    changes = {
        f.name: span if f.name == "span" else _respan(getattr(node, f.name), span)
        for f in dataclasses.fields(node)
    }
    return dataclasses.replace(node, **changes)


def _named(items: list[tuple[str, ops.Op, Span]], preact: bool) -> tuple[Layer, ...]:
    """Module names for the stem's ops, torchvision's (conv1, bn1, relu, maxpool) or, with
    several convolutions, timm's (conv1.0 ... in an nn.Sequential, then bn1, relu)."""
    convs = [i for i, (kind, _, _) in enumerate(items) if kind == "conv"]
    last = convs[-1] if convs else -1
    sequential = len(convs) > 1
    layers: list[Layer] = []
    counts: dict[str, int] = {}
    inner = 0  # the next item's index in the conv1 nn.Sequential

    def item(op: ops.Op, span: Span) -> None:
        nonlocal inner
        layers.append(Layer(f"conv1.{inner}", op, span))
        inner += 1

    for index, (kind, op, span) in enumerate(items):
        if sequential and index < last:
            item(op, span)
            if kind == "conv":
                item(ops.BatchNorm(op.out_channels), span)  # type: ignore[attr-defined]
                item(ops.ReLU(), span)
        elif kind == "conv":
            if sequential:
                item(op, span)
            else:
                layers.append(Layer("conv1", op, span))
            if not preact:  # a pre-activation network's first unit opens with its BN, ReLU
                layers.append(Layer("bn1", ops.BatchNorm(op.out_channels), span))  # type: ignore[attr-defined]
                layers.append(Layer("relu", ops.ReLU(), span))
        else:
            # A stem's average pool is `pool`: `avgpool` is the head's global one, and a module
            # of the generated network has one name.
            word = "pool" if kind == "avgpool" else kind
            counts[word] = counts.get(word, 0) + 1
            number = "" if counts[word] == 1 else str(counts[word])
            layers.append(Layer(f"{word}{number}", op, span))
    return tuple(layers)


def _conv(layer: s.Layer, channels: int, scope: Scope) -> ops.Conv | None:
    kernel = scope.kernel(layer.kernel, "a conv kernel")
    if layer.kernel is None:
        scope.error(layer.span, "conv needs a kernel and a width, like `conv 7x7, 64, stride 2`")
    if layer.channels is None:
        scope.error(layer.span, "conv needs a width (output channels), like `conv 3x3, 16`")
        return None
    width = scope.size(layer.channels, "a conv's width")
    stride, padding = scope.stride_padding(layer, kernel)
    if kernel is None or width is None or stride is None or padding is None:
        return None
    return ops.Conv(channels, width, kernel, stride, padding)


def _pool(layer: s.Layer, kind: str, scope: Scope) -> ops.Op | None:
    if layer.kernel is None:
        scope.error(layer.span, f"{kind} in the stem needs a kernel, like `{kind} 3x3, stride 2`")
        return None
    if layer.channels is not None:
        scope.error(layer.channels.span, f"{kind} keeps its channels; remove this")
    kernel = scope.kernel(layer.kernel, f"a {kind} kernel")
    stride, padding = scope.stride_padding(layer, kernel)
    if kernel is None or stride is None or padding is None:
        return None
    return POOLS[kind](kernel, stride, padding)


def head_layers(
    section: s.Section,
    channels: int,
    classes: int,
    scope: Scope,
    preact: bool = False,
    blocks: Mapping | None = None,
) -> tuple[Layer, ...]:
    """The head's ops: ``avgpool`` (global) then ``fc`` to ``classes``; after pre-activation
    blocks, the final BN and ReLU before them. A head may also name a block (``head
    v2_head``): its layers are the head's, given ``classes``, and nothing is added to them."""
    name = section.preset
    if name is not None:
        if name.text not in (blocks or {}):
            hint = did_you_mean(name.text, list(blocks or {}))
            scope.error(
                name.span, f"unknown head {name.text}; expected a block or `head {{ ... }}`{hint}"
            )
            return ()
        definition = blocks[name.text]  # type: ignore[index]
        if definition.param("classes") is None:
            scope.error(name.span, f"block {name.text} takes no classes, so it cannot be a head")
            return ()
        given = _arguments(section, scope)
        given = None if given is None else {**given, "classes": classes}
        layers, _ = _block_section(definition, name, given, channels, scope, blocks)
        return layers
    kinds = [layer.kind.text for layer in section.layers]
    layers: list[Layer] = []
    if preact:
        layers += [
            Layer("bn", ops.BatchNorm(channels), section.span),
            Layer("relu", ops.ReLU(), section.span),
        ]
    pooled = False
    for layer in section.layers:
        kind = layer.kind.text
        path = layer.label.text if layer.label is not None else kind
        for option in (layer.kernel, layer.channels, layer.stride, layer.padding):
            if option is not None:
                scope.error(
                    option.span,
                    f"the head's {kind} takes no options (the pool is "
                    "global and fc maps to `classes`)",
                )
        if kind == "avgpool":
            layers.append(Layer(path, ops.GlobalAvgPool(), layer.span))
            pooled = True
        elif kind == "fc":
            if not pooled:
                scope.error(
                    layer.span, "fc needs the global average pool before it: write `avgpool` first"
                )
                return tuple(layers)
            layers.append(Layer(path, ops.Linear(channels, classes), layer.span))
        else:
            hint = did_you_mean(kind, ["avgpool", "fc"])
            scope.error(layer.kind.span, f"unknown head layer {kind}; expected avgpool or fc{hint}")
    if kinds.count("fc") != 1 or kinds[-1:] != ["fc"] or kinds.count("avgpool") > 1:
        scope.error(
            section.span, "the head is global average pooling then one fc: `head { avgpool fc }`"
        )
    return tuple(layers)
