"""resdsl: a compiler for residual networks (He et al. 2015).

As a library (docs/api.md)::

    >>> import resdsl
    >>> resdsl.stats("specs/resnet34.res").params
    21797672
    >>> [net.name for net in resdsl.networks("specs/cifar.res")][:2]
    ['resnet20', 'resnet32']

``check``, ``networks``, ``network``, ``stats``, ``diff``, ``compile`` and ``build`` take a path or
spec text (:mod:`resdsl.api`), ``import_model`` a PyTorch model; only ``build`` and ``import_model``
import torch. ``ResdslError`` is the one exception a user can cause. The pipeline, one module
per stage (docs/architecture.md)::

    text --parse--> AST --resolve--> NetworkSpec --lower--> IR (a networkx graph, every node
        shaped) --validate--> checked IR --> costs | memory | codegen (PyTorch) | graph (Fig. 3)

beside it, ``imports`` (a PyTorch model --> spec text) and ``lang.printer`` (spec text --> the
same spec in its canonical layout, ``resdsl fmt``).
"""

from __future__ import annotations

from typing import Any

from resdsl.diagnostics import Diagnostic, ResdslError

__version__ = "0.1.0"

# The library functions, imported on first use: `import resdsl` (which the CLI does for
# --version) stays as light as the diagnostics module.
_API = ("build", "check", "compile", "diff", "import_model", "network", "networks", "stats")

__all__ = ["Diagnostic", "ResdslError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from resdsl import api

        return getattr(api, name)
    raise AttributeError(f"module 'resdsl' has no attribute {name!r}")
