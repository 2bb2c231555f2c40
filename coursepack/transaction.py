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
  interleave one lesson's files or lose each other's stamps;
- before the first move a journal (``.coursepack-moving.<host>-<pid>.<random>.json``) names
  every target, its temporary and its previous file, and it is deleted after the last move. A
  build killed outright (SIGKILL, a power cut) cannot put anything back itself: the next build
  or watch of that folder finds the journal of a process that is gone and puts the previous
  files back (:func:`recover_interrupted`), so the outputs still belong to one version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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


def _token() -> str:
    """Eight random characters: two names made by one process at once never clash."""
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))


def temporary_path(target: Path, kind: str = "tmp") -> Path:
    """A new name beside ``target`` that says which build made it."""
    owner = _owner or os.getpid()
    return target.parent / f".{target.name}.{_HOST}-{owner}.{_token()}.{kind}"


def _identity(path: Path) -> list[int]:
    """Which file is at ``path`` (inode, size, modification time): a rename keeps all three, and
    a newer build's file differs, so a journal can tell whether its file is still in place."""
    status = path.lstat()
    return [status.st_ino, status.st_size, status.st_mtime_ns]


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


def _gone(host: str, pid: int, age: float) -> bool:
    """True when the process ``pid`` of ``host`` has ended (another machine's, or any on
    Windows, once its file is ``FOREIGN_TEMPORARY_SECONDS`` old)."""
    if host != _HOST or sys.platform == "win32":
        # Another machine's process cannot be asked; on Windows os.kill would end it.
        return age > FOREIGN_TEMPORARY_SECONDS
    return not _alive(pid)


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
    return _gone(match["host"], int(match["pid"]), age)


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


