"""The block class of the generated code, written from the block's recipe, and the check that
the IR holds exactly what that class builds.

A network uses one block kind under one shortcut option, so its module has one block class,
written from the same recipe (:mod:`resdsl.ir.recipes`) that lowering read to build the IR:

=====================  ==========================================================
``BasicBlock``         two 3x3 convolutions; shortcut identity, or ``downsample``
                       (projection, options B/C) or ``shortcut`` (zero padding, A)
``Bottleneck``         1x1, 3x3, 1x1; the stride on the first 1x1 (the paper) or
                       on the 3x3 (torchvision's "v1.5"), as the spec says
``PlainBasicBlock``    ``PlainBottleneck``: the same without shortcut or addition
``PreActBasicBlock``   He et al. 2016's full pre-activation unit (BN, ReLU, conv,
                       twice; WRN's dropout between), no ReLU after the addition
``PreActBottleneck``   the same around a bottleneck's 1x1, 3x3, 1x1
=====================  ==========================================================

A grouped or wide bottleneck (``groups``, ``width per group``) keeps torchvision's form: class
attributes ``groups`` and ``width_per_group`` and ``width = planes * width_per_group // 64 *
groups`` in the constructor.

:func:`check_blocks` lays every block of the IR out again from the recipe and refuses to
emit when the IR differs: the generated hierarchy is the IR's, not a guess about it.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

from resdsl.codegen.identifiers import error_at
from resdsl.ir.lower import block_nodes
from resdsl.ir.network import BlockInfo, Network, Node
from resdsl.ir.recipes import BLOCKS, BlockRecipe, ConvStep, ReluStep, recipe

_STRIDED = "H / stride, W / stride"
# Where a pre-activation unit's shortcut reads (resdsl.ir.recipes, NOTE): said once, in the class.
_PREACT_FLAG = "preact_shortcut"


def block_context(net: Network) -> dict[str, Any]:
    """Everything the template needs to write the network's block class."""
    spec, span = net.block, net.name_span
    shortcuts = {info.shortcut for info in net.blocks}
    residual = "none" not in shortcuts
    special = sorted(shortcuts - {"identity", "none"})
    if ("none" in shortcuts and len(shortcuts) > 1) or len(special) > 1:
        raise error_at(span, f"resdsl compile cannot mix shortcuts {sorted(shortcuts)}")
    if spec.kind not in BLOCKS:
        raise error_at(span, f"resdsl compile does not know the block kind {spec.kind!r}")
    if type(spec.expansion) is not int or spec.expansion < 1:
        raise error_at(span, f"block expansion must be a positive integer, not {spec.expansion!r}")
    block = recipe(spec, net.shortcut)
    shortcut = block.shortcut(special[0]) if special else None
    # The channels of each step as the class writes them, and as its shape comments say:
    # `planes`, or a grouped or wide bottleneck's `width` (torchvision's formula).
    inner = spec.groups != 1 or spec.width_per_group != 64
    width = "width" if inner else "planes"
    widen = spec.expansion != 1
    exprs = (width, "planes * self.expansion" if widen else "planes")
    docs = (width, f"planes * {spec.expansion}" if widen else "planes")
    flag = bool(block.preactivation) and residual
    init, forward = _class_body(block, exprs, docs, flag)
    attributes = [f"expansion: int = {spec.expansion}"]
    if inner:
        attributes += [
            f"groups: int = {spec.groups}  # of the 3x3 convolution (ResNeXt's cardinality)",
            f"width_per_group: int = {spec.width_per_group}  # its width a group, at planes 64",
        ]
        init.insert(0, "width = planes * self.width_per_group // 64 * self.groups")
    params = []
    if shortcut is not None:
        params.append(f"{shortcut.attr}: nn.Module | None = None")
        init.append(f"self.{shortcut.attr} = {shortcut.attr}")
    if flag:
        params.append(f"{_PREACT_FLAG}: bool = False")
        implied = f" or {shortcut.attr} is not None" if shortcut else ""
        init.append(f"self.{_PREACT_FLAG} = {_PREACT_FLAG}{implied}")
    cls, doc = block.cls, list(block.doc)
    if not residual:
        cls = f"Plain{cls}"
        if block.relu_after_add:
            forward[-1].append(f"out = self.{ReluStep.name}(out)")
        doc.append("Plain: no shortcut and no addition (the paper's plain baseline).")
    steps = [*block.steps, *(shortcut.steps if shortcut else ())]
    return {
        "cls": cls,
        "doc": doc,
        "attributes": attributes,
        "params": params,
        "residual": residual,
        "shortcut": shortcut.attr if shortcut else None,
        "shortcut_input": "identity" if block.preactivation else "x",
        "factory": shortcut.factory if shortcut else None,
        "init": init,
        "forward": forward,
        "after_add": [f"out = self.{ReluStep.name}(out)"] if block.relu_after_add else [],
        "out": docs[1],
        "last_bn": block.last_norm,
        "uses_conv1x1": any(isinstance(s, ConvStep) and s.kernel == 1 for s in steps),
        "grouped": spec.groups != 1,
        "recipe": block,
    }


