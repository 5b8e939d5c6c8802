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

import ast
import json
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
    whose output ``forward_head(x, pre_logits=True)`` returns) and ``classifier`` (the fc, or
    timm's 1x1 convolution and its flatten)."""
    init: list[str] = []
    features: list[str] = []
    head: list[str] = []
    forward = features
    declared: set[str] = set()  # torchvision's one shared ReLU appears once per use in the IR
    last = {n.stage: n for n in net.nodes if n.section == "stage"}
    sequences = _sequences(net)
    pooled = next(
        (i for i, n in enumerate(net.nodes) if n.section == "head" and n.op.pools_globally),
        len(net.nodes),
    )
    classifier_at = next((i for i, n in enumerate(net.nodes) if i > pooled and n.op.params()), None)
    # Whether each nn.Sequential runs whole before the head's pool, or item by item around it.
    whole = {container: at[-1] < pooled for container, at in sequences.items()}
    final = len(net.nodes) - 1
    shape = "?"
    num_features = None
    classifier: list[str] = []
    fc = ""
    fc_new = "nn.Linear"
    pre_logits = "x"
    for index, node in enumerate(net.nodes):
        if node.section == "input":
            continue
        # The head's global pool: a side branch's (SE's squeeze, in a stage) is the block's.
        if node.op.pools_globally and node.section == "head" and forward is features:
            shape = shape_comment(net.nodes[node.inputs[0]].shape)
            forward = head
        if index == classifier_at and not node.op.flattens:  # timm's 1x1 conv classifier
            num_features = integer(net.nodes[node.inputs[0]].shape[0], node.span)  # type: ignore[index]
            pre_logits = "x.flatten(1)"  # timm's ClassifierHead flattens the pooled features
            fc, fc_new, forward = node.path, "nn.Conv2d", classifier
        if node.section == "stage":
            _stage(net, node, block, init, forward, declared, last)
            continue
        container, _, item = node.path.partition(".")
        if container in sequences and item:  # an item of an nn.Sequential (timm's stem, head)
            members = [net.nodes[i] for i in sequences[container]]
            if container not in declared:
                declared.add(container)
                init += _sequential(container, members)
                if whole[container]:
                    forward.append(f"x = self.{container}(x)" + shape_comment(members[-1].shape))
            if not whole[container]:
                call = f"self.{container}[{item}]" if item.isdecimal() else f"self.{node.path}"
                forward.append(f"x = {call}(x)" + _comment_of(node))
            continue
        name = attribute(node.path, node.span)
        if name not in declared:
            declared.add(name)
            init.append(f"self.{name} = {_module(node)}")
        if not node.op.flattens:
            forward.append(f"x = self.{name}(x)" + _comment_of(node))
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
        "fc_new": fc_new,
        "pre_logits": pre_logits,
        "num_features": num_features,
    }


def _comment_of(node: Node) -> str:
    """A line's shape comment; in the head, from its classifier on, the classes."""
    if node.section != "head":
        return shape_comment(node.shape)
    if node.shape is not None and len(node.shape) == 1:
        return "  # (N, num_classes)"
    if node.op.params() and node.shape is not None and node.shape[1:] == (1, 1):
        return "  # (N, num_classes, 1, 1)"
    return shape_comment(node.shape)


def _stage(net: Network, node: Node, block, init, forward, declared, last) -> None:
    """A stage's constructor (once) and forward line: ``self.layer2 = nn.Sequential(...)``, or,
    where the network's ``modules`` says so, every stage in one container
    (``self.stages = nn.Sequential(Stage(...), ...)``, timm's ``stages.0.blocks.0``)."""
    stage = net.stage(node.stage)  # type: ignore[arg-type]
    parts = net.spec.stage_modules()
    if parts is None:
        layer = attribute(stage.path, stage.span)
        if layer in declared:
            return
        declared.add(layer)
        entries = stage_entries(net, stage.index, block)
        items = [line for e in entries for line in _item(e, _STAGE_ITEM_INDENT)]
        init += [f"self.{layer} = nn.Sequential(", *items, ")"]
        forward.append(f"x = self.{layer}(x)" + shape_comment(last[stage.index].shape))
        return
    container, inner = parts
    container = attribute(container, stage.span)
    if container in declared:
        return
    declared.add(container)
    wrapper = "Stage" if inner else "nn.Sequential"
    init.append(f"self.{container} = nn.Sequential(")
    for each in net.stages:
        entries = stage_entries(net, each.index, block)
        init.append(f"    {wrapper}(")
        init += [f"    {line}" for e in entries for line in _item(e, _STAGE_ITEM_INDENT + 4)]
        init.append("    ),")
    init.append(")")
    forward.append(f"x = self.{container}(x)" + shape_comment(last[net.stages[-1].index].shape))


