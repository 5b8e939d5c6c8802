"""The intermediate representation: each network a ``networkx.DiGraph`` of its ops.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> node = net.node("layer2.0.downsample.0")
    >>> node.op.label(), node.shape, node.branch
    ('1x1 conv, 128, /2', (128, 28, 28), 'shortcut')
    >>> net.depth, net.graph.number_of_nodes(), net.graph.edges[25, 26]["role"]
    (18, 69, 'shortcut')

NOTE: the shape of the IR, which every later pass reads. A network is a directed acyclic
graph (the design card's networkx IR): one node per op, numbered in execution order, with the
op (:mod:`resdsl.ops`, which answers every question about it), its dotted module path in the
generated code (``layer2.0.conv1``: torchvision's names, so ``state_dict`` keys match), where
it sits (section, stage, block, and its branch: ``main``, ``shortcut`` or a ``side`` branch
such as squeeze-and-excitation's), the span of the spec text it came from, and its output
shape, as node attributes; one edge per input, carrying its ``role`` (``main``, ``shortcut``,
or the side branch it arrives on: the residual addition knows which input is the shortcut)
and its ``position`` among the node's inputs. The graph is frozen: a pass that changes the IR
makes a new one. Users get it as it is (``resdsl.network(...).graph``; ``resdsl ir --format
graphml``) for their own analyses.

The hot passes (costs, memory, codegen) read :attr:`Network.nodes`, a tuple of frozen
:class:`Node` records in execution order derived from the graph, with each node's inputs as
indices of earlier nodes (as torch.fx's graph keeps them).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import networkx as nx

from resdsl.diagnostics import Span
from resdsl.lang.spec import BlockSpec, NetworkSpec, ShortcutOption, StageInfo
from resdsl.ops import Op, Shape

Section = Literal["input", "stem", "stage", "head"]
Branch = Literal["main", "shortcut", "side"]
# What a block's shortcut is, once the network's option (A, B, C, none) meets its shapes.
BlockShortcut = Literal["identity", "projection", "pad", "none"]


@dataclass(frozen=True, slots=True)
class Node:
    """One operation of the network, where it sits, and its output shape."""

    op: Op
    path: str  # module path in the generated code: layer2.0.conv1
    inputs: tuple[int, ...]  # indices of the nodes it reads
    section: Section
    span: Span
    stage: int | None = None  # 1-based stage index (layer{stage}), or None outside stages
    block: int | None = None  # 0-based block index within its stage
    branch: Branch | None = None  # main (the residual function F), shortcut or side, in blocks
    shape: Shape | None = None  # (C, H, W) or (features,); None where an earlier op failed
    roles: tuple[str, ...] = ()  # each input's role: main, shortcut, a side branch's name


@dataclass(frozen=True)
class BlockInfo:
    """One block of a stage, as lowering laid it out."""

    stage: int
    index: int
    in_channels: int
    width: int
    out_channels: int
    stride: int
    shortcut: BlockShortcut
    span: Span
    # A pre-activation unit whose shortcut reads after its BN and ReLU (`shortcut here`).
    preactivated: bool = False
    # The block parameters its stage line gives it (`width1 [47, 52, 64]`), by name.
    values: tuple[tuple[str, object], ...] = ()
    module: str | None = None  # its module path where the network's `modules` sets one

    @property
    def path(self) -> str:
        return self.module or f"layer{self.stage}.{self.index}"


@dataclass(frozen=True)
class Network:
    """The IR of one concrete network: its resolved description, blocks and graph."""

    spec: NetworkSpec
    blocks: tuple[BlockInfo, ...]
    graph: nx.DiGraph  # frozen (networkx.freeze)

    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        """The graph's nodes as records in execution order, inputs by position."""
        return nodes_of(self.graph)

    # The description's fields, read often enough to be spelled short.
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def file(self) -> str:
        return self.spec.file

    @property
    def name_span(self) -> Span:
        return self.spec.name_span

    @property
    def input(self) -> tuple[int, int, int]:
        return self.spec.input

    @property
    def classes(self) -> int:
        return self.spec.classes

    @property
    def block(self) -> BlockSpec:
        return self.spec.block

    @property
    def shortcut(self) -> ShortcutOption:
        return self.spec.shortcut

    @property
    def stages(self) -> tuple[StageInfo, ...]:
        return self.spec.stages

    @property
    def spec_sha256(self) -> str:
        return self.spec.spec_sha256

    @property
    def base(self) -> str | None:
        return self.spec.base

    @property
    def arguments(self) -> Mapping[str, int]:
        return self.spec.arguments

    @property
    def depth(self) -> int:
        """Layers on the main path as the paper counts depth (resnet34: 33 convs + fc): not
        the shortcut's projections, not a side branch's (SE's fcs)."""
        return sum(1 for n in self.nodes if n.op.counts_in_depth and n.branch in (None, "main"))

    def node(self, path: str) -> Node:
        """The first node with module path ``path``."""
        for node in self.nodes:
            if node.path == path:
                return node
        raise KeyError(path)

    def edges(self) -> list[tuple[int, int, str]]:
        """Every data-flow edge (source, target, role), by source then target."""
        return sorted((u, v, role) for u, v, role in self.graph.edges(data="role"))

    def inputs(self, node: Node) -> Iterator[Node]:
        """The nodes ``node`` reads, in order."""
        return (self.nodes[i] for i in node.inputs)

    def stage(self, index: int) -> StageInfo:
        """Stage ``index`` (1-based, as ``layer{index}``)."""
        return self.spec.stages[index - 1]

    def _repr_html_(self) -> str:  # Jupyter: the diagram and the stats
        return importlib.import_module("resdsl.report.notebook").network_html(self)

    def _repr_svg_(self) -> str | None:  # Jupyter: the diagram alone
        return importlib.import_module("resdsl.report.notebook").network_svg(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython: one line, not every node
        printer.text(importlib.import_module("resdsl.report.notebook").headline(self))


def with_nodes(net: Network, nodes) -> Network:
    """The IR of ``net`` with other nodes: its graph made anew from them (for a pass, or a
    test, that changes ops)."""
    graph = graph_of(list(nodes), **net.graph.graph)
    return Network(net.spec, net.blocks, graph)


# The node attributes the graph holds, in Node's order (inputs and roles are its edges).
ATTRIBUTES = ("op", "path", "section", "span", "stage", "block", "branch", "shape")


def graph_of(nodes: list[Node], **about) -> nx.DiGraph:
    """The frozen graph of nodes in execution order; ``about`` are the graph's attributes.

    NOTE: the graph is filled through the dict-of-dicts layout networkx documents for
    subclasses (``_node``, ``_succ``, ``_pred``: node attributes, and one edge-data dict
    shared by both directions), as its own ``add_nodes_from`` and ``add_edges_from`` fill it,
    without their checks: four times as fast for resnet1202's 4,208 nodes. A node's
    attributes are a read-only view of its record (:class:`NodeData`; the graph is frozen),
    and edges with the same role and position share one data dict, so the graph costs little
    beside the records: a spec of 10,000 blocks (the fuzzer's floods) keeps its networks in a
    sixth of the memory that a dict per node and per edge took. ``tests/ir/test_network.py``
    holds the graph equal to the one networkx's methods build.
    """
    graph = nx.DiGraph(**about)
    table, succ, pred = graph._node, graph._succ, graph._pred
    shared: dict[tuple[str, int], dict[str, object]] = {}
    for index, n in enumerate(nodes):
        table[index] = NodeData(n)
        succ[index], pred[index] = {}, {}
        for position, (source, role) in enumerate(zip(n.inputs, n.roles, strict=True)):
            data = shared.get((role, position))
            if data is None:
                data = shared[(role, position)] = {"role": role, "position": position}
            succ[source][index] = pred[index][source] = data
    return nx.freeze(graph)


class NodeData(Mapping):
    """A node's attributes as networkx hands them out (``graph.nodes[i]["op"]``), read from
    its :class:`Node` record: ``op``, ``path``, ``section``, ``span``, ``stage``, ``block``,
    ``branch``, ``shape``. Read-only, as the graph is.

        >>> data = NodeData(Node(None, "conv1", (0,), "stem", None, shape=(64, 112, 112)))
        >>> data["path"], data["shape"], len(data), dict(data)["section"]
        ('conv1', (64, 112, 112), 8, 'stem')
    """

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    def __getitem__(self, key: str) -> object:
        if key not in _KEYS:
            raise KeyError(key)
        return getattr(self.node, key)

    def __iter__(self) -> Iterator[str]:
        return iter(ATTRIBUTES)

    def __len__(self) -> int:
        return len(ATTRIBUTES)

    def __repr__(self) -> str:
        return repr(dict(self))


_KEYS = frozenset(ATTRIBUTES)


def nodes_of(graph: nx.DiGraph) -> tuple[Node, ...]:
    """The records of a graph's nodes, in execution order (their numbers)."""
    found = []
    pred = graph.pred
    for index in range(graph.number_of_nodes()):
        data = graph.nodes[index]
        edges = sorted(pred[index].items(), key=lambda item: item[1]["position"])
        found.append(
            Node(
                data["op"],
                data["path"],
                tuple(source for source, _ in edges),
                data["section"],
                data["span"],
                data["stage"],
                data["block"],
                data["branch"],
                data["shape"],
                tuple(edge["role"] for _, edge in edges),
            )
        )
    return tuple(found)
