"""The IR and its passes: a resolved network lowered to a graph of its ops, checked and counted.

    network.py       Network (its description, blocks, and its networkx.DiGraph) and Node
    lower.py         NetworkSpec -> IR: the elaborated blocks wired, each node shaped as laid
    validate.py      IR -> diagnostics
    costs.py         IR -> NetworkStats (params, multiply-adds, saved activations)

No module here imports torch.
"""
