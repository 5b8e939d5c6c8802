"""The codegen pass: generated/ is current, and every generated module builds what the IR says.

Torch-free checks first (up to date, formatted, deterministic, names refused); then, for every
spec, the module's parameter count and FLOPs against the compiler's own counts, module
structure against the IR, and state_dict keys/shapes against torchvision's (as golden data,
tests/golden/torchvision_state_dict.json, written from tests/fixtures/torchvision_resnet.py).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import operator
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from resdsl import __version__
from resdsl.codegen import CodegenError, compile_specs, generate, render
from resdsl.codegen.format import ruff_binary
from resdsl.ir.costs import network_stats
from resdsl.ir.network import with_nodes
from resdsl.ops import BatchNorm, Op
from resdsl.pipeline import check_or_raise

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = sorted((ROOT / "specs").glob("*.res"))
GENERATED = ROOT / "generated"
MODULES = sorted(path.stem for path in GENERATED.glob("*.py"))
# Forward passes of these at the spec's input cost seconds on 2 cores: run them in the slow set.
BIG = {"resnet101", "resnet152", "resnet1202", "resnet101_v1_5", "resnet152_v1_5",
       "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
       "preact_resnet1001", "wrn28_10"}  # fmt: skip
TORCHVISION = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


@pytest.fixture
def at_root(monkeypatch) -> Path:
    monkeypatch.chdir(ROOT)  # generated files name their spec relative to the checkout
    return ROOT


@cache
def graphs() -> dict[str, object]:
    found = {}
    for spec in SPECS:
        for graph in check_or_raise(spec.relative_to(ROOT)):
            found[graph.name] = graph
    return found


# --- without torch ------------------------------------------------------------------------


def test_generated_folder_is_up_to_date(at_root):
    outputs = compile_specs([spec.relative_to(ROOT) for spec in SPECS], "generated")
    assert sorted(o.network for o in outputs) == MODULES, "generated/ has extra or missing files"
    stale = [str(o.path) for o in outputs if o.stale()]
    assert not stale, f"out of date, run `resdsl compile specs/*.res`: {stale}"


@pytest.mark.skipif(ruff_binary() is None, reason="ruff is not installed")
def test_template_output_is_already_formatted(at_root):
    """Without ruff, compile writes the template's text: it must be the same file."""
    for name, graph in graphs().items():
        assert render(graph) == generate(graph), name


def test_without_ruff_compile_still_works(at_root, monkeypatch):
    import resdsl.codegen.format

    monkeypatch.setattr(resdsl.codegen.format, "ruff_binary", lambda: None)
    (output,) = compile_specs(["specs/resnet18.res"], "generated")
    assert not output.stale()  # the template's own text is the committed file


def test_generation_is_pure_and_deterministic(at_root):
    graph = graphs()["resnet20"]
    first = generate(graph)
    assert generate(graph) == first
    assert generate(graph, command="make demo").count("make demo") == 1
    assert "2026" not in first and "date" not in first.lower()


@pytest.mark.parametrize(
    "name",
    [
        "conv3x3",  # names the generated module defines itself
        "ResNet",
        "projection",
        "nn",
        "class",  # keyword, soft keyword
        "match",
        "print",  # builtin
        "__init__",  # dunder, private
        "_x",
        "résnet",  # non-ASCII
        "x'; import os; '",  # quotes, code
        "a\nimport os",  # newline
        "import os",
        "",
        None,
    ],
)
def test_unsafe_network_names_are_refused_at_the_spec(at_root, name):
    """Even a name the front end let through cannot reach the source: located error."""
    graph = graphs()["resnet20"]
    graph = replace(graph, spec=replace(graph.spec, name=name))
    with pytest.raises(CodegenError) as caught:
        generate(graph)
    assert caught.value.render().startswith(f"{graph.name_span}: error: network name")


class Dropout(Op):
    """An op with no PyTorch form in the code generator."""

    kind = "dropout"


def _with_node(graph, index: int, **changes):
    nodes = list(graph.nodes)
    nodes[index] = replace(nodes[index], **changes)
    return with_nodes(graph, nodes)


def test_unsafe_module_paths_and_unknown_ops_are_refused(at_root):
    graph = _with_node(graphs()["resnet20"], 1, path="conv1.__class__")
    with pytest.raises(CodegenError, match="module name"):
        generate(graph)
    graph = _with_node(graphs()["resnet20"], 1, op=Dropout())
    with pytest.raises(CodegenError, match="does not know the op 'dropout'"):
        generate(graph)
    # a block the emitted class would not build
    graph = _with_node(graphs()["resnet20"], 5, op=BatchNorm(17))
    with pytest.raises(CodegenError, match=r"cannot emit block layer1\.0"):
        generate(graph)


