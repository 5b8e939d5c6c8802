"""Stage 1 of the pipeline: text to AST.

    >>> tree = parse('network n { input 3x32x32 classes 10 }', "n.res")
    >>> tree.items[0].name.text
    'n'

The Lark grammar lives in ``grammars/res.lark`` (shipped as ``resdsl.grammars``; the parser
is :func:`resdsl.lang.grammar.parser`). The
Transformer below is purely structural: it builds :mod:`resdsl.lang.syntax` nodes and keeps
spans; every rule about meaning lives in later passes. Syntax errors become a
:class:`~resdsl.diagnostics.ResdslError` carrying every syntax error of the file, each saying
what was expected in the language's own words (:mod:`resdsl.lang.syntax_errors`).
"""

from __future__ import annotations

import lark
from lark import Token, Transformer, v_args

from resdsl.diagnostics import Diagnostic, ResdslError, Span
from resdsl.lang import syntax as s
from resdsl.lang.grammar import parser
from resdsl.lang.limits import MAX_DIGITS, MAX_NESTING, MAX_SIZE
from resdsl.lang.options import Option, fold, fold_overrides
from resdsl.lang.syntax_errors import describe, syntax_errors


def parse(text: str, path: str) -> s.SourceFile:
    """Parse the text of one .res file; raise ResdslError with every syntax error it has."""
    try:
        tree = parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        # Parsed again, resuming after each error, so that every one is reported (and this
        # one at least, should the second parse ever disagree).
        found = syntax_errors(text, path) or [describe(error, path, text)]
        raise ResdslError(found, {path: text}) from None
    problems = beyond_limits(tree, path)
    if problems:
        raise ResdslError(problems, {path: text})
    try:
        items = _Build(path, text).transform(tree)
    except RecursionError:  # a safety net: beyond_limits refuses deep nesting first
        span = Span(path, 1, 1, 1, 2)
        diagnostic = Diagnostic(span, "expressions are nested too deeply to read")
        raise ResdslError([diagnostic], {path: text}) from None
    return s.SourceFile(path=path, source=text, items=tuple(items))


# Rules that nest arithmetic: each level is a level of recursion when the tree is built.
_NESTING = frozenset({"add", "sub", "mul", "neg"})


