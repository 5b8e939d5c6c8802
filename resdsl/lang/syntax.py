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
    op: Literal["+", "-", "*", "/", "%"]
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Real:
    """A number with a fraction (``dropout 0.3``), kept as written until resolving reads it."""

    text: str
    span: Span


@dataclass(frozen=True)
class Call:
    """``max(a, b)``, ``min(a, b)``, ``log2(channels)``: the few functions of a definition."""

    function: str
    arguments: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Choose:
    """``(stride if stride_on == 1x1 else 1)``."""

    condition: Condition
    then: Expr
    otherwise: Expr
    span: Span


Expr = Int | Var | BinOp | Real | Call | Choose


@dataclass(frozen=True)
class Compare:
    """``stride_on == 1x1``, ``dropout > 0``: both sides a number or a size."""

    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Value
    right: Value
    span: Span


@dataclass(frozen=True)
class Logic:
    """``a and b``, ``a or b``; ``not a`` is ``Logic("not", a, None)``."""

    op: Literal["and", "or", "not"]
    left: Condition
    right: Condition | None
    span: Span


Condition = Compare | Logic


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


# What a definition's parameter, `let` or option may hold: a number or a size (`1x1`).
Value = Expr | Dims


@dataclass(frozen=True)
class ValueList:
    """``[47, 52, 64]``: one value for each block of a stage (a pruned network's widths)."""

    values: tuple[Value, ...]
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
    # `block se_bottleneck, ratio 8`: parameters of the block's definition, by name (a list
    # of values only on a stage line, which resolving says)
    named: tuple[tuple[Name, Value | ValueList], ...] = ()


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
    label: Name | None = None  # a head layer's module name (timm's legacy SENet: last_linear)


@dataclass(frozen=True)
class Section:
    """``stem { ... }`` or ``head { ... }``, or one by name (``stem deep``, ``head v2_head``: a
    named stem, or a block whose layers are the section's, ``stem bit(width = 128)``)."""

    kind: Literal["stem", "head"]
    layers: tuple[Layer, ...]
    span: Span
    preset: Name | None = None  # `stem deep`: the layers are the preset's
    arguments: tuple[tuple[Name, Value], ...] = ()  # `stem bit(width = 128)`: the block's


@dataclass(frozen=True)
class Modules:
    """``modules "stages.{stage}.blocks.{block}"``: the module path of each stage's blocks."""

    pattern: str
    span: Span  # the pattern's


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
    # `stage 3 x 19, width1 [47, 52, 64]`: parameters of the block's definition for this
    # stage's blocks, one value for all or one per block
    named: tuple[tuple[Name, Value | ValueList], ...] = ()


Statement = Setting | Section | Stage | Modules


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
    """``use "cifar.res"``: the networks of another file, path relative to this one; ``use se,
    se_bottleneck from "seresnet.res"``: only the definitions named (``only``)."""

    path: str
    span: Span
    only: tuple[Name, ...] = ()


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


# --- definitions: blocks and stems ------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A definition's parameter: ``planes``, ``stride = 1``, ``groups = 1  # of the 3x3``.
    ``comment`` is the comment at the end of its line, which codegen keeps beside it."""

    name: Name
    default: Value | None
    comment: str | None = None


@dataclass(frozen=True)
class LayerOption:
    """One option of a layer in a definition: ``stride stride``, ``groups groups``, ``bias``,
    ``ratio 8`` (a parameter of a nested block), or the positional ``planes * expansion``
    (``name`` is then None)."""

    name: Name | None
    value: Value | None  # None for a flag (bias, ceil)
    span: Span


@dataclass(frozen=True)
class BlockLayer:
    """``conv2: conv 3x3, width, stride stride, groups groups`` or ``relu`` or ``se: eca``:
    an op (or a block, by its definition's name) with its options, named or not, and the
    condition under which it exists (``if dropout > 0``)."""

    label: Name | None  # conv2, downsample.0, se: its module path in the generated class
    op: Name  # conv, bn, relu ... or a block definition's name
    size: Dims | None  # the kernel or window (3x3)
    direct: Value | None  # a number written straight after the op (dropout 0.3)
    options: tuple[LayerOption, ...]
    condition: Condition | None
    span: Span  # the statement's first word


@dataclass(frozen=True)
class Let:
    """``let width = planes * width_per_group / 64 * groups``."""

    name: Name
    value: Value
    span: Span


@dataclass(frozen=True)
class Require:
    """``require dropout < 1: "dropout is a probability below 1, like 0.3, not {dropout}"``."""

    condition: Condition
    message: str
    span: Span


@dataclass(frozen=True)
class Doc:
    """``doc "The 3x3 is a grouped convolution." if groups != 1``: a paragraph of the class
    docstring the block's generated code carries."""

    text: str
    condition: Condition | None
    span: Span


@dataclass(frozen=True)
class Branch:
    """``branch scale { ... }``: a side path from the current point, merged later by name."""

    name: Name
    body: tuple[BodyStatement, ...]
    span: Span


@dataclass(frozen=True)
class Merge:
    """``add shortcut`` (the residual addition), ``add other``, ``multiply scale``,
    ``concat a, b``: the current value meets named branches."""

    kind: Literal["add", "multiply", "concat"]
    operands: tuple[Name, ...]
    span: Span


@dataclass(frozen=True)
class ShortcutHere:
    """``shortcut here``: where a pre-activation unit's shortcut reads when it does work (He
    et al. 2016); elsewhere it reads the block's input. ``shortcut here unless identity``: an
    identity reads the block's input even in the network's first unit (timm's blocks)."""

    span: Span
    identity_raw: bool = False


@dataclass(frozen=True)
class ShortcutVia:
    """``shortcut via gn_projection``: the block that projects this block's shortcut where the
    network's option projects (B, C, D), instead of the prelude's."""

    block: Name
    span: Span


BodyStatement = BlockLayer | Let | Require | Doc | Branch | Merge | ShortcutHere | ShortcutVia


@dataclass(frozen=True)
class BlockDef:
    """``block NAME(params) as Class { ... }``. ``comments`` are the comment lines right above
    it, the first paragraph of its generated class's docstring."""

    name: Name
    params: tuple[Param, ...]
    cls: Name | None
    body: tuple[BodyStatement, ...]
    comments: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Insertion:
    """``se after bn3``: a layer added to a base block, after (or before) one of its layers."""

    layer: BlockLayer
    place: Literal["after", "before"]
    anchor: Name


@dataclass(frozen=True)
class Replacement:
    """``gn 32 for bn``: each layer of the base whose word is ``words[0]`` (followed by layers
    of the other words, ``evonorm for bn relu``) becomes ``layer``, keeping the first one's
    label, size, number and options (``layer``'s own are added over them)."""

    layer: BlockLayer
    words: tuple[Name, ...]


@dataclass(frozen=True)
class BlockDerivation:
    """``block se_bottleneck as SEBottleneck = bottleneck(stride_on = 3x3) with se after bn3``;
    ``with shortcut via conv_projection`` sets (or replaces) the block that projects."""

    name: Name
    cls: Name | None
    base: Name
    arguments: tuple[tuple[Name, Value], ...]
    insertions: tuple[Insertion | Replacement | ShortcutVia, ...]
    comments: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class StemDef:
    """``stem deep { conv 3x3, 32, stride 2 ... }``: a stem that networks name."""

    name: Name
    layers: tuple[Layer, ...]
    span: Span


Item = Use | Network | Derivation | BlockDef | BlockDerivation | StemDef


@dataclass(frozen=True)
class SourceFile:
    """One parsed .res file."""

    path: str
    source: str
    items: tuple[Item, ...]
