"""Stage 4: the rules of the language that need the whole, shaped IR. IR to diagnostics.

    >>> validate(infer_shapes(graph))                     # doctest: +SKIP
    ()

Every rule adds diagnostics; none stops at the first. Each diagnostic points at the
statement that caused it (the stage line for a block, the layer for a stem layer).
"""

from __future__ import annotations

import builtins
import keyword

import networkx as nx

from resdsl.codegen_names import MODULE_NAMES
from resdsl.diagnostics import Diagnostic

# Names the generated module defines or imports (nn, ResNet, conv3x3, META, ...): a network
# called `conv3x3` would shadow them, so `check` refuses it as `compile` would.
RESERVED = MODULE_NAMES | {"annotations"}


def validate(graph: nx.DiGraph) -> tuple[Diagnostic, ...]:
    """Check a shaped IR; return every problem found."""
    found: list[Diagnostic] = []
    for rule in (check_name, check_option_a, check_windows, check_additions):
        found.extend(rule(graph))
    return tuple(found)


def check_name(graph: nx.DiGraph) -> list[Diagnostic]:
    """A network's name becomes a Python function and a file name: it must be safe as both."""
    name, span = graph.graph["name"], graph.graph["name_span"]
    problem = None
    if not name.isidentifier() or not name.isascii():
        problem = "is not a Python identifier"
    elif keyword.iskeyword(name) or keyword.issoftkeyword(name):
        problem = "is a Python keyword"
    elif name.startswith("_"):
        problem = "starts with an underscore, which Python reserves for private names"
    elif hasattr(builtins, name):
        problem = "is a Python builtin"
    elif name in RESERVED:
        problem = "would shadow a name the generated code uses"
    if problem is None:
        return []
    return [Diagnostic(span, f"network name {name} {problem}; choose another name")]


def check_option_a(graph: nx.DiGraph) -> list[Diagnostic]:
    """Option A pads channels with zeros: it can add channels, never remove them."""
    found = []
    for _, attrs in graph.nodes(data=True):
        if attrs["op"] == "pad" and attrs["out_channels"] < attrs["in_channels"]:
            stage = graph.graph["stages"][attrs["stage"] - 1]
            found.append(
                Diagnostic(
                    attrs["span"],
                    f"stage {stage.title}: shortcut A pads with zeros, so it cannot take "
                    f"{attrs['in_channels']} channels down to {attrs['out_channels']}",
                )
            )
    return found


def check_windows(graph: nx.DiGraph) -> list[Diagnostic]:
    """Report the first layer whose kernel is larger than its (padded) input."""
    for node, attrs in graph.nodes(data=True):
        if attrs["shape"] is not None:
            continue
        inputs = [graph.nodes[p]["shape"] for p in graph.predecessors(node)]
        if None in inputs:
            continue  # an earlier node already failed
        (_, h, w) = inputs[0]
        kh, kw = attrs["kernel"]
        ph, _ = attrs["padding"]
        where = _where(graph, attrs)
        message = (
            f"{where}{attrs['op']} {kh}x{kw} is larger than its input ({h}x{w}, padded by {ph})"
        )
        return [Diagnostic(attrs["span"], message)]
    return []


def check_additions(graph: nx.DiGraph) -> list[Diagnostic]:
    """Every residual addition y = F(x) + x must see equal shapes."""
    found = []
    for node, attrs in graph.nodes(data=True):
        if attrs["op"] != "add":
            continue
        shapes = {e["branch"]: e["shape"] for _, _, e in graph.in_edges(node, data=True)}
        main, shortcut = shapes.get("main"), shapes.get("shortcut")
        if main is not None and shortcut is not None and main != shortcut:
            found.append(
                Diagnostic(
                    attrs["span"],
                    f"{_where(graph, attrs)}block {attrs['block']} adds F(x) of shape "
                    f"{_show(main)} to a shortcut of shape {_show(shortcut)}; "
                    "use shortcut B or C to project",
                )
            )
    return found


def _where(graph: nx.DiGraph, attrs: dict) -> str:
    if attrs.get("stage") is None:
        return ""
    return f"stage {graph.graph['stages'][attrs['stage'] - 1].title}: "


def _show(shape) -> str:
    return "x".join(str(d) for d in shape)
