"""The arithmetic and conditions of block definitions, evaluated with the values a use binds.

    >>> from resdsl.lang.parse import parse
    >>> (block,) = parse("block b(c = 2) { let w = max(8, (c * 100 / 16 + 4) / 8 * 8) }", "b").items
    >>> value(block.body[0].value, {"c": 2})
    16

A definition's numbers are whole (channels, strides, kernel sizes), so ``/`` divides and
rounds down as Python's ``//`` does, and ``log2`` is the floor of the logarithm; a fraction
(``dropout 0.3``) is a float, a size (``1x1``) a tuple. Conditions compare numbers or sizes
and combine with ``and``, ``or``, ``not``. A name that is not bound, a division by zero or a
value of the wrong kind raises :class:`EvaluationError` with the span of the expression at
fault, which the caller turns into a located diagnostic.
"""

from __future__ import annotations

from collections.abc import Mapping

from resdsl.diagnostics import Span
from resdsl.lang import syntax as s
from resdsl.lang.vocabulary import Number


class EvaluationError(ValueError):
    """A value a definition cannot compute with what its use gave it."""

    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span, self.message = span, message


def value(expr: s.Value, env: Mapping[str, Number]) -> Number:
    """The value of a number, a size or arithmetic under ``env``."""
    if isinstance(expr, s.Int):
        return expr.value
    if isinstance(expr, s.Real):
        return float(expr.text)
    if isinstance(expr, s.Dims):
        return tuple(_whole(value(part, env), part.span) for part in expr.parts)
    if isinstance(expr, s.Var):
        if expr.name not in env:
            known = ", ".join(sorted(env)) or "none"
            raise EvaluationError(expr.span, f"unknown name {expr.name} (names here: {known})")
        return env[expr.name]
    if isinstance(expr, s.Choose):
        return value(expr.then if holds(expr.condition, env) else expr.otherwise, env)
    if isinstance(expr, s.Call):
        return _call(expr, [value(argument, env) for argument in expr.arguments])
    left, right = value(expr.left, env), value(expr.right, env)
    return _arithmetic(expr, left, right)


def holds(condition: s.Condition, env: Mapping[str, Number]) -> bool:
    """Whether a condition is true under ``env``."""
    if isinstance(condition, s.Logic):
        if condition.op == "not":
            return not holds(condition.left, env)
        if condition.op == "and":
            return holds(condition.left, env) and holds(condition.right, env)  # type: ignore[arg-type]
        return holds(condition.left, env) or holds(condition.right, env)  # type: ignore[arg-type]
    left, right = value(condition.left, env), value(condition.right, env)
    if condition.op in ("==", "!="):
        return (left == right) == (condition.op == "==")
    if isinstance(left, tuple) or isinstance(right, tuple):
        raise EvaluationError(
            condition.span, f"sizes compare only with == and !=, not {condition.op}"
        )
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[condition.op]


def names(expr: s.Value | s.Condition | None) -> set[str]:
    """The names an expression or condition reads."""
    found: set[str] = set()
    pending: list = [expr]
    while pending:
        item = pending.pop()
        if isinstance(item, s.Var):
            found.add(item.name)
        elif isinstance(item, s.BinOp | s.Compare | s.Logic):
            pending += [item.left, item.right]
        elif isinstance(item, s.Call):
            pending += item.arguments
        elif isinstance(item, s.Choose):
            pending += [item.condition, item.then, item.otherwise]
        elif isinstance(item, s.Dims):
            pending += item.parts
    return found


def show(number: Number) -> str:
    """A value as a message writes it: ``16``, ``0.3``, ``3x3``."""
    if isinstance(number, tuple):
        return "x".join(map(str, number))
    if isinstance(number, float):
        return f"{number:g}"
    return str(number)


def _whole(number: Number, span: Span) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise EvaluationError(span, f"expected a whole number here, not {show(number)}")
    return number


def _call(expr: s.Call, arguments: list[Number]) -> Number:
    if expr.function == "log2":
        if len(arguments) != 1:
            raise EvaluationError(expr.span, "log2 takes one number")
        number = _whole(arguments[0], expr.span)
        if number < 1:
            raise EvaluationError(expr.span, f"log2 of {number}: it needs a number of 1 or more")
        return number.bit_length() - 1
    if any(isinstance(argument, tuple) for argument in arguments):
        raise EvaluationError(expr.span, f"{expr.function} takes numbers, not sizes")
    return max(arguments) if expr.function == "max" else min(arguments)  # type: ignore[type-var]


def _arithmetic(expr: s.BinOp, left: Number, right: Number) -> Number:
    if isinstance(left, tuple) or isinstance(right, tuple):
        raise EvaluationError(expr.span, f"a size cannot take part in {expr.op}")
    if expr.op in ("/", "%"):
        if right == 0:
            raise EvaluationError(expr.span, f"{show(left)} {expr.op} 0 divides by zero")
        number = left // right if expr.op == "/" else left % right
    else:
        number = {"+": left + right, "-": left - right, "*": left * right}[expr.op]
    # No cap here: `planes * width_per_group / 64` may pass through a large product. Sizes
    # are capped where they become a layer's (the layers, and resdsl.ir.validate).
    return number
