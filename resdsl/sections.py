"""The stem and the head of a network, resolved into ops with torchvision's module names.

    >>> from resdsl.parse import parse
    >>> tree = parse("network n { stem { conv 7x7, 64, stride 2 maxpool 3x3, stride 2 } }", "n")
    >>> (stem,) = [st for st in tree.items[0].body]
    >>> layers, channels = stem_layers(stem, 3, Scope("n"))
    >>> [(layer.name, layer.op.label()) for layer in layers], channels
    ([('conv1', '7x7 conv, 64, /2'), ('bn1', 'bn'), ('relu', 'relu'), ('maxpool', 'pool, /2')], 64)

Part of resolving (:mod:`resdsl.resolve`). In a stem, ``conv K, C`` means a convolution, a
batch norm and a ReLU (``conv1``, ``bn1``, ``relu``; a deeper stem goes on with ``conv2``,
``bn2``), and ``maxpool``/``avgpool`` a pooling window. A head is global average pooling
then one fc to ``classes``.
"""

from __future__ import annotations

from resdsl import ops
from resdsl import syntax as s
from resdsl.diagnostics import did_you_mean
from resdsl.scope import Scope
from resdsl.spec import Layer

# The stem's pooling words and the op each one is.
POOLS: dict[str, type[ops.MaxPool] | type[ops.AvgPool]] = {
    "maxpool": ops.MaxPool,
    "avgpool": ops.AvgPool,
}


def stem_layers(section: s.Section, channels: int, scope: Scope) -> tuple[tuple[Layer, ...], int]:
    """The stem's ops in order, and the channels it ends with."""
    layers: list[Layer] = []
    counts: dict[str, int] = {}
    for layer in section.layers:
        kind = layer.kind.text
        counts[kind] = counts.get(kind, 0) + 1
        scope.no_repeats(layer)
        if kind == "conv":
            made = _conv(layer, channels, counts[kind], scope)
            if made:
                layers += made
                channels = made[0].op.out_channels  # type: ignore[attr-defined]
        elif kind in POOLS:
            pool = _pool(layer, kind, scope)
            if pool is not None:
                number = "" if counts[kind] == 1 else str(counts[kind])
                layers.append(Layer(f"{kind}{number}", pool, layer.span))
        else:
            hint = did_you_mean(kind, ["conv", *POOLS])
            scope.error(
                layer.kind.span,
                f"unknown stem layer {kind}; expected conv, maxpool or avgpool{hint}",
            )
    return tuple(layers), channels


def _conv(layer: s.Layer, channels: int, n: int, scope: Scope) -> list[Layer]:
    kernel = scope.kernel(layer.kernel, "a conv kernel")
    if layer.kernel is None:
        scope.error(layer.span, "conv needs a kernel and a width, like `conv 7x7, 64, stride 2`")
    if layer.channels is None:
        scope.error(layer.span, "conv needs a width (output channels), like `conv 3x3, 16`")
        return []
    width = scope.size(layer.channels, "a conv's width")
    stride, padding = scope.stride_padding(layer, kernel)
    if kernel is None or width is None or stride is None or padding is None:
        return []
    # torchvision's names: conv1/bn1; a deeper stem goes on with conv2/bn2.
    return [
        Layer(f"conv{n}", ops.Conv(channels, width, kernel, stride, padding), layer.span),
        Layer(f"bn{n}", ops.BatchNorm(width), layer.span),
        Layer("relu", ops.ReLU(), layer.span),
    ]


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


def head_layers(section: s.Section, channels: int, classes: int, scope: Scope) -> tuple[Layer, ...]:
    """The head's ops: ``avgpool`` (global) then ``fc`` to ``classes``."""
    kinds = [layer.kind.text for layer in section.layers]
    layers: list[Layer] = []
    pooled = False
    for layer in section.layers:
        kind = layer.kind.text
        for option in (layer.kernel, layer.channels, layer.stride, layer.padding):
            if option is not None:
                scope.error(
                    option.span,
                    f"the head's {kind} takes no options (the pool is "
                    "global and fc maps to `classes`)",
                )
        if kind == "avgpool":
            layers.append(Layer("avgpool", ops.GlobalAvgPool(), layer.span))
            pooled = True
        elif kind == "fc":
            if not pooled:
                scope.error(
                    layer.span, "fc needs the global average pool before it: write `avgpool` first"
                )
                return tuple(layers)
            layers.append(Layer("fc", ops.Linear(channels, classes), layer.span))
        else:
            hint = did_you_mean(kind, ["avgpool", "fc"])
            scope.error(layer.kind.span, f"unknown head layer {kind}; expected avgpool or fc{hint}")
    if kinds.count("fc") != 1 or kinds[-1:] != ["fc"] or kinds.count("avgpool") > 1:
        scope.error(
            section.span, "the head is global average pooling then one fc: `head { avgpool fc }`"
        )
    return tuple(layers)
