"""The codegen pass: a shaped IR to the source of a PyTorch module, as a value.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/resnet18.res")
    >>> source = generate(net)
    >>> source == open("generated/resnet18.py").read()
    True

The output reads like torchvision's ``models/resnet.py``: ``conv3x3``/``conv1x1`` helpers, one
class for the block kind the network uses, one for the network with its stages as
``nn.Sequential`` attributes (``layer1`` ...), a factory named after the network and a ``META``
dict. Module paths come from the IR, which uses torchvision's names, so ``state_dict`` keys
match torchvision's ResNet and its weights load with ``strict=True``.

NOTE: the IR is rebuilt into a hierarchy, not dumped: the stem and head are emitted node by
node, and the stages as runs of identical blocks (``*(BasicBlock(64, 64) for _ in range(2))``).
So that the hierarchy cannot silently drift from the IR, :func:`check_blocks` compares every
block's nodes with what the emitted block class builds (both come from the block's recipe),
and an op without a PyTorch form fails loudly. Every identifier that reaches the source goes
through a :class:`Namespace`, and every literal is an int or a JSON-escaped string, so a spec
cannot inject code. torch is never imported here.
"""

from __future__ import annotations

import json
import keyword
import re
import textwrap
from pathlib import Path
from typing import Any

import jinja2

from resdsl import __version__
from resdsl.codegen.blocks import block_context, check_blocks, stage_entries
from resdsl.codegen.format import format_source
from resdsl.codegen.identifiers import Namespace, attribute, error_at, integer, literal_op
from resdsl.ir.costs import network_stats
from resdsl.ir.network import Network, Node

_SAFE_COMMENT = re.compile(r"[A-Za-z0-9_./ =*-]*")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("resdsl.codegen", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # the output is Python; safety comes from Namespace and literals
)


def shape_comment(shape: Any) -> str:
    dims = ", ".join(str(int(d)) for d in shape) if shape is not None else "?"
    return f"  # (N, {dims})"


def _module(node: Node) -> str:
    """The constructor of one stem or head node; an op without a PyTorch form fails loudly."""
    try:
        return literal_op(node.op, node.span).torch()
    except NotImplementedError:
        raise error_at(
            node.span, f"resdsl compile does not know the op {node.op.kind!r} at {node.path}"
        ) from None


def network_context(net: Network, block: dict[str, Any]) -> dict[str, Any]:
    """The network class: constructor lines, and the forward split as timm splits it:
    ``features`` (up to the map before the global pool), ``pool`` (the pool and the flatten,
    whose output ``forward_head(x, pre_logits=True)`` returns) and ``classifier`` (the fc)."""
    init: list[str] = []
    features: list[str] = []
    head: list[str] = []
    forward = features
    declared: set[str] = set()  # torchvision's one shared ReLU appears once per use in the IR
    last = {n.stage: n for n in net.nodes if n.section == "stage"}
    sequences = _sequences(net)
    final = len(net.nodes) - 1
    shape = "?"
    num_features = None
    classifier: list[str] = []
    fc = ""
    for index, node in enumerate(net.nodes):
        if node.section == "input":
            continue
        if node.op.pools_globally and forward is features:
            shape = shape_comment(net.nodes[node.inputs[0]].shape)
            forward = head
        if node.section == "stage":
            stage = net.stage(node.stage)  # type: ignore[arg-type]
            layer = attribute(stage.path, stage.span)
            if layer in declared:
                continue
            declared.add(layer)
            entries = stage_entries(net, stage.index, block)
            items = [line for e in entries for line in _item(e, _STAGE_ITEM_INDENT)]
            init += [f"self.{layer} = nn.Sequential(", *items, ")"]
            forward.append(f"x = self.{layer}(x)" + shape_comment(last[stage.index].shape))
            continue
        container, _, item = node.path.partition(".")
        if container in sequences and item:  # one item of an nn.Sequential (timm's deep stem)
            if container not in declared:
                declared.add(container)
                members = sequences[container]
                if _named_items(members):  # the legacy SENet's layer0: conv1, bn1, relu1 ...
                    init += [
                        f"self.{container} = nn.Sequential(",
                        "    OrderedDict(",
                        *(f"        {m.path.partition('.')[2]}={_module(m)}," for m in members),
                        "    )",
                        ")",
                    ]
                else:
                    init += [
                        f"self.{container} = nn.Sequential(",
                        *(f"    {_module(member)}," for member in members),
                        ")",
                    ]
                forward.append(f"x = self.{container}(x)" + shape_comment(members[-1].shape))
            continue
        name = attribute(node.path, node.span)
        if name not in declared:
            declared.add(name)
            init.append(f"self.{name} = {_module(node)}")
        if not node.op.flattens:
            forward.append(f"x = self.{name}(x)" + shape_comment(node.shape))
            continue
        if index != final or forward is features:
            raise error_at(
                node.span, "resdsl compile expects the fc to be the network's last op, after a pool"
            )
        # The pooled (C, 1, 1) map is flattened for the fc, as torchvision does.
        num_features = integer(net.nodes[node.inputs[0]].shape[0], node.span)  # type: ignore[index]
        forward.append(f"x = torch.flatten(x, 1)  # (N, {num_features})")
        classifier = [f"x = self.{name}(x)  # (N, num_classes)"]
        fc = name
    if num_features is None:
        raise error_at(net.name_span, "resdsl compile expects the network to end in an fc")
    return {
        "init": init,
        "features": features,
        "features_shape": shape,
        "pool": head,
        "classifier": classifier,
        "fc": fc,
        "num_features": num_features,
    }


