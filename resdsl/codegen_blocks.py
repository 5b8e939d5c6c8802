"""The block classes of the generated code, and the check that they build what the IR says.

Helpers of :mod:`resdsl.codegen`. A network uses one block kind (``block basic`` or ``block
bottleneck``) under one shortcut option, so its module has one block class:

=====================  ==========================================================
``BasicBlock``         two 3x3 convolutions; shortcut identity, or ``downsample``
                       (projection, options B/C) or ``shortcut`` (zero padding, A)
``Bottleneck``         1x1, 3x3, 1x1; the stride on the first 1x1 (the paper) or
                       on the 3x3 (torchvision's "v1.5"), as the spec says
``PlainBasicBlock``    ``PlainBottleneck``: the same without shortcut or addition
=====================  ==========================================================

:func:`check_blocks` derives, for every block of the IR, the nodes the emitted class builds
(op, module path, sizes) and refuses to emit when they differ: the generated hierarchy is
the IR's, not a guess about it.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

import networkx as nx

from resdsl.codegen_names import error_at
from resdsl.ir import BlockInfo

_SHAPE = "H / stride, W / stride"


def block_context(graph: nx.DiGraph) -> dict[str, Any]:
    """Everything the template needs to write the network's block class."""
    spec = graph.graph["block"]
    span = graph.graph["name_span"]
    shortcuts = {info.shortcut for info in graph.graph["blocks"]}
    residual = "none" not in shortcuts
    if ("none" in shortcuts and len(shortcuts) > 1) or {"pad", "projection"} <= shortcuts:
        raise error_at(span, f"resdsl compile cannot mix shortcuts {sorted(shortcuts)}")
    attr = "downsample" if "projection" in shortcuts else "shortcut" if "pad" in shortcuts else None
    if spec.kind not in ("basic", "bottleneck"):
        raise error_at(span, f"resdsl compile does not know the block kind {spec.kind!r}")
    if type(spec.expansion) is not int or spec.expansion < 1:
        raise error_at(span, f"block expansion must be a positive integer, not {spec.expansion!r}")
    out = "planes" if spec.expansion == 1 else "planes * self.expansion"
    out_doc = "planes" if spec.expansion == 1 else f"planes * {spec.expansion}"
    shortcut_init = [f"self.{attr} = {attr}"] if attr else []
    if spec.kind == "basic":
        cls, last_bn = "BasicBlock", "bn2"
        init = [
            "self.conv1 = conv3x3(inplanes, planes, stride)",
            "self.bn1 = nn.BatchNorm2d(planes)",
            "self.relu = nn.ReLU(inplace=True)",
            f"self.conv2 = conv3x3(planes, {out})",
            f"self.bn2 = nn.BatchNorm2d({out})",
        ]
        forward = [
            [f"out = self.conv1(x)  # (N, planes, {_SHAPE})", "out = self.bn1(out)"],
            [f"out = self.conv2(out)  # (N, {out_doc}, {_SHAPE})", "out = self.bn2(out)"],
        ]
        forward[0].append("out = self.relu(out)")
        doc = ["The basic block of He et al. 2015 (Fig. 5 left): two 3x3 convolutions."]
    else:
        cls, last_bn = "Bottleneck", "bn3"
        first, middle = (", stride", "") if spec.stride_on == "1x1" else ("", ", stride")
        init = [
            f"self.conv1 = conv1x1(inplanes, planes{first})",
            "self.bn1 = nn.BatchNorm2d(planes)",
            f"self.conv2 = conv3x3(planes, planes{middle})",
            "self.bn2 = nn.BatchNorm2d(planes)",
            f"self.conv3 = conv1x1(planes, {out})",
            f"self.bn3 = nn.BatchNorm2d({out})",
            "self.relu = nn.ReLU(inplace=True)",
        ]
        after_1x1 = _SHAPE if spec.stride_on == "1x1" else "H, W"
        forward = [
            [f"out = self.conv1(x)  # (N, planes, {after_1x1})", "out = self.bn1(out)"],
            [f"out = self.conv2(out)  # (N, planes, {_SHAPE})", "out = self.bn2(out)"],
            [f"out = self.conv3(out)  # (N, {out_doc}, {_SHAPE})", "out = self.bn3(out)"],
        ]
        forward[0].append("out = self.relu(out)")
        forward[1].append("out = self.relu(out)")
        where = "the first 1x1, as the paper" if spec.stride_on == "1x1" else "the 3x3 (v1.5)"
        doc = [
            "The bottleneck block of He et al. 2015 (Fig. 5 right): 1x1, 3x3, 1x1 convolutions.",
            f"The stride sits on {where}; the last 1x1 widens by `expansion`.",
        ]
    if not residual:
        cls = f"Plain{cls}"
        forward[-1].append("out = self.relu(out)")
        doc.append("Plain: no shortcut and no addition (the paper's plain baseline).")
    return {
        "cls": cls,
        "kind": spec.kind,
        "doc": doc,
        "expansion": spec.expansion,
        "residual": residual,
        "shortcut": attr,
        "init": init + shortcut_init,
        "forward": forward,
        "out": out_doc,
        "last_bn": last_bn,
        "stride_on": spec.stride_on,
    }


