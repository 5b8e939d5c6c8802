"""Unparsing: a :class:`~resdsl.imports.match.Draft` to the text of a ``.res`` spec.

    >>> from resdsl.imports.match import BlockDraft, Draft, StageDraft
    >>> from resdsl.imports.stem_head import StemLayer
    >>> stem = (StemLayer("conv", (3, 3), 16, (1, 1), (1, 1)),)
    >>> draft = Draft("tiny", (3, 32, 32), 10, stem, False, BlockDraft("basic", 1, "1x1", False),
    ...               "A", (StageDraft(None, 2, 16, 1), StageDraft(None, 2, 32, 2)))
    >>> print(unparse(draft, "tests/fixtures/tiny.py:tiny"))  # doctest: +ELLIPSIS
    # Imported by resdsl ... from tests/fixtures/tiny.py:tiny (`resdsl import`).
    network tiny {
        input 3x32x32
        classes 10
        stem {
            conv 3x3, 16
        }
        block basic
        shortcut A
        stage 2 x 16
        stage 2 x 32, stride 2
        head {
            avgpool
            fc
        }
    }
    <BLANKLINE>

Each setting is written only where it differs from the language's default (docs/language.md)
and the block's definition in the prelude, so that the spec reads as one written by hand:
``stride on 3x3`` but never ``stride on 1x1``, ``groups 32`` but never ``groups 1``,
``padding`` only where it is not kernel // 2. A block with a channel gate is preceded by the
gate's definition and the block that holds it (:mod:`resdsl.imports.attention`), and the
``block`` line names that block (``block se_bottleneck, stride on 3x3``). The lines are then
laid out by :func:`resdsl.formatting.format_text`, the printer of ``resdsl fmt``, so that an
imported spec is already in the canonical layout.
"""

from __future__ import annotations

from resdsl import __version__
from resdsl.diagnostics import printable
from resdsl.formatting import format_text
from resdsl.imports.attention import definitions
from resdsl.imports.match import Draft
from resdsl.imports.stem_head import StemLayer
from resdsl.lang import syntax as s
from resdsl.lang.evaluate import show, value
from resdsl.lang.load import prelude


def unparse(draft: Draft, origin: str) -> str:
    """The spec text of ``draft``; ``origin`` (what was imported) goes in its header."""
    where = printable(origin).replace("\n", " ")
    lines = [f"# Imported by resdsl {__version__} from {where} (`resdsl import`)."]
    gate = draft.block.gate
    if gate is not None:
        lines += ["", *definitions(gate, draft.block.kind, _definition(draft.block.kind).cls.text)]
    lines += [f"network {draft.name} {{", f"    input {'x'.join(map(str, draft.input))}"]
    lines.append(f"    classes {draft.classes}")
    if draft.deep_stem:
        lines.append("    stem deep")
    else:
        lines += ["    stem {", *(f"        {_stem_line(layer)}" for layer in draft.stem), "    }"]
    lines.append(f"    block {_block_line(draft)}")
    lines.append(f"    shortcut {draft.shortcut}")
    for stage in draft.stages:
        label = f"{stage.label}: " if stage.label else ""
        stride = f", stride {stage.stride}" if stage.stride != 1 else ""
        lines.append(f"    stage {label}{stage.blocks} x {stage.width}{stride}")
    lines += ["    head {", "        avgpool", "        fc", "    }", "}", ""]
    # Laid out by the formatter's printer, so that `resdsl fmt` leaves an import as it is.
    return format_text("\n".join(lines), f"{draft.name}.res")


def _stem_line(layer: StemLayer) -> str:
    text = f"{layer.kind} {layer.kernel[0]}x{layer.kernel[1]}"
    if layer.channels is not None:
        text += f", {layer.channels}"
    if layer.stride != (1, 1):
        text += f", stride {layer.stride[0]}"
    if layer.padding != (layer.kernel[0] // 2, layer.kernel[1] // 2):
        text += f", padding {layer.padding[0]}"
    return text


# The block line's words, and the parameter of the definition each sets.
_WORDS = (
    ("expansion", "expansion"),
    ("stride on", "stride_on"),
    ("groups", "groups"),
    ("width per group", "width_per_group"),
    ("dropout", "dropout"),
)


def _definition(kind: str) -> s.BlockDef:
    """The prelude's definition of a block kind."""
    (definition,) = (
        i for i in prelude().items if isinstance(i, s.BlockDef) and i.name.text == kind
    )
    return definition


def _block_line(draft: Draft) -> str:
    """``block bottleneck, stride on 3x3, zero init, groups 32, width per group 4``: the
    options, in the order the language's docs list them, where they differ from the
    definition's defaults."""
    block = draft.block
    definition = _definition(block.kind)
    defaults = {p.name.text: value(p.default, {}) for p in definition.params if p.default}
    parts = [block.kind if block.gate is None else f"{block.gate.kind}_{block.kind}"]
    for word, param in _WORDS:
        mine = getattr(block, param)
        if param == "stride_on":
            mine = tuple(int(part) for part in mine.split("x"))
        if param in defaults and mine != defaults[param]:
            parts.append(f"{word} {repr(mine) if param == 'dropout' else show(mine)}")
        if param == "stride_on" and block.zero_init:
            parts.append("zero init")
    return ", ".join(parts)