def sync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries to disk (a rename is durable only then), where the system
    lets a folder be opened (not on Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    with contextlib.suppress(OSError):
        fd = os.open(folder, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def lock_kind() -> str | None:
    """Which advisory lock this system has: ``"fcntl"`` (Linux, macOS), ``"msvcrt"``
    (Windows), or None (the moves and stamps of builds into one folder are then unguarded)."""
    for name in ("fcntl", "msvcrt"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    return None


def windows_lock_file(folder: Path) -> Path:
    """The file locked for ``folder`` on Windows, where a folder cannot be locked itself: one
    per folder in the temporary folder, so nothing is left in the teacher's folder. It guards
    the builds of one computer (as ``make -j`` runs them), not those of two on a shared drive."""
    key = hashlib.sha256(os.path.normcase(os.path.abspath(folder)).encode("utf-8")).hexdigest()
    return Path(tempfile.gettempdir()) / "coursepack-locks" / f"{key[:32]}.lock"


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One build at a time in ``folder`` for what must not interleave (moves, stamps).

    An advisory lock on the folder itself (``fcntl.flock``: no lock file is left in a
    teacher's folder), on Windows one byte of a lock file named after the folder
    (``msvcrt.locking``); where neither works it does nothing."""
    kind = lock_kind()
    if kind == "msvcrt":
        with _msvcrt_lock(folder):
            yield
        return
    if kind is None:
        yield
        return
    import fcntl

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


@contextlib.contextmanager
def _msvcrt_lock(folder: Path) -> Iterator[None]:
    """``folder_lock`` on Windows: byte 0 of :func:`windows_lock_file`, waited for as long as
    it takes (``LK_LOCK`` gives up after ten seconds, so it is asked again)."""
    import msvcrt

    path = windows_lock_file(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield  # no temporary folder to lock in: unguarded, as without locks
        return
    locked = False
    try:
        for _attempt in range(360):  # an hour: a build that holds it longer is stuck
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
            except OSError:
                continue
            locked = True
            break
        yield
    finally:
        if locked:
            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        os.close(fd)


class Staged:
    """Outputs written to temporaries, to be moved into place together or not at all."""

    def __init__(self, files: list[tuple[Path, Path]] | None = None) -> None:
        self.files: list[tuple[Path, Path]] = list(files or [])  # (temporary, target)

    def add(self, target: Path, data: bytes) -> None:
        """Write ``data`` for ``target`` to a temporary (nothing visible changes yet)."""
        self.files.append((write_temporary(target, data), target))

    def commit(self, folder: Path | None = None) -> None:
        """Move every staged file into place; if one move fails (or the build is stopped),
        put the previous files back, delete the temporaries and raise.

        With ``folder`` (where every target is), a journal there says what is being replaced
        until the last move is made, so that :func:`recover_interrupted` can put the previous
        files back after a kill that no handler sees."""
        previous: list[Path | None] = []
        moved: list[tuple[Path, Path | None]] = []  # target, its previous file
        journal = None
        try:
            for _temporary, target in self.files:
                previous.append(_keep(target))
            if folder is not None:
                journal = _write_journal(folder, self.files, previous)
            for (temporary, target), kept in zip(self.files, previous, strict=True):
                os.replace(temporary, target)
                moved.append((target, kept))
        except BaseException:
            for target, kept in reversed(moved):
                with contextlib.suppress(OSError):
                    if kept is not None:
                        os.replace(kept, target)
                    else:
                        target.unlink()
            for kept in previous[len(moved) :]:
                _drop(kept)
            self.discard()
            _drop(journal)
            raise
        _drop(journal)  # first: from now on the new set is the one to keep
        for _target, kept in moved:
            _drop(kept)
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


# --------------------------------------------------------------------------- the journal

_JOURNAL = re.compile(
    r"^\.coursepack-moving\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.[a-z0-9]{8}\.json$"
)


def _write_journal(
    folder: Path, files: list[tuple[Path, Path]], previous: list[Path | None]
) -> Path:
    """Record, on disk, what the moves about to start replace: per target its temporary and
    its previous file (None: there was none), all by name within ``folder``."""
    entries = []
    for (temporary, target), kept in zip(files, previous, strict=True):
        if temporary.parent != folder or target.parent != folder:
            raise ValueError(f"{target} is not in {folder}")  # a bug: the journal names names
        entries.append(
            {
                "target": target.name,
                "temporary": temporary.name,
                "previous": kept and kept.name,
                "file": _identity(temporary),
            }
        )
    owner = _owner or os.getpid()
    path = folder / f".coursepack-moving.{_HOST}-{owner}.{_token()}.json"
    data = json.dumps({"pid": owner, "host": _HOST, "files": entries}, indent=1).encode()
    os.replace(write_temporary(path, data), path)
    sync_folder(folder)  # the journal must survive a power cut that the moves do not
    return path


def recover_interrupted(folder: Path, is_output: Callable[[str], bool]) -> list[str]:
    """Put back the previous files of every build of ``folder`` that was killed while it was
    moving its outputs into place (its journal is there and its process is gone), and delete
    its journal: one line per such build saying which files are back. Call it under
    :func:`folder_lock`, before abandoned temporaries are deleted (the previous files are
    among them). A journal that is damaged, names anything outside ``folder`` or a target
    that ``is_output`` says no build writes (a lesson, with ``-o .``) is only deleted: a
    shared folder cannot make a build move or delete a teacher's files."""
    said = []
    for journal in sorted(folder.glob(".coursepack-moving.*.json")):
        match = _JOURNAL.match(journal.name)
        try:
            age = time.time() - journal.lstat().st_mtime
        except OSError:
            continue
        if match is None or not journal.is_file() or journal.is_symlink():
            continue
        if not _gone(match["host"], int(match["pid"]), age):
            continue  # still moving (a folder without locks): its own to finish
        entries = _journal_entries(journal, f"{match['host']}-{match['pid']}")
        if not all(is_output(target) for target, _temporary, _kept, _file in entries):
            entries = []
        if not all(_still_there(folder, *entry) for entry in entries):
            # A later build replaced one of the files this one moved (a journal followed late:
            # Windows, another computer): its set is the one to keep, nothing is put back.
            for _target, temporary, kept, _file in entries:
                _drop(folder / temporary)
                _drop(folder / kept if kept else None)
            entries = []
        restored = []
        for target, temporary, kept, _file in entries:
            with contextlib.suppress(OSError):
                if (folder / temporary).exists():  # never moved: the previous file is in place
                    (folder / temporary).unlink()
                    _drop(folder / kept if kept else None)
                elif kept is None:  # moved, and there was no file before: none again
                    (folder / target).unlink(missing_ok=True)
                    restored.append(target)
                elif os.path.lexists(folder / kept):
                    os.replace(folder / kept, folder / target)
                    restored.append(target)
                # no temporary and no previous file: this one was already put back
        with contextlib.suppress(OSError):
            journal.unlink()
        if restored:
            said.append(
                f"{folder}: a build (process {match['pid']}) was stopped while it put "
                f"{', '.join(sorted(restored))} in place; the previous files are back"
            )
    return said


def _journal_entries(journal: Path, owner: str) -> list[tuple[str, str, str | None, list[int]]]:
    """(target, temporary, previous, file identity) from a journal: only plain names of files
    in its folder, each temporary and previous file named after its target and made by the
    journal's own process (``host-pid``); nothing when damaged."""
    try:
        if journal.stat().st_size > 1 << 20:
            return []
        loaded = json.loads(journal.read_text(encoding="utf-8"))
        files = loaded["files"]
        entries = []
        for entry in files:
            target, temporary, kept = entry["target"], entry["temporary"], entry["previous"]
            identity = entry["file"]
            for name in (target, temporary, kept):
                if name is not None and (
                    not isinstance(name, str) or name != Path(name).name or name in ("", ".", "..")
                ):
                    return []
            if not _names_its(temporary, target, "tmp", owner) or (
                kept is not None and not _names_its(kept, target, "old", owner)
            ):
                return []
            if not (
                isinstance(identity, list)
                and len(identity) == 3
                and all(type(n) is int for n in identity)
            ):
                return []
            entries.append((target, temporary, kept, identity))
        return entries
    except (OSError, ValueError, RecursionError, KeyError, TypeError):
        return []


def _still_there(
    folder: Path, target: str, temporary: str, kept: str | None, identity: list[int]
) -> bool:
    """Whether a journal's entry still describes the folder: not yet moved (its temporary is
    there), or moved and its file still at the target (a regular file, not replaced since)."""
    if os.path.lexists(folder / temporary):
        return True
    path = folder / target
    try:
        return path.is_file() and not path.is_symlink() and _identity(path) == identity
    except OSError:
        return False


def _names_its(name: str, target: str, kind: str, owner: str) -> bool:
    """True when ``name`` is one of ``owner``'s (``host-pid``) temporaries of ``kind`` for
    ``target``."""
    match = _TEMPORARY.match(name)
    return (
        match is not None
        and match["output"] == target
        and f"{match['host']}-{match['pid']}" == owner
        and name.endswith("." + kind)
    )
