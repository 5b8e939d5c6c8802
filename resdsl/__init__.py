"""resdsl: a compiler for residual networks (He et al. 2015).

The pipeline, one module per stage, each a plain function from one representation to the
next (docs/architecture.md)::

    text --parse--> AST --resolve--> NetworkSpec --lower--> IR --shapes--> --validate-->
        checked IR --> stats (params, multiply-adds) | codegen (PyTorch) | graph (Fig. 3)

    >>> from resdsl.pipeline import check_or_raise
    >>> [(net.name, net.depth) for net in check_or_raise("specs/resnet34.res")]
    [('resnet34', 34)]

Nothing up to and including codegen imports torch; only ``resdsl.train`` does.
"""

from __future__ import annotations

__version__ = "0.1.0"
