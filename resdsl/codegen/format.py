"""``ruff format`` for generated source, with a fallback when ruff is not installed.

The templates already emit formatted code, so the fallback (the text unchanged) is the same
file in practice; ruff is the safety net for lines a template cannot foresee.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

# The repository's settings (pyproject.toml), given explicitly so that the output does not
# depend on which directory the compiler runs in (--isolated ignores any config file).
_RUFF_ARGS = ("format", "--isolated", "--line-length", "100", "--target-version", "py311", "-")


@cache
def ruff_binary() -> str | None:
    """The ruff executable: the one the ``ruff`` package installed, else one on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def format_source(source: str) -> str:
    """``source`` formatted by ruff, or unchanged if ruff is missing or fails."""
    ruff = ruff_binary()
    if ruff is None:
        return source
    try:
        result = subprocess.run(
            [ruff, *_RUFF_ARGS],
            input=source,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source
    return result.stdout if result.returncode == 0 and result.stdout else source
