"""``resdsl import``: a PyTorch model back to a ``.res`` spec.

    >>> print(import_model("generated/resnet20.py:resnet20"))  # doctest: +ELLIPSIS
    # Imported by resdsl ... from generated/resnet20.py:resnet20 (`resdsl import`).
    network resnet20 {
        input 3x32x32
        classes 10
        stem {
            conv 3x3, 16
        }
        block basic
        shortcut A
        stage 3 x 16
        stage 3 x 32, stride 2
        stage 3 x 64, stride 2
        head {
            avgpool
            fc
        }
    }
    <BLANKLINE>

One module per stage, plain functions between them:

    source.py   "pkg.mod:factory", "file.py:factory", a state dict  ->  nn.Module (meta device)
    trace.py    nn.Module  ->  Records (torch.fx, run once at the input size by run.py: one
                op a record, read by modules.py and functions.py, with its module path)
    gates.py    Records    ->  channel gates (SE, ECA); the records matching reads
    blocks.py   Records    ->  Records with the block module each sits in
    match.py    Records    ->  Draft (stem, stages of blocks, head; layout.py, stem_head.py)
    unparse.py  Draft      ->  .res text (the gates' definitions by attention.py), checked
                by the front end into an IR
    verify.py   IR, Records -> nothing, or the first record the IR does not hold

The spec is checked by the front end and its IR compared with the traced model along the
dataflow before it is returned (:func:`resdsl.imports.verify.verify`), and compiled, so what
comes back builds exactly the network the model computes (weights aside), or a
:class:`~resdsl.imports.trace.CannotExpress` names the first layer it could not place.
Only this package (and :func:`resdsl.build`) imports torch, inside its functions.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import TYPE_CHECKING, Any

from resdsl.imports.source import ImportFailed
from resdsl.imports.trace import CannotExpress

if TYPE_CHECKING:
    from torch import nn

__all__ = ["CannotExpress", "ImportFailed", "import_model", "load"]


def load(
    source: str, kwargs: dict[str, Any] | None = None, state_dict: str | None = None
) -> nn.Module:
    """The module a factory source builds (with ``state_dict`` loaded, if given)."""
    from resdsl.imports import source as sources

    make = sources.factory(source)
    if state_dict is not None:
        return sources.with_state_dict(make, source, dict(kwargs or {}), state_dict)
    return sources.build(make, source, dict(kwargs or {}))


def import_model(
    model: nn.Module | str,
    name: str | None = None,
    input: tuple[int, int, int] | None = None,
    origin: str | None = None,
    kwargs: dict[str, Any] | None = None,
) -> str:
    """The ``.res`` text of ``model`` (an ``nn.Module``, or a factory source as
    ``resdsl import`` takes it). ``name`` defaults to the factory's (a module's: its
    ``META`` network, else its class), made a valid network name; ``input`` to ``META``'s,
    else 3x32x32 behind a stem that keeps the size and 3x224x224 otherwise."""
    from resdsl.api import check
    from resdsl.imports.blocks import owners
    from resdsl.imports.gates import find
    from resdsl.imports.match import Hints, match
    from resdsl.imports.source import user_code
    from resdsl.imports.trace import trace
    from resdsl.imports.unparse import unparse
    from resdsl.imports.verify import verify

    if isinstance(model, str):
        origin = origin or model
        name = name or model.rpartition(":")[2]
        model = load(model, kwargs)
    meta = _meta(model)
    name = network_name(name or meta.get("network") or type(model).__name__.lower())
    meta_input = meta.get("input")
    if input is None and isinstance(meta_input, list | tuple) and len(meta_input) == 3:
        input = tuple(int(v) for v in meta_input)  # type: ignore[assignment]
    with user_code(f"{type(model).__name__}.forward"):
        traced = trace(model, input)
    verified, matched, gates = find(traced.records)
    matched = owners(matched)
    modules = dict(model.named_modules())
    owner = next((r.owner for r in matched if r.owner), "")
    expansion = getattr(type(modules[owner]), "expansion", None) if owner in modules else None
    hints = Hints(
        expansion if isinstance(expansion, int) and expansion > 0 else None,
        _zero_init(model),
        traced.input,
    )
    origin = origin or f"a {type(model).__name__} module"
    text, refusal = None, None
    try:
        draft = match(matched, gates, name, hints)
        text = unparse(draft, origin)
        result = check(text)
        if not result.ok:
            first = result.diagnostics[0].message
            raise CannotExpress(
                "", type(model).__name__, f"the spec it reads as is refused: {first}"
            )
        (net,) = result.networks
        verify(verified, net)
        _compiles(net, type(model).__name__)
    except CannotExpress as error:
        text, refusal = None, error
    # The language's names are the model's (torchvision's, timm's ResNets), or the spec is
    # written again with the model's own (imports/names.py); where that cannot be, the spec
    # under the language's names, which computes the same, or the refusal.
    keys = _keys(model)
    if text is not None and _keys(text) == keys:
        return text
    named = _named(model, verified, matched, gates, hints, name, traced.input, origin, keys)
    if named is not None:
        return named
    if text is None:
        raise refusal  # type: ignore[misc]
    return text


def _keys(model: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The ``state_dict`` keys and shapes of a model, or of a spec's network built on the
    meta device (no weight memory)."""
    if isinstance(model, str):
        import torch

        from resdsl.api import build

        with torch.device("meta"):
            model = build(model)
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def _named(model, verified, matched, gates, hints, name, size, origin, keys) -> str | None:
    """The spec under the model's own module names (imports/names.py), if it is exact: it
    checks, verifies against the records, compiles, and has the model's keys in order."""
    from resdsl import __version__
    from resdsl.api import check
    from resdsl.diagnostics import printable
    from resdsl.formatting import format_text
    from resdsl.imports import layout, names
    from resdsl.imports.match import find_blocks
    from resdsl.imports.verify import verify

    try:
        blocks = find_blocks(matched, gates)
        spec, shortcut = layout.block_spec(blocks, hints)
    except CannotExpress:
        return None
    stages = layout.stages(blocks, spec.expansion, False)
    variants = ["shortcut here unless identity", "shortcut here"]
    if not blocks[0].kind.startswith("preact"):
        variants = variants[:1]  # not written in a post-activation block
    where = printable(origin).replace("\n", " ")
    for variant in variants:
        body = names.network(
            matched, blocks, stages, shortcut, name, size, spec,
            [k for k, _ in keys], variant,
        )  # fmt: skip
        if body is None:
            return None
        header = f"# Imported by resdsl {__version__} from {where} (`resdsl import`).\n\n"
        text = format_text(header + body, f"{name}.res")
        result = check(text)
        if not result.ok:
            continue
        (net,) = result.networks
        try:
            verify(verified, net)
            _compiles(net, type(model).__name__)
        except (CannotExpress, ImportFailed):
            continue
        if _keys(text) == keys:
            return text
    return None