def test_a_deep_stem_is_one_sequential_whose_items_must_run_in_order(at_root):
    (graph, *_) = check_or_raise("specs/resnet_d.res", "resnet18d")
    source = generate(graph)
    assert (
        "self.conv1 = nn.Sequential(\n" in source and "x = self.conv1(x)  # (N, 64, 112" in source
    )
    index = next(i for i, n in enumerate(graph.nodes) if n.path == "conv1.3")
    with pytest.raises(CodegenError, match=r"cannot emit conv1 as an nn.Sequential"):
        generate(_with_node(graph, index, path="conv1.9"))


def test_comments_and_strings_cannot_break_out(at_root, tmp_path, monkeypatch):
    """A spec path with quotes and a newline is JSON-escaped in comments and META."""
    odd = tmp_path / 'we"ird\nname.res'
    odd.write_text((ROOT / "specs/cifar.res").read_text())
    monkeypatch.chdir(tmp_path)
    (graph, *_) = check_or_raise(odd.name, "resnet20")
    source = generate(graph)
    ast.parse(source)
    assert '"we\\"ird\\nname.res"' in source
    assert all(line.startswith("#") for line in source.splitlines()[:2])


def test_a_long_name_in_a_long_path_keeps_to_the_line_length(at_root, tmp_path, monkeypatch):
    """The header comment and the factory's docstring name the spec and the network; with
    timm's longest names (seresnextaa201d_32x8d in specs/zoo/timm_resnetaa.res) they passed
    ruff's 100 columns. They wrap then, and only then (generated/ is unchanged)."""
    folder = tmp_path / "specs" / "zoo"
    folder.mkdir(parents=True)
    (folder / "timm_resnetaa.res").write_text(
        (ROOT / "specs/cifar.res").read_text().replace("resnet20 ", "seresnextaa201d_32x8d ")
    )
    monkeypatch.chdir(tmp_path)
    (graph, *_) = check_or_raise("specs/zoo/timm_resnetaa.res", "seresnextaa201d_32x8d")
    source = generate(graph)
    assert max(len(line) for line in source.splitlines()) <= 100
    assert source.startswith(
        f"# Generated by resdsl {__version__} from specs/zoo/timm_resnetaa.res, network"
        " seresnextaa201d_32x8d. Do not\n# edit: change the spec and run"
    )
    assert (
        '"""The seresnextaa201d_32x8d network of specs/zoo/timm_resnetaa.res, with a fresh\n'
        "    initialisation.\n"
    ) in source


# --- with torch ---------------------------------------------------------------------------

torch = pytest.importorskip("torch")
torch.set_num_threads(2)


@cache
def load(name: str):
    spec = importlib.util.spec_from_file_location(f"_generated_{name}", GENERATED / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str):
    module = load(name)
    torch.manual_seed(0)
    return getattr(module, module.META["factory"])(num_classes=module.META["classes"])


def count(net) -> int:
    return sum(p.numel() for p in net.parameters())


