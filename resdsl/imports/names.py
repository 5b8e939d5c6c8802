"""Naming: the spec written with the model's own module names, where the language's are not.

    >>> pattern(["stages.0.blocks.0", "stages.0.blocks.1", "stages.1.blocks.0"], [2, 1])
    'stages.{stage}.blocks.{block}'
    >>> pattern(["layer1.0", "layer1.1", "layer2.0"], [2, 1]) is None   # the language's own
    True

The spec :mod:`resdsl.imports.unparse` writes names its layers as the prelude's blocks do
(torchvision's ``layer1.0.conv1``, ``downsample.0``), which is every name of torchvision's
ResNets and timm's. A model that names them otherwise (timm's ResNetV2:
``stages.0.blocks.0.norm1``, ``stem.conv``, ``head.fc``) computes the same under other keys,
and its weights would not load into the spec's module. For such a model the import writes the
blocks out as definitions of their own, each layer with weights labelled by the model's name
for it (relative to its block; a stem's and a head's from the model's root, as named
``nn.Sequential`` items), the shortcut's projection as a block of its own (``shortcut via``),
the stem and the head as blocks, and the blocks' paths as a ``modules "..."`` pattern: the
words specs/zoo/timm_resnetv2.res writes by hand.

NOTE: the same guarantee as every import. The text is checked by the front end, verified
against the records (:mod:`resdsl.imports.verify`), compiled, and its ``state_dict`` keys and
shapes compared with the model's in order; the caller hands it on only if all hold, and
otherwise the spec under the language's names (or its refusal) as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from resdsl import ops
from resdsl.imports.trace import Record

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def pattern(owners: Sequence[str], runs: Sequence[int]) -> str | None:
    """The ``modules`` pattern that puts the k-th block of each stage (``runs``: the stages'
    block counts) at its owner's path, counted from 0; None where torchvision's own
    ``layer{stage + 1}.{block}`` does, or where no one pattern does."""
    places = [(i, j) for i, n in enumerate(runs) for j in range(n)]
    if len(places) != len(owners) or not owners:
        return None
    if all(o == f"layer{i + 1}.{j}" for o, (i, j) in zip(owners, places, strict=True)):
        return None
    parts = owners[0].split(".")
    numbers = [k for k, part in enumerate(parts) if part == "0"]
    for a in numbers:
        for b in numbers:
            if b <= a:
                continue
            guess = list(parts)
            guess[a], guess[b] = "{stage}", "{block}"
            text = ".".join(guess)
            if all(
                o == text.format(stage=i, block=j) for o, (i, j) in zip(owners, places, strict=True)
            ):
                return text
    return None


def label(path: str, prefix: str = "") -> str | None:
    """A record's module path as a layer's label: relative to ``prefix`` (its block's path),
    each part a name or an item's index; None where it is not one."""
    if prefix:
        if not path.startswith(prefix + "."):
            return None
        path = path[len(prefix) + 1 :]
    parts = path.split(".")
    if not path or not all(_NAME.fullmatch(p) or p.isdigit() for p in parts):
        return None
    return path


def layer(record: Record, name: str | None, width: str | None = None, stride: str | None = None):
    """The text of one layer (``conv1: conv 1x1, planes``), or None for an op the named text
    does not write. ``width`` and ``stride`` replace the numbers by the definition's
    parameters."""
    op = record.op
    text: str | None = None
    if isinstance(op, ops.Conv):
        k = op.kernel
        if k[0] != k[1] or op.stride[0] != op.stride[1] or op.padding[0] != op.padding[1]:
            return None
        word = "stdconv" if record.standardised else "conv"
        text = f"{word} {k[0]}x{k[1]}, {width or op.out_channels}"
        if stride is not None:
            text += f", stride {stride}"
        elif op.stride != (1, 1):
            text += f", stride {op.stride[0]}"
        if op.padding[0] != (k[0] - 1) // 2:
            text += f", padding {op.padding[0]}"
        if op.groups != 1:
            text += f", groups {op.groups}"
        if op.bias:
            text += ", bias"
    elif isinstance(op, ops.BatchNorm):
        text = "bn"
    elif isinstance(op, ops.GroupNorm):
        text = f"gn, {op.groups}"
    elif isinstance(op, ops.ReLU):
        return "relu"  # no weights: its name is no key
    elif isinstance(op, ops.EvoNormS0):
        text = f"evonorm_s0, {op.groups}"
    elif isinstance(op, ops.FRN):
        text = "frn"
    elif isinstance(op, ops.ConstantPad):
        text = f"zeropad, {op.padding}"
    elif isinstance(op, ops.GlobalAvgPool):
        return "avgpool"
    elif isinstance(op, ops.MaxPool | ops.AvgPool):
        k, s, p = op.kernel, op.stride, op.padding
        if k[0] != k[1] or s[0] != s[1] or p[0] != p[1]:
            return None
        text = f"{op.kind} {k[0]}x{k[1]}"
        text += f", stride {stride}" if stride is not None else f", stride {s[0]}"
        if p[0] != (k[0] - 1) // 2:
            text += f", padding {p[0]}"
        if getattr(op, "ceil_mode", False):
            text += ", ceil if stride != 1" if stride is not None else ", ceil"
    if text is None:
        return None
    return f"{name}: {text}" if name else text


def stem_block(records: Sequence[Record], name: str) -> list[str] | None:
    """The stem, the records before the first block, as a block of the model's names."""
    lines = _chain(records)
    return None if lines is None else [f"block {name} {{", *lines, "}"]


def _chain(records: Sequence[Record]) -> list[str] | None:
    """A stem's or a head's layers under the model's names. A ReLU inside a norm-act layer
    (``stem.norm1.act``) has no module of the stem's own: inside a named ``nn.Sequential``
    it takes a name of its own there (``stem.act1``, as specs/zoo/timm_resnetv2.res names
    it), since the generated Sequential has a name for every item."""
    lines, taken, acts = [], {label(r.path) for r in records}, 0
    for k, r in enumerate(records):
        name = None if isinstance(r.op, ops.ReLU) else label(r.path)
        if isinstance(r.op, ops.ReLU) and k and (before := label(records[k - 1].path)):
            sequential = before.rpartition(".")[0]
            while sequential:
                acts += 1
                name = f"{sequential}.act{acts}"
                if name not in taken:
                    break
        line = layer(r, name)
        if isinstance(r.op, ops.ReLU) and name and "." in name:
            line = f"{name}: relu"
        if line is None or (":" not in line and r.op.params()):
            return None
        lines.append(f"    {line}")
    return lines


def head_block(records: Sequence[Record], name: str) -> tuple[list[str], int] | None:
    """The head, the records after the last block, as a block taking ``classes``, where its
    classifier is a 1x1 convolution with a bias (timm's ``ClassifierHead(use_conv=True)``)
    and the flatten after it; and the classes."""
    *body, fc = records or [None]
    if fc is None or not isinstance(fc.op, ops.Conv) or fc.op.kernel != (1, 1):
        return None
    lines = _chain(body)
    if lines is None:
        return None
    line = layer(fc, label(fc.path), width="classes")
    if line is None or ":" not in line or not fc.op.bias:
        return None
    lines += [f"    {line}", "    flatten"]
    return [f"block {name}(classes) {{", *lines, "}"], fc.op.out_channels


def block_definitions(blocks: Sequence, spec, name: str, keys: Sequence[str],
                      variant: str) -> list[str] | None:  # fmt: skip
    """The stage's block as a definition of the model's names (``planes``, ``stride``), and
    its projection's (``out_planes``, ``stride``) where it has one; ``variant`` is where a
    pre-activation unit's shortcut reads (``shortcut here`` or ``... unless identity``)."""
    expansion = spec.expansion
    bodies = {tuple(_body(b, spec, variant) or ("?",)) for b in blocks}
    if len(bodies) != 1 or ("?",) in bodies:
        return None
    (body,) = bodies
    lines: list[str] = []
    projecting = [b for b in blocks if b.short and any(r.op.params() for r in b.short)]
    params = "planes, stride = 1" + (f", expansion = {expansion}" if expansion != 1 else "")
    if projecting:
        longest = max(projecting, key=lambda b: len(b.short))
        projection = _projection(longest, f"{name}_projection")
        if projection is None:
            return None
        lines += [*projection, ""]
        via = f"    shortcut via {name}_projection"
        body = (via, *body) if _declared_first(longest, keys) else (*body, via)
    return [*lines, f"block {name}({params}) {{", *body, "}"]


def _body(block, spec, variant: str) -> list[str] | None:
    """A block's layers, its widths and stride the definition's parameters (``spec``: the
    network's block line as layout.py reads it, one for every block)."""
    expansion = spec.expansion
    convs = [r for r in block.main if isinstance(r.op, ops.Conv)]
    bottleneck = len(convs) == 3
    if block.gate is not None or block.groups != 1:
        return None
    if bottleneck and block.inner * expansion != block.out_channels:
        return None  # a width per group other than 64: no names of its own written yet
    strided = 0 if not bottleneck or spec.stride_on == "1x1" else 1
    lines: list[str] = []
    preact = block.kind.startswith("preact")
    # where the unit's shortcut reads: after its first norm and that norm's ReLU, if any
    opened = 1 if len(block.main) > 1 and isinstance(block.main[1].op, ops.ReLU) else 0
    for i, r in enumerate(block.main):
        k = convs.index(r) if r in convs else -1
        width = None
        if k >= 0:
            width = "planes * expansion" if bottleneck and k == 2 else "planes"
        line = layer(r, label(r.path, block.owner), width, "stride" if k == strided else None)
        if line is None or (":" not in line and r.op.params()):
            return None
        lines.append(f"    {line}")
        if preact and i == opened:
            lines.append(f"    {variant}")
    if block.shortcut != "none":
        lines.append("    add shortcut")
    for r in block.after:
        line = layer(r, label(r.path, block.owner))
        if line is None or (":" not in line and r.op.params()):
            return None
        lines.append(f"    {line}")
    return lines


def _projection(block, name: str) -> list[str] | None:
    lines = []
    pooled = False
    for r in block.short:
        if isinstance(r.op, ops.Conv):
            line = layer(r, label(r.path, block.owner), "out_planes", None if pooled else "stride")
        else:
            pooled = pooled or isinstance(r.op, ops.AvgPool | ops.MaxPool)
            line = layer(r, label(r.path, block.owner), stride="stride")
        if line is None or ":" not in line:
            return None
        lines.append(f"    {line}")
    return [f"block {name}(out_planes, stride = 1) {{", *lines, "}"]


def _declared_first(block, keys: Sequence[str]) -> bool:
    """Whether the block's projection comes before its other layers in the model's keys
    (timm's pre-activation blocks declare ``downsample`` first)."""
    mine = [k[len(block.owner) + 1 :] for k in keys if k.startswith(block.owner + ".")]
    shortcut = {label(r.path, block.owner) for r in block.short if r.op.params()}
    return bool(mine) and any(mine[0].startswith(f"{s}.") for s in shortcut if s)


def network(records: Sequence[Record], blocks: Sequence, stages: Sequence, shortcut: str,
            name: str, size: tuple[int, int, int], spec, keys: Sequence[str],
            variant: str) -> str | None:  # fmt: skip
    """The spec's text under the model's names (NOTE), or None where it cannot be written so."""
    first, last = blocks[0].first.index, blocks[-1].last
    weighted = [r for r in records if r.op is not None and not isinstance(r.op, ops.Input)]
    stem = [r for r in weighted if r.index < first]
    head = [r for r in weighted if r.index > last]
    modules = pattern([b.owner for b in blocks], [s.blocks for s in stages])
    definitions = block_definitions(blocks, spec, f"{name}_block", keys, variant)
    stem_text = stem_block(stem, f"{name}_stem") if stem else None
    head_text = head_block(head, f"{name}_head")
    if definitions is None or stem_text is None or head_text is None:
        return None
    head_lines, classes = head_text
    if _clash(definitions) or _clash([*stem_text, *head_lines]):
        return None
    lines = [*definitions, "", *stem_text, "", *head_lines, ""]
    lines += [f"network {name} {{", f"    input {'x'.join(map(str, size))}"]
    lines += [f"    classes {classes}", f"    stem {name}_stem", f"    block {name}_block"]
    lines.append(f"    shortcut {'B' if shortcut == 'D' else shortcut}")
    if modules:
        lines.append(f'    modules "{modules}"')
    for stage in stages:
        stride = f", stride {stage.stride}" if stage.stride != 1 else ""
        lines.append(f"    stage {stage.blocks} x {stage.width}{stride}")
    lines += [f"    head {name}_head", "}", ""]
    return "\n".join(lines)


def _clash(lines: Sequence[str]) -> bool:
    """Whether two layers that share a module would be one name twice, or a module and an
    item inside it (``norm: bn`` and ``norm.act: relu``): no generated class has both.

    >>> _clash(["    norm: bn", "    norm.act: relu"]), _clash(["    stem.conv: conv 3x3, 8"])
    (True, False)
    """
    labels = [line.strip().partition(":")[0] for line in lines if ": " in line]
    labels = [text for text in labels if " " not in text]
    return any(labels.count(a) > 1 or any(b.startswith(f"{a}.") for b in labels) for a in labels)
