"""The one exception the runner raises for things the user can fix.

NOTE: every failure a user can cause (a file that is not a generated module, a missing data folder,
a corrupt checkpoint, an output folder that already holds a run) raises :class:`TrainError` with a
one-line message that names the thing and says the fix. It is a
:class:`~resdsl.diagnostics.ResdslError`, so the CLI prints it and exits 1 (no traceback) as it
does for a bad spec. The check happens before anything is written, so earlier outputs are never
touched.
"""

from __future__ import annotations

from resdsl.diagnostics import ResdslError


class TrainError(ResdslError):
    """A user-facing training error: a one-line message, no traceback needed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
