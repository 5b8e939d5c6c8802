"""Block definitions: the ``block`` items of a program (and its prelude), derivations expanded,
each checked once, with located errors.

    >>> from resdsl.lang.load import load
    >>> found = definitions(load("specs/resnet18.res"))
    >>> found.blocks["bottleneck"].cls, found.blocks["preact"].preactivated, found.diagnostics
    ('Bottleneck', True, ())

A definition is a named block with parameters and a body of statements (layers, ``let``,
``require``, ``doc``, ``branch``, merges, ``shortcut here``); a derivation
(``block se_bottleneck = bottleneck with se after bn3``) is its base with layers inserted and
parameters rebound, expanded here into a definition of its own. What each use of a definition
makes (its ops, wired) is :mod:`resdsl.lang.elaborate`'s business.

NOTE: the checks a definition gets without any use. Names (layer words, parameters, ``let``
names, branches) must be known; options must be ones the layer takes; a layer with weights is
written once (a second ``conv1`` would share its weights, which resdsl does not model); and
the dataflow must be one graph from the block's input to its output. That last check builds
the body as a ``networkx.DiGraph`` and asks networkx: a branch that never reaches the output
(computed, never merged) is an error at the branch, and a definition that uses itself,
directly or through others, is found as a cycle of the graph of definitions. What depends on
a use's values (a width of 0, shapes that do not meet at a merge) is checked when the use is
elaborated and reported at the use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

import networkx as nx

from resdsl.diagnostics import Diagnostic, Span, did_you_mean, either
from resdsl.lang import syntax as s
from resdsl.lang.evaluate import names
from resdsl.lang.names import identifier_problem
from resdsl.lang.vocabulary import LAYERS, PER_BLOCK


@dataclass(frozen=True)
class Definition:
    """One block definition, ready to be elaborated; a derivation is expanded into one."""

    name: str
    name_span: Span
    params: tuple[s.Param, ...]
    cls: str  # the class its generated code defines
    comments: tuple[str, ...]  # the comment lines above it: its docstring's first paragraph
    body: tuple[s.BodyStatement, ...]
    span: Span
    prelude: bool = False

    def param(self, name: str) -> s.Param | None:
        return next((p for p in self.params if p.name.text == name), None)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name.text for p in self.params)

    @property
    def stage_block(self) -> bool:
        """Whether a stage can use it: it takes ``planes`` and ``stride``."""
        return {"planes", "stride"} <= set(self.param_names)

    @cached_property
    def preactivated(self) -> bool:
        """A pre-activation unit (He et al. 2016): its first layer is a normalisation. The
        network's stem then ends at its last convolution, and its head opens with BN, ReLU."""
        first = next((st for st in self.body if isinstance(st, s.BlockLayer)), None)
        return first is not None and first.op.text in LAYERS and LAYERS[first.op.text].norm

    @cached_property
    def residual(self) -> bool:
        """Whether it ends in the residual addition (``add shortcut``)."""
        return any(_is_residual(st) for st in self.body)

    @cached_property
    def reads(self) -> dict[int, frozenset[str]]:
        """The names each statement reads (by the statement's ``id``), through the ``let``s
        it names: which parameters a value the definition cannot take depends on. Computed
        once, since each use of the definition asks."""
        lets = {st.name.text: st.value for st in _statements(self.body) if isinstance(st, s.Let)}
        found: dict[int, frozenset[str]] = {}
        for statement in _statements(self.body):
            exprs = [getattr(statement, "condition", None), getattr(statement, "value", None)]
            exprs += [option.value for option in getattr(statement, "options", ())]
            names_ = set().union(*(names(expr) for expr in exprs))
            pending = list(names_)
            while pending:
                for more in names(lets.get(pending.pop())) - names_:
                    names_.add(more)
                    pending.append(more)
            found[id(statement)] = frozenset(names_)
        return found

    @cached_property
    def projects_via(self) -> str | None:
        """The block its shortcut projects with (``shortcut via NAME``), if it says one."""
        return next((st.block.text for st in self.body if isinstance(st, s.ShortcutVia)), None)

    @cached_property
    def identity_raw(self) -> bool:
        """Whether an identity shortcut reads the raw input even in the network's first unit
        (``shortcut here unless identity``: timm's pre-activation blocks)."""
        return any(isinstance(st, s.ShortcutHere) and st.identity_raw for st in self.body)

    @cached_property
    def reads_here(self) -> bool:
        """Whether it says where a working shortcut reads (``shortcut here``)."""
        return any(isinstance(st, s.ShortcutHere) for st in self.body)


