"""The blocks a spec defines itself, held to the library that defines the network: timm's
SE-ResNet-50 and ECA-ResNet-50d, whose squeeze-and-excitation and ECA modules are ``.res``
definitions over primitive ops (specs/seresnet.res, specs/ecaresnet.res), no Python of their
own. timm does not run in CI: tests/fixtures/oracle_attention.py held each generated module to
timm's model beside the library (keys, shapes, counts, outputs equal) and recorded what is
checked here (tests/golden/attention.json).
"""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.fixtures import family  # noqa: E402

GOLDEN = json.loads((ROOT / "tests" / "golden" / "attention.json").read_text())
SPECS = {"seresnet50": "specs/seresnet.res", "ecaresnet50d": "specs/ecaresnet.res"}


def generated(name: str):
    path = ROOT / "generated" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_attention_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


@pytest.mark.parametrize("name", list(SPECS))
def test_the_generated_module_is_timm_s_key_for_key(name):
    expected = GOLDEN[name]
    model = generated(name)
    assert family.shapes(model) == expected["state_dict"]  # keys in timm's order
    assert family.count(model) == expected["params"]
    stats = resdsl.stats(SPECS[name], name)
    assert stats.params == expected["params"]
    assert 2 * stats.flops == expected["flops"]  # flop_counter's FLOPs, 2 per multiply-add


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPECS))
def test_timm_s_weights_compute_timm_s_outputs(name):
    expected = GOLDEN[name]["outputs"]
    out = family.run_fixed(generated(name))
    summary = family.output_summary(out)
    assert summary["shape"] == expected["shape"] and summary["argmax"] == expected["argmax"]
    for key in ("first_logits", "sum", "abs_sum"):  # as tests/test_fixtures_family.py allows
        close = torch.testing.assert_close
        close(torch.tensor(summary[key]), torch.tensor(expected[key]), rtol=1e-7, atol=1e-6)


def test_the_attention_modules_are_definitions_not_python():
    """What the spec defines is the language's: no op of the table is an SE or ECA op."""
    from resdsl import ops

    assert not any("se" in name.lower() or "eca" in name.lower() for name in ops.__all__)
    (net,) = resdsl.networks("specs/seresnet.res")
    se = [n for n in net.nodes if n.path.startswith("layer1.0.se.")]
    assert [n.op.kind for n in se] == ["avgpool", "conv", "relu", "conv", "sigmoid", "mul"]
    assert [n.branch for n in se] == ["side"] * 5 + ["main"]
    assert net.depth == 50  # SE's convolutions are not layers of the paper's depth


@pytest.mark.parametrize("name", sorted(SPECS))
def test_forward_features_ends_at_the_head_not_at_a_gate_s_pool(name):
    """SE's squeeze is a global pool inside each block: the features are still the last
    stage's map, as timm's forward_features returns it."""
    model = generated(name).to("meta")
    net = resdsl.network(ROOT / SPECS[name], name)
    last = [node for node in net.nodes if node.section == "stage"][-1]
    features = model.forward_features(torch.empty(1, *net.input, device="meta"))
    assert tuple(features.shape[1:]) == last.shape == (2048, 7, 7)
