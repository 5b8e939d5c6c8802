"""The IR graph: what networkx's own methods would build, frozen; the records derived from it."""

from __future__ import annotations

import networkx as nx
import pytest

from resdsl.ir.network import ATTRIBUTES, graph_of, nodes_of
from resdsl.pipeline import check_or_raise


@pytest.mark.parametrize("spec", ["specs/resnet18.res", "specs/preact_resnet.res"])
def test_the_graph_is_the_one_networkx_methods_build(spec):
    for net in check_or_raise(spec):
        reference = nx.DiGraph(name=net.name, input=net.input, classes=net.classes)
        reference.add_nodes_from(
            (i, {name: getattr(n, name) for name in ATTRIBUTES}) for i, n in enumerate(net.nodes)
        )
        reference.add_edges_from(
            (source, target, {"role": role, "position": position})
            for target, n in enumerate(net.nodes)
            for position, (source, role) in enumerate(zip(n.inputs, n.roles, strict=True))
        )
        assert nx.utils.graphs_equal(net.graph, reference)
        assert net.graph.graph == reference.graph
        assert nx.is_frozen(net.graph) and nx.is_directed_acyclic_graph(net.graph)
        assert nodes_of(net.graph) == net.nodes  # what lowering handed over, derived again


def test_roles_say_which_input_is_the_shortcut():
    (net,) = check_or_raise("specs/resnet34_a.res")
    adds = [n for n in net.nodes if n.op.kind == "add"]
    assert len(adds) == 16 and {n.roles for n in adds} == {("main", "shortcut")}
    pads = {net.nodes[n.inputs[1]].op.kind for n in adds}
    assert pads == {"pad", "relu", "maxpool"}  # A pads where the shape changes, else the identity
    with pytest.raises(nx.NetworkXError, match="Frozen graph"):
        net.graph.add_node(10_000)


def test_a_graph_of_nothing_is_empty():
    assert graph_of([]).number_of_nodes() == 0
