"""A definition's arithmetic as Python source: what a generated block class writes for it.

    >>> planes, expansion = Sym("planes"), Sym("self.expansion", "4", value=4)
    >>> width = times(planes, expansion)
    >>> str(width), width.shown
    ('planes * self.expansion', 'planes * 4')
    >>> per_group = Sym("self.width_per_group", "64", value=64)
    >>> groups = Sym("self.groups", "1", value=1)
    >>> inner = times(divide(times(planes, per_group), 64), groups)
    >>> str(inner), inner.shown, inner.simple
    ('planes * self.width_per_group // 64 * self.groups', 'planes', True)

A :class:`Sym` is an expression in two forms: ``code`` (what ``__init__`` computes,
``planes * self.expansion``, where a network-wide parameter is a class attribute as
torchvision's ``expansion`` is) and ``shown`` (what a shape comment says, with those
attributes' values: ``planes * 4``). Whole numbers stay Python ints, so that a layer whose
stride is the literal 1 writes none. The few simplifications torchvision's source makes by
hand are made here (``x * 1``, ``x * 64 // 64``), so that a bottleneck of the usual width
writes ``planes`` where a grouped one writes ``width = planes * self.width_per_group // 64 *
self.groups``.
"""

from __future__ import annotations

from collections.abc import Mapping

from resdsl.lang import syntax as s
from resdsl.lang.evaluate import show

# Precedence of what an expression's outermost operator binds: an atom, * // %, + -.
_ATOM, _PRODUCT, _SUM = 3, 2, 1


class Sym(str):
    """Python source of a value known only when the module runs (or fixed as an attribute)."""

    shown: str
    precedence: int
    value: int | None  # its value where it is a class attribute with a known one
    scaled: tuple[str, int] | None  # (name, k): the expression is `name * k` (for simplifying)

    def __new__(
        cls,
        code: str,
        shown: str | None = None,
        precedence: int = _ATOM,
        *,
        value=None,
        scaled=None,
    ):
        made = super().__new__(cls, code)
        made.shown = shown if shown is not None else code
        made.precedence, made.value = precedence, value
        if scaled is None:  # a plain name is itself times 1; an attribute is its value
            bare = made.shown.isidentifier() and value is None
            scaled = (made.shown, 1) if bare else None
        made.scaled = scaled if scaled and scaled[0] else None
        return made

    @property
    def simple(self) -> bool:
        """Whether its shown form is one name (a ``let`` of it is written inline)."""
        return self.scaled is not None and self.scaled[1] == 1


Term = Sym | int | float | tuple


def _code(term: Term, needs: int) -> str:
    if isinstance(term, Sym):
        return str(term) if term.precedence >= needs else f"({term})"
    return show(term) if isinstance(term, tuple) else repr(term)


def _shown(term: Term, needs: int) -> str:
    if isinstance(term, Sym):
        return term.shown if term.precedence >= needs else f"({term.shown})"
    return show(term)


def _known(term: Term) -> int | None:
    if isinstance(term, Sym):
        return term.value
    return term if isinstance(term, int) else None


def _scaled(name: str, k: int) -> Sym:
    """``name * k`` shown simplified (the code is written by the caller)."""
    return Sym(name) if k == 1 else Sym(f"{name} * {k}", precedence=_PRODUCT, scaled=(name, k))


def _with_code(code: str, precedence: int, shown: Sym | str, scaled=None) -> Sym:
    """A Sym whose code is ``code`` and whose shown form (and scale) is ``shown``'s."""
    if isinstance(shown, Sym):
        return Sym(code, shown.shown, precedence, scaled=shown.scaled or ("", 0))
    return Sym(code, shown, precedence, scaled=scaled or ("", 0))


def times(a: Term, b: Term) -> Term:
    """``a * b``: the code as written; the shown form with ``* 1`` and ``x * k // k`` gone."""
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return a * b  # type: ignore[operator]
    right = _PRODUCT + 1 if isinstance(b, Sym) and b.precedence == _PRODUCT else _PRODUCT
    code = f"{_code(a, _PRODUCT)} * {_code(b, right)}"
    ka, kb = _known(a), _known(b)
    if isinstance(a, Sym) and a.scaled and a.scaled[0] and kb is not None:
        return _with_code(code, _PRODUCT, _scaled(a.scaled[0], a.scaled[1] * kb))
    if isinstance(b, Sym) and b.scaled and b.scaled[0] and ka is not None:
        return _with_code(code, _PRODUCT, _scaled(b.scaled[0], b.scaled[1] * ka))
    return _with_code(code, _PRODUCT, f"{_shown(a, _PRODUCT)} * {_shown(b, right)}")


