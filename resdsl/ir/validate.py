"""Validation: the rules of the language that need the whole, shaped IR. IR to diagnostics.

    >>> from resdsl.pipeline import check
    >>> result = check("tests/golden/errors/option_a_shrinks.res")
    >>> print(result.diagnostics[0].message)
    stage conv3_x: shortcut A pads with zeros, so it cannot take 64 channels down to 32

Every rule adds diagnostics; none stops at the first. Each diagnostic points at the
statement that caused it (the stage line for a block, the layer for a stem layer). What is
wrong with an op's inputs (option A asked to shrink channels, a residual addition of two
shapes, a window larger than its input) the op itself says (:meth:`resdsl.ops.Op.problem`).
"""

from __future__ import annotations

from resdsl.diagnostics import Diagnostic
from resdsl.ir.network import Network, Node
from resdsl.lang import names
from resdsl.lang.limits import MAX_SIZE
from resdsl.ops import show


def validate(net: Network) -> tuple[Diagnostic, ...]:
    """Check a shaped IR; return every problem found."""
    return (*check_name(net), *check_ops(net), *check_sizes(net))


def check_name(net: Network) -> list[Diagnostic]:
    """A network's name becomes a Python function and a file name: it must be safe as both."""
    problem = names.problem(net.name)
    if problem is None:
        return []
    shown = net.name if len(net.name) <= 40 else f"{net.name[:37]}..."  # the excerpt has it all
    return [Diagnostic(net.name_span, f"network name {shown} {problem}; choose another name")]


def check_ops(net: Network) -> list[Diagnostic]:
    """Each op's complaint about its inputs. Where shapes stop (a window that does not fit),
    the ops after it see None and stay silent: only where it began is reported."""
    found = []
    for node in net.nodes:
        problem = node.op.problem([net.nodes[i].shape for i in node.inputs], node.block)
        if problem is not None:
            found.append(Diagnostic(node.span, f"{where(net, node)}{problem}"))
    return found


def check_sizes(net: Network) -> list[Diagnostic]:
    """Derived sizes are capped as written ones are: channels after an expansion, a map after
    padding. Only the first node past the cap is reported: every one after it is too."""
    for node in net.nodes:
        if node.shape is not None and max(node.shape) > MAX_SIZE:
            message = (
                f"{where(net, node)}{node.path} would output {show(node.shape)}, larger than "
                f"resdsl supports (each size at most {MAX_SIZE})"
            )
            return [Diagnostic(node.span, message)]
    return []


def where(net: Network, node: Node) -> str:
    """``stage conv3_x: `` for a node inside a stage, else nothing."""
    return "" if node.stage is None else f"stage {net.stage(node.stage).title}: "
