"""Numbers in a spec, evaluated where one network is resolved, with located errors.

    >>> from resdsl.lang import syntax as s
    >>> span = Span("n.res", 1, 1, 1, 2)
    >>> scope = Scope("resnet56", {"n": 9})
    >>> scope.size(s.BinOp("*", s.Int(2, span), s.Var("n", span), span), "a width")
    18
    >>> scope.size(s.Var("m", span), "a width"), scope.diagnostics[0].message
    (None, 'unknown name m (parameters here: n) (in resnet56, with n=9)')

A :class:`Scope` binds a family's parameters and collects diagnostics instead of raising, so
that every error of a file is reported in one run. An error in a family's line names the
derived network it failed for.
"""

from __future__ import annotations

from resdsl.diagnostics import Diagnostic, Span
from resdsl.lang import syntax as s
from resdsl.lang.limits import MAX_SIZE


class Scope:
    """The parameters bound while one network is resolved, and the diagnostics it found."""

    def __init__(self, name: str, env: dict[str, int] | None = None) -> None:
        self.name = name
        self.env: dict[str, int] = dict(env or {})
        self.diagnostics: list[Diagnostic] = []
        # Set where the network uses a definition already reported wrong: it is dropped
        # without a second message.
        self.broken = False

    def error(self, span: Span, message: str) -> None:
        if self.env:  # say which derived network a family's line failed for
            bound = ", ".join(f"{k}={v}" for k, v in self.env.items())
            message = f"{message} (in {self.name}, with {bound})"
        self.diagnostics.append(Diagnostic(span, message))

    def eval(self, expr: s.Expr, env: dict[str, int] | None = None) -> int | None:
        """The value of ``expr`` (under ``env``, default the bound parameters), or None."""
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
            left, right = self.eval(expr.left, env), self.eval(expr.right, env)
            if left is None or right is None:
                return None
            value = {"+": left + right, "-": left - right, "*": left * right}[expr.op]
        if abs(value) > MAX_SIZE:
            self.error(expr.span, f"{value} is larger than resdsl supports ({MAX_SIZE})")
            return None
        return value

    def size(self, expr: s.Expr, what: str) -> int | None:
        """A positive number, or None (reported) if it is not one."""
        value = self.eval(expr)
        if value is not None and value < 1:
            self.error(expr.span, f"{what} must be a positive number, not {value}")
            return None
        return value

    def kernel(self, dims: s.Dims | None, what: str) -> tuple[int, int] | None:
        """``3x3`` as (3, 3); None if absent or wrong."""
        if dims is None:
            return None
        if len(dims.parts) != 2:
            self.error(dims.span, f"{what} is written as height x width, like 3x3")
            return None
        sizes = [self.size(part, what) for part in dims.parts]
        return None if None in sizes else (sizes[0], sizes[1])  # type: ignore[return-value]

    def stride_padding(self, layer: s.Layer, kernel: tuple[int, int] | None):
        """A stem layer's stride (default 1) and padding (default kernel // 2), as pairs."""
        stride = 1 if layer.stride is None else self.size(layer.stride, "a stride")
        if layer.padding is None:
            padding = (kernel[0] // 2, kernel[1] // 2) if kernel else None
        else:
            value = self.eval(layer.padding)
            if value is not None and value < 0:
                self.error(layer.padding.span, f"padding cannot be negative ({value})")
                value = None
            padding = None if value is None else (value, value)
        return (None if stride is None else (stride, stride)), padding

    def no_repeats(self, statement: s.Layer | s.Stage) -> None:
        """Report every option written twice on one line."""
        for name in statement.repeated:
            self.error(name.span, f"{name.text} is given twice")