@dataclass(frozen=True)
class Definitions:
    """Every block and stem a program can name, and what was wrong with its own."""

    blocks: dict[str, Definition] = field(hash=False)
    stems: dict[str, s.StemDef] = field(hash=False)
    diagnostics: tuple[Diagnostic, ...]
    broken: frozenset[str] = frozenset()  # definitions reported wrong: no network uses them
    # Stage layouts already elaborated, by what they were elaborated from: the networks of a
    # file (cifar.res's eight) share most of theirs.
    layouts: dict = field(default_factory=dict, hash=False, compare=False)

    def stage_blocks(self) -> list[str]:
        """The blocks a network's ``block`` line may name, prelude first."""
        return [name for name, d in self.blocks.items() if d.stage_block]


def definitions(program) -> Definitions:
    """The definitions of ``program`` (a :class:`~resdsl.lang.load.Program`) and its prelude,
    checked; the prelude's are trusted (tests hold them), the program's own each checked."""
    found: list[Diagnostic] = []
    blocks: dict[str, Definition] = {}
    derived: list[tuple[s.BlockDerivation, bool]] = []
    for item, prelude in program.blocks():
        if isinstance(item, s.BlockDef):
            cls = item.cls.text if item.cls else _camel(item.name.text)
            blocks[item.name.text] = Definition(
                item.name.text, item.name.span, item.params, cls, item.comments, item.body,
                item.span, prelude,
            )  # fmt: skip
        else:
            derived.append((item, prelude))
    for item, prelude in _in_order(derived, blocks, found):
        expanded = _expand(item, blocks[item.base.text], found)
        if expanded is not None:
            blocks[item.name.text] = replace(expanded, prelude=prelude)
    graph = _uses(blocks)
    for cycle in nx.simple_cycles(graph):
        first = blocks[min(cycle)]
        loop = " -> ".join([*cycle[cycle.index(min(cycle)) :], *cycle[: cycle.index(min(cycle))]])
        found.append(
            Diagnostic(first.name_span, f"block {first.name} uses itself ({loop} -> {first.name})")
        )
    broken = {name for cycle in nx.simple_cycles(graph) for name in cycle}
    for definition in blocks.values():
        problems = [] if definition.prelude else check(definition, blocks)
        found += problems
        if problems:
            broken.add(definition.name)
    # What uses a broken definition is broken too, and is not elaborated.
    for name in list(broken):
        broken |= nx.ancestors(graph, name) if name in graph else set()
    return Definitions(blocks, dict(program.stems()), tuple(found), frozenset(broken))


