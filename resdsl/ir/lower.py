"""Lowering: a resolved network description to its IR graph, every node shaped. It cannot fail.

    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.resolve import resolve
    >>> (spec,) = resolve(load("specs/resnet50.res")).networks
    >>> net = lower(spec)
    >>> [node.path for node in net.nodes[5:9]]
    ['layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.relu', 'layer1.0.conv2']
    >>> net.blocks[3].path, net.blocks[3].stride, net.blocks[3].shortcut
    ('layer2.0', 2, 'projection')

The stem and head are already ops with their names (:mod:`resdsl.lang.resolve` made them);
each stage's blocks were elaborated from the block's definition when the stage was resolved
(its first block, and the one every later block repeats: :mod:`resdsl.lang.elaborate`), so
lowering only wires them in order under their module paths (``layer2.0.``), numbering the
nodes in execution order, and builds the graph (:mod:`resdsl.ir.network`).

Each node's output shape is computed as it is laid (each op answers
:meth:`~resdsl.ops.Op.shape`: PyTorch's floor rule for windows, ``ceil(H / s)`` for option
A's subsampling). A node whose window does not fit its input gets ``None``, and so does
everything after it; :mod:`resdsl.ir.validate` reports where that began.
"""

from __future__ import annotations

from resdsl import ops
from resdsl.ir.network import BlockInfo, Network, Node, graph_of
from resdsl.lang.elaborate import INPUT, Elaborated
from resdsl.lang.spec import NetworkSpec, StageInfo


def lower(spec: NetworkSpec) -> Network:
    """The IR of one resolved network, nodes in execution order, each with its shape."""
    nodes = _Nodes()
    nodes.add(ops.Input(*spec.input), "input", (), "input", spec.input_span)
    for layer in spec.stem:
        nodes.add(layer.op, layer.name, (nodes.last,), "stem", layer.span)
    blocks: list[BlockInfo] = []
    for stage in spec.stages:
        for index in range(stage.blocks):
            layout = stage.layout(index)
            assert layout is not None  # a stage of several blocks has its later ones' layout
            path = spec.block_path(stage.index, index)
            blocks.append(_block_info(stage, index, layout, path))
            nodes.block(layout, stage, index, path)
    for layer in spec.head:
        nodes.add(layer.op, layer.name, (nodes.last,), "head", layer.span)
    graph = graph_of(nodes.made, name=spec.name, input=spec.input, classes=spec.classes)
    net = Network(spec, tuple(blocks), graph)
    net.__dict__["nodes"] = tuple(nodes.made)  # what Network.nodes derives, already at hand
    return net


def shaped(nodes) -> list[Node]:
    """``nodes`` with every shape computed again, in order (as lowering computes them)."""
    made = _Nodes()
    for n in nodes:
        made.add(n.op, n.path, n.inputs, n.section, n.span, n.stage, n.block, n.branch, n.roles)
    return made.made


def _block_info(stage: StageInfo, index: int, layout: Elaborated, path: str) -> BlockInfo:
    first = index == 0
    if stage.layouts:  # blocks of their own values: each reads what the one before made
        before = stage.in_channels if first else stage.layouts[index - 1].channels
        channels, values = (before, layout.channels), stage.values[index]
    else:
        before = stage.in_channels if first else stage.out_channels
        channels, values = (before, stage.out_channels), ()
    return BlockInfo(
        stage.index,
        index,
        channels[0],
        stage.width,
        channels[1],
        stage.stride if first else 1,
        layout.shortcut,
        stage.span,
        layout.reads_here,
        values,
        None if path == f"layer{stage.index}.{index}" else path,
    )


class _Nodes:
    """The nodes laid so far, each shaped as it is added."""

    def __init__(self) -> None:
        self.made: list[Node] = []
        # The shapes a block's pieces got, by its layout and its input's shape: a stage's later
        # blocks are one layout on one input shape, shaped once (resnet1202 has 600 of them).
        self.shaped: dict[tuple[int, object], list] = {}

    @property
    def last(self) -> int:
        return len(self.made) - 1

    def add(self, op, path, inputs, section, span, stage=None, block=None, branch=None, roles=None):
        shapes = [self.made[i].shape for i in inputs]
        shape = None if None in shapes else op.shape(shapes)
        roles = roles if roles is not None else ("main",) * len(inputs)
        self.made.append(
            Node(op, path, tuple(inputs), section, span, stage, block, branch, shape, tuple(roles))
        )

    def block(self, layout: Elaborated, stage: StageInfo, index: int, path: str) -> None:
        """One block's pieces, reading the node before it, under ``path`` (``layer{s}.{b}``)."""
        source, start = self.last, len(self.made)
        prefix = f"{path}."
        key = (id(layout), self.made[source].shape)
        known = self.shaped.get(key)
        if known is None:
            for piece in layout.pieces:
                inputs = [source if i == INPUT else start + i for i in piece.inputs]
                self.add(
                    piece.op, prefix + piece.path, inputs, "stage", stage.span,
                    stage.index, index, piece.branch, piece.roles,
                )  # fmt: skip
            self.shaped[key] = [node.shape for node in self.made[start:]]
        else:
            for piece, shape in zip(layout.pieces, known, strict=True):
                inputs = tuple(source if i == INPUT else start + i for i in piece.inputs)
                self.made.append(
                    Node(
                        piece.op, prefix + piece.path, inputs, "stage", stage.span,
                        stage.index, index, piece.branch, shape, piece.roles,
                    )
                )  # fmt: skip
        if layout.output != len(layout.pieces) - 1:  # the next block reads the last node
            raise ValueError(f"block {prefix[:-1]} does not end on its last op")
