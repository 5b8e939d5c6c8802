"""The codegen pass: a shaped IR to the source of a PyTorch module, as a value.

    >>> (graph,) = check_or_raise("specs/resnet18.res")   # doctest: +SKIP
    >>> source = generate(graph)                          # doctest: +SKIP
    >>> write_module(source, "generated/resnet18.py")     # doctest: +SKIP
    True

The output reads like torchvision's ``models/resnet.py``: ``conv3x3``/``conv1x1`` helpers, one
class for the block kind the network uses, one for the network with its stages as
``nn.Sequential`` attributes (``layer1`` ...), a factory named after the network and a ``META``
dict. Module paths come from the IR, which uses torchvision's names, so ``state_dict`` keys
match torchvision's ResNet and its weights load with ``strict=True``.

NOTE: the IR is rebuilt into a hierarchy, not dumped: the stem and head are emitted node by
node, and the stages as runs of identical blocks (``*(BasicBlock(64, 64) for _ in range(2))``).
So that the hierarchy cannot silently drift from the IR, :func:`check_blocks` compares every
block's nodes with what the emitted block class builds, and any op outside the closed set
fails loudly. Every identifier that reaches the source goes through a :class:`Namespace`, and
every literal is an int or a JSON-escaped string, so a spec cannot inject code. torch is never
imported here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import networkx as nx

from resdsl import __version__
from resdsl.codegen_blocks import block_context, check_blocks, stage_entries
from resdsl.codegen_names import CodegenError, Namespace, attribute, error_at, integer, pair
from resdsl.formatting import format_source
from resdsl.stats import network_stats

STEM_OPS = frozenset({"conv", "bn", "relu", "maxpool", "avgpool"})
HEAD_OPS = frozenset({"avgpool", "fc"})
_SAFE_COMMENT = re.compile(r"[A-Za-z0-9_./ =*-]*")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("resdsl", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # the output is Python; safety comes from Namespace and literals
)


def shape_comment(shape: Any) -> str:
    dims = ", ".join(str(int(d)) for d in shape) if shape is not None else "?"
    return f"  # (N, {dims})"


def _layer(attrs: dict[str, Any], fc_out: str = "num_classes") -> str:
    """The constructor of one stem or head node; unknown ops fail loudly."""
    op, span = attrs["op"], attrs["span"]
    if op == "conv":
        c_in = integer(attrs["in_channels"], span)
        c_out = integer(attrs["out_channels"], span)
        return (
            f"nn.Conv2d({c_in}, {c_out}, kernel_size={pair(attrs['kernel'], span)}, "
            f"stride={pair(attrs['stride'], span)}, padding={pair(attrs['padding'], span)}, "
            "bias=False)"
        )
    if op == "bn":
        return f"nn.BatchNorm2d({integer(attrs['channels'], span)})"
    if op == "relu":
        return "nn.ReLU(inplace=True)"
    if op == "avgpool" and attrs.get("global"):
        return "nn.AdaptiveAvgPool2d((1, 1))"
    if op in ("maxpool", "avgpool"):
        cls = "nn.MaxPool2d" if op == "maxpool" else "nn.AvgPool2d"
        return (
            f"{cls}(kernel_size={pair(attrs['kernel'], span)}, "
            f"stride={pair(attrs['stride'], span)}, padding={pair(attrs['padding'], span)})"
        )
    if op == "fc":
        return f"nn.Linear({integer(attrs['in_features'], span)}, {fc_out})"
    raise error_at(span, f"resdsl compile does not know the op {op!r} at {attrs['path']}")


def network_context(graph: nx.DiGraph, block: dict[str, Any]) -> dict[str, Any]:
    """The network class: constructor and forward lines, from the stem, stages and head."""
    init: list[str] = []
    forward: list[str] = []
    declared: set[str] = set()  # torchvision's one shared ReLU appears once per use in the IR
    stages = {stage.index: stage for stage in graph.graph["stages"]}
    last = {a["stage"]: a for _, a in graph.nodes(data=True) if a["section"] == "stage"}
    final = max(graph.nodes)
    for node, attrs in graph.nodes(data=True):
        op, section, span = attrs["op"], attrs["section"], attrs["span"]
        if section == "input" and op == "input":
            continue
        if section == "stage":
            stage = stages[attrs["stage"]]
            layer = attribute(stage.path, stage.span)
            if layer in declared:
                continue
            declared.add(layer)
            entries = stage_entries(graph, stage.index, block)
            init += [f"self.{layer} = nn.Sequential(", *(f"    {e}," for e in entries), ")"]
            forward.append(f"x = self.{layer}(x)" + shape_comment(last[stage.index]["shape"]))
            continue
        allowed = STEM_OPS if section == "stem" else HEAD_OPS if section == "head" else ()
        if op not in allowed:
            raise error_at(span, f"resdsl compile does not know the op {op!r} in the {section}")
        name = attribute(attrs["path"], span)
        if name not in declared:
            declared.add(name)
            init.append(f"self.{name} = {_layer(attrs)}")
        if op != "fc":
            forward.append(f"x = self.{name}(x)" + shape_comment(attrs["shape"]))
            continue
        if node != final:
            raise error_at(span, "resdsl compile expects the fc to be the network's last op")
        # The pooled (C, 1, 1) map is flattened for the fc, as torchvision does.
        features = integer(attrs["in_features"], span)
        forward.append(f"x = torch.flatten(x, 1)  # (N, {features})")
        forward.append(f"x = self.{name}(x)  # (N, num_classes)")
    return {"init": init, "forward": forward}


def _display_path(file: str) -> str:
    """The spec's path as the header and META show it: relative to the working directory
    when it lies below it, so that output does not depend on where the checkout is."""
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def _comment(text: str) -> str:
    """Text safe inside a ``#`` comment: shown as is when plain, JSON-escaped otherwise."""
    return text if _SAFE_COMMENT.fullmatch(text) else json.dumps(text)


