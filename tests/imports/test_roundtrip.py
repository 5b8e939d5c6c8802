"""The round trip: for every bundled network, spec -> build -> import -> spec' gives the same
IR and byte-identical generated code, the squeeze-and-excitation and ECA networks (whose
blocks are their specs' own definitions) included.

The IR is compared as ``resdsl ir --format json`` writes it, less what cannot come back from
a model: the file, the lines (spans) and the stages' labels (``conv2_x`` is the spec's
name for a stage, not in the module; the import writes the paper's ``conv2_x`` ... where a
pooled stem leads four stages, so only WRN's ``conv2`` ... are lost). The generated code is
compared with the imported spec read as if from the original's path, so that only the
spec's hash (of its text) differs.
"""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.codegen.generate import generate  # noqa: E402
from resdsl.imports import import_model  # noqa: E402
from resdsl.pipeline import check  # noqa: E402
from resdsl.report.serialize import ir_data  # noqa: E402
from tests.conftest import ROOT, SPECS  # noqa: E402

BIG = 200  # layers; the bigger networks are marked slow (ResNet-1202, PreAct-ResNet-1001)


def _bundled():
    found = []
    for spec in SPECS:
        for net in resdsl.networks(spec):
            marks = [pytest.mark.slow] if net.depth > BIG else []
            path = str(spec.relative_to(ROOT))
            found.append(pytest.param(path, net.name, marks=marks, id=net.name))
    return found


def comparable(net) -> dict:
    data = ir_data([net])["networks"][0]
    del data["file"]
    for stage in data["stages"]:
        del stage["line"], stage["title"]
    for node in data["nodes"]:
        del node["line"]
    return data


def without_hash(code: str) -> str:
    return re.sub(r'"spec_sha256": "[0-9a-f]{64}"', '"spec_sha256": "..."', code)


def test_every_bundled_network_is_covered():
    every = {net.name for spec in SPECS for net in resdsl.networks(spec)}
    assert {param.values[1] for param in _bundled()} == every
    # the blocks with channel gates (specs/seresnet.res, specs/ecaresnet.res) among them
    assert len(every) == 37 and every >= {"seresnet50", "ecaresnet50d"}


@pytest.mark.parametrize(("spec", "name"), _bundled())
def test_round_trip(at_root, spec, name):
    (original,) = resdsl.networks(spec, name)
    with torch.device("meta"):
        model = resdsl.build(spec, name)
    text = import_model(model, name=name)

    result = check(spec, name, text=text)  # the imported text, read as if it were `spec`
    assert result.ok, result.diagnostics
    (imported,) = result.networks
    assert comparable(imported) == comparable(original)
    assert without_hash(generate(imported)) == without_hash(generate(original))
    if name != "wrn28_10":  # see the module's docstring
        assert [s.title for s in imported.stages] == [s.title for s in original.stages]