def stage_class(inner: str) -> str:
    """The class of a stage whose blocks are an attribute of it (timm's ``ResNetStage``)."""
    return f'''class Stage(nn.Module):
    """One stage: its blocks, in order, under `{inner}` (timm's ResNetStage)."""

    def __init__(self, *blocks: nn.Module) -> None:
        super().__init__()
        self.{inner} = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.{inner}(x)'''


def _sequential(container: str, members: list[Node]) -> list[str]:
    """The constructor of a stem's or head's ``nn.Sequential``: numbered items, or named ones
    (``nn.Sequential(OrderedDict(conv=..., pool=...))``, timm's ``stem.conv``)."""
    items = [member.path.partition(".")[2] for member in members]
    if all(item.isdecimal() for item in items):
        return [
            f"self.{container} = nn.Sequential(",
            *(f"    {_module(member)}," for member in members),
            ")",
        ]
    return [
        f"self.{container} = nn.Sequential(",
        "    OrderedDict(",
        *(
            f"        {attribute(item, member.span)}={_module(member)},"
            for item, member in zip(items, members, strict=True)
        ),
        "    )",
        ")",
    ]


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
    >>> for line in _item("*(Block(1024, 512, downsample=f(1024, 2048)) for _ in range(2))", 40):
    ...     print(line)
        *(
            Block(1024, 512, downsample=f(1024, 2048))
            for _ in range(2)
        ),
    """
    if indent + len(call) + 1 <= _LINE:
        return [f"    {call},"]
    if call.startswith("*(") and call.endswith(")") and " for _ in " in call:
        # a run of one block, `*(Block(...) for _ in range(n))`: the call, then the loop
        inner, _, loop = call[2:-1].rpartition(" for _ in ")
        lines = _item(inner, indent + 4)
        lines[-1] = lines[-1].removesuffix(",")  # the generator's expression, not an item
        return ["    *(", *(f"    {line}" for line in lines), f"        for _ in {loop}", "    ),"]
    name, _, rest = call.partition("(")
    arguments = rest[:-1]
    if indent + 4 + len(arguments) <= _LINE:
        return [f"    {name}(", f"        {arguments}", "    ),"]
    parts = _arguments(arguments)
    return [f"    {name}(", *(f"        {part}," for part in parts), "    ),"]


def _arguments(text: str) -> list[str]:
    """A call's arguments, split at the commas outside brackets (the last one empty after a
    trailing comma).

    >>> _arguments("a, f(b, c), [d, e],")
    ['a', 'f(b, c)', '[d, e]', '']
    """
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:at].strip())
            start = at + 1
    parts.append(text[start:].strip())
    return parts


def _sequences(net: Network) -> dict[str, list[int]]:
    """The stem's and head's ``nn.Sequential`` containers: the indices of the nodes with paths
    ``conv1.0``, ``conv1.1`` ... (timm's deep stem) or ``stem.conv``, ``stem.pool`` (timm's
    ResNetV2), by container, in order. Numbered items must run 0, 1, 2, ..., named ones
    differ, one after another, or the module would not be the IR's."""
    found: dict[str, list[int]] = {}
    for index, node in enumerate(net.nodes):
        container, _, item = node.path.partition(".")
        if node.section in ("stem", "head") and item:  # others: attribute refuses
            found.setdefault(attribute(container, node.span), []).append(index)
    for container, indices in found.items():
        members = [net.nodes[i] for i in indices]
        items = [member.path.partition(".")[2] for member in members]
        contiguous = indices == list(range(indices[0], indices[0] + len(indices)))
        numbered = all(item.isdecimal() for item in items)
        ordered = (
            items == [str(i) for i in range(len(members))]
            if numbered
            else (len(set(items)) == len(items) and not any(item.isdecimal() for item in items))
        )
        if not ordered or not contiguous:
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
    parts = network.spec.stage_modules()
    if parts is not None and parts[1] is not None:
        block["helper_sources"] = [*block["helper_sources"], stage_class(parts[1])]
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
    net["doc"] = _fit(f"{name}: {block['cls']} x {counts}, {kind}, input {shape}.", 10)
    exports = sorted(["META", block["cls"], net_cls], key=lambda n: (not n.isupper(), n))
    header = [
        f"# Generated by resdsl {__version__} from {_comment(spec)}, network {name}. Do not edit:",
        f"# change the spec and run `{_comment(command or f'resdsl compile {spec}')}` again.",
    ]
    if any(len(line) > _LINE for line in header):  # a long name: wrapped as ruff would want
        text = " ".join(line[2:] for line in header)
        header = [f"# {line}" for line in textwrap.wrap(text, _LINE - 2, break_on_hyphens=False)]
    text = _env.get_template("module.py.jinja").render(
        header=header,
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
        uses_ordered_dict=any("OrderedDict(" in line for line in net["init"])
        or any("OrderedDict(" in line for f in block["functions"] for line in f["lines"]),
        exports=[*exports, name],
        factory_doc=_fit(
            f"The {name} network of {_comment(spec)}, with a fresh initialisation.", 7
        ),
        factory_kwargs=f"Keywords go to `{net_cls}`: {kwargs}.",
    )
    return tidy(text)


