"""The abstract syntax tree of a .res file: small frozen dataclasses, each with its source span.

The tree says only what was written. What it means (defaults, parameters, expansion of
``stage 36 x 256`` into 36 blocks) is the business of :mod:`resdsl.lang.resolve` and
:mod:`resdsl.ir.lower`.

A statement's ``span`` is the span of its keyword (``stage``, ``conv``), which is where a
diagnostic about the statement points; expressions and names carry their own spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from resdsl.diagnostics import Span

# --- expressions: integers, parameters, + - * -------------------------------------------


@dataclass(frozen=True)
class Int:
    value: int
    span: Span


@dataclass(frozen=True)
class Var:
    name: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: Literal["+", "-", "*"]
    left: Expr
    right: Expr
    span: Span


Expr = Int | Var | BinOp


@dataclass(frozen=True)
class Real:
    """A number with a fraction (``dropout 0.3``), kept as written until resolving reads it."""

    text: str
    span: Span


@dataclass(frozen=True)
class Name:
    """An identifier as written, with its span (network, parameter, block or shortcut name)."""

    text: str
    span: Span


@dataclass(frozen=True)
class Dims:
    """A size such as ``3x224x224`` or ``3 x s x s``."""

    parts: tuple[Expr, ...]
    span: Span


# --- settings: the top-level statements a derivation's `with` may override ----------------


@dataclass(frozen=True)
class Input:
    dims: Dims
    span: Span


@dataclass(frozen=True)
class Classes:
    count: Expr
    span: Span


@dataclass(frozen=True)
class Shortcut:
    """``shortcut A | B | C | none``; the value is checked by elaboration, not the grammar."""

    option: Name
    span: Span


@dataclass(frozen=True)
class Block:
    """``block basic``, ``block bottleneck, stride on 3x3, expansion 4, zero init``,
    ``block bottleneck, groups 32, width per group 4`` or ``block preact, dropout 0.3``."""

    kind: Name
    expansion: Expr | None
    stride_on: Dims | None
    zero_init: bool
    span: Span
    repeated: tuple[Name, ...] = ()  # options written twice; elaboration reports them
    groups: Expr | None = None
    width_per_group: Expr | None = None
    dropout: Real | Int | None = None


Setting = Input | Classes | Shortcut | Block

# --- the body of a network ------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One layer of a stem or head: ``conv 7x7, 64, stride 2``, ``maxpool 3x3``, ``fc``."""

    kind: Name
    kernel: Dims | None
    channels: Expr | None
    stride: Expr | None
    padding: Expr | None
    span: Span
    repeated: tuple[Name, ...] = ()  # options written twice; elaboration reports them


@dataclass(frozen=True)
class Section:
    """``stem { ... }`` or ``head { ... }``, or a stem by name (``stem deep``)."""

    kind: Literal["stem", "head"]
    layers: tuple[Layer, ...]
    span: Span
    preset: Name | None = None  # `stem deep`: the layers are the preset's


@dataclass(frozen=True)
class Stage:
    """``stage conv3_x: 4 x 128, stride 2``: ``blocks`` blocks of width ``width``."""

    label: Name | None
    blocks: Expr
    width: Expr
    stride: Expr | None
    span: Span
    repeated: tuple[Name, ...] = ()  # options written twice; elaboration reports them
    malformed: Dims | None = None  # `stage 3x64x2`: a size that is not blocks x width


Statement = Setting | Section | Stage


@dataclass(frozen=True)
class Stray:
    """An option in a ``with`` that nothing before it takes (``with classes 10, stride 2``)."""

    option: Name
    span: Span


# What a derivation's `with` may say: a setting, a stem, a stage (by its label), or a stray.
Override = Setting | Section | Stage | Stray

# --- top-level items ------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """``use "cifar.res"``: the networks of another file, path relative to this one."""

    path: str
    span: Span


@dataclass(frozen=True)
class Network:
    """A network, or a family of networks when it has parameters."""

    name: Name
    params: tuple[Name, ...]
    body: tuple[Statement, ...]
    span: Span


@dataclass(frozen=True)
class Argument:
    name: Name
    value: Expr


@dataclass(frozen=True)
class Derivation:
    """``network resnet56 = cifar_resnet(n=9) with shortcut none``."""

    name: Name
    base: Name
    arguments: tuple[Argument, ...]
    overrides: tuple[Override, ...]
    span: Span


Item = Use | Network | Derivation


@dataclass(frozen=True)
class SourceFile:
    """One parsed .res file."""

    path: str
    source: str
    items: tuple[Item, ...]
