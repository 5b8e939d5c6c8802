"""Generated modules fit the ecosystem: torchvision's ``**kwargs`` factories, timm's
``forward_features`` / ``forward_head`` / ``get_classifier`` / ``reset_classifier``, and
torchvision's fx feature extraction, with torchvision's node names.

torchvision and timm do not import here; the node names are golden data written beside the real
torchvision (``tests/fixtures/oracle_node_names.py``, which also runs the real
``create_feature_extractor`` and timm's ``resnet50d`` against the generated modules), and
``tests/fixtures/feature_extraction.py`` transcribes how torchvision names and picks nodes.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import json
from functools import cache

import pytest

import resdsl
from tests.conftest import GOLDEN, ROOT

torch = pytest.importorskip("torch")
fx = pytest.importorskip("torch.fx")
from tests.fixtures import feature_extraction  # noqa: E402 (needs torch)

MODULES = sorted(path.stem for path in (ROOT / "generated").glob("*.py"))
# Each block kind, shortcut option and stem the language has, small enough to run in a moment
# (torchvision's node naming is quadratic in the nodes), compiled as `generated/` is.
SMALL = """
network small(n) {
    input 3x32x32
    classes 10
    stem { conv 3x3, 16 }
    shortcut A
    stage n x 16
    stage n x 32, stride 2
    head { avgpool fc }
}
network basic_a = small(n=2)
network plain = small(n=2) with shortcut none
network basic_c = small(n=2) with shortcut C
network grouped_b = small(n=2) with block bottleneck, stride on 3x3, groups 4, width per group 8,
    shortcut B
network deep_d = small(n=2) with stem deep, block bottleneck, stride on 3x3, zero init, shortcut D
network preact_b = small(n=2) with block preact, dropout 0.3, shortcut B
network preact_bottleneck_b = small(n=2) with block preact_bottleneck, shortcut B
"""
KINDS = ["basic_a", "plain", "basic_c", "grouped_b", "deep_d", "preact_b", "preact_bottleneck_b"]


@cache
def load(name: str):
    path = ROOT / "generated" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_ecosystem_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str, **kwargs):
    torch.manual_seed(0)
    if name in KINDS:
        return resdsl.build(SMALL, name, **kwargs)
    module = load(name)
    return getattr(module, module.META["factory"])(**kwargs)


def small_input(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", MODULES)
def test_factories_pass_keywords_to_the_class_whose_signature_holds_the_spec_s_defaults(name):
    module = load(name)
    factory = getattr(module, module.META["factory"])
    (parameter,) = inspect.signature(factory).parameters.values()
    assert parameter.kind is inspect.Parameter.VAR_KEYWORD
    cls = inspect.signature(factory).return_annotation
    network_class = getattr(module, cls)
    defaults = {key: p.default for key, p in inspect.signature(network_class).parameters.items()}
    assert defaults["num_classes"] == module.META["classes"]
    spec_text = (ROOT / module.META["spec"]).read_text()
    assert ("zero_init_residual" in defaults) == (cls == "ResNet")
    if "zero init" not in spec_text:
        assert defaults.get("zero_init_residual", False) is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'widen'"):
        factory(widen=2)


def zeroed(net) -> list[bool]:
    """Whether each block's last BN starts at weight 0."""
    return [not block.bn2.weight.any() for layer in (net.layer1, net.layer2) for block in layer]


def test_keywords_reach_the_class():
    net = build("resnet20", num_classes=7, zero_init_residual=True)
    assert net.fc.out_features == 7 and net.num_classes == 7
    assert all(zeroed(net))
    assert not any(zeroed(build("resnet20")))  # the spec's default: off
    # resnet18d's spec says `zero init`: its class defaults to it, and a keyword turns it off
    assert all(zeroed(build("resnet18d")))
    assert not any(zeroed(build("resnet18d", zero_init_residual=False)))


@pytest.mark.parametrize("name", KINDS)
def test_forward_is_forward_head_of_forward_features(name):
    net = build(name).eval()
    x = small_input()
    with torch.no_grad():
        features = net.forward_features(x)
        pooled = net.forward_head(features, pre_logits=True)
        out = net(x)
        assert torch.equal(net.forward_head(features), out)
    # timm's contract: the map before global pooling, then the pooled (N, num_features)
    assert features.dim() == 4 and features.shape[1] == net.num_features
    assert torch.allclose(pooled, features.mean((2, 3)), atol=1e-6)
    assert pooled.shape == (2, net.num_features)
    assert torch.equal(net.get_classifier()(pooled), out)
    assert net.get_classifier() is net.fc


def test_reset_classifier_keeps_the_features_and_follows_device_and_dtype():
    net = build("resnet20").double().eval()
    x = small_input().double()
    with torch.no_grad():
        pooled = net.forward_head(net.forward_features(x), pre_logits=True)
        net.reset_classifier(5)
        assert net.fc.weight.dtype == torch.float64 and net.num_classes == 5
        assert net(x).shape == (2, 5)
        net.reset_classifier(0)  # timm's way of asking for the pooled features
        assert torch.equal(net(x), pooled)
    assert net.num_classes == 0 and isinstance(net.get_classifier(), torch.nn.Identity)


@pytest.mark.parametrize("name", KINDS)
def test_fx_traces_with_the_module_s_own_node_names(name):
    net = build(name).eval()
    graph = fx.symbolic_trace(net)
    targets = [node.target for node in graph.graph.nodes if node.op == "call_module"]
    assert targets[-2:] == ["avgpool", "fc"]
    stages = sorted({t.split(".")[0] for t in targets if t.startswith("layer")})
    assert stages == [f"layer{i}" for i in range(1, len(stages) + 1)]
    x = small_input()
    with torch.no_grad():
        assert torch.equal(graph(x), net(x))


@pytest.mark.parametrize("library", ["resnet18", "resnet50"])
def test_node_names_are_torchvision_s(library):
    """Return nodes written for torchvision's ResNet name the same nodes here."""
    golden = json.loads((GOLDEN / "torchvision_node_names.json").read_text())[library]
    net = build(golden["generated"])
    assert feature_extraction.node_names(net.train()) == golden["train"]
    assert feature_extraction.node_names(net.eval()) == golden["eval"]


@pytest.mark.parametrize("name", KINDS)
def test_feature_extraction_returns_each_stage_and_the_pooled_features(name):
    net = build(name).eval()
    stages = [child for child in dict(net.named_children()) if child.startswith("layer")]
    x = small_input()
    with torch.no_grad():
        found = feature_extraction.run(net, [*stages, "avgpool", "fc"], x)
        features = net.forward_features(x)
        for before, after in itertools.pairwise(stages):  # each node is a stage's output
            assert torch.equal(getattr(net, after)(found[before]), found[after])
        if hasattr(net, "bn"):  # pre-activation: the features end with the final BN and ReLU
            assert torch.equal(net.relu(net.bn(found[stages[-1]])), features)
        else:
            assert torch.equal(found[stages[-1]], features)
        assert torch.equal(found["avgpool"].flatten(1), net.forward_head(features, True))
        assert torch.equal(found["fc"], net(x))