def _call(info: BlockInfo, block: dict[str, Any]) -> str:
    """The constructor call of one block: ``Bottleneck(256, 128, stride=2, downsample=...)``."""
    stride = f", stride={info.stride}" if info.stride != 1 else ""
    extra = ""
    if info.shortcut == "projection":
        extra = f", downsample=projection({info.in_channels}, {info.out_channels}{stride})"
    elif info.shortcut == "pad":
        extra = f", shortcut=ZeroPadShortcut({info.in_channels}, {info.out_channels}{stride})"
    return f"{block['cls']}({info.in_channels}, {info.width}{stride}{extra})"


def stage_entries(graph: nx.DiGraph, stage: int, block: dict[str, Any]) -> list[str]:
    """The stage's blocks as ``nn.Sequential`` entries, runs of identical blocks folded."""
    infos = [info for info in graph.graph["blocks"] if info.stage == stage]
    entries = []
    for call, run in groupby(_call(info, block) for info in infos):
        count = len(list(run))
        entries.append(call if count == 1 else f"*({call} for _ in range({count}))")
    return entries


def _expected(info: BlockInfo, spec: Any) -> Counter:
    """The (op, path, sizes) of the nodes the emitted class builds for this block."""
    path, c_in, width, c_out, s = info.path, info.in_channels, info.width, info.out_channels, info
    stride = s.stride
    nodes: list[tuple] = []

    def conv_bn(name: str, bn: str, a: int, b: int, k: int, st: int) -> None:
        nodes.append(("conv", f"{path}.{name}", (a, b, (k, k), (st, st), (k // 2, k // 2))))
        nodes.append(("bn", f"{path}.{bn}", b))

    if spec.kind == "basic":
        conv_bn("conv1", "bn1", c_in, width, 3, stride)
        conv_bn("conv2", "bn2", width, c_out, 3, 1)
        relus = 2
    else:
        first, middle = (stride, 1) if spec.stride_on == "1x1" else (1, stride)
        conv_bn("conv1", "bn1", c_in, width, 1, first)
        conv_bn("conv2", "bn2", width, width, 3, middle)
        conv_bn("conv3", "bn3", width, c_out, 1, 1)
        relus = 3
    nodes += [("relu", f"{path}.relu", None)] * relus
    if info.shortcut != "none":
        nodes.append(("add", f"{path}.add", None))
    if info.shortcut == "projection":
        conv_bn("downsample.0", "downsample.1", c_in, c_out, 1, stride)
    elif info.shortcut == "pad":
        nodes.append(("pad", f"{path}.shortcut", (c_in, c_out, (stride, stride))))
    return Counter(nodes)


def _actual(attrs: dict[str, Any]) -> tuple:
    op = attrs["op"]
    if op == "conv":
        keys = ("in_channels", "out_channels", "kernel", "stride", "padding")
        sizes: Any = tuple(tuple(v) if isinstance(v, tuple | list) else v for v in
                           (attrs[k] for k in keys))  # fmt: skip
    elif op == "bn":
        sizes = attrs["channels"]
    elif op == "pad":
        sizes = (attrs["in_channels"], attrs["out_channels"], tuple(attrs["stride"]))
    else:
        sizes = None
    return (op, attrs["path"], sizes)


def check_blocks(graph: nx.DiGraph) -> None:
    """Raise a located error if any block's nodes differ from what its class would build."""
    found: dict[tuple[int, int], Counter] = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["section"] == "stage":
            key = (attrs["stage"], attrs["block"])
            found.setdefault(key, Counter())[_actual(attrs)] += 1
    infos = {(info.stage, info.index): info for info in graph.graph["blocks"]}
    spec = graph.graph["block"]
    for key in sorted(set(found) | set(infos)):
        info = infos.get(key)
        if info is None:
            raise error_at(graph.graph["name_span"], f"IR nodes of an unknown block {key}")
        expected = _expected(info, spec)
        if found.get(key, Counter()) != expected:
            diff = sorted(map(str, (found.get(key, Counter()) - expected).elements()))
            missing = sorted(map(str, (expected - found.get(key, Counter())).elements()))
            raise error_at(
                info.span,
                f"resdsl compile cannot emit block {info.path}: the IR has {diff or 'no'} "
                f"extra and {missing or 'no'} missing nodes for a {spec.kind} block",
            )