def divide(a: Term, b: Term, op: str = "//") -> Term:
    """``a // b`` (the language's ``/``) or ``a % b``."""
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return a // b if op == "//" else a % b  # type: ignore[operator]
    code = f"{_code(a, _PRODUCT)} {op} {_code(b, _PRODUCT + 1)}"
    k = _known(b)
    if (
        op == "//"
        and isinstance(a, Sym)
        and a.scaled
        and a.scaled[0]
        and k
        and a.scaled[1] % k == 0
    ):
        return _with_code(code, _PRODUCT, _scaled(a.scaled[0], a.scaled[1] // k))
    return _with_code(code, _PRODUCT, f"{_shown(a, _PRODUCT)} {op} {_shown(b, _PRODUCT + 1)}")


def plus(a: Term, b: Term, op: str = "+") -> Term:
    """``a + b`` or ``a - b``."""
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return a + b if op == "+" else a - b  # type: ignore[operator]
    right = _PRODUCT if op == "-" else _SUM
    code = f"{_code(a, _SUM)} {op} {_code(b, right)}"
    return _with_code(code, _SUM, f"{_shown(a, _SUM)} {op} {_shown(b, right)}")


def call(function: str, arguments: list[Term]) -> Term:
    """``max(...)``, ``min(...)``; ``log2`` as ``int(x).bit_length() - 1``."""
    if not any(isinstance(a, Sym) for a in arguments):
        if function == "log2":
            return int(arguments[0]).bit_length() - 1  # type: ignore[call-overload]
        return max(arguments) if function == "max" else min(arguments)  # type: ignore[type-var]
    if function == "log2":
        (x,) = arguments
        return Sym(f"{_code(x, _ATOM)}.bit_length() - 1", f"log2({_shown(x, 0)})", _SUM)
    code = ", ".join(_code(a, 0) for a in arguments)
    shown = ", ".join(_shown(a, 0) for a in arguments)
    return Sym(f"{function}({code})", f"{function}({shown})")


def term(expr: s.Value, env: Mapping[str, Term]) -> Term:
    """The source of an expression under ``env`` (names to Syms or constants)."""
    if isinstance(expr, s.Int):
        return expr.value
    if isinstance(expr, s.Real):
        return float(expr.text)
    if isinstance(expr, s.Dims):
        return tuple(term(part, env) for part in expr.parts)  # type: ignore[misc]
    if isinstance(expr, s.Var):
        return env[expr.name]
    if isinstance(expr, s.Call):
        return call(expr.function, [term(a, env) for a in expr.arguments])
    if isinstance(expr, s.Choose):
        decided = condition(expr.condition, env)
        if isinstance(decided, bool):
            return term(expr.then if decided else expr.otherwise, env)
        then, otherwise = term(expr.then, env), term(expr.otherwise, env)
        return Sym(f"({_code(then, 0)} if {decided} else {_code(otherwise, 0)})")
    left, right = term(expr.left, env), term(expr.right, env)
    if expr.op == "*":
        return times(left, right)
    if expr.op in ("/", "%"):
        return divide(left, right, "//" if expr.op == "/" else "%")
    return plus(left, right, expr.op)


def condition(cond: s.Condition, env: Mapping[str, Term]) -> bool | Sym:
    """A condition decided where its values are constants, else its source (``stride != 1``,
    which the generated module tests when it runs)."""
    if isinstance(cond, s.Logic):
        left = condition(cond.left, env)
        if cond.op == "not":
            return (not left) if isinstance(left, bool) else Sym(f"not {left}")
        right = condition(cond.right, env)  # type: ignore[arg-type]
        if isinstance(left, bool) and isinstance(right, bool):
            return (left and right) if cond.op == "and" else (left or right)
        return Sym(f"{left} {cond.op} {right}")
    left, right = term(cond.left, env), term(cond.right, env)
    left = left.value if isinstance(left, Sym) and left.value is not None else left
    right = right.value if isinstance(right, Sym) and right.value is not None else right
    if isinstance(left, Sym) or isinstance(right, Sym):
        return Sym(f"{_code(left, _SUM)} {cond.op} {_code(right, _SUM)}")
    return {
        "==": left == right, "!=": left != right, "<": left < right,
        "<=": left <= right, ">": left > right, ">=": left >= right,
    }[cond.op]  # fmt: skip
