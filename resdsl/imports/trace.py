"""Tracing: a PyTorch model to a flat tuple of :class:`Record` values, one per operation.

    >>> from resdsl import ops
    >>> record = Record(1, ops.ReLU(), "layer1.0.relu", "ReLU", (0,), "layer1.0")
    >>> record.where()
    'layer1.0.relu (ReLU)'

``torch.fx.symbolic_trace`` runs the model's ``forward`` on proxies, recording each call of
a leaf module of ``torch.nn``, of a function or of a tensor method as a node. The graph is
then run once at the spec's input size (:mod:`resdsl.imports.run`, on the meta device: no
arithmetic, no weight memory), so that every size the forward computes (``out.size(2)``,
``x.shape[0]``) is a number and every tensor has its shape. Each node that makes a tensor
the output depends on becomes a record holding the :mod:`resdsl.ops` op it is
(:mod:`resdsl.imports.modules`, :mod:`resdsl.imports.functions`), so that matching compares
ops with ops. The record keeps the module path (``layer2.0.conv1``, or for a function the
module whose ``forward`` called it), its shape, and the modules around it that are not
``torch.nn``'s (``scopes``: the user's blocks, stages, wrappers), from which matching finds
the blocks.

NOTE: what a record may be. Only what the language can write becomes an op; reshapes pass
their input on (``op`` None); anything else is refused here, at its module path, in the
language's terms (what it is, and what the language would need), before any matching is
tried. So is what the dataflow of the fx graph would misstate: a module applied twice (its
weights shared, which the language cannot say), and a layer that overwrites its input in
place while another still reads that input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from resdsl import ops
from resdsl.diagnostics import ResdslError
from resdsl.imports.functions import SIGNATURES, Read, canonical, read, subsample
from resdsl.imports.modules import (
    Unreadable,
    module_op,
    norm_act,
    norm_act_ops,
    own_norm,
    std_conv,
)

if TYPE_CHECKING:
    from torch import fx, nn


class CannotExpress(ResdslError):
    """A model the language cannot write: ``cannot express PATH (Type): reason``."""

    def __init__(self, path: str, type_name: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot express {path or '<model>'} ({type_name}): {reason}")


def refuse(record: Record, reason: str) -> CannotExpress:
    """The refusal at ``record``: its module path and type."""
    return CannotExpress(record.path, record.type_name, reason)


@dataclass(frozen=True)
class Record:
    """One operation of the traced model."""

    index: int
    op: ops.Op | None  # None: passes its input on (a reshape, nn.Identity)
    path: str  # module path: layer2.0.conv1 (a function: the module that called it)
    type_name: str  # Conv2d, BasicBlock, ...
    inputs: tuple[int, ...]  # indices of the records it reads
    owner: str = ""  # the block module it sits in ("" for the stem and head): matching's
    stride: int = 0  # > 0: option A's subsampling x[:, :, ::s, ::s] (op None)
    shape: tuple[int, ...] = ()  # its output's shape without the batch axis
    scopes: tuple[str, ...] = ()  # the modules around it not of torch.nn, outermost first
    classes: tuple[str, ...] = ()  # their classes, as module.QualName
    bias: bool = True  # a Linear's
    standardised: bool = False  # a conv's weight standardised first (timm's StdConv2d)

    def true_op(self) -> ops.Op | None:
        """The op the record computes: its weight-standardised convolution where it is one
        (``op`` holds the plain convolution, which matching reads as any other)."""
        if self.standardised and isinstance(self.op, ops.Conv):
            op = self.op
            return ops.StdConv(op.in_channels, op.out_channels, op.kernel, op.stride,
                               op.padding, op.groups, op.bias)  # fmt: skip
        return self.op

    def where(self) -> str:
        return f"{self.path or '<model>'} ({self.type_name})"


@dataclass(frozen=True)
class Traced:
    """The records of a model and the input size they were read at."""

    records: tuple[Record, ...]
    input: tuple[int, int, int]


def trace(model: nn.Module, size: tuple[int, int, int] | None = None) -> Traced:
    """The model's operations in execution order (the placeholder first, as an
    ``ops.Input``), read at input ``size``; without one, at 3x32x32 where the first
    convolution keeps the size and 3x224x224 where it strides (the other if that fails)."""
    from torch import fx

    from resdsl.imports.modules import torch_kind
    from resdsl.imports.run import propagate, sizes_to_try

    class Tracer(fx.Tracer):
        """torch.fx's, with a user's subclass of a torch.nn layer that keeps its forward
        (``class Conv(nn.Conv2d)`` setting defaults) a leaf too, and so is timm's norm-act
        layer (read as its norm and its ReLU, rather than traced into its own functions)."""

        def is_leaf_module(self, m: Any, qualified_name: str) -> bool:
            return (
                super().is_leaf_module(m, qualified_name)
                or torch_kind(m) is not None
                or norm_act(m) is not None
                or std_conv(m)
                or own_norm(m)
            )

    root = type(model).__name__
    try:
        module = fx.GraphModule(model, Tracer().trace(model), root)
    except Exception as error:  # fx raises whatever the model's forward raises on proxies
        raise CannotExpress("", root, f"torch.fx cannot trace it: {_line(error)}") from None
    graph = module.graph
    inputs = [node.target for node in graph.nodes if node.op == "placeholder"]
    if len(inputs) != 1:
        names = ", ".join(map(str, inputs[1:])) or "none"
        raise CannotExpress("", root, f"its forward takes other than one input ({names})")
    modules = dict(model.named_modules())
    candidates = sizes_to_try(graph, modules, size)
    failure = ""
    for candidate in candidates:
        values, failure = propagate(module, candidate)
        if values is not None:
            return Traced(_records(graph, modules, values, root), candidate)
    shown = "x".join(map(str, candidates[0]))
    hint = "" if size else " (give its size with --input CxHxW)"
    raise CannotExpress("", root, f"it does not run at input {shown}{hint}: {failure}")


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _records(graph: fx.Graph, modules: dict[str, Any], values: dict, root: str) -> tuple:
    """The records of the nodes the output depends on, in order; the output one tensor."""
    import torch
    from torch import fx

    def is_tensor(node: Any) -> bool:
        return isinstance(values.get(node), torch.Tensor)

    output = next(n for n in graph.nodes if n.op == "output")
    result = output.args[0]
    live = _live(output)
    _in_place(graph, modules, live, root)
    records: list[Record] = []
    index: dict[fx.Node, int] = {}
    weights: dict[int, str] = {}  # each parameter and buffer: the module that applied it
    for node in graph.nodes:
        if node in live:
            record = _record(node, modules, values, index, records, weights, root)
            if record is not None:
                records.append(record)
                record = _act(node, modules, values, record, root) or record
                index[node] = record.index
                if record is not records[-1]:
                    records.append(record)
    if not isinstance(result, fx.Node) or not is_tensor(result):
        what = type(values.get(result) if isinstance(result, fx.Node) else result).__name__
        what = what.removeprefix("immutable_")  # fx's frozen dict and list
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise CannotExpress("", root, f"its forward returns {article} {what}, not one tensor")
    return tuple(records)


def _record(node, modules, values, index, records, weights, root) -> Record | None:
    """The record of one node the output depends on (None: a size, read where it is used)."""
    import torch

    path, type_name = _where(node, modules, root)
    where = (path, type_name)
    value = values[node]
    if node.op == "placeholder":  # the one input (trace checked)
        return Record(0, ops.Input(0, 0, 0), path, type_name, (), shape=_shape(value))
    if not isinstance(value, torch.Tensor):
        if isinstance(value, tuple | list) and any(isinstance(v, torch.Tensor) for v in value):
            raise CannotExpress(*where, f"{_name(node)}() makes several tensors at once")
        return None
    if node.op == "get_attr":
        raise CannotExpress(
            *where,
            f"a layer of its own, whose forward computes with {node.target} itself (the "
            "language has no word for it)",
        )
    inputs = [a for a in node.all_input_nodes if isinstance(values.get(a), torch.Tensor)]
    if not inputs:
        raise CannotExpress(*where, f"{_name(node)}() makes a tensor of its own")
    if node.op == "call_module":
        _apply(modules[str(node.target)], where, weights)
    try:
        got = _read(node, modules, values, inputs)
    except Unreadable as error:
        raise CannotExpress(*where, str(error)) from None
    made = [index[a] for a in inputs]
    op = got.op
    if got.extra or (canonical(_name(node)) == "pad" and op is None):
        op, made = _zero_pad(records, made[0], got.extra)
    elif op is None:
        made = made[:1]  # a reshape's data: its first tensor (expand_as's other is a size)
    scopes = [(p, c) for p, c in _scopes(node) if node.op != "call_module" or p != node.target]
    return Record(
        len(records), op, path, type_name, tuple(made), "", got.stride, _shape(value),
        tuple(p for p, _ in scopes), tuple(c for _, c in scopes), _bias(node, modules),
        node.op == "call_module" and std_conv(modules[str(node.target)]),
    )  # fmt: skip


def _act(node: fx.Node, modules: dict[str, Any], values: dict, norm: Record, root: str):
    """The ReLU of a timm norm-act layer, a record of its own after the norm's (None: not
    such a layer, or its activation nn.Identity). It sits where its ``act`` module is."""
    if node.op != "call_module" or norm_act(modules[str(node.target)]) is None:
        return None
    module = modules[str(node.target)]
    try:
        _, op = norm_act_ops(module, norm.shape)
    except Unreadable as error:
        raise CannotExpress(*_where(node, modules, root), str(error)) from None
    if op is None:
        return None
    return replace(
        norm, index=norm.index + 1, op=op, path=f"{node.target}.act",
        type_name=type(module.act).__name__, inputs=(norm.index,), bias=True,
    )  # fmt: skip


def _zero_pad(records: list[Record], source: int, extra: int) -> tuple[ops.ZeroPad, list[int]]:
    """Option A's padding: of the subsampled input (or, at stride 1, of the input itself).
    It reads the subsampling record, which passes on the map it slices."""
    before = records[source]
    stride = before.stride if before.op is None and before.stride else 1
    channels = before.shape[0]
    return ops.ZeroPad(channels, channels + extra, (stride, stride)), [source]


def _live(output: fx.Node) -> set:
    """The nodes the output depends on."""
    live, pending = set(), list(output.all_input_nodes)
    while pending:
        node = pending.pop()
        if node not in live:
            live.add(node)
            pending.extend(node.all_input_nodes)
    return live


def _in_place(graph: fx.Graph, modules: dict[str, Any], live: set, root: str) -> None:
    """Refuse a layer that overwrites its input while a later layer still reads that input,
    and one whose overwriting nothing reads: fx's graph would show neither."""
    order = {node: i for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        if node in live and _name(node) in _RANDOM:
            path, type_name = _where(node, modules, root)
            raise CannotExpress(
                path,
                type_name,
                f"it draws random numbers in its forward ({_name(node)}(): stochastic depth, "
                "DropPath, DropBlock; the language writes `droppath` in block definitions the "
                "import does not write for it)",
            )
        if not _overwrites(node, modules) or not node.all_input_nodes:
            continue
        source = node.all_input_nodes[0]
        later = [u for u in source.users if u is not node and order[u] > order[node] and u in live]
        if later or (node not in live and source in live):
            path, type_name = _where(node, modules, root)
            reader = "{} ({})".format(*_where(later[0], modules, root)) if later else ""
            reason = (
                f"it overwrites its input in place, which {reader} reads after it"
                if later
                else "it overwrites its input in place and nothing reads its result"
            )
            raise CannotExpress(
                path, type_name, f"{reason} (torch.fx's dataflow would not show it)"
            )


_RANDOM = frozenset({"bernoulli", "bernoulli_", "rand", "rand_like", "randn", "randn_like",
                     "uniform_", "normal_", "randint", "dropout_"})  # fmt: skip


def _overwrites(node: fx.Node, modules: dict[str, Any]) -> bool:
    if node.op == "call_module":
        return bool(getattr(modules[str(node.target)], "inplace", False))
    name = _name(node)
    if node.op == "call_method":
        return name.endswith("_") and not name.startswith("_")
    return name in ("iadd", "imul", "relu_") or bool(node.kwargs.get("inplace"))


def _read(node: fx.Node, modules: dict[str, Any], values: dict, inputs: list) -> Read:
    shapes = [_shape(values[a]) for a in inputs]
    out = _shape(values[node])
    if node.op == "call_module":
        return Read(module_op(modules[str(node.target)], shapes[0]))
    name = _name(node)
    if name == "getitem":
        index = _resolve(node.args[1], values)
        if _new_axes(index):  # y[:, None]: a view with an axis of 1 more
            return read("unsqueeze", shapes, {}, out)
        stride = subsample(index)
        if stride is None:
            raise Unreadable("indexing a tensor other than option A's x[:, :, ::s, ::s]")
        return Read(None, stride=stride)
    canon = canonical(name)
    args = {"alpha": 1}
    positional = node.args[1:] if node.args else ()
    for key, arg in zip(SIGNATURES.get(canon, ()), positional, strict=False):
        args[key] = _resolve(arg, values)
    args.update({key: _resolve(arg, values) for key, arg in node.kwargs.items()})
    if canon == "dropout" and "training" not in args:
        args["training"] = True
    return read(name, shapes, args, out)


def _new_axes(index: Any) -> bool:
    """Whether an index only adds axes of 1 (``[:, None]``, ``[..., None, None]``)."""
    items = index if isinstance(index, tuple) else (index,)
    full = slice(None, None, None)
    return None in items and all(i is None or i is Ellipsis or i == full for i in items)


def _resolve(arg: Any, values: dict) -> Any:
    """An argument with every fx node replaced by the value it had."""
    from torch import fx

    if isinstance(arg, fx.Node):
        return values.get(arg)
    if isinstance(arg, tuple | list):
        return type(arg)(_resolve(a, values) for a in arg)
    if isinstance(arg, slice):
        return slice(*(_resolve(a, values) for a in (arg.start, arg.stop, arg.step)))
    return arg


def _name(node: fx.Node) -> str:
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    return tuple(int(d) for d in shape[1:]) if shape is not None else ()


def _apply(module: Any, where: tuple[str, str], weights: dict[int, str]) -> None:
    """Note the module's weights as applied; refuse weights applied a second time (a module
    called twice, or parameters two modules share)."""
    tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
    for tensor in tensors:
        first = weights.get(id(tensor))
        weights[id(tensor)] = where[0]
        if first is not None:
            what = "applied a second time" if first == where[0] else f"shares {first}'s weights"
            raise CannotExpress(
                *where,
                f"{what}: the language gives each layer weights of its own, so the spec would "
                "count them twice",
            )


def _bias(node: fx.Node, modules: dict[str, Any]) -> bool:
    if node.op != "call_module":
        return True
    return getattr(modules[str(node.target)], "bias", True) is not None


def _where(node: fx.Node, modules: dict[str, Any], root: str) -> tuple[str, str]:
    if node.op == "call_module":
        return str(node.target), type(modules[str(node.target)]).__name__
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", root
    path, cls = list(stack.values())[-1]
    return str(path), getattr(cls, "__name__", str(cls))


def _scopes(node: fx.Node) -> list[tuple[str, str]]:
    """The modules around the node that are not torch.nn's, outermost first."""
    found = []
    for path, cls in (node.meta.get("nn_module_stack") or {}).values():
        module = getattr(cls, "__module__", "") or ""
        if path and not module.startswith("torch.nn"):
            found.append((str(path), f"{module}.{getattr(cls, '__qualname__', cls)}"))
    return found
