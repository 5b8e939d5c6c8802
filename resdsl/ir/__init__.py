"""The IR and its passes: a resolved network lowered to its ops, shaped, checked and counted.

    network.py       Network and Node, the IR itself
    lower.py         NetworkSpec -> IR (blocks expanded from their recipes: recipes.py, steps.py)
    shapes.py        IR -> IR, every node's output shape
    validate.py      IR -> diagnostics
    costs.py         IR -> NetworkStats (params, multiply-adds, saved activations)

No module here imports torch.
"""
