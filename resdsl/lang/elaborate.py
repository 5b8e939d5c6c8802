"""Elaboration: one use of a block definition, laid out as ops wired into a small graph.

    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.definitions import definitions
    >>> blocks = definitions(load("specs/resnet18.res")).blocks
    >>> plan = lambda c_in, c_out: Shortcut("projection", blocks["projection"], False)
    >>> given = {"planes": 128, "stride": 2, "channels": 64}
    >>> block = elaborate(blocks["basic"], given, blocks, plan)
    >>> [piece.path for piece in block.pieces][-4:], block.channels
    (['downsample.0', 'downsample.1', 'add', 'relu'], 128)

A definition's body is walked with its parameters bound: each layer becomes its op (the op
table's, by :data:`resdsl.lang.vocabulary.LAYERS`), a layer naming a block becomes that block's
pieces under its name (``se.fc1``), a branch is laid out beside the path it leaves, and a
merge meets the branches it names. ``add shortcut`` asks the use which shortcut the block
gets (the network's ``shortcut`` option, once the block's output width is known) and lays it
out on the ``shortcut`` branch from the block's input, or from ``shortcut here`` where that
shortcut reads there. Lowering (:mod:`resdsl.ir.lower`) turns the pieces into IR nodes.

A value the definition cannot take (a width of 0, a ``require`` that does not hold) raises
:class:`Unmet`, which says which parameters it depends on; resolving reports it at the text
that set them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from resdsl import ops
from resdsl.lang import syntax as s
from resdsl.lang.definitions import Definition
from resdsl.lang.evaluate import EvaluationError, holds, names, show, value
from resdsl.lang.vocabulary import LAYERS, PER_BLOCK, LayerArgs, LayerError, Number

INPUT = -1  # a piece's input that is the block's own input
# Any kernel fits this size: channels, not spatial sizes, are what elaboration tracks.
_ROOMY = 1 << 12

Role = str  # "main", "shortcut", or the name of the branch an input arrives on
Branch = Literal["main", "shortcut", "side"]
ShortcutKind = Literal["identity", "projection", "pad", "none"]


@dataclass(frozen=True)
class Shortcut:
    """What a block's ``add shortcut`` gets: identity, a projection or padding (built from
    ``definition``), or nothing (the plain network); ``reads_here``: from ``shortcut here``."""

    kind: ShortcutKind
    definition: Definition | None
    reads_here: bool


@dataclass(frozen=True)
class Piece:
    """One op of an elaborated block: its module path within the block, its inputs (indices of
    earlier pieces, or :data:`INPUT`) and the role each one plays."""

    path: str
    op: ops.Op
    inputs: tuple[int, ...]
    roles: tuple[Role, ...]
    branch: Branch


@dataclass(frozen=True)
class Elaborated:
    """One use of a block: its pieces in execution order, the piece it returns, its output
    channels, and the shortcut its ``add shortcut`` met (``none`` without one)."""

    pieces: tuple[Piece, ...]
    output: int
    channels: int
    shortcut: ShortcutKind
    reads_here: bool = False  # its shortcut reads at `shortcut here`


class Unmet(ValueError):
    """A value a definition cannot take: the message, and the names its cause reads."""

    def __init__(self, message: str, reads: frozenset[str]) -> None:
        super().__init__(message)
        self.message, self.reads = message, reads


ShortcutFor = Callable[[int, int], Shortcut]  # (channels in, channels out) -> the shortcut


def bind(
    definition: Definition, given: Mapping[str, Number], skip: frozenset[str] = frozenset()
) -> dict[str, Number]:
    """The values of a definition's parameters: given, or their defaults (which may read the
    parameters before them); those in ``skip`` are left for the use to give, and so is a
    default that reads one of them (``width1 = planes``: each block's own)."""
    env: dict[str, Number] = {}
    deferred = set(skip)
    for param in definition.params:
        name = param.name.text
        if name in given:
            env[name] = given[name]
        elif param.default is not None and name not in deferred:
            if names(param.default) & deferred:
                deferred.add(name)
                continue
            env[name] = value(param.default, {**given, **env})
    return {**given, **env}


def unmet_requirements(definition: Definition, env: Mapping[str, Number]) -> list[Unmet]:
    """The ``require``s of ``definition`` that read no per-block value and do not hold under
    ``env`` (its network-wide parameters): checked once, where the block line is resolved."""
    found = []
    bound = dict(env)
    for statement in definition.body:
        if isinstance(statement, s.Let) and not definition.reads[id(statement)] & PER_BLOCK:
            bound[statement.name.text] = value(statement.value, bound)
        if not isinstance(statement, s.Require):
            continue
        needs = definition.reads[id(statement)]
        if needs & PER_BLOCK or holds(statement.condition, bound):
            continue
        found.append(Unmet(_message(statement, bound), needs))
    return found


def _message(require: s.Require, env: Mapping[str, Number]) -> str:
    """A ``require``'s message with ``{name}`` replaced by each value."""
    text = require.message
    for name, number in env.items():
        text = text.replace(f"{{{name}}}", show(number))
    return text


def elaborate(
    definition: Definition,
    given: Mapping[str, Number],
    blocks: Mapping[str, Definition],
    shortcut_for: ShortcutFor | None = None,
) -> Elaborated:
    """Lay out one use of ``definition`` with ``given`` values (``channels`` among them)."""
    walker = _Walker(definition, bind(definition, given), blocks, shortcut_for)
    try:
        output, channels = walker.body(definition.body, INPUT, int(given["channels"]), "main")
    except EvaluationError as error:
        raise Unmet(f"{error.message} in block {definition.name}", walker.reads) from None
    return Elaborated(tuple(walker.pieces), output, channels, walker.shortcut, walker.reads_here)


class _Walker:
    def __init__(self, definition, env, blocks, shortcut_for) -> None:
        self.d, self.env, self.blocks, self.shortcut_for = definition, env, blocks, shortcut_for
        self.pieces: list[Piece] = []
        self.branches: dict[str, tuple[int, int]] = {}  # name -> (piece, channels)
        self.here: tuple[int, int] | None = None
        self.shortcut: ShortcutKind = "none"
        self.reads_here = False
        self.reads: frozenset[str] = frozenset()
        self.input_channels = 0

    def body(self, body, current: int, channels: int, branch: Branch) -> tuple[int, int]:
        if current == INPUT:
            self.input_channels = channels
        for statement in body:
            self.reads = self.d.reads[id(statement)]
            if isinstance(statement, s.BlockLayer):
                if statement.condition is None or holds(statement.condition, self.env):
                    current, channels = self._layer(statement, current, channels, branch)
            elif isinstance(statement, s.Let):
                self.env[statement.name.text] = value(statement.value, self.env)
            elif isinstance(statement, s.Require):  # those reading no per-block value: resolved
                if self.reads & PER_BLOCK and not holds(statement.condition, self.env):
                    raise Unmet(_message(statement, self.env), self.reads)
            elif isinstance(statement, s.Branch):
                end = self.body(statement.body, current, channels, "side")
                self.branches[statement.name.text] = end
            elif isinstance(statement, s.Merge):
                current, channels = self._merge(statement, current, channels, branch)
            elif isinstance(statement, s.ShortcutHere):
                self.here = (current, channels)
        return current, channels

    def _add(self, path, op, inputs, roles, branch) -> int:
        self.pieces.append(Piece(path, op, tuple(inputs), tuple(roles), branch))
        return len(self.pieces) - 1

    def _layer(self, layer: s.BlockLayer, current: int, channels: int, branch: Branch):
        word = layer.op.text
        path = layer.label.text if layer.label else word
        if layer.condition is not None and any(p.path == path for p in self.pieces):
            raise Unmet(  # two alternatives (`if`s) of one module, both holding here
                f"{path} of block {self.d.name} is written twice and both its conditions hold",
                self.reads,
            )
        options = {
            (o.name.text if o.name else ""): (True if o.value is None else value(o.value, self.env))
            for o in layer.options
        }
        if word in self.blocks:  # a block within the block: its pieces, under its name
            inner = elaborate(self.blocks[word], {**options, "channels": channels}, self.blocks)
            return self._splice(inner, path, current, branch), inner.channels
        number = options.pop("", None)
        if layer.direct is not None:
            number = value(layer.direct, self.env)
        size = value(layer.size, self.env) if layer.size is not None else None
        try:
            op = LAYERS[word].build(LayerArgs(channels, size, number, options))  # type: ignore[arg-type]
        except LayerError as error:
            raise Unmet(f"{path} of block {self.d.name}: {error}", self.reads) from None
        out = op.shape([(channels, _ROOMY, _ROOMY)])
        return self._add(path, op, [current], ["main"], branch), out[0]

    def _splice(self, inner: Elaborated, prefix: str, current: int, branch: Branch) -> int:
        start = len(self.pieces)
        for piece in inner.pieces:
            inputs = [current if i == INPUT else start + i for i in piece.inputs]
            role = branch if piece.branch == "main" else piece.branch
            self._add(f"{prefix}.{piece.path}", piece.op, inputs, piece.roles, role)
        return current if inner.output == INPUT else start + inner.output

    def _merge(self, merge: s.Merge, current: int, channels: int, branch: Branch):
        operands = [o.text for o in merge.operands]
        if merge.kind == "add" and operands == ["shortcut"]:
            return self._residual(current, channels, branch)
        inputs, roles, widths = [current], ["main"], [channels]
        for name in operands:
            piece, width = self.branches[name]
            inputs.append(piece)
            roles.append(name)
            widths.append(width)
        # A branch's addition makes a new tensor (the residual one adds in place, as
        # torchvision's `out += identity` does).
        made = {
            "add": ops.Add(in_place=False),
            "multiply": ops.Multiply(),
            "concat": ops.Concat(),
        }[merge.kind]
        out = made.shape([(w, _ROOMY, _ROOMY) for w in widths])
        return self._add(merge.kind, made, inputs, roles, branch), out[0]

    def _residual(self, current: int, channels: int, branch: Branch):
        if self.shortcut_for is None:
            raise Unmet(
                f"block {self.d.name} ends in `add shortcut` and is used where no shortcut is",
                self.reads,
            )
        plan = self.shortcut_for(self.input_channels, channels)
        # `shortcut here unless identity`: an identity reads the raw input, first unit or not
        raw = plan.kind == "identity" and self.d.identity_raw
        self.shortcut, self.reads_here = plan.kind, plan.reads_here and not raw
        if plan.kind == "none":
            return current, channels
        source, width = (INPUT, self.input_channels)
        if self.reads_here and self.here is not None:
            source, width = self.here
        if plan.definition is not None:
            given = {"channels": width, "out_planes": channels, "stride": self.env.get("stride", 1)}
            inner = elaborate(plan.definition, given, self.blocks)
            start = len(self.pieces)
            for piece in inner.pieces:
                inputs = [source if i == INPUT else start + i for i in piece.inputs]
                self._add(piece.path, piece.op, inputs, piece.roles, "shortcut")
            source = start + inner.output
        total = self._add("add", ops.Add(), [current, source], ["main", "shortcut"], branch)
        return total, channels
