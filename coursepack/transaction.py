"""Putting a lesson's outputs in place together, beside other builds of the same folder.

A teacher must never print a new handout with an old key, and ``make -j`` may run one
coursepack per lesson into one folder. So:

- every output of a lesson (or of a course pack) is rendered first and written to temporary
  files; :class:`Staged` then moves them into place one after another, keeping a hard link to
  each previous file, and puts the previous files back if a move fails or the build is stopped
  (Ctrl-C, SIGTERM) in between: a lesson's outputs always belong to one version of it;
- temporary names say whose they are (``.<output>.<host>-<pid>.<random>.tmp``), so a build
  deletes only its own and those of a process that is gone, never a running build's;
- stamps are merged and the moves made under one lock per output folder, so two builds never
  interleave one lesson's files or lose each other's stamps.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# A temporary of another machine (a shared drive) is only deleted once it is this old.
FOREIGN_TEMPORARY_SECONDS = 24 * 3600
# Temporaries of earlier versions, which named no process: deleted once this old.
UNNAMED_TEMPORARY_SECONDS = 3600

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TEMPORARY = re.compile(
    r"^\.(?P<output>.+)\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.[a-z0-9]{8}\.(?:tmp|old)$"
)
# The process a build's temporaries belong to: the build's own, also in its workers (which
# end before the build moves their files into place).
_owner: int | None = None


def set_owner(pid: int) -> None:
    """Name this process's temporaries after the build process ``pid`` (in a worker)."""
    global _owner
    _owner = pid


def temporary_path(target: Path, kind: str = "tmp") -> Path:
    """A new name beside ``target`` that says which build made it."""
    token = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    owner = _owner or os.getpid()
    return target.parent / f".{target.name}.{_HOST}-{owner}.{token}.{kind}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, alive
    return True


def is_abandoned(path: Path, unnamed: re.Pattern[str] | None = None) -> bool:
    """True for a temporary of ours that no running build owns (its process is gone).

    ``unnamed`` matches the temporaries of earlier versions, which named no process: those
    count as abandoned once an hour old."""
    match = _TEMPORARY.match(path.name)
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if match is None:
        return bool(unnamed and unnamed.match(path.name)) and age > UNNAMED_TEMPORARY_SECONDS
    if match["host"] != _HOST or sys.platform == "win32":
        # Another machine's process cannot be asked; on Windows os.kill would end it.
        return age > FOREIGN_TEMPORARY_SECONDS
    return not _alive(int(match["pid"]))


def remove_abandoned_temporaries(folder: Path, unnamed: re.Pattern[str] | None = None) -> None:
    """Delete the temporaries that killed builds left in ``folder``, and only those: never a
    running build's, never a file that is not ours (``-o .`` may be a teacher's own folder)."""
    for leftover in folder.glob(".*"):
        if leftover.is_file() and not leftover.is_symlink() and is_abandoned(leftover, unnamed):
            with contextlib.suppress(OSError):
                leftover.unlink()


def write_temporary(target: Path, data: bytes) -> Path:
    """``data`` in a new temporary file beside ``target``, flushed to disk, with the
    permissions a normal file gets."""
    path = temporary_path(target)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One build at a time in ``folder`` for what must not interleave (moves, stamps).

    An advisory lock on the folder itself (no lock file is left in a teacher's folder);
    where such locks do not exist it does nothing."""
    try:
        import fcntl
    except ImportError:  # Windows: builds into one folder at once are not guarded
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield  # an unreadable folder fails on the first write, with a clear message
        return
    try:
        with contextlib.suppress(OSError):  # a file system without locks: unguarded
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class Staged:
    """Outputs written to temporaries, to be moved into place together or not at all."""

    def __init__(self, files: list[tuple[Path, Path]] | None = None) -> None:
        self.files: list[tuple[Path, Path]] = list(files or [])  # (temporary, target)

    def add(self, target: Path, data: bytes) -> None:
        """Write ``data`` for ``target`` to a temporary (nothing visible changes yet)."""
        self.files.append((write_temporary(target, data), target))

    def commit(self) -> None:
        """Move every staged file into place; if one move fails (or the build is stopped),
        put the previous files back, delete the temporaries and raise."""
        moved: list[tuple[Path, Path | None]] = []  # target, its previous file
        try:
            for temporary, target in self.files:
                previous = _keep(target)
                try:
                    os.replace(temporary, target)
                except BaseException:
                    _drop(previous)
                    raise
                moved.append((target, previous))
        except BaseException:
            for target, previous in reversed(moved):
                with contextlib.suppress(OSError):
                    if previous is not None:
                        os.replace(previous, target)
                    else:
                        target.unlink()
            self.discard()
            raise
        for _target, previous in moved:
            _drop(previous)
        self.files = []

    def discard(self) -> None:
        """Delete every temporary not moved into place."""
        for temporary, _target in self.files:
            with contextlib.suppress(OSError):
                temporary.unlink()
        self.files = []


def _keep(target: Path) -> Path | None:
    """A second name for the file at ``target`` (a hard link, else a copy), or None."""
    if not target.is_file():
        return None
    backup = temporary_path(target, "old")
    try:
        os.link(target, backup, follow_symlinks=False)  # a link is kept as the link
    except (OSError, NotImplementedError):  # a file system without hard links
        shutil.copy2(target, backup, follow_symlinks=False)
    return backup


def _drop(previous: Path | None) -> None:
    if previous is not None:
        with contextlib.suppress(OSError):
            previous.unlink()