def beyond_limits(tree: lark.Tree, path: str) -> list[Diagnostic]:
    """Numbers too long to be a size and arithmetic nested too deeply, found before the
    Transformer converts a number (Python refuses ints of more than 4,300 digits) or
    recurses into an expression. One walk over the tree, without recursion.

    >>> tree = parser().parse("network n { classes 1" + "0" * 30 + " }")
    >>> [d.message for d in beyond_limits(tree, "n.res")]
    ['a number of 31 digits is larger than resdsl supports (1048576)']
    """
    found: list[Diagnostic] = []
    pending: list[tuple[lark.Tree, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if node.data in _NESTING:
            depth += 1
            if depth > MAX_NESTING:
                message = f"arithmetic is nested too deeply (more than {MAX_NESTING} levels)"
                found.append(Diagnostic(_tree_span(path, node), message))
                continue
        for child in node.children:
            if isinstance(child, lark.Tree):
                pending.append((child, depth))
            elif isinstance(child, Token) and child.type in ("INT", "DIMS"):
                found += _long_numbers(child, path)
    return sorted(found, key=lambda d: (d.span.line, d.span.column))


def _long_numbers(token: Token, path: str) -> list[Diagnostic]:
    found, column = [], token.column
    for digits in str(token).split("x"):
        if len(digits) > MAX_DIGITS:
            span = Span(path, token.line, column, token.line, column + len(digits))
            message = f"a number of {len(digits):,} digits is larger than resdsl supports"
            found.append(Diagnostic(span, f"{message} ({MAX_SIZE})"))
        column += len(digits) + 1
    return found


def _tree_span(path: str, node: lark.Tree) -> Span:
    meta = node.meta
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


# --- the structural Transformer -------------------------------------------------------


def _span(path: str, token: Token) -> Span:
    return Span(path, token.line, token.column, token.end_line, token.end_column)


def _join(a: Span, b: Span) -> Span:
    return Span(a.file, a.line, a.column, b.end_line, b.end_column)


@v_args(meta=True)
class _Build(Transformer):
    def __init__(self, path: str, text: str = ""):
        super().__init__()
        self.path = path
        self.lines = text.split("\n")

    def _meta_span(self, meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _name(self, token: Token) -> s.Name:
        return s.Name(str(token), _span(self.path, token))

    # expressions
    def int(self, meta, children):
        (token,) = children
        return s.Int(int(token), _span(self.path, token))

    def var(self, meta, children):
        (token,) = children
        return s.Var(str(token), _span(self.path, token))

    def _binop(self, op, children):
        left, right = children
        return s.BinOp(op, left, right, _join(left.span, right.span))

    def add(self, meta, children):
        return self._binop("+", children)

    def sub(self, meta, children):
        return self._binop("-", children)

    def mul(self, meta, children):
        return self._binop("*", children)

    def div(self, meta, children):
        return self._binop("/", children)

    def mod(self, meta, children):
        return self._binop("%", children)

    def real(self, meta, children):
        (token,) = children
        return s.Real(str(token), _span(self.path, token))

    def call(self, meta, children):
        function, *arguments = children
        return s.Call(str(function), tuple(arguments), self._meta_span(meta))

    def choose(self, meta, children):
        then, _if, condition, otherwise = children
        return s.Choose(condition, then, otherwise, self._meta_span(meta))

    def size(self, meta, children):
        return self._dims_token(children[0])

    def comparison(self, meta, children):
        left, op, right = children
        return s.Compare(str(op), left, right, self._meta_span(meta))  # type: ignore[arg-type]

    def and_(self, meta, children):
        return s.Logic("and", children[0], children[1], self._meta_span(meta))

    def or_(self, meta, children):
        return s.Logic("or", children[0], children[1], self._meta_span(meta))

    def not_(self, meta, children):
        return s.Logic("not", children[0], None, self._meta_span(meta))

    def neg(self, meta, children):
        (operand,) = children
        zero = s.Int(0, operand.span)
        return s.BinOp("-", zero, operand, self._meta_span(meta))

    def _dims_token(self, token: Token) -> s.Dims:
        parts, column = [], token.column
        for text in str(token).split("x"):
            span = Span(self.path, token.line, column, token.line, column + len(text))
            parts.append(s.Int(int(text), span))
            column += len(text) + 1
        return s.Dims(tuple(parts), _span(self.path, token))

    def dims(self, meta, children):
        return self._dims_token(children[0])

    def dims_spaced(self, meta, children):
        return s.Dims(tuple(children), _join(children[0].span, children[-1].span))

    # settings
    def input(self, meta, children):
        keyword, dims = children
        return s.Input(dims, _span(self.path, keyword))

    def classes(self, meta, children):
        keyword, count = children
        return s.Classes(count, _span(self.path, keyword))

    def shortcut(self, meta, children):
        keyword, option = children
        return s.Shortcut(self._name(option), _span(self.path, keyword))

    def _option(self, key, meta, value):
        return Option(key, value, s.Name(key, self._meta_span(meta)))

    def expansion(self, meta, children):
        return self._option("expansion", meta, children[0])

    def stride_on(self, meta, children):
        return self._option("stride on", meta, self._dims_token(children[0]))

    def zero_init(self, meta, children):
        return self._option("zero init", meta, True)

    def groups(self, meta, children):
        return self._option("groups", meta, children[0])

    def width_per_group(self, meta, children):
        return self._option("width per group", meta, children[0])

    def dropout(self, meta, children):
        (token,) = children
        span = _span(self.path, token)
        value = s.Real(str(token), span) if token.type == "DECIMAL" else s.Int(int(token), span)
        return self._option("dropout", meta, value)

    def channels(self, meta, children):
        return self._option("channels", meta, children[0])

    def stride(self, meta, children):
        return self._option("stride", meta, children[0])

    def padding(self, meta, children):
        return self._option("padding", meta, children[0])

    def value_list(self, meta, children):
        values = tuple(child for child in children if child is not None)
        return s.ValueList(values, self._meta_span(meta))

    def named_option(self, meta, children):
        name, value = children
        return Option(f"named {name}", value, self._name(name))

    def block(self, meta, children):
        keyword, kind, *options = children
        chosen, repeated = fold(options)
        named = tuple(
            (option.name, option.value) for option in options if option.key.startswith("named ")
        )
        return s.Block(
            kind=self._name(kind),
            expansion=chosen.get("expansion"),
            stride_on=chosen.get("stride on"),
            zero_init=bool(chosen.get("zero init", False)),
            span=_span(self.path, keyword),
            repeated=repeated,
            groups=chosen.get("groups"),
            width_per_group=chosen.get("width per group"),
            dropout=chosen.get("dropout"),
            named=named,
        )

    # body
    def layer(self, meta, children):
        label, kind, kernel, *options = children
        chosen, repeated = fold(options)
        return s.Layer(
            label=label,
            kind=self._name(kind),
            kernel=self._dims_token(kernel) if kernel is not None else None,
            channels=chosen.get("channels"),
            stride=chosen.get("stride"),
            padding=chosen.get("padding"),
            span=_span(self.path, kind),
            repeated=repeated,
        )

    def _section(self, kind, children):
        keyword, *layers = children
        return s.Section(kind, tuple(layers), _span(self.path, keyword))

    def stem(self, meta, children):
        return self._section("stem", children)

    def head(self, meta, children):
        return self._section("head", children)

    def stem_preset(self, meta, children):
        keyword, name, arguments = children
        span = _span(self.path, keyword)
        return s.Section("stem", (), span, preset=self._name(name), arguments=arguments or ())

    def head_preset(self, meta, children):
        keyword, name, arguments = children
        span = _span(self.path, keyword)
        return s.Section("head", (), span, preset=self._name(name), arguments=arguments or ())

    def modules(self, meta, children):
        _keyword, string = children
        return s.Modules(str(string)[1:-1], _span(self.path, string))

    def label(self, meta, children):
        return self._name(children[0])

    def stage(self, meta, children):
        keyword, label, *rest = children
        malformed = None
        if isinstance(rest[0], Token):  # `3x64` written as one size
            size = self._dims_token(rest[0])
            blocks, width = size.parts[:2]
            malformed = size if len(size.parts) != 2 else None
            options = rest[1:]
        else:
            blocks, width, *options = rest
        chosen, repeated = fold(options)
        named = tuple(
            (option.name, option.value) for option in options if option.key.startswith("named ")
        )
        return s.Stage(
            label=label,
            blocks=blocks,
            width=width,
            stride=chosen.get("stride"),
            span=_span(self.path, keyword),
            repeated=repeated,
            malformed=malformed,
            named=named,
        )

    # items
    def params(self, meta, children):
        return tuple(self._name(token) for token in children)

    def network(self, meta, children):
        keyword, name, params, *body = children
        return s.Network(self._name(name), params or (), tuple(body), _span(self.path, keyword))

    def argument(self, meta, children):
        name, value = children
        return s.Argument(self._name(name), value)

    def arguments(self, meta, children):
        return tuple(child for child in children if child is not None)

    def bare_block(self, meta, children):
        return self.block(meta, children)

    def stage_override(self, meta, children):
        return self.stage(meta, children)

    def overrides(self, meta, children):
        return fold_overrides(children)

    def derivation(self, meta, children):
        keyword, name, base, arguments, overrides = children
        return s.Derivation(
            name=self._name(name),
            base=self._name(base),
            arguments=arguments or (),
            overrides=overrides or (),
            span=_span(self.path, keyword),
        )

    # definitions

    def _comments_above(self, line: int) -> tuple[str, ...]:
        """The comment lines right above line ``line`` (1-based), their ``# `` taken off."""
        found: list[str] = []
        index = line - 2
        while index >= 0 and self.lines[index].lstrip().startswith("#"):
            found.append(self.lines[index].lstrip()[1:].strip())
            index -= 1
        return tuple(reversed(found))

    def _trailing_comment(self, span: Span) -> str | None:
        """The comment at the end of the line ``span`` ends on, if any."""
        line = self.lines[span.end_line - 1] if span.end_line <= len(self.lines) else ""
        rest = line[span.end_column - 1 :]
        if '"' in rest or "#" not in rest:
            return None
        return rest.split("#", 1)[1].strip() or None

    def block_param(self, meta, children):
        name, default = children
        param = s.Param(self._name(name), default)
        end = default.span if default is not None else param.name.span
        return s.Param(param.name, default, self._trailing_comment(end))

    def block_params(self, meta, children):
        return tuple(child for child in children if child is not None)

    def class_name(self, meta, children):
        return self._name(children[0])

    def block_def(self, meta, children):
        keyword, name, params, cls, *body = children
        span = _span(self.path, keyword)
        comments = self._comments_above(span.line)
        return s.BlockDef(self._name(name), params or (), cls, tuple(body), comments, span)

    def block_argument(self, meta, children):
        name, value = children
        return (self._name(name), value)

    def block_arguments(self, meta, children):
        return tuple(child for child in children if child is not None)

    def insertion(self, meta, children):
        layer, place, anchor = children
        return s.Insertion(layer, str(place), self._name(anchor))  # type: ignore[arg-type]

    def replacement(self, meta, children):
        layer, *words = children
        return s.Replacement(layer, tuple(self._name(word) for word in words))

    def insertions(self, meta, children):
        return tuple(children)

    def block_derivation(self, meta, children):
        keyword, name, cls, base, arguments, insertions = children
        span = _span(self.path, keyword)
        return s.BlockDerivation(
            self._name(name),
            cls,
            self._name(base),
            arguments or (),
            insertions or (),
            self._comments_above(span.line),
            span,
        )

    def stem_def(self, meta, children):
        keyword, name, *layers = children
        return s.StemDef(self._name(name), tuple(layers), _span(self.path, keyword))

    def layer_label(self, meta, children):
        text = ".".join(str(part) for part in children)
        return s.Name(text, _join(_span(self.path, children[0]), _span(self.path, children[-1])))

    def positional(self, meta, children):
        return s.LayerOption(None, children[0], children[0].span)

    def _layer_option(self, key: str, meta, value) -> s.LayerOption:
        return s.LayerOption(s.Name(key, self._meta_span(meta)), value, self._meta_span(meta))

    def layer_stride(self, meta, children):
        return self._layer_option("stride", meta, children[0])

    def layer_padding(self, meta, children):
        return self._layer_option("padding", meta, children[0])

    def layer_groups(self, meta, children):
        return self._layer_option("groups", meta, children[0])

    def flag(self, meta, children):
        return self._layer_option(str(children[0]), meta, None)

    def when(self, meta, children):
        return children[1]

    def direct(self, meta, children):
        return children[0]

    def block_layer(self, meta, children):
        label, op, arguments, direct, *options, condition = children
        size = value = None
        if isinstance(direct, Token):
            if direct.type == "DIMS":
                size = self._dims_token(direct)
            elif direct.type == "DECIMAL":
                value = s.Real(str(direct), _span(self.path, direct))
            else:
                value = s.Int(int(direct), _span(self.path, direct))
        layer_options = [
            s.LayerOption(name, value, name.span) for name, value in arguments or ()
        ] + list(options)
        start = label.span if label is not None else _span(self.path, op)
        return s.BlockLayer(
            label, self._name(op), size, value, tuple(layer_options), condition, start
        )

    def let(self, meta, children):
        keyword, name, value = children
        return s.Let(self._name(name), value, _span(self.path, keyword))

    def _strings(self, tokens) -> str:
        return "".join(str(token)[1:-1] for token in tokens)

    def require(self, meta, children):
        keyword, condition, *strings = children
        return s.Require(condition, self._strings(strings), _span(self.path, keyword))

    def doc(self, meta, children):
        keyword, *strings, condition = children
        return s.Doc(self._strings(strings), condition, _span(self.path, keyword))

    def branch(self, meta, children):
        keyword, name, *body = children
        return s.Branch(self._name(name), tuple(body), _span(self.path, keyword))

    def merge(self, meta, children):
        keyword, *operands = children
        names = tuple(self._name(operand) for operand in operands)
        return s.Merge(str(keyword), names, _span(self.path, keyword))  # type: ignore[arg-type]

    def shortcut_via(self, meta, children):
        keyword, name = children
        return s.ShortcutVia(self._name(name), _span(self.path, keyword))

    def shortcut_here(self, meta, children):
        keyword, unless = children
        return s.ShortcutHere(_span(self.path, keyword), identity_raw=unless is not None)

    def unless_identity(self, meta, children):
        return True

    def use(self, meta, children):
        _keyword, string = children
        return s.Use(str(string)[1:-1], _span(self.path, string))

    def use_only(self, meta, children):
        *names, string = children[1:]
        only = tuple(self._name(name) for name in names)
        return s.Use(str(string)[1:-1], _span(self.path, string), only)

    def start(self, meta, children):
        return children
