"""Diagnostics: problems found in a lesson, reported as ``path:line: error: message``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place in a file (``line`` 0 when there is no line)."""

    path: Path
    line: int
    severity: Severity
    message: str

    def format(self) -> str:
        """The ``path:line: severity: message`` form that editors and CI understand."""
        where = f"{display_path(self.path)}:{self.line}" if self.line else display_path(self.path)
        return f"{where}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        """True for errors (warnings do not fail a build unless ``--strict``)."""
        return self.severity == "error"


class LessonError(Exception):
    """Raised when a lesson (or course) cannot be built; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


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