def _class_body(block: BlockRecipe, exprs, docs, flag: bool) -> tuple[list[str], list[list[str]]]:
    """The constructor's lines and the forward's paragraphs, one step a line. ``flag``: the
    unit's shortcut may read its pre-activation, which the forward says after it."""
    init: list[str] = []
    forward: list[list[str]] = []
    channels, shown = "inplanes", "inplanes"
    source, strided, relu = "x", False, None
    for index, step in enumerate(block.steps, start=1):
        out = step.out(channels, *exprs)
        line = f"self.{step.name} = {step.module(channels, out)}"
        if isinstance(step, ReluStep):
            relu = relu or line
            if not block.relu_declared_last and relu not in init:
                init.append(relu)
        else:
            init.append(line)
        call = f"out = self.{step.name}({source})"
        strided = strided or step.stride
        if isinstance(step, ConvStep):
            shown = step.out(shown, *docs)
            call += f"  # (N, {shown}, {_STRIDED if strided else 'H, W'})"
        if step.opens_group or not forward:
            forward.append([])
        forward[-1].append(call)
        if flag and index == block.preactivation:
            forward[-1] += [
                f"if self.{_PREACT_FLAG}:",
                "    identity = out  # the shortcut reads the pre-activated input",
            ]
        channels, source = out, "out"
    if block.relu_declared_last and relu:
        init.append(relu)
    return init, forward


def _call(info: BlockInfo, block: dict[str, Any]) -> str:
    """The constructor call of one block: ``Bottleneck(256, 128, stride=2, downsample=...)``."""
    stride = f", stride={info.stride}" if info.stride != 1 else ""
    extra = ""
    shortcut = block["recipe"].shortcut(info.shortcut)
    if shortcut is not None:
        extra = (
            f", {shortcut.attr}={shortcut.factory}({info.in_channels}, {info.out_channels}{stride})"
        )
    elif info.preactivated:  # an identity on the pre-activation: the network's first unit
        extra = f", {_PREACT_FLAG}=True"
    return f"{block['cls']}({info.in_channels}, {info.width}{stride}{extra})"


def stage_entries(net: Network, stage: int, block: dict[str, Any]) -> list[str]:
    """The stage's blocks as ``nn.Sequential`` entries, runs of identical blocks folded."""
    infos = [info for info in net.blocks if info.stage == stage]
    entries = []
    for call, run in groupby(_call(info, block) for info in infos):
        count = len(list(run))
        entries.append(call if count == 1 else f"*({call} for _ in range({count}))")
    return entries


def check_blocks(net: Network) -> None:
    """Raise a located error if any block's nodes differ from what its class would build."""
    found: dict[tuple[int, int], list[tuple[int, Node]]] = {}
    for index, node in enumerate(net.nodes):
        if node.section == "stage":
            found.setdefault((node.stage, node.block), []).append((index, node))  # type: ignore[arg-type]
    infos = {(info.stage, info.index): info for info in net.blocks}
    block = recipe(net.block, net.shortcut)
    for key in sorted(set(found) | set(infos)):
        info = infos.get(key)
        if info is None:
            raise error_at(net.name_span, f"IR nodes of an unknown block {key}")
        members = found.get(key, [])
        start = members[0][0] if members else len(net.nodes)
        source = members[0][1].inputs[0] if members and members[0][1].inputs else start - 1
        actual = Counter(_key(node) for _, node in members)
        expected = Counter(_key(node) for node in block_nodes(block, info, source, start))
        if actual != expected:
            extra = sorted(map(str, (actual - expected).elements()))
            missing = sorted(map(str, (expected - actual).elements()))
            raise error_at(
                info.span,
                f"resdsl compile cannot emit block {info.path}: the IR has {extra or 'no'} "
                f"extra and {missing or 'no'} missing nodes for a {net.block.kind} block",
            )


def _key(node: Node) -> tuple:
    return (node.op, node.path, node.inputs, node.branch)
