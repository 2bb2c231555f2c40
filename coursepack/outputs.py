"""Writing outputs safely: atomic replacement and content-hash stamps.

Every output goes to a temporary file in its own folder and is moved into place with
``os.replace`` only when complete, so a build killed at any instant leaves either the previous
file or the new one. Stamps (Pelican's ``cache.py`` idea, with Sphinx's build-info hashing) record
a digest of everything an output was made from, so an unchanged output is not rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

STAMP_FILE = ".coursepack-stamps.json"


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_of(parts: Iterable[str]) -> str:
    """One digest for an ordered sequence of strings (inputs, options, versions)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers only ever see a complete file."""
    # Not a ``with`` block: the file must outlive the handle until os.replace moves it.
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # Keep the permissions a normal file would get (mkstemp creates 0600).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


class Stamps:
    """The stamp file of one output folder: output name → input digest and output digest."""

    def __init__(self, folder: Path):
        self.path = folder / STAMP_FILE
        self._entries: dict[str, dict[str, str]] = {}
        self._changed = False
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = {
                    name: entry for name, entry in loaded.items() if isinstance(entry, dict)
                }
        except (OSError, ValueError, RecursionError):
            # No stamps, or a damaged file (nested too deep for json too): everything counts
            # as changed.
            self._entries = {}

    def is_current(self, output: Path, inputs_digest: str) -> bool:
        """True when ``output`` exists, is what we wrote, and was made from these inputs."""
        entry = self._entries.get(output.name)
        if not entry or entry.get("inputs") != inputs_digest or not output.is_file():
            return False
        try:
            return sha256_file(output) == entry.get("output")
        except OSError:
            return False

    def record(self, output: Path, inputs_digest: str, output_digest: str) -> None:
        """Remember that ``output`` (SHA-256 ``output_digest``) was made from ``inputs_digest``."""
        self._entries[output.name] = {"inputs": inputs_digest, "output": output_digest}
        self._changed = True

    def save(self) -> None:
        """Write the stamp file if anything changed (atomically, sorted keys)."""
        if not self._changed:
            return
        text = json.dumps(self._entries, indent=1, sort_keys=True)
        write_atomic(self.path, text.encode("utf-8"))


# What write_atomic's temporaries look like: ``.<output name>.<8 random characters>.tmp``, the
# output being a PDF, a deck or the stamp file. Only those are ours to delete: the output folder
# may be a teacher's own folder (``-o .``), where ``.notes.tmp`` is somebody else's file.
_OUR_TEMPORARY = re.compile(r"^\..+\.(pdf|pptx|json)\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files that a killed build left behind (``.<output>.*.tmp``)."""
    for leftover in folder.glob(".*.tmp"):
        if _OUR_TEMPORARY.match(leftover.name) and leftover.is_file():
            with contextlib.suppress(OSError):
                leftover.unlink()
