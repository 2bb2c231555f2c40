"""Finding layouts: the teacher's ``./layouts/`` first, then the built-in ones.

Like MkDocs' ``custom_dir``, lookup is a search path and overrides work file by file. This module
also loads the shared theme (colours and fonts) once for every writer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from coursepack.diagnostics import LessonError, display_path, error

PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_layouts_dir() -> Path:
    """The built-in layouts: inside the installed package, or the source tree's ``layouts/``."""
    packaged = PACKAGE_DIR / "_layouts"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "layouts"


class LayoutNotFound(Exception):
    """A layout file is in none of the searched folders."""

    def __init__(self, name: str, searched: tuple[Path, ...]):
        folders = ", ".join(str(p) for p in searched)
        super().__init__(f"layout file {name!r} not found (searched: {folders})")
        self.name = name
        self.searched = searched


class LayoutRefused(LessonError):
    """A layout file that resolves outside its layouts folder (a symlink, ``..``, an absolute
    name): a layouts folder may change the look, never read anything outside itself."""

    def __init__(self, name: str, path: Path, folder: Path):
        message = (
            f"layout file {name!r} resolves outside its layouts folder {display_path(folder)} "
            "(a link or '..'): refused"
        )
        super().__init__([error(path, 0, message)])
        self.path = path


@dataclass(frozen=True)
class LayoutSearch:
    """An ordered list of layout folders; the first that has a file wins."""

    folders: tuple[Path, ...] = field(default_factory=lambda: default_search_path())

    def find(self, name: str) -> Path:
        """The path of layout file ``name``, or :class:`LayoutNotFound` naming the folders."""
        for folder in self.folders:
            candidate = folder / name
            if candidate.is_file() or candidate.is_symlink():
                if not resolves_inside(candidate, folder):
                    raise LayoutRefused(name, candidate, folder)
                if candidate.is_file():
                    return candidate
        raise LayoutNotFound(name, self.folders)

    def overrides(self) -> list[Path]:
        """The files of every layouts folder before the built-in one (``./layouts/``), which
        replace built-in layout files: a build names them, so a shared folder's overrides
        are never in use unseen."""
        builtin = builtin_layouts_dir().resolve()
        return [
            path
            for folder in self.folders
            if folder != builtin
            for path in sorted(folder.iterdir())
            if not path.name.startswith(".") and (path.is_file() or path.is_symlink())
        ]

    @cached_property
    def theme(self) -> dict[str, Any]:
        """The shared theme: colours and fonts for every output.

        Every ``theme.yaml`` on the search path is merged, the teacher's over the built-in one,
        so an override needs only the values it changes.
        """
        merged: dict[str, Any] = {}
        for folder in reversed(self.folders):
            path = folder / "theme.yaml"
            if path.is_symlink() and not resolves_inside(path, folder):
                raise LayoutRefused("theme.yaml", path, folder)
            if path.is_file():
                merged = _merge(merged, _load_theme(path))
        if not merged:
            raise LayoutNotFound("theme.yaml", self.folders)
        return merged

    def theme_files(self) -> list[Path]:
        """Every ``theme.yaml`` that :attr:`theme` merges (for build stamps)."""
        return [
            folder / "theme.yaml" for folder in self.folders if (folder / "theme.yaml").is_file()
        ]


class ThemeError(Exception):
    """A ``theme.yaml`` that is not valid YAML or not a mapping."""


def resolves_inside(path: Path, folder: Path) -> bool:
    """True when ``path``, symlinks and ``..`` resolved, lies inside ``folder``."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    root = folder.resolve()
    return real == root or root in real.parents


def _load_theme(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ThemeError(f"{where}: invalid theme file: {reason}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ThemeError(f"{path}: a theme must be a mapping (colours:, fonts:)")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, merging nested mappings key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_search_path(user_dir: Path | None = None) -> tuple[Path, ...]:
    """``./layouts`` (or ``user_dir``) before the built-in layouts, without duplicates."""
    candidates = [user_dir or Path.cwd() / "layouts", builtin_layouts_dir()]
    seen: list[Path] = []
    for folder in candidates:
        resolved = folder.resolve()
        if resolved.is_dir() and resolved not in seen:
            seen.append(resolved)
    return tuple(seen)


def copy_builtin_layouts(folder: Path, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy every built-in layout file into ``folder``; returns (written, kept as they were).

    Each file is written to a temporary file and renamed over the old name, so a link in
    ``folder`` is replaced by the file, never followed (``--force`` must not overwrite what a
    link points to, outside the folder), and an interrupted copy leaves the old file whole.
    """
    from coursepack.outputs import write_atomic

    source = builtin_layouts_dir()
    if folder.resolve() == source.resolve():
        return [], sorted(p for p in source.iterdir() if p.is_file())
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[Path] = []
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        target = folder / path.name
        if os.path.lexists(target) and not overwrite:  # a dangling link is there too
            skipped.append(target)
            continue
        write_atomic(target, path.read_bytes())
        written.append(target)
    return written, skipped
