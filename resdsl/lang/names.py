"""Identifier rules: what a network may be called, since its name becomes Python code.

    >>> problem("resnet50"), problem("class"), problem("conv3x3")
    (None, 'is a Python keyword', 'would shadow a name the generated code uses')

A network's name becomes a factory function, a file name and a ``META`` entry. Both
:mod:`resdsl.ir.validate` (which refuses a bad name where the spec writes it) and
:mod:`resdsl.codegen` (whose namespace hands names out) ask this module, so the rules and
their wording exist once.
"""

from __future__ import annotations

import builtins
import keyword
import sys

from resdsl.lang.limits import MAX_NAME_LENGTH

# Names the generated module defines or imports (nn, ResNet, conv3x3, META, ...): a network
# called `conv3x3` would shadow them.
MODULE_NAMES = frozenset(
    {
        "annotations", "torch", "Tensor", "nn", "F", "META", "conv3x3", "conv1x1", "projection",
        "ZeroPadShortcut", "BasicBlock", "Bottleneck", "PlainBasicBlock", "PlainBottleneck",
        "ResNet", "PlainNet",
    }
)  # fmt: skip


# Modules a generated NAME.py would hide once its folder is on Python's path (the runner puts
# it there): the standard library, and the packages the generated code and the runner
# import (torch's own dependencies among them). `math.py` beside `resnet50.py` breaks
# `import torch`.
MODULES = frozenset(sys.stdlib_module_names) | frozenset(
    {
        "torch", "torchvision", "numpy", "sympy", "mpmath", "networkx", "jinja2", "markupsafe",
        "filelock", "fsspec", "typing_extensions", "setuptools", "pkg_resources", "matplotlib",
        "sklearn", "scipy", "PIL", "click", "lark", "rich", "resdsl", "triton",
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
    """Why ``name`` cannot name a network (a generated factory and file), or None if it can.

    >>> problem("typing"), problem("n" * 65)
    ('would hide the Python module typing (the file typing.py)', 'is longer than 64 characters')
    """
    found = identifier_problem(name)
    if found is None and name in taken:
        return "would shadow a name the generated code uses"
    if found is None and name in MODULES:
        return f"would hide the Python module {name} (the file {name}.py)"
    if found is None and len(name) > MAX_NAME_LENGTH:  # type: ignore[arg-type]
        return f"is longer than {MAX_NAME_LENGTH} characters"
    return found
