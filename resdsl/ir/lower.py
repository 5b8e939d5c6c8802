"""Lowering: a resolved network description to its IR. It cannot fail.

    >>> from resdsl.lang.load import load
    >>> from resdsl.lang.resolve import resolve
    >>> (spec,) = resolve(load("specs/resnet50.res")).networks
    >>> net = lower(spec)
    >>> [node.path for node in net.nodes[5:9]]
    ['layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.relu', 'layer1.0.conv2']
    >>> net.blocks[3].path, net.blocks[3].stride, net.blocks[3].shortcut
    ('layer2.0', 2, 'projection')

The stem and head are already ops with their names (:mod:`resdsl.lang.resolve` made them); each
stage expands into its blocks, and each block into nodes by reading its recipe
(:mod:`resdsl.ir.recipes`): the residual function's steps on the ``main`` branch, the shortcut's
steps on the ``shortcut`` branch, then the addition and (He et al. 2015) the ReLU after it.
A plain network (``shortcut none``) has no addition: its block ends in the ReLU. A
pre-activation unit's shortcut reads after its opening BN and ReLU where the recipe says so.
"""

from __future__ import annotations

from resdsl import ops
from resdsl.ir.network import BlockInfo, Branch, Network, Node
from resdsl.ir.recipes import BlockRecipe, ReluStep, block_shortcut, recipe
from resdsl.lang.spec import NetworkSpec


def lower(spec: NetworkSpec) -> Network:
    """The IR of one resolved network, nodes in execution order (shapes not yet inferred)."""
    nodes = [Node(ops.Input(*spec.input), "input", (), "input", spec.input_span)]
    for layer in spec.stem:
        nodes.append(Node(layer.op, layer.name, (len(nodes) - 1,), "stem", layer.span))
    block_recipe = recipe(spec.block, spec.shortcut)
    blocks: list[BlockInfo] = []
    for stage in spec.stages:
        template: list[Node] = []  # the stage's second block, which every later one repeats
        for index in range(stage.blocks):
            first = index == 0
            c_in = stage.in_channels if first else stage.out_channels
            stride = stage.stride if first else 1
            shortcut = block_shortcut(spec.shortcut, c_in, stage.out_channels, stride)
            info = BlockInfo(
                stage.index,
                index,
                c_in,
                stage.width,
                stage.out_channels,
                stride,
                shortcut,
                stage.span,
                block_recipe.reads_preactivation(shortcut, first=not blocks),
            )
            if template and not info.preactivated:
                nodes += _repeat(template, info, len(nodes))
            else:
                made = block_nodes(block_recipe, info, len(nodes) - 1, len(nodes))
                if index == 1:
                    template = made
                nodes += made
            blocks.append(info)
    for layer in spec.head:
        nodes.append(Node(layer.op, layer.name, (len(nodes) - 1,), "head", layer.span))
    return Network(spec, tuple(blocks), tuple(nodes))


def block_nodes(block: BlockRecipe, info: BlockInfo, x: int, start: int) -> list[Node]:
    """The nodes of one block reading node ``x``, numbered from ``start``.

    :mod:`resdsl.codegen` calls this too, to check that the IR holds exactly what the block
    class it writes would build.
    """
    nodes: list[Node] = []
    prefix, span = info.path, info.span

    def add(op: ops.Op, name: str, inputs: tuple[int, ...], branch: Branch | None) -> int:
        nodes.append(
            Node(op, f"{prefix}.{name}", inputs, "stage", span, info.stage, info.index, branch)
        )
        return start + len(nodes) - 1

    width = block.spec.inner_width(info.width)
    split = block.preactivation  # a pre-activation unit's BN and ReLU come first
    pre, channels = _steps(add, block.steps[:split], info, x, info.in_channels, width, "main")
    out, _ = _steps(add, block.steps[split:], info, pre, channels, width, "main")
    if info.shortcut == "none":  # the plain network: no addition at all
        if block.relu_after_add:
            add(ops.ReLU(), ReluStep.name, (out,), None)
        return nodes
    identity = pre if info.preactivated else x
    shortcut = block.shortcut(info.shortcut)
    if shortcut is not None:
        identity, _ = _steps(
            add, shortcut.steps, info, identity, channels, width, "shortcut", shortcut.path
        )
    total = add(ops.Add(), "add", (out, identity), None)
    if block.relu_after_add:
        add(ops.ReLU(), ReluStep.name, (total,), None)
    return nodes


def _repeat(template: list[Node], info: BlockInfo, start: int) -> list[Node]:
    """A later block of a stage: the same ops as the stage's second block (same channels,
    stride 1, same shortcut), renamed and renumbered. Half of lowering's time for the deep
    CIFAR nets went to recomputing them step by step."""
    offset = start - template[0].inputs[0] - 1  # the template read the node just before it
    cut = len(f"layer{template[0].stage}.{template[0].block}")
    prefix = info.path
    return [
        Node(
            n.op,
            prefix + n.path[cut:],
            tuple(i + offset for i in n.inputs),
            "stage",
            n.span,
            info.stage,
            info.index,
            n.branch,
        )
        for n in template
    ]


def _steps(
    add, steps, info: BlockInfo, x: int, channels: int, width: int, branch: Branch, name=None
) -> tuple[int, int]:
    """Append a recipe's steps on one branch from node ``x`` of ``channels`` channels; the
    index of the last node and its channels. A step with nothing to do at the block's
    stride (ResNet-D's pool at stride 1) adds no node."""
    for step in steps:
        c_out = step.out(channels, width, info.out_channels)
        op = step.op(channels, c_out, info.stride)
        if op is not None:
            x = add(op, name(step) if name else step.name, (x,), branch)
        channels = c_out
    return x, channels
