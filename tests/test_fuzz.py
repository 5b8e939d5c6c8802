"""Property test: whatever bytes a spec holds, `resdsl check` answers with exit 0 or 1 and
a message, never a traceback. Mutations start from every valid spec we ship."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resdsl.cli import cli
from tests.conftest import GOLDEN, ROOT, SPECS

SEEDS = [p.read_text() for p in SPECS] + [
    (GOLDEN / "language" / name).read_text() for name in ("one_network.res", "family.res")
]
TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@st.composite
def mutated_spec(draw) -> bytes:
    parts = tokens(draw(st.sampled_from(SEEDS)))
    kind = draw(
        st.sampled_from(["delete", "duplicate", "swap", "bytes", "huge", "nest", "latin1", "empty"])
    )
    i = draw(st.integers(0, len(parts) - 1))
    j = draw(st.integers(0, len(parts) - 1))
    if kind == "delete":
        del parts[i : i + draw(st.integers(1, 5))]
    elif kind == "duplicate":
        parts.insert(i, parts[i])
    elif kind == "swap":
        parts[i], parts[j] = parts[j], parts[i]
    elif kind == "huge":
        numbers = [k for k, p in enumerate(parts) if p.isdigit()]
        k = numbers[i % len(numbers)]
        parts[k] = draw(st.sampled_from(["0", "99999999999999999999", "4096", "1" * 400]))
    elif kind == "nest":
        depth = draw(st.integers(1, 3000))
        parts.insert(i, draw(st.sampled_from(["(" * depth, "-" * depth, "{" * depth])))
    text = "".join(parts)
    if kind == "empty":
        return b""
    data = text.encode()
    if kind == "bytes":
        noise = draw(st.binary(min_size=1, max_size=8))
        data = data[:i] + noise + data[i:]
    elif kind == "latin1":
        data = text.replace("network", "réseau", 1).encode("latin-1", "replace")
    return data


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated_spec())
def test_check_never_crashes(data, runner, tmp_path):
    spec = tmp_path / "fuzz.res"
    spec.write_bytes(data)
    result = runner.invoke(cli, ["check", str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1)
    assert result.output.strip(), "every outcome says something"
    assert "Traceback" not in result.output


def _fuzzer():
    """benchmarks/fuzz.py as a module (registered first: its dataclasses look it up)."""
    if "benchmarks_fuzz" not in sys.modules:
        path = ROOT / "benchmarks" / "fuzz.py"
        spec = importlib.util.spec_from_file_location("benchmarks_fuzz", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks_fuzz"] = module
        spec.loader.exec_module(module)
    return sys.modules["benchmarks_fuzz"]


def test_the_fuzzer_is_deterministic():
    fuzz = _fuzzer()
    first, second = (fuzz.run(12, seed=5, limit=10.0, log=None) for _ in range(2))
    assert (first.diagnostics, first.accepted, first.mutations) == (
        second.diagnostics,
        second.accepted,
        second.mutations,
    )


@pytest.mark.slow
def test_benchmarks_fuzz_finds_no_crash_hang_or_flood():
    """A few hundred specs of benchmarks/fuzz.py (seeded): whatever they hold, the pipeline
    answers with diagnostics or code, in time, located and bounded."""
    summary = _fuzzer().run(300, seed=0, limit=10.0, log=None)
    assert summary.specs == summary.diagnostics + summary.accepted == 300
    assert summary.clean, summary.problems
    assert summary.internal_errors == summary.over_time_limit == 0
    assert summary.accepted > 10 and summary.networks_generated > summary.accepted
    assert len(summary.mutations) == 16  # every kind of mutation was tried