def _camel(name: str) -> str:
    """``se_bottleneck`` -> ``SeBottleneck``: the class name a definition gets unless it says."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _is_residual(statement: s.BodyStatement) -> bool:
    return (
        isinstance(statement, s.Merge)
        and statement.kind == "add"
        and any(operand.text == "shortcut" for operand in statement.operands)
    )


def _in_order(derived, blocks, found) -> Iterator[tuple[s.BlockDerivation, bool]]:
    """Derivations whose base is known, each after its base; unknown bases reported."""
    pending = list(derived)
    while pending:
        progress = [d for d in pending if d[0].base.text in blocks]
        if not progress:
            for item, _ in pending:
                names_ = [*blocks, *(d.name.text for d, _ in pending if d is not item)]
                hint = did_you_mean(item.base.text, names_)
                found.append(Diagnostic(item.base.span, f"unknown block {item.base.text}{hint}"))
            return
        for entry in progress:
            pending.remove(entry)
            yield entry


def _expand(item: s.BlockDerivation, base: Definition, found: list) -> Definition | None:
    """``block b = base(x = 1) with layer after anchor``: base's body with the layers inserted
    and its parameters' defaults rebound."""
    params = list(base.params)
    for name, value in item.arguments:
        index = next((i for i, p in enumerate(params) if p.name.text == name.text), None)
        if index is None:
            listed = ", ".join(base.param_names) or "none"
            found.append(
                Diagnostic(
                    name.span,
                    f"{base.name} has no parameter {name.text} (its parameters: {listed})",
                )
            )
            return None
        params[index] = replace(params[index], default=value)
    body = list(base.body)
    for insertion in item.insertions:
        if isinstance(insertion, s.ShortcutVia):  # the base's own `shortcut via`, replaced
            at = next((i for i, st in enumerate(body) if isinstance(st, s.ShortcutVia)), None)
            if at is None:
                body.append(insertion)
            else:  # where the base says it: that is where its modules are declared
                body[at] = insertion
            continue
        if isinstance(insertion, s.Replacement):
            replaced, count = _replaced(body, insertion)
            if not count:
                words = " ".join(word.text for word in insertion.words)
                found.append(
                    Diagnostic(
                        insertion.words[0].span,
                        f"{base.name} has no layer {words} to replace"
                        + (" (one after another)" if len(insertion.words) > 1 else ""),
                    )
                )
                return None
            body = replaced
            continue
        labels = [st.label.text for st in body if isinstance(st, s.BlockLayer) and st.label]
        anchor = insertion.anchor.text
        if anchor not in labels:
            hint = did_you_mean(anchor, labels)
            found.append(
                Diagnostic(insertion.anchor.span, f"{base.name} has no layer {anchor}{hint}")
            )
            return None
        at = next(
            i
            for i, st in enumerate(body)
            if isinstance(st, s.BlockLayer) and st.label and st.label.text == anchor
        )
        body.insert(at + 1 if insertion.place == "after" else at, insertion.layer)
    cls = item.cls.text if item.cls else _camel(item.name.text)
    comments = item.comments or base.comments
    return Definition(
        item.name.text, item.name.span, tuple(params), cls, comments, tuple(body), item.span
    )


def _replaced(body, replacement: s.Replacement) -> tuple[list, int]:
    """``body`` with every run of layers of ``replacement.words`` (one after another) made
    ``replacement.layer``, and how many runs there were; branches too. The new layer keeps the
    first one's label, size, number, options and condition, its own written over them."""
    words = [word.text for word in replacement.words]
    new = replacement.layer
    out: list = []
    count = 0
    index = 0
    while index < len(body):
        statement = body[index]
        if isinstance(statement, s.Branch):
            inner, more = _replaced(list(statement.body), replacement)
            out.append(replace(statement, body=tuple(inner)))
            count += more
            index += 1
            continue
        run = body[index : index + len(words)]
        pairs = zip(run, words, strict=False)
        matches = [isinstance(st, s.BlockLayer) and st.op.text == w for st, w in pairs]
        if len(run) == len(words) and all(matches):
            first = run[0]
            numbered = new.direct is not None or any(o.name is None for o in new.options)
            named = {o.name.text for o in new.options if o.name is not None}
            kept = [
                o
                for o in first.options
                if (o.name is None and not numbered)
                or (o.name is not None and o.name.text not in named)
            ]
            out.append(
                replace(
                    new,
                    label=first.label,
                    size=new.size if new.size is not None else first.size,
                    direct=new.direct if numbered else first.direct,
                    options=(*kept, *new.options),
                    condition=new.condition or first.condition,
                )
            )
            count += 1
            index += len(words)
            continue
        out.append(statement)
        index += 1
    return out, count