def render(graph: nx.DiGraph, *, command: str | None = None) -> str:
    """The module source straight from the template (already formatted in practice)."""
    info = graph.graph
    span = info["name_span"]
    namespace = Namespace()
    name = namespace.claim(info["name"], span, "network name")
    check_blocks(graph)
    block = block_context(graph)
    net_cls = "ResNet" if block["residual"] else "PlainNet"
    net = network_context(graph, block)
    classes = integer(info["classes"], span)
    net["cls"] = net_cls
    net["params"] = f"num_classes: int = {classes}"
    if block["residual"]:
        zero_init = "True" if info["block"].zero_init is True else "False"
        net["params"] += f", zero_init_residual: bool = {zero_init}"
    spec = _display_path(info["file"])
    stats = network_stats(graph)
    counts = [stage.blocks for stage in info["stages"]]
    sha = info["spec_sha256"]
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise error_at(span, f"spec_sha256 is not a sha256 hex digest: {sha!r}")
    kind = "plain network" if not block["residual"] else f"shortcut {info['shortcut']}"
    net["doc"] = (
        f"{name}: {block['cls']} x {counts}, {kind}, input {'x'.join(map(str, info['input']))}."
    )
    exports = sorted(["META", block["cls"], net_cls], key=lambda n: (not n.isupper(), n))
    return _env.get_template("module.py.jinja").render(
        version=__version__,
        name=name,
        title=f"{name}: generated by resdsl from {_comment(spec)}.",
        summary=(
            f"{block['cls']} blocks {counts}, {kind}; build it with `{name}(num_classes=...)`."
        ),
        spec_comment=_comment(spec),
        spec_literal=json.dumps(spec),
        command_comment=_comment(command or f"resdsl compile {spec}"),
        input=[integer(d, span) for d in info["input"]],
        classes=classes,
        params=int(stats.params),
        flops=int(stats.flops),
        sha256=sha,
        uses_conv1x1=block["kind"] == "bottleneck" or block["shortcut"] == "downsample",
        block=block,
        net=net,
        uses_flatten=any(a["op"] == "fc" for _, a in graph.nodes(data=True)),
        exports=[*exports, name],
        factory_doc=f"The {name} network of {_comment(spec)}, with a fresh initialisation.",
    )


def generate(graph: nx.DiGraph, *, command: str | None = None) -> str:
    """The source of the generated module for one network: pure and deterministic.

    ``command`` is the command the header says produced the file (default
    ``resdsl compile SPEC``). Formatted with ruff when it is installed; the template's own
    output otherwise, which is the same text in practice (a test checks it).
    """
    return format_source(render(graph, command=command))


def write_module(source: str, path: str | Path) -> bool:
    """Write ``source`` to ``path`` unless it already holds exactly that; True if written."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == source:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(source, encoding="utf-8")
    temporary.replace(path)  # atomic: a reader never sees half a module
    return True


__all__ = ["CodegenError", "Namespace", "generate", "render", "write_module"]
