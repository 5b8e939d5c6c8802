"""specs/zoo/: every network there is its library's model, held to tests/golden/zoo with CPU torch.

Each network of a zoo spec carries the name its library gives the model (torchvision.res
torchvision's, the other files timm's). For each: the spec's input is the model's default
input; ``resdsl stats`` counts the parameters and multiply-adds the oracle counted with torch
(``torch.utils.flop_counter``) on the library's model; the module the spec compiles to, built
on the meta device, has the library's ``state_dict`` keys and shapes in the library's order
(so its weights load with ``strict=True``); ``generated/zoo/FILE/NAME.py`` is what ``resdsl
compile`` writes; and, for every network below ``OUTPUTS_BELOW`` numbers, that module filled
with the fixed state the oracle filled the library's model with computes the outputs the
oracle recorded (float64). benchmarks/zoo.py runs the same beside the libraries themselves.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.pipeline import check  # noqa: E402
from tests.fixtures import family, zoo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs" / "zoo"
GENERATED = ROOT / "generated" / "zoo"
# Larger networks are checked by keys, shapes and counts alone: their blocks are the smaller
# networks' blocks, and filling and running them costs minutes on two cores.
OUTPUTS_BELOW = 30_000_000


@cache
def _goldens() -> dict[str, dict[str, dict]]:
    """Library (torchvision, timm) -> model name -> golden entry."""
    found: dict[str, dict[str, dict]] = {"torchvision": {}, "timm": {}}
    for stem, (library, _, _) in zoo.FILES.items():
        found[library].update(zoo.load_file(stem)["models"])
    return found


def _networks() -> list[tuple[str, str]]:
    return [
        (path.name, net.name)
        for path in sorted(SPECS.glob("*.res"))
        for net in check(path).networks
    ]


NETWORKS = _networks()


def _entry(file: str, name: str) -> dict:
    library = "torchvision" if file == "torchvision.res" else "timm"
    assert name in _goldens()[library], f"{name} is no model of {library}'s"
    return _goldens()[library][name]


def test_every_zoo_spec_checks_and_names_only_library_models():
    assert len(NETWORKS) >= 10
    for path in sorted(SPECS.glob("*.res")):
        assert check(path).ok, path
    for file, name in NETWORKS:
        _entry(file, name)
    assert len({name for _, name in NETWORKS if _ != "torchvision.res"}) == len(
        [name for file, name in NETWORKS if file != "torchvision.res"]
    )  # a timm name in one file only


@pytest.mark.parametrize(("file", "name"), NETWORKS)
def test_counts_are_the_library_model_s(file, name):
    entry = _entry(file, name)
    stats = resdsl.stats(SPECS / file, name)
    net = resdsl.network(SPECS / file, name)
    assert list(net.input) == entry["input_size"]
    assert (stats.params, stats.flops) == (entry["params"], entry["macs"])


@pytest.mark.parametrize(("file", "name"), NETWORKS)
def test_generated_module_is_what_compile_writes(file, name, monkeypatch):
    """With ruff and without it (`make demo` installs no ruff): the same file."""
    import resdsl.codegen.format

    written = GENERATED / Path(file).stem / f"{name}.py"
    assert written.read_text() == resdsl.compile(SPECS / file, name), (
        f"run: resdsl compile specs/zoo/{file} -o generated/zoo/{Path(file).stem}"
    )
    monkeypatch.setattr(resdsl.codegen.format, "ruff_binary", lambda: None)
    assert written.read_text() == resdsl.compile(SPECS / file, name), "the template's own text"


@pytest.mark.slow
@pytest.mark.parametrize(("file", "name"), NETWORKS)
def test_state_dict_and_outputs_are_the_library_model_s(file, name):
    entry = _entry(file, name)
    with torch.device("meta"):
        model = resdsl.build(SPECS / file, name)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == entry["state_dict"]
    if entry["state_numel"] >= OUTPUTS_BELOW:
        return
    # built again on the CPU, not moved there with to_empty: a buffer outside the state_dict
    # (a blur pool's filter) is made by the constructor, and to_empty would leave it unfilled
    model = resdsl.build(SPECS / file, name).to(torch.float64)
    state = dict(family.fixed_entries(entry["state_dict"], entry["outputs"]["seed"]))
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        out = model.eval()(family.fixed_input(tuple(entry["outputs"]["input"])))
    want = entry["outputs"]
    got = family.output_summary(out)
    assert got["argmax"] == want["argmax"]
    for mine, theirs in (
        ([got["sum"], got["abs_sum"]], [want["sum"], want["abs_sum"]]),
        ([row[: zoo.FIRST_LOGITS] for row in got["first_logits"]], want["first_logits"]),
    ):
        torch.testing.assert_close(
            torch.tensor(mine, dtype=torch.float64),
            torch.tensor(theirs, dtype=torch.float64),
            rtol=1e-9,
            atol=1e-9,
        )
