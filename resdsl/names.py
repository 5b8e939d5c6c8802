"""Identifier rules: what a network may be called, since its name becomes Python code.

    >>> problem("resnet50"), problem("class"), problem("conv3x3")
    (None, 'is a Python keyword', 'would shadow a name the generated code uses')

A network's name becomes a factory function, a file name and a ``META`` entry. Both
:mod:`resdsl.validate` (which refuses a bad name where the spec writes it) and
:mod:`resdsl.codegen` (whose namespace hands names out) ask this module, so the rules and
their wording exist once.
"""

from __future__ import annotations

import builtins
import keyword

# Names the generated module defines or imports (nn, ResNet, conv3x3, META, ...): a network
# called `conv3x3` would shadow them.
MODULE_NAMES = frozenset(
    {
        "annotations", "torch", "Tensor", "nn", "F", "META", "conv3x3", "conv1x1", "projection",
        "ZeroPadShortcut", "BasicBlock", "Bottleneck", "PlainBasicBlock", "PlainBottleneck",
        "ResNet", "PlainNet",
    }
)  # fmt: skip


def identifier_problem(name: object) -> str | None:
    """Why ``name`` cannot be a Python identifier of generated code, or None if it can."""
    if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
        return "is not a Python identifier"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name.startswith("_"):
        return "starts with an underscore, which Python reserves for private names"
    if hasattr(builtins, name):
        return "is a Python builtin"
    return None


def problem(name: object, taken: frozenset[str] = MODULE_NAMES) -> str | None:
    """Why ``name`` cannot name a network (a generated factory), or None if it can."""
    found = identifier_problem(name)
    if found is None and name in taken:
        return "would shadow a name the generated code uses"
    return found
