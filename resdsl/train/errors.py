"""The one exception the runner raises for things the user can fix.

NOTE: every failure a user can cause (a file that is not a generated module, a missing data folder,
a corrupt checkpoint, an output folder that already holds a run) raises :class:`TrainError` with a
one-line message that names the thing and says the fix. The click command turns it into a
``ClickException`` (exit 1, no traceback). The check happens before anything is written, so earlier
outputs are never touched.
"""

from __future__ import annotations


class TrainError(Exception):
    """A user-facing training error: a one-line message, no traceback needed."""