def forward_counting(net, batch):
    """The eval-mode output for ``batch`` and torch.utils.flop_counter's FLOPs per sample."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = net.eval()(batch)
    return out, counter.get_total_flops() // len(batch)


@pytest.mark.parametrize("name", MODULES)
def test_module_builds_counts_and_matches_the_ir(name):
    module, graph = load(name), graphs()[name]
    meta = module.META
    # `stride_on` only where the bottleneck strides on its 3x3 (torchvision's "v1.5")
    assert set(meta) - {"stride_on"} == {
        "spec", "network", "factory", "input", "classes", "params", "flops", "spec_sha256",
        "compiler",
    }  # fmt: skip
    v1_5 = graph.block.value("stride_on") == (3, 3)
    assert meta.get("stride_on") == ("3x3" if v1_5 else None)
    net = build(name)
    assert count(net) == meta["params"]
    for node in graph.nodes:  # every IR module exists, with the IR's sizes
        op = node.op
        if op.kind == "conv":
            conv = net.get_submodule(node.path)
            assert (conv.in_channels, conv.out_channels) == (op.in_channels, op.out_channels)
            assert (conv.kernel_size, conv.stride, conv.padding, conv.groups) == (
                op.kernel,
                op.stride,
                op.padding,
                op.groups,
            )
        elif op.kind == "bn":
            assert net.get_submodule(node.path).num_features == op.channels
        elif op.kind == "fc":
            assert net.get_submodule("fc").in_features == op.in_features
    if name in BIG:  # the forward pass at a small input: the slow set does the full one
        side = 64 if meta["input"][1] > 64 else meta["input"][1]
        if name in ("resnet1202", "preact_resnet1001"):
            return
        out = net.eval()(torch.randn(2, meta["input"][0], side, side))
    else:
        out, flops = forward_counting(net, torch.randn(2, *meta["input"]))
        assert flops == 2 * meta["flops"]
    assert out.shape == (2, meta["classes"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BIG))
def test_big_networks_flops_at_the_spec_input(name):
    """On the meta device: flop_counter reads shapes only, so no weights are allocated."""
    module = load(name)
    meta = module.META
    with torch.device("meta"):
        net = getattr(module, meta["factory"])(num_classes=meta["classes"])
        _, flops = forward_counting(net, torch.zeros(1, *meta["input"]))
    assert flops == 2 * meta["flops"]


@pytest.mark.parametrize("name", TORCHVISION)
def test_state_dict_equals_torchvision(name):
    golden = json.loads((ROOT / "tests/golden/torchvision_state_dict.json").read_text())[name]
    ours = {key: list(value.shape) for key, value in build(name).state_dict().items()}
    assert list(ours) == list(golden)
    assert ours == golden


@pytest.mark.parametrize(("name", "reference"), [("resnet18", "resnet18"),
                                                ("resnet50_v1_5", "resnet50")])  # fmt: skip
def test_torchvision_weights_load_strictly_and_compute_the_same(name, reference):
    from tests.fixtures.torchvision_resnet import reference as make_reference

    torch.manual_seed(1)
    theirs = make_reference(reference).eval()
    ours = build(name).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_option_a_adds_no_parameters():
    assert count(build("resnet34_a")) == count(build("plain34"))
    net = build("resnet34_a")
    pads = [m for m in net.modules() if type(m).__name__ == "ZeroPadShortcut"]
    assert len(pads) == 3 and all(not list(m.parameters()) for m in pads)
    x = torch.randn(1, 4, 6, 6)
    y = pads[0](x)  # subsampled, the zeros after the input's channels
    torch.testing.assert_close(y[:, :4], x[:, :, ::2, ::2])
    assert y.shape[1] == pads[0].extra + 4 and not y[:, 4:].any()


def test_option_c_projects_in_every_block():
    blocks = [m for m in build("resnet34_c").modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 16
    for block in blocks:
        conv, bn = block.downsample
        assert conv.kernel_size == (1, 1) and isinstance(bn, torch.nn.BatchNorm2d)


@pytest.mark.parametrize("name", ["plain18", "plain20"])
def test_plain_blocks_have_no_addition(name):
    module = load(name)
    tree = ast.parse(inspect.getsource(module))
    adds = [n for n in ast.walk(tree) if isinstance(n, ast.AugAssign | ast.BinOp)]
    assert all(not isinstance(n.op, ast.Add) for n in adds)
    additions = (operator.add, operator.iadd, torch.add)
    traced = torch.fx.symbolic_trace(build(name))
    assert not [n for n in traced.graph.nodes if n.target in additions]
    residual = torch.fx.symbolic_trace(build("resnet18"))  # the same check sees resnet's 8
    assert sum(n.target in additions for n in residual.graph.nodes) == 8


def test_initialisation_is_msra_and_zero_init_is_the_specs(tmp_path, monkeypatch):
    net = build("resnet50")
    conv = net.layer3[1].conv2  # fan_out = 256 * 3 * 3
    assert abs(conv.weight.std().item() - (2 / (256 * 9)) ** 0.5) < 0.002
    assert all(bool((m.weight == 1).all()) and not m.bias.any()
               for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))  # fmt: skip
    spec = (ROOT / "specs/cifar.res").read_text().replace("block basic", "block basic, zero init")
    (tmp_path / "z.res").write_text(spec)
    monkeypatch.chdir(tmp_path)
    (outputs, *_) = compile_specs(["z.res"], tmp_path / "out", "resnet20")
    outputs.write()
    namespace: dict = {}
    exec(compile(outputs.source, "resnet20.py", "exec"), namespace)
    zeroed = namespace["resnet20"]()
    assert all(not block.bn2.weight.any() for stage in (zeroed.layer1, zeroed.layer3)
               for block in stage)  # fmt: skip
    assert bool((build("resnet20").layer1[0].bn2.weight == 1).all())


@pytest.mark.slow
def test_torch_compile_runs_on_the_cpu():
    net = build("resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(net)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-4, atol=1e-4)


def test_a_stem_average_pool_compiles_and_builds_what_it_counts(tmp_path):
    """A stem's `avgpool 2x2, stride 2` checked and counted but did not compile (its ceil_mode
    flag was refused as a literal), and took the head's module name `avgpool`."""
    spec = tmp_path / "pool.res"
    spec.write_text(
        "network pooled { input 3x32x32 classes 10 stem { conv 3x3, 16 avgpool 2x2, stride 2 }"
        " stage 1 x 16 head { avgpool fc } }\n"
    )
    (net,) = check_or_raise(spec)
    source = generate(net)
    assert "self.pool = nn.AvgPool2d(kernel_size=2, stride=2, padding=1)" in source
    assert "self.avgpool = nn.AdaptiveAvgPool2d((1, 1))" in source
    import resdsl

    model = resdsl.build(spec)
    assert count(model) == network_stats(net).params
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
