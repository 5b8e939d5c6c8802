"""The specs ``resdsl import`` made of torchvision's and timm's ResNets (tests/golden/import/,
written beside the libraries by tests/fixtures/oracle_import.py) are the bundled networks:
the same IR and the same generated code, up to the name. Neither library is needed here."""

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


def test_every_library_network_was_imported():
    assert len(IMPORTS) == len(RECORD["imports"]) == 9
    assert RECORD["versions"]["torchvision"].startswith("0.29.1")


@pytest.mark.parametrize("source", sorted(IMPORTS))
def test_golden_is_the_bundled_network(at_root, source):
    entry = IMPORTS[source]
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