def _uses(blocks: dict[str, Definition]) -> nx.DiGraph:
    """Which definition uses which, as layers of its body."""
    graph = nx.DiGraph()
    for name, definition in blocks.items():
        graph.add_node(name)
        for layer in _layers(definition.body):
            if layer.op.text in blocks:
                graph.add_edge(name, layer.op.text)
    return graph


def _statements(body) -> Iterator[s.BodyStatement]:
    """Every statement of a body, those of its branches too."""
    for statement in body:
        yield statement
        if isinstance(statement, s.Branch):
            yield from _statements(statement.body)


def _layers(body) -> Iterator[s.BlockLayer]:
    for statement in body:
        if isinstance(statement, s.BlockLayer):
            yield statement
        elif isinstance(statement, s.Branch):
            yield from _layers(statement.body)


# --- the checks of one definition -----------------------------------------------------------


def check(definition: Definition, blocks: dict[str, Definition]) -> list[Diagnostic]:
    """Everything wrong with one definition that no use is needed to see."""
    return _Checker(definition, blocks).run()


class _Checker:
    def __init__(self, definition: Definition, blocks: dict[str, Definition]) -> None:
        self.d, self.blocks = definition, blocks
        self.found: list[Diagnostic] = []
        self.known: set[str] = {"channels"}
        self.modules: dict[str, s.BlockLayer] = {}  # module name -> the layer that made it
        self.branches: dict[str, s.Branch] = {}
        self.graph = nx.DiGraph()
        self.residual = self.here = None
        # the layer just checked, the node it reads and its node: the one a layer written
        # right after it under the same name, both with an `if`, is an alternative to
        self.last: tuple[s.BlockLayer, str, str] | None = None

    def error(self, span: Span, message: str) -> None:
        self.found.append(Diagnostic(span, f"block {self.d.name}: {message}"))

    def _labels(self) -> None:
        """Layer names the generated module can give attributes. Each part a Python name that
        is not private, a keyword or a builtin. A dotted name is an item of an ``nn.Sequential``:
        numbered (``downsample.0``, a shortcut block's; ``conv1.3``, a deep stem's) or named
        (``stem.conv``, ``head.fc``, timm's ``nn.Sequential(OrderedDict(...))``), one level only
        (``a.b.c`` would name a layer of a module within a module), and never also a layer's
        own name."""
        for layer in _layers(self.d.body):
            label = layer.label
            parts = [] if label is None else label.text.split(".")
            bad = [(p, identifier_problem(p)) for p in parts if not p.isdecimal()]
            for part, problem in bad:
                if problem is not None:  # what the generated module could not call it
                    self.error(label.span, f"module name {part!r} {problem}")  # type: ignore[union-attr]
                    return
            if label is None or label.text.count(".") < 2:
                continue
            container = label.text.rpartition(".")[0]
            self.error(
                label.span,
                f"{label.text} names a layer of a module {container}: write that "
                "module as a block of its own and use it here by name",
            )
            return
        # A module is a layer or the nn.Sequential of the items named after it, never both
        # (`norm: bn` beside `norm.act: relu` would check, and compile to another network).
        labels = [layer.label for layer in _layers(self.d.body) if layer.label is not None]
        containers = {label.text.partition(".")[0] for label in labels if "." in label.text}
        for label in labels:
            if label.text in containers:
                self.error(
                    label.span,
                    f"{label.text} is a layer, and {label.text}.NAME an item of a module "
                    f"{label.text}: one name cannot be both; name the layer otherwise",
                )
                return

    def run(self) -> list[Diagnostic]:
        self._labels()
        for param in self.d.params:
            name = param.name.text
            if name in self.known:
                what = "is what the block reads" if name == "channels" else "is given twice"
                self.error(param.name.span, f"parameter {name} {what}")
            self._names(param.default, param.name.span)
            self.known.add(name)
        self.graph.add_node("input")
        end = self._body(self.d.body, "input", top=True)
        self._reach(end)
        return self.found

    def _names(self, expr, span: Span) -> None:
        for name in sorted(names(expr) - self.known):
            hint = did_you_mean(name, sorted(self.known))
            where = _var_span(expr, name) or span
            self.error(
                where, f"unknown name {name} (names here: {', '.join(sorted(self.known))}){hint}"
            )

    def _body(self, body, current: str, top: bool) -> str:
        for statement in body:
            if not isinstance(statement, s.BlockLayer):
                self.last = None
            if isinstance(statement, s.BlockLayer):
                current = self._layer(statement, current)
            elif isinstance(statement, s.Let):
                self._names(statement.value, statement.span)
                if statement.name.text in self.known:
                    self.error(statement.name.span, f"{statement.name.text} is already a name here")
                self.known.add(statement.name.text)
            elif isinstance(statement, s.Require | s.Doc):
                self._names(statement.condition, statement.span)
            elif isinstance(statement, s.Branch):
                current = self._branch(statement, current)
            elif isinstance(statement, s.Merge):
                current = self._merge(statement, current, top)
            elif isinstance(statement, s.ShortcutVia):
                self._via(statement)
            elif isinstance(statement, s.ShortcutHere):
                if not top or self.here is not None or self.residual is not None:
                    self.error(
                        statement.span,
                        "`shortcut here` comes once, in the block's own body, before "
                        "`add shortcut`",
                    )
                self.here = statement
        return current

    def _via(self, via: s.ShortcutVia) -> None:
        name = via.block.text
        if name not in self.blocks:
            hint = did_you_mean(name, list(self.blocks))
            self.error(via.block.span, f"unknown block {name}{hint}")
        elif self.blocks[name].param("out_planes") is None:
            self.error(
                via.block.span,
                f"block {name} takes no out_planes, so it cannot project a shortcut",
            )

    def _layer(self, layer: s.BlockLayer, current: str) -> str:
        word = layer.op.text
        self._names(layer.condition, layer.span)
        for option in layer.options:
            self._names(option.value, option.span)
        if word in self.blocks:
            nested = self.blocks[word]
            for option in layer.options:
                key = option.name.text if option.name else None
                if key is None or key in PER_BLOCK or nested.param(key) is None:
                    listed = (
                        ", ".join(p for p in nested.param_names if p not in PER_BLOCK) or "none"
                    )
                    what = f"no parameter {key}" if key else "no number"
                    self.error(option.span, f"block {word} takes {what} (its parameters: {listed})")
            if layer.size is not None or layer.direct is not None:
                self.error(
                    layer.op.span, f"block {word} takes no size or number; name its parameters"
                )
        elif word in LAYERS:
            self._options(layer, word)
        else:
            choices = [*LAYERS, *self.blocks]
            hint = did_you_mean(word, choices)
            self.error(
                layer.op.span,
                f"unknown layer {word}; expected a layer ({', '.join(sorted(LAYERS))}) "
                f"or a block{hint}",
            )
        module = layer.label.text if layer.label else word
        previous = self.modules.get(module)
        last, self.last = self.last, None
        if (
            last is not None
            and last[0].label is not None
            and layer.label is not None
            and last[0].label.text == module
            and last[0].condition is not None
            and layer.condition is not None
        ):  # an alternative: the same module, made this way where the other's `if` fails
            node = f"{len(self.graph)}:{module}"
            self.graph.add_edge(last[1], node)
            self.graph.add_edge(node, last[2])
            self.last = (layer, last[1], last[2])
            return last[2]
        if previous is not None and (
            _weighted(layer, self.blocks) or _text(previous) != _text(layer)
        ):
            self.error(
                layer.span,
                f"{module} is written twice; a module with weights, or two different ones, "
                "need names of their own",
            )
        self.modules.setdefault(module, layer)
        node = f"{len(self.graph)}:{module}"
        self.graph.add_edge(current, node)
        self.last = (layer, current, node)
        return node

    def _options(self, layer: s.BlockLayer, word: str) -> None:
        kind = LAYERS[word]
        if layer.size is not None and kind.size is None:
            self.error(layer.size.span, f"{word} takes no size")
        numbers = [o for o in layer.options if o.name is None]
        if layer.direct is not None:
            numbers.insert(0, s.LayerOption(None, layer.direct, layer.direct.span))
        if numbers and kind.number is None:
            self.error(numbers[0].span, f"{word} takes no number")
        elif len(numbers) > 1:
            self.error(numbers[1].span, f"{word} takes one number ({kind.number})")
        elif not numbers and kind.number is not None:
            self.error(layer.op.span, f"{word} needs {kind.number}, like `{kind.example}`")
        for option in layer.options:
            if option.name is not None and option.name.text not in kind.options:
                takes = either(sorted(kind.options)) if kind.options else "no options"
                hint = did_you_mean(option.name.text, sorted(kind.options))
                self.error(option.name.span, f"{word} takes {takes}, not {option.name.text}{hint}")

    def _branch(self, branch: s.Branch, current: str) -> str:
        name = branch.name.text
        if name in self.branches or name == "shortcut":
            self.error(
                branch.name.span,
                f"branch {name} is defined twice"
                if name != "shortcut"
                else "`shortcut` is the residual branch; name this one otherwise",
            )
        end = self._body(branch.body, current, top=False)
        self.branches[name] = branch
        self.graph.add_edge(end, f"branch {name}")
        return current

    def _merge(self, merge: s.Merge, current: str, top: bool) -> str:
        node = f"{len(self.graph)}:{merge.kind}"
        self.graph.add_edge(current, node)
        for operand in merge.operands:
            name = operand.text
            if name == "shortcut" and merge.kind == "add":
                if not top or self.residual is not None:
                    self.error(
                        merge.span,
                        "`add shortcut`, the residual addition, comes once, in the block's "
                        "own body",
                    )
                self.residual = merge
                continue
            if name not in self.branches:
                hint = did_you_mean(name, list(self.branches))
                self.error(
                    operand.span,
                    f"unknown branch {name}; a {merge.kind} reads a branch defined before it{hint}",
                )
                continue
            self.graph.add_edge(f"branch {name}", node)
        return node

    def _reach(self, end: str) -> None:
        """Every node must reach the block's output; what does not was computed for nothing."""
        reaching = nx.ancestors(self.graph, end) | {end}
        for name, branch in self.branches.items():
            if f"branch {name}" not in reaching:
                self.error(
                    branch.name.span,
                    f"branch {name} is never merged: `multiply {name}`, `add {name}` or "
                    f"`concat {name}` uses it",
                )


def _weighted(layer: s.BlockLayer, blocks: dict[str, Definition]) -> bool:
    """Whether a layer has weights (or options that make two of it differ)."""
    return layer.op.text in blocks or bool(layer.options) or layer.size is not None


def _text(layer: s.BlockLayer) -> tuple:
    return (layer.op.text, layer.size, layer.direct, layer.options)


def _var_span(expr, name: str) -> Span | None:
    pending = [expr]
    while pending:
        item = pending.pop()
        if isinstance(item, s.Var) and item.name == name:
            return item.span
        for child in ("left", "right", "then", "otherwise", "condition"):
            if hasattr(item, child) and getattr(item, child) is not None:
                pending.append(getattr(item, child))
        pending += list(getattr(item, "arguments", ()) or ()) + list(
            getattr(item, "parts", ()) or ()
        )
    return None