def tidy(source: str) -> str:
    """The template's text as ruff would leave it, so that a module is the same file with ruff
    or without: at most two blank lines in a row (a section the template leaves out leaves its
    blank lines), and a code line over 100 columns split as ruff splits a call (a layer with
    many keywords, BiT's StdConv2d). Docstrings and lines with strings or comments are left.

    >>> print(tidy("    x = f(" + ", ".join(f"argument{i}" for i in range(9)) + ")"))
        x = f(
            argument0,
            argument1,
            ...
    """
    lines: list[str] = []
    blank = 0
    in_string = False
    for line in source.split("\n"):
        blank = blank + 1 if not line.strip() else 0
        if blank > 2:
            continue
        if in_string or any(c in line for c in "\"'#"):
            in_string ^= line.count('"""') % 2 == 1
            lines.append(line)
            continue
        lines.extend(_split_call(line))
    return "\n".join(lines)


def _split_call(line: str) -> list[str]:
    """``line`` if it fits in 100 columns, else split at its last bracket pair as ruff (black's
    right-hand split) does: the opening line, the arguments on one line four deeper if they fit
    there, else one a line with a trailing comma (a lone argument split again in turn), and the
    closing bracket on a line of its own."""
    if len(line) <= _LINE:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    close = max(line.rfind(")"), line.rfind("]"))
    depth, opening = 0, -1
    for at in range(close, -1, -1):
        depth += {")": 1, "]": 1, "(": -1, "[": -1}.get(line[at], 0)
        if depth == 0:
            opening = at
            break
    body = line[opening + 1 : close].strip()
    if close < 0 or opening < 0 or not body:
        return [line]  # nothing ruff could split either
    items = _arguments(body)
    inner = indent + "    "
    head, tail = line[: opening + 1], indent + line[close:]
    if items[-1] and len(inner) + len(body) <= _LINE:
        return [head, inner + body, tail]
    if len(items) == 1:
        return [head, *_split_call(inner + body), tail]
    arguments = [item for item in items if item]
    return [head, *(part for item in arguments for part in _split_call(f"{inner}{item},")), tail]


def _fit(text: str, indent: int) -> str:
    """A docstring's first paragraph as one line when it fits after ``indent`` columns (the
    opening quotes included), else wrapped to lines indented by four.

    >>> _fit("a b c", 7)
    'a b c'
    >>> print(_fit("word " * 30, 7))  # doctest: +ELLIPSIS
    word word ... word
        word word ...
    """
    if indent + len(text) <= _LINE:
        return text
    return "\n    ".join(textwrap.wrap(text, _LINE - indent, break_on_hyphens=False))


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
    source = format_source(render(net, command=command))
    try:  # what is written must at least be Python: a template's slip is a bug, never a file
        ast.parse(source)
    except SyntaxError as error:
        raise RuntimeError(
            f"resdsl compile made invalid Python for {net.name} (line {error.lineno}: "
            f"{error.msg}); please report it with the spec"
        ) from None
    return source
