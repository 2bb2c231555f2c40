"""Where coursepack keeps what a later process reuses: the user's cache folder.

``COURSEPACK_CACHE`` names another folder ("" keeps nothing); else ``$XDG_CACHE_HOME`` (or
``~/.cache``) ``/coursepack``. Each kind of entry has a folder of its own in it (drawn
formulas, fonts' code points, compiled templates, cffi's parses). Entries that are only read
as data (JSON, drawings) may live in any folder; entries whose reading runs code (compiled
templates, pickles) only in a :func:`private_folder`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def cache_folder(name: str) -> Path | None:
    """The folder ``name`` in the cache (not created), or None when caching is off."""
    chosen = os.environ.get("COURSEPACK_CACHE")
    if chosen is not None:
        return Path(chosen) / name if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coursepack" / name


def private_folder(name: str) -> Path | None:
    """The folder ``name`` in the cache, created for this user alone, or None: caching is
    off, it cannot be made, or it is not a folder this user owns and nobody else may write
    to (what is read there runs as code)."""
    folder = cache_folder(name)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return None
    return folder


def write_whole(path: Path | str, data: bytes) -> bool:
    """Keep ``data`` in ``path``, whole or not at all whoever reads it meanwhile (written to
    a temporary file beside it, readable by this user alone, then moved into place). False
    when it cannot be written (a read-only home folder: the caller works it out again next
    time); nothing is left behind then."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True
