"""pytest, for the doctests of resdsl/ (``--doctest-modules``): they name bundled files such as
``specs/resnet18.res``, so each runs from the repository root, wherever pytest was started."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _doctests_at_the_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(ROOT)
