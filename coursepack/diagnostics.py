"""Diagnostics: problems found in a lesson, reported as ``path:line: error: message``."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# A note is advice about this computer rather than the lesson (a font the presenting
# computer may lack): it is printed, but never fails a build, not even with --strict, so a
# lesson does not pass on one machine and fail on another.
Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place in a file (``line`` 0 when there is no line)."""

    path: Path
    line: int
    severity: Severity
    message: str

    def format(self) -> str:
        """The ``path:line: severity: message`` form that editors and CI understand: always
        one line (a newline in a file name is shown as ``\\n``) of bounded length."""
        path = one_line(display_path(self.path))
        where = f"{path}:{self.line}" if self.line else path
        return f"{where}: {self.severity}: {one_line(self.message, MAX_MESSAGE)}"

    @property
    def is_error(self) -> bool:
        """True for errors (warnings do not fail a build unless ``--strict``)."""
        return self.severity == "error"

    def fails(self, strict: bool) -> bool:
        """Whether this diagnostic stops its lesson: an error always, a warning with
        ``--strict``, a note never."""
        return self.severity == "error" or (strict and self.severity == "warning")


class LessonError(Exception):
    """Raised when a lesson (or course) cannot be built; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


#: The longest message printed (a value quoted from a hostile file can be megabytes long).
MAX_MESSAGE = 1000


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with control characters escaped (so a message stays one line), cut to
    ``limit`` characters with "..." when longer."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    if text.isprintable():
        return text
    # Only what breaks a line or the terminal: joiners and direction marks in quoted
    # Arabic or Indic text stay as they are.
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def display_path(path: Path) -> str:
    """The path relative to the current folder when it is below it, else as given.

    A symlink is named as itself, not as its target (a link refused for pointing outside
    must be named where it is)."""
    try:
        cwd = Path.cwd().resolve()
        absolute = Path(os.path.abspath(path))  # the folder's links resolved, not the file's
        return str((absolute.parent.resolve() / absolute.name).relative_to(cwd))
    except (ValueError, OSError, RuntimeError):
        pass
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


def error(path: Path, line: int, message: str) -> Diagnostic:
    """Shorthand for an error diagnostic."""
    return Diagnostic(path, line, "error", message)


def warning(path: Path, line: int, message: str) -> Diagnostic:
    """Shorthand for a warning diagnostic."""
    return Diagnostic(path, line, "warning", message)


def note(path: Path, line: int, message: str) -> Diagnostic:
    """Shorthand for a note (advice that never fails a build)."""
    return Diagnostic(path, line, "note", message)


class InternalError(Exception):
    """A bug in coursepack met while processing ``where`` (reported with exit status 3)."""

    def __init__(self, where: Path, message: str):
        # Both arguments in ``args`` so the error survives pickling out of a worker process.
        super().__init__(where, message)
        self.where = where

    def __str__(self) -> str:
        return str(self.args[1])


class BuildFailed(Exception):
    """A problem that stops the whole build before anything is written (one line, no file)."""