def _compiles(net, model: str) -> None:
    """Refuse a spec that checks but that resdsl cannot compile (a gap of the compiler's,
    named as such, rather than a spec handed on that `resdsl compile` then refuses)."""
    from resdsl.codegen.generate import render
    from resdsl.diagnostics import ResdslError

    try:
        compile(render(net), f"<{net.name}>", "exec")
    except SyntaxError as error:
        raise ImportFailed(
            f"{model}: the spec it reads as checks, but resdsl compiles it to invalid Python "
            f"({error.msg}: {(error.text or '').strip()})"
        ) from None
    except ResdslError as error:
        message = str(error).strip().splitlines()[-1].partition(": error: ")[2] or str(error)
        raise ImportFailed(
            f"{model}: the spec it reads as checks, but resdsl cannot compile it: {message}"
        ) from None
    except Exception as error:  # a fault of the code generator's, not the model's
        raise ImportFailed(
            f"{model}: the spec it reads as checks, but resdsl's code generator fails on it "
            f"({type(error).__name__}: {error})"
        ) from None


def network_name(name: str) -> str:
    """``name`` made a valid network name (resdsl.lang.names): ``resnet50``, ``wide_resnet50_2``.

    >>> network_name("resnet-50"), network_name("50layers"), network_name("list")
    ('resnet_50', 'net_50layers', 'list_net')
    """
    from resdsl.lang.limits import MAX_NAME_LENGTH
    from resdsl.lang.names import problem

    text = re.sub(r"\W", "_", name, flags=re.ASCII).lstrip("_") or "net"
    if text[0].isdigit():
        text = f"net_{text}"
    text = text[: MAX_NAME_LENGTH - 4]
    return f"{text}_net" if problem(text) else text


def _meta(model: nn.Module) -> dict[str, Any]:
    """The ``META`` of the module that defines the model's class (resdsl's generated code)."""
    cls = type(model)
    module = sys.modules.get(cls.__module__)
    namespace = vars(module) if module else getattr(cls.forward, "__globals__", {})
    meta = namespace.get("META")
    return meta if isinstance(meta, dict) else {}


def _zero_init(model: nn.Module) -> bool:
    """The default of the network class's zero-init switch: resdsl's and torchvision's
    ``zero_init_residual``, timm's ``zero_init_last`` (True for its ResNet-D)."""
    try:
        parameters = inspect.signature(type(model).__init__).parameters
    except (TypeError, ValueError):
        return False
    for name in ("zero_init_residual", "zero_init_last"):
        if name in parameters and isinstance(parameters[name].default, bool):
            return parameters[name].default
    return False
