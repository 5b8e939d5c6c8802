"""resdsl: a compiler for residual networks (He et al. 2015).

The pipeline, one module per stage::

    parse -> elaborate -> shapes -> validate -> stats / codegen -> train

``resdsl.check`` runs the front half (text to a checked IR) without importing torch.
"""

from __future__ import annotations

__version__ = "0.1.0"
