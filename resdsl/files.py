"""Writing a user's file so that nothing they had is lost: one temporary beside it, then a rename.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomically(folder / "r.res", b"network r {}")
    >>> write_atomically(folder / "r.res", b"other", overwrite=False)
    Traceback (most recent call last):
    FileExistsError: [Errno 17] File exists: ...
    >>> (folder / "r.res").read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'network r {}', ['r.res'])

NOTE: why this way. The temporary is made by ``tempfile.mkstemp`` in the target's own folder:
created exclusively (a link planted under a predictable name is never written through), on the
same file system (so the rename is atomic: a reader sees the old file or the new one, never
half of one). ``os.replace`` then gives it the target's name; without ``overwrite``,
``os.link`` does, which fails when the name exists, even when another process takes it between
a check and the write. The temporary never outlives the call. Errors are ``OSError``s, for the
caller to word as one line naming its path (compile, graph, export and import each do).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def ordinary_mode() -> int:
    """The mode ``open()`` gives a new file (0666 less the umask); mkstemp's 0600 is for the
    temporary only, and would hide an output from the user's group."""
    mask = os.umask(0)  # the only way to read the umask is to set it; set it back at once
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(
    path: Path, data: bytes, *, overwrite: bool = True, mode: int | None = None
) -> None:
    """``data`` into ``path`` through a temporary beside it (see the module's NOTE), with
    ``mode`` (a rewritten file's own; by default a new file's, :func:`ordinary_mode`)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), ordinary_mode() if mode is None else mode)
            file.write(data)
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
