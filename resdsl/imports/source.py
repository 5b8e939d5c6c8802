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
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
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


@contextmanager
def user_code(what: str, argv0: str = "") -> Iterator[None]:
    """Run the user's code as ``python -m`` or ``python FILE`` would, apart from resdsl's own
    output: ``sys.argv`` holds only ``argv0`` (an argparse at import time sees no resdsl
    options), what it prints goes to stderr (stdout carries the spec), and ``sys.exit`` is
    one located error rather than resdsl's exit.

    >>> with user_code("a factory"):
    ...     print("chatter")  # to stderr: stdout carries the spec
    >>> with user_code("a factory"):
    ...     sys.exit(3)
    Traceback (most recent call last):
    ...
    resdsl.imports.source.ImportFailed: a factory called sys.exit(3) (exit status 3); ...
    """
    argv = sys.argv
    sys.argv = [argv0 or what]
    try:
        with redirect_stdout(sys.stderr):
            yield
    except SystemExit as stop:
        code = stop.code
        status = code if isinstance(code, int) else 1 if code is not None else 0
        shown = "" if code is None else repr(code) if not isinstance(code, int) else str(code)
        raise ImportFailed(
            f"{what} called sys.exit({shown}) (exit status {status}); resdsl reads models "
            "without running their command lines"
        ) from None
    finally:
        sys.argv = argv


@contextmanager
def _on_path(folder: str) -> Iterator[None]:
    """``folder`` first on ``sys.path`` while the user's module is imported, as ``python -m``
    puts the current directory and ``python FILE`` the file's."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]


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
            with _on_path(str(path.resolve().parent)), user_code(f"loading {where}", where):
                spec.loader.exec_module(module)
        except ImportFailed:
            sys.modules.pop(module_name, None)
            raise
        except Exception as error:
            sys.modules.pop(module_name, None)
            raise ImportFailed(f"{where}: {type(error).__name__}: {_line(error)}") from None
    else:
        try:
            with _on_path(os.getcwd()), user_code(f"importing {where}", where):
                module = importlib.import_module(where)
        except ImportFailed:
            raise
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

    with user_code(f"{source}()"):
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
    # Batch norm fills in a counter that files saved before PyTorch 0.4.1 lack, as
    # load_state_dict(strict=True) accepts (BatchNorm's _load_from_state_dict).
    norms = [
        (n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._NormBase)
    ]
    counters = {f"{n}.num_batches_tracked" for n, m in norms if m.track_running_stats}
    for key in counters - state.keys():
        if key in expected:
            state[key] = torch.tensor(0, dtype=torch.long)
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