# Where a stage's nn.Sequential items sit in the generated file (two levels in, four more).
_STAGE_ITEM_INDENT = 12
_LINE = 100  # ruff's line length, which the template's output keeps to


def _item(call: str, indent: int) -> list[str]:
    """One ``nn.Sequential`` item (relative to the body's indent, ``    `` in), split as ruff
    formats a call that does not fit: its arguments on a line of their own, or one a line.
    So the template writes what ruff would, whether or not ruff is at hand.

    >>> _item("Block(1, 2)", 12)
    ['    Block(1, 2),']
    >>> for line in _item("Block(1024, 512, stride=2, downsample=f(1024, 2048, stride=2))", 40):
    ...     print(line)
        Block(
            1024, 512, stride=2, downsample=f(1024, 2048, stride=2)
        ),
    """
    if indent + len(call) + 1 <= _LINE:
        return [f"    {call},"]
    name, _, rest = call.partition("(")
    arguments = rest[:-1]
    if indent + 4 + len(arguments) <= _LINE:
        return [f"    {name}(", f"        {arguments}", "    ),"]
    parts, depth, start = [], 0, 0
    for i, char in enumerate(arguments):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(arguments[start:i].strip())
            start = i + 1
    parts.append(arguments[start:].strip())
    return [f"    {name}(", *(f"        {part}," for part in parts), "    ),"]


def _named_items(members: list[Node]) -> bool:
    """Whether a Sequential's items are named (``layer0.conv1``: a block in a stem written as a
    block), not numbered (``conv1.0``)."""
    return not members[0].path.partition(".")[2].isdecimal()


def _sequences(net: Network) -> dict[str, list[Node]]:
    """The stem's and head's ``nn.Sequential`` containers: nodes with paths ``conv1.0``,
    ``conv1.1`` ... (timm's deep stem), by container, in order; or with names, ``layer0.conv1``,
    ``layer0.bn1`` ... (a block in a stem written as a block: the legacy SENet's ``layer0``),
    made an ``nn.Sequential`` of an ``OrderedDict``. Items must run 0, 1, 2, ... or be names
    each once, one after another, or the module would not be the IR's."""
    found: dict[str, list[Node]] = {}
    for node in net.nodes:
        container, _, item = node.path.partition(".")
        named = item.isidentifier() and not keyword.iskeyword(item)
        if node.section in ("stem", "head") and (item.isdecimal() or named):
            found.setdefault(attribute(container, node.span), []).append(node)  # others: refused
    for container, members in found.items():
        items = [member.path.partition(".")[2] for member in members]
        first = net.nodes.index(members[0])
        contiguous = members == list(net.nodes[first : first + len(members)])
        if _named_items(members):
            numbered = all(item.isidentifier() for item in items) and len(set(items)) == len(items)
        else:
            numbered = items == [str(i) for i in range(len(members))]
        if not numbered or not contiguous:
            raise error_at(
                members[0].span,
                f"resdsl compile cannot emit {container} as an nn.Sequential of {items}",
            )
    return found


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


def _doc_line(text: str, after: int) -> str:
    """A docstring's first paragraph at an indent of 4, its opening quotes before it and
    ``after`` characters after it: one line where it fits in 100, else wrapped (a long network
    name in specs/zoo/)."""
    if 4 + 3 + len(text) + after <= 100:
        return text
    return "\n    ".join(textwrap.wrap(text, 100 - 4 - 3 - 3))


