"""Unparsing: a :class:`~resdsl.imports.match.Draft` to the text of a ``.res`` spec.

    >>> from resdsl.imports.match import Draft, StageDraft
    >>> from resdsl.imports.stem_head import StemLayer
    >>> from resdsl.lang.spec import BlockSpec
    >>> stem = (StemLayer("conv", (3, 3), 16, (1, 1), (1, 1)),)
    >>> draft = Draft("tiny", (3, 32, 32), 10, stem, False, BlockSpec("basic", 1, "1x1", False),
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

Each setting is written only where it differs from the language's default (docs/language.md),
so that the spec reads as one written by hand: ``stride on 3x3`` but never ``stride on
1x1``, ``groups 32`` but never ``groups 1``, ``padding`` only where it is not kernel // 2.
"""

from __future__ import annotations

from resdsl import __version__
from resdsl.diagnostics import printable
from resdsl.imports.match import Draft
from resdsl.imports.stem_head import StemLayer
from resdsl.ir.recipes import BLOCKS


def unparse(draft: Draft, origin: str) -> str:
    """The spec text of ``draft``; ``origin`` (what was imported) goes in its header."""
    where = printable(origin).replace("\n", " ")
    lines = [f"# Imported by resdsl {__version__} from {where} (`resdsl import`)."]
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
    return "\n".join(lines)


def _stem_line(layer: StemLayer) -> str:
    text = f"{layer.kind} {layer.kernel[0]}x{layer.kernel[1]}"
    if layer.channels is not None:
        text += f", {layer.channels}"
    if layer.stride != (1, 1):
        text += f", stride {layer.stride[0]}"
    if layer.padding != (layer.kernel[0] // 2, layer.kernel[1] // 2):
        text += f", padding {layer.padding[0]}"
    return text


def _block_line(draft: Draft) -> str:
    block, kind = draft.block, BLOCKS[draft.block.kind]
    parts = [block.kind]
    if kind.has_expansion and block.expansion != kind.default_expansion:
        parts.append(f"expansion {block.expansion}")
    if kind.places_stride and block.stride_on != "1x1":
        parts.append(f"stride on {block.stride_on}")
    if block.zero_init:
        parts.append("zero init")
    if block.groups != 1:
        parts.append(f"groups {block.groups}")
    if block.width_per_group != 64:
        parts.append(f"width per group {block.width_per_group}")
    if block.dropout:
        parts.append(f"dropout {block.dropout!r}")
    return ", ".join(parts)
