"""The limits on input: docs/language.md states the values resdsl/lang/limits.py enforces."""

from __future__ import annotations

import re

from resdsl.lang import limits
from tests.conftest import ROOT


def _table() -> dict[str, str]:
    text = (ROOT / "docs" / "language.md").read_text()
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", text.split("## Errors")[1], re.MULTILINE)
    return {what: value for what, value in rows if what not in ("limit", "---")}


def test_language_md_states_every_limit_as_enforced():
    table = _table()
    assert table["errors shown per file"].startswith(f"{limits.MAX_ERRORS_SHOWN}, then")
    size = "any size, written or derived (channels after an expansion, a padded map, every output)"
    assert table[size] == f"2^20 = {limits.MAX_SIZE:,}" and limits.MAX_SIZE == 2**20
    assert table["digits of a number as written"] == str(limits.MAX_DIGITS)
    nesting = next(v for k, v in table.items() if k.startswith("nesting of arithmetic"))
    assert nesting == f"{limits.MAX_NESTING} levels"
    assert table["blocks in one network"] == f"{limits.MAX_BLOCKS:,}"
    assert table["length of a network name"] == f"{limits.MAX_NAME_LENGTH} characters"
    chains = next(v for k, v in table.items() if k.startswith("derivations between"))
    assert chains == str(limits.MAX_DERIVATION_DEPTH)
    spec_bytes = "bytes read for a spec and the files it uses, together"
    assert table[spec_bytes] == f"{limits.MAX_SPEC_BYTES // 1024} KiB"
    assert table["files a spec loads, itself and its uses"] == f"{limits.MAX_FILES:,}"
