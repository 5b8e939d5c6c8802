"""Sources: a factory named ``package.module:factory`` or ``path/to/file.py:factory``, built
cheaply, and a ``state_dict`` file checked against what it builds.

    >>> split("torchvision.models:resnet50"), split("generated/resnet20.py:resnet20")
    (('torchvision.models', 'resnet50', False), ('generated/resnet20.py', 'resnet20', True))

A factory is called on the meta device (``with torch.device("meta")``): every parameter is a
shape without storage, so ResNet-1202 or ResNeXt-101 costs no weight memory and no
initialisation time; tracing needs nothing more. A factory that cannot build on the meta
device is called again on the CPU.

A state dict is checked strictly against a module of the hint's factory (num_classes taken
from the last fc's weight where it differs), then loaded into it with ``assign=True``, so
its tensors become the module's without a copy.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resdsl.diagnostics import ResdslError

if TYPE_CHECKING:
    from torch import nn


class ImportFailed(ResdslError):
    """A factory that cannot be found, imported or called; a missing or bad state dict."""


def split(source: str) -> tuple[str, str, bool]:
    """(module or file, factory, whether it names a file)."""
    where, sep, factory = source.rpartition(":")
    if not sep or not where or not factory.isidentifier():
        raise ImportFailed(f"{source}: expected package.module:factory or path/to/file.py:factory")
    return where, factory, where.endswith(".py") or "/" in where or "\\" in where


def keywords(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-k num_classes=10`` as ``{"num_classes": 10}`` (values as Python literals, or text).

    >>> keywords(("num_classes=10", "zero_init_residual=True", "norm=bn"))
    {'num_classes': 10, 'zero_init_residual': True, 'norm': 'bn'}
    """
    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ImportFailed(f"-k {pair}: expected NAME=VALUE, like num_classes=10")
        try:
            found[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            found[key] = value
    return found


def factory(source: str) -> Callable[..., Any]:
    """The callable ``source`` names, its module imported (or its file loaded)."""
    where, name, is_file = split(source)
    if is_file:
        path = Path(where)
        if not path.is_file():
            raise ImportFailed(f"{where}: no such file")
        module_name = "resdsl_import_" + re.sub(r"\W", "_", path.stem)
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportFailed(f"{where}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses and pickling look classes up there
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            sys.modules.pop(module_name, None)
            raise ImportFailed(f"{where}: {type(error).__name__}: {_line(error)}") from None
    else:
        try:
            module = importlib.import_module(where)
        except Exception as error:
            raise ImportFailed(
                f"cannot import {where}: {type(error).__name__}: {_line(error)}"
            ) from None
    found = getattr(module, name, None)
    if not callable(found):
        raise ImportFailed(f"{where} has no factory {name}")
    return found


def build(make: Callable[..., Any], source: str, kwargs: dict[str, Any]) -> nn.Module:
    """The module ``make(**kwargs)`` builds, on the meta device where it can."""
    import torch
    from torch import nn

    try:
        with torch.device("meta"):
            model = make(**kwargs)
    except Exception:
        try:
            model = make(**kwargs)
        except Exception as error:
            raise ImportFailed(f"{source}(): {type(error).__name__}: {_line(error)}") from None
    if not isinstance(model, nn.Module):
        raise ImportFailed(f"{source}() returned a {type(model).__name__}, not an nn.Module")
    return model


def with_state_dict(
    make: Callable[..., Any], hint: str, kwargs: dict[str, Any], file: str
) -> nn.Module:
    """The hint's module with the state dict of ``file`` loaded strictly."""
    import torch
    from torch import nn

    if not Path(file).is_file():
        raise ImportFailed(f"{file}: no such file")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ImportFailed(f"{file}: not a state dict torch can load: {_line(error)}") from None
    for key in ("state_dict", "model"):  # a training checkpoint's usual wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ImportFailed(f"{file}: not a state dict (a mapping of names to tensors)")
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k.removeprefix("module."): v for k, v in state.items()}
    model = build(make, hint, kwargs)
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if linears and "num_classes" not in kwargs:
        name, fc = linears[-1]
        weight = state.get(f"{name}.weight")
        if weight is not None and weight.dim() == 2 and weight.shape[0] != fc.out_features:
            model = build(make, hint, {**kwargs, "num_classes": int(weight.shape[0])})
    expected = model.state_dict()
    problem = next((f"missing key {k}" for k in expected if k not in state), None)
    problem = problem or next((f"unexpected key {k}" for k in state if k not in expected), None)
    problem = problem or next(
        (
            f"{k} has shape {list(state[k].shape)}, the model's {list(v.shape)}"
            for k, v in expected.items()
            if tuple(state[k].shape) != tuple(v.shape)
        ),
        None,
    )
    if problem:
        raise ImportFailed(f"{file} does not fit {hint}: {problem}")
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except Exception as error:
        raise ImportFailed(f"{file} does not load into {hint}: {_line(error)}") from None
    return model


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
