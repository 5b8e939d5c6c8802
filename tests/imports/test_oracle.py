"""The specs ``resdsl import`` made of torchvision's and timm's ResNets (tests/golden/import/,
written beside the libraries by tests/fixtures/oracle_import.py): those of the bundled
networks are them (the same IR and the same generated code, up to the name), SE-ResNet-50 and
ECA-ResNet-50d with their gates' block definitions included; the others count the library's
parameters and computed its outputs; and the library models the language cannot write were
refused for the reason they must be. Neither library is needed here."""

from __future__ import annotations

import json
import re

import pytest

import resdsl
from resdsl.codegen.generate import generate
from resdsl.pipeline import check
from tests.conftest import GOLDEN
from tests.imports.test_roundtrip import comparable, without_hash

RECORD = json.loads((GOLDEN / "import" / "oracle_import.json").read_text())
IMPORTS = {source: entry for source, entry in RECORD["imports"].items() if "golden" in entry}
BUNDLED = {source: entry for source, entry in IMPORTS.items() if "equals" in entry}


def test_every_library_network_was_imported():
    assert len(IMPORTS) == len(RECORD["imports"]) == 16
    assert len(BUNDLED) == 11
    assert {"timm.models.resnet:seresnet50", "timm.models.resnet:ecaresnet50d"} <= set(BUNDLED)
    assert RECORD["versions"]["torchvision"].startswith("0.29.1")
    assert RECORD["versions"]["timm"] == "1.0.31"


@pytest.mark.parametrize("source", sorted(IMPORTS))
def test_golden_counts_and_computes_as_the_library(source):
    """torch's parameter count of the library's model is the spec's; with the library's
    weights (its BN statistics randomised) the spec's module computed its float64 outputs."""
    entry = IMPORTS[source]
    text = (GOLDEN / "import" / entry["golden"]).read_text()
    assert resdsl.stats(text).params == entry["params"]
    assert entry["max_abs_difference"] <= 1e-9


@pytest.mark.parametrize("source", sorted(RECORD["refused"]))
def test_library_models_refused_for_the_true_reason(source):
    entry = RECORD["refused"][source]
    assert entry["refused"].startswith("cannot express ")
    assert entry["must_say"] in entry["refused"]
    assert "\n" not in entry["refused"]


@pytest.mark.parametrize("source", sorted(BUNDLED))
def test_golden_is_the_bundled_network(at_root, source):
    entry = BUNDLED[source]
    spec, bundled = entry["equals"]
    text = (GOLDEN / "import" / entry["golden"]).read_text()
    assert text.startswith(f"# Imported by resdsl 0.1.0 from {source} (`resdsl import`).\n")
    name = re.search(r"^network (\w+) \{", text, re.M).group(1)

    # Read as the bundled network (its name, its file): IR and code must be the bundled one's.
    renamed = text.replace(f"network {name} {{", f"network {bundled} {{")
    result = check(spec, bundled, text=renamed)
    assert result.ok, result.diagnostics
    (imported,) = result.networks
    (original,) = resdsl.networks(spec, bundled)
    assert comparable(imported) == comparable(original)
    assert without_hash(generate(imported)) == without_hash(generate(original))