def _header(name: str, spec: str, command: str) -> str:
    """The module's first comment: where it comes from and how to make it again, in two lines
    of at most 100 characters where they fit (a long network name in specs/zoo/ moves "Do not
    edit" to the second line)."""
    first = f"# Generated by resdsl {__version__} from {spec}, network {name}."
    second = f"change the spec and run `{command}` again."
    if len(first) + len(" Do not edit:") <= 100:
        return f"{first} Do not edit:\n# {second}"
    return f"{first}\n# Do not edit: {second}"


def render(network: Network, *, command: str | None = None) -> str:
    """The module source straight from the template (already formatted in practice)."""
    span = network.name_span
    name = Namespace().claim(network.name, span, "network name")
    check_blocks(network)
    block = block_context(network)
    net_cls = "ResNet" if block["residual"] else "PlainNet"
    net = network_context(network, block)
    classes = integer(network.classes, span)
    net["cls"] = net_cls
    # The spec's defaults live in the class's signature; the factory passes keywords on, as
    # torchvision's `resnet50(**kwargs)` does.
    net["params"] = f"num_classes: int = {classes}"
    kwargs = f"`num_classes` ({classes})"
    if block["residual"]:
        zero_init = "True" if network.block.zero_init is True else "False"
        net["params"] += f", zero_init_residual: bool = {zero_init}"
        kwargs += f", `zero_init_residual` ({zero_init})"
    spec = _display_path(network.file)
    stats = network_stats(network)
    counts = [stage.blocks for stage in network.stages]
    sha = network.spec_sha256
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise error_at(span, f"spec_sha256 is not a sha256 hex digest: {sha!r}")
    kind = "plain network" if not block["residual"] else f"shortcut {network.shortcut}"
    shape = "x".join(map(str, network.input))
    # Said where the stride is torchvision's rather than the paper's (the v1 files stay as
    # they were): whose pretrained weights compute the same here depends on it.
    stride_on = "3x3" if _strides_on_3x3(network) else None
    notes = [] if stride_on is None else _V1_5_NOTE
    net["doc"] = _doc_line(f"{name}: {block['cls']} x {counts}, {kind}, input {shape}.", 3)
    exports = sorted(["META", block["cls"], net_cls], key=lambda n: (not n.isupper(), n))
    return _env.get_template("module.py.jinja").render(
        version=__version__,
        name=name,
        title=f"{name}: generated by resdsl from {_comment(spec)}.",
        summary="\n".join(
            textwrap.wrap(
                f"{block['cls']} blocks {counts}, {kind}; build it with `{name}(num_classes=...)`.",
                96,
            )
        ),
        notes=notes,
        stride_on=stride_on,
        header=_header(name, _comment(spec), _comment(command or f"resdsl compile {spec}")),
        spec_literal=json.dumps(spec),
        input=[integer(d, span) for d in network.input],
        classes=classes,
        params=int(stats.params),
        flops=int(stats.flops),
        sha256=sha,
        block=block,
        net=net,
        # what the module's own lines and its helpers call: torch.flatten, F.pad ...
        uses_torch=any(node.op.flattens for node in network.nodes)
        or any("torch." in source for source in block["helper_sources"]),
        uses_functional=any("F." in source for source in block["helper_sources"]),
        uses_ordered_dict=any("OrderedDict(" in line for line in net["init"]),
        exports=[*exports, name],
        factory_doc=_doc_line(
            f"The {name} network of {_comment(spec)}, with a fresh initialisation.", 0
        ),
        factory_kwargs=f"Keywords go to `{net_cls}`: {kwargs}.",
    )


_V1_5_NOTE = [
    "",
    'Each bottleneck strides on its 3x3 ("v1.5": torchvision\'s ResNets and their pretrained',
    "weights, timm's too), not on its first 1x1 as He et al. 2015 do.",
]


def _strides_on_3x3(net: Network) -> bool:
    """Whether the network's blocks take the stride on a 3x3 where the paper has a 1x1."""
    return net.block.value("stride_on") == (3, 3)


def generate(net: Network, *, command: str | None = None) -> str:
    """The source of the generated module for one network: pure and deterministic.

    ``command`` is the command the header says produced the file (default
    ``resdsl compile SPEC``). Formatted with ruff when it is installed; the template's own
    output otherwise, which is the same text in practice (a test checks it).
    """
    return format_source(render(net, command=command))
