"""The paper's residual blocks as IR: basic (two 3x3) and bottleneck (1x1, 3x3, 1x1).

Used by :mod:`resdsl.elaborate`; one function per block kind, each appending the block's
operations with torchvision's module names, so that ``layer2.0.downsample.0`` here is
``layer2.0.downsample.0`` in the generated ``state_dict``.

    y = relu(F(x) + shortcut(x))        shortcut: identity, projection (1x1 conv + BN),
                                        zero-padding (option A) or none (plain network)
"""

from __future__ import annotations

from resdsl.ir import BlockInfo, BlockSpec


def build_block(builder, spec: BlockSpec, info: BlockInfo, x: int) -> int:
    """Append one block reading node ``x``; return the node of its output."""
    where = {"stage": info.stage, "block": info.index}
    path = info.path

    def add(op: str, name: str, *inputs: int, branch: str | None = "main", **attrs) -> int:
        full = f"{path}.{name}" if name else path
        return builder.add(op, full, "stage", info.span, *inputs, branch=branch, **where, **attrs)

    def conv_bn(source: int, index: int, c_in: int, c_out: int, k: int, stride: int) -> int:
        out = add(
            "conv",
            f"conv{index}",
            source,
            in_channels=c_in,
            out_channels=c_out,
            kernel=(k, k),
            stride=(stride, stride),
            padding=(k // 2, k // 2),
        )
        return add("bn", f"bn{index}", out, channels=c_out)

    if spec.kind == "basic":
        out = conv_bn(x, 1, info.in_channels, info.width, 3, info.stride)
        out = add("relu", "relu", out)
        out = conv_bn(out, 2, info.width, info.out_channels, 3, 1)
    else:
        # The paper strides the first 1x1; torchvision's "v1.5" strides the 3x3.
        first, middle = (info.stride, 1) if spec.stride_on == "1x1" else (1, info.stride)
        out = conv_bn(x, 1, info.in_channels, info.width, 1, first)
        out = add("relu", "relu", out)
        out = conv_bn(out, 2, info.width, info.width, 3, middle)
        out = add("relu", "relu", out)
        out = conv_bn(out, 3, info.width, info.out_channels, 1, 1)

    if info.shortcut == "none":  # the plain network: no addition at all
        return add("relu", "relu", out, branch=None)

    identity = x
    if info.shortcut == "projection":
        identity = add(
            "conv",
            "downsample.0",
            x,
            branch="shortcut",
            in_channels=info.in_channels,
            out_channels=info.out_channels,
            kernel=(1, 1),
            stride=(info.stride, info.stride),
            padding=(0, 0),
        )
        identity = add(
            "bn", "downsample.1", identity, branch="shortcut", channels=info.out_channels
        )
    elif info.shortcut == "pad":
        identity = add(
            "pad",
            "shortcut",
            x,
            branch="shortcut",
            in_channels=info.in_channels,
            out_channels=info.out_channels,
            stride=(info.stride, info.stride),
        )
    total = add("add", "add", branch=None)
    builder.graph.add_edge(out, total, branch="main")
    builder.graph.add_edge(identity, total, branch="shortcut")
    return add("relu", "relu", total, branch=None)
