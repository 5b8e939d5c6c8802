"""A seeded sample of benchmarks/import_fuzz.py: hand-written ResNet-like modules each give an
exact spec (its counts and outputs the model's) or a located one-line refusal, never an
internal error."""

from __future__ import annotations

import importlib.util
import sys

import pytest

torch = pytest.importorskip("torch")

from tests.conftest import ROOT  # noqa: E402


def _fuzzer():
    """benchmarks/import_fuzz.py as a module (registered first: its dataclasses look it up)."""
    if "benchmarks_import_fuzz" not in sys.modules:
        path = ROOT / "benchmarks" / "import_fuzz.py"
        spec = importlib.util.spec_from_file_location("benchmarks_import_fuzz", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks_import_fuzz"] = module
        spec.loader.exec_module(module)
    return sys.modules["benchmarks_import_fuzz"]


def test_a_sample_imports_exactly_or_is_refused_in_one_located_line():
    summary = _fuzzer().run(24, seed=3, log=None)
    assert summary.modules == summary.exact + summary.refused == 24
    assert summary.clean, summary.problems
    assert summary.internal_errors == summary.wrong == summary.unlocated == 0
    assert summary.exact >= 8 and summary.refused >= 4  # both outcomes were exercised
    assert all(message.startswith("cannot express ") for message in summary.examples.values())


def test_draws_are_deterministic_and_cover_the_space():
    fuzz = _fuzzer()
    assert fuzz.draw(7) == fuzz.draw(7)
    draws = [fuzz.draw(seed) for seed in range(1000)]
    assert {d.kind for d in draws} == {"basic", "bottleneck", "preact", "preact_bottleneck"}
    assert {d.gate for d in draws} == {"none", "se", "se_linear", "se_inline", "eca"}
    assert {d.shortcut for d in draws} == {"A", "B", "C", "D", "none"}
    assert {d.unsupported for d in draws} == {"", *fuzz.UNSUPPORTED}


def test_a_wrong_spec_would_be_caught():
    """The fuzz's comparison is no formality: a spec of another module differs from it."""
    fuzz = _fuzzer()
    from resdsl.imports import import_model

    first, second = (fuzz.draw(seed) for seed in (1, 3))
    assert not first.unsupported and not second.unsupported
    text = import_model(fuzz.build(second), name="other")
    assert fuzz.compare(fuzz.build(first), text) != ""
    assert fuzz.compare(fuzz.build(second), text) == ""


def test_reasons_are_counted_in_general_terms():
    reason = _fuzzer().reason
    assert reason(
        "cannot express layers.0.0.conv2 (Conv2d): a dilated convolution (dilation 2)"
    ) == ("a dilated convolution")
    assert reason("cannot express drop (Dropout): dropout before the fc (the language's ...)") == (
        "dropout before the fc"
    )
