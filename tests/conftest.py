"""Shared fixtures: the repository root and a CLI runner that keeps stdout and stderr apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.res"))
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def at_root(monkeypatch) -> Path:
    """Run from the repository root, so relative spec paths in messages are stable."""
    monkeypatch.chdir(ROOT)
    return ROOT
