"""Finding layouts: the teacher's ``./layouts/`` first, then the built-in ones.

Like MkDocs' ``custom_dir``, lookup is a search path and overrides work file by file. This module
also loads the shared theme (colours and fonts) once for every writer.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from coursepack.diagnostics import Diagnostic, LessonError, display_path, error, warning

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
            for path in [*sorted(folder.iterdir()), *sorted((folder / "messages").glob("*"))]
            if not path.name.startswith(".") and (path.is_file() or path.is_symlink())
        ]

    @cached_property
    def _theme_and_warnings(self) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
        merged: dict[str, Any] = {}
        warnings: list[Diagnostic] = []
        errors: list[Diagnostic] = []
        found = False
        for folder in reversed(self.folders):
            path = folder / "theme.yaml"
            if path.is_symlink() and not resolves_inside(path, folder):
                raise LayoutRefused("theme.yaml", path, folder)
            if path.is_file():
                found = True
                data, problems = load_theme(path)
                errors += [d for d in problems if d.is_error]
                warnings += [d for d in problems if not d.is_error]
                colours = data.get("colours", {})
                if "accent" in colours and "accent_light" not in colours and merged:
                    # Everything pale that the built-in theme derives from its accent follows
                    # a teacher's new accent (section slides, callouts, table headers).
                    colours["accent_light"] = tint(colours["accent"], ACCENT_LIGHT_TINT)
                merged = _merge(merged, data)
        if not found:
            raise LayoutNotFound("theme.yaml", self.folders)
        if errors:
            raise ThemeError(sorted(errors + warnings, key=lambda d: (str(d.path), d.line)))
        warnings += self._font_warnings(merged)
        return merged, tuple(warnings)

    def _font_warnings(self, theme: dict[str, Any]) -> list[Diagnostic]:
        """A warning at the line of each font the theme names that nothing provides (no font
        package, not an installed font listed under ``fonts: system:``): its text would
        silently print in the next font of the list."""
        from coursepack.fonts import unusable_theme_fonts

        found: list[Diagnostic] = []
        for family, reason in unusable_theme_fonts(theme):
            path, line = self._font_line(family)
            found.append(warning(path, line, f"font '{family}': {reason}"))
        return found

    def _font_line(self, family: str) -> tuple[Path, int]:
        """The theme file (the teacher's first) and the line that names ``family`` under
        ``fonts:``."""
        files = self.theme_files()
        for path in files:
            try:
                root = yaml.compose(path.read_text("utf-8-sig"), Loader=yaml.SafeLoader)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            for key, group in root.value if isinstance(root, yaml.MappingNode) else ():
                if key.value != "fonts" or not isinstance(group, yaml.MappingNode):
                    continue
                for _name, value in group.value:
                    items = value.value if isinstance(value, yaml.SequenceNode) else [value]
                    for item in items:
                        if isinstance(item, yaml.ScalarNode) and item.value.strip() == family:
                            return path, _line(item)
        return files[0], 0

    @property
    def theme(self) -> dict[str, Any]:
        """The shared theme: colours and fonts for every output.

        Every ``theme.yaml`` on the search path is merged, the teacher's over the built-in one,
        so an override needs only the values it changes. Raises :class:`ThemeError` with every
        problem (``path:line``) when a theme file is not valid.
        """
        return self._theme_and_warnings[0]

    @property
    def theme_warnings(self) -> tuple[Diagnostic, ...]:
        """Warnings about the theme files (unknown keys), for the build to print."""
        return self._theme_and_warnings[1]

    def message_files(self) -> list[Path]:
        """Every message catalogue on the search path (``messages/*.yaml``, for build stamps)."""
        return [
            path
            for folder in self.folders
            for path in sorted((folder / "messages").glob("*.yaml"))
            if path.is_file()
        ]

    def theme_files(self) -> list[Path]:
        """Every ``theme.yaml`` that :attr:`theme` merges (for build stamps)."""
        return [
            folder / "theme.yaml" for folder in self.folders if (folder / "theme.yaml").is_file()
        ]


class ThemeError(LessonError):
    """A ``theme.yaml`` that is not valid: every problem, at its line."""


def resolves_inside(path: Path, folder: Path) -> bool:
    """True when ``path``, symlinks and ``..`` resolved, lies inside ``folder``."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    root = folder.resolve()
    return real == root or root in real.parents


THEME_GROUPS = ("colours", "fonts", "code")
#: Top-level theme settings that take one word, and the words each accepts.
THEME_CHOICES: dict[str, tuple[str, ...]] = {"slide_math": ("equations", "pictures")}
#: What a theme may hold: colour names, and font settings with the kind of value each takes.
THEME_COLOURS = ("ink", "accent", "accent_light", "muted", "answer", "paper")
THEME_FONTS: dict[str, type] = {
    "handout": str,
    "handout_fallbacks": list,
    "code": str,  # the handout's code font (docs/fonts.md)
    "system": list,  # fonts of this machine the handout may use (only these)
    "slides": str,
    "slides_metrics": str,
}
#: accent_light is this much of the accent over white when a theme sets only the accent.
ACCENT_LIGHT_TINT = 0.11
_HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def tint(colour: str, amount: float) -> str:
    """``colour`` (``#rrggbb``) mixed with white: ``amount`` of the colour, the rest white."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * amount):02x}" for c in channels)


# Themes read in this process, by path and bytes: a build reads the built-in theme.yaml for
# the command, the check and the writers (three LayoutSearch objects), and YAML's pure-Python
# composer took about 0.1 s of CPU for each read after the first (a third of a no-op).
_THEMES: dict[tuple[Path, bytes], tuple[dict[str, Any], list[Diagnostic]]] = {}


def load_theme(path: Path) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Read and validate one ``theme.yaml``: its values, and every problem at its line
    (see :func:`_load_theme`); a file with the same bytes as one read before is not parsed
    again. The caller gets its own copy of the values (the theme merge changes them)."""
    try:
        text = path.read_bytes()[: MAX_THEME_BYTES + 1]
    except OSError:
        return _load_theme(path)
    key = (path, text)
    if key not in _THEMES:
        _THEMES[key] = _load_theme(path, text)
    data, problems = _THEMES[key]
    return copy.deepcopy(data), list(problems)


def _load_theme(path: Path, text: bytes | None = None) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Read and validate one ``theme.yaml``: its values, and every problem at its line.

    Colours must be ``#rrggbb`` (or ``#rgb``), which both the PDF and the deck can use;
    unknown keys are warnings with a suggestion; a value YAML read as empty because an
    unquoted ``#`` started a comment gets a message that says so.
    """
    problems: list[Diagnostic] = []
    try:
        if text is None:
            text = path.read_bytes()[: MAX_THEME_BYTES + 1]
        if len(text) > MAX_THEME_BYTES:
            return {}, [error(path, 0, f"larger than {MAX_THEME_BYTES // 1024} KB: not a theme")]
        root = yaml.compose(text.decode("utf-8-sig"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, [error(path, mark.line + 1 if mark else 0, f"invalid theme file: {reason}")]
    except RecursionError:
        return {}, [error(path, 0, "invalid theme file: nested too deeply")]
    except OSError as exc:
        return {}, [error(path, 0, f"cannot read: {exc.strerror or exc}")]
    if root is None:
        return {}, []
    if not isinstance(root, yaml.MappingNode):
        return {}, [error(path, _line(root), "a theme must be a mapping (colours:, fonts:)")]
    data: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        line = _line(key_node)
        if key in THEME_CHOICES:
            choices = THEME_CHOICES[key]
            word = value_node.value.strip() if isinstance(value_node, yaml.ScalarNode) else ""
            if word in choices:
                data[key] = word
            else:
                problems.append(error(path, line, f"'{key}' must be {' or '.join(choices)}"))
            continue
        if key not in THEME_GROUPS:
            known = (*THEME_GROUPS, *THEME_CHOICES)
            problems.append(warning(path, line, f"unknown theme key '{key}'{_hint(key, known)}"))
            continue
        if not isinstance(value_node, yaml.MappingNode):
            problems.append(error(path, line, f"'{key}' must be a group of 'name: value' lines"))
            continue
        if key == "code":
            data[key] = _code_styles(path, value_node, problems)
            continue
        known = THEME_COLOURS if key == "colours" else tuple(THEME_FONTS)
        group: dict[str, Any] = {}
        for name_node, item in value_node.value:
            name = str(name_node.value)
            where = _line(name_node)
            if name not in known:
                problems.append(
                    warning(path, where, f"unknown {key[:-1]} '{name}'{_hint(name, known)}")
                )
                continue
            if key == "colours":
                colour, problem = _colour(name, item)
                if problem:
                    problems.append(error(path, where, f"colour '{name}' {problem}"))
                else:
                    group[name] = colour
            else:
                value, problem = _font_value(item, THEME_FONTS[name])
                if problem:
                    problems.append(error(path, where, f"font '{name}' {problem}"))
                else:
                    group[name] = value
        data[key] = group
    return data, problems


MAX_THEME_BYTES = 64 * 1024


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _hint(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(choices)})"


def _colour(name: str, node: yaml.Node) -> tuple[str, str]:
    """A colour value as ``#rrggbb``, or the problem with it."""
    if not isinstance(node, yaml.ScalarNode):
        return "", 'must be one value like "#1d4e89"'
    value = node.value.strip()
    if not value and node.tag.endswith(":null"):
        return "", (
            "has no value: a '#' starts a comment in YAML, so put the colour in quotes "
            f'({name}: "#8b1e1e")'
        )
    if not _HEX_COLOUR.fullmatch(value):
        return "", (
            f'must be a hex colour like "#1d4e89", not {value[:40]!r} '
            "(the deck cannot use colour names)"
        )
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(char * 2 for char in digits)
    return "#" + digits.lower() if digits != value[1:] else value, ""


def _code_styles(path: Path, node: yaml.MappingNode, problems: list[Diagnostic]) -> dict:
    """``code:``: per kind of code token a colour and, optionally, ``bold``/``italic``."""
    from coursepack.code import CODE_KINDS

    styles: dict[str, dict[str, Any]] = {}
    for kind_node, entry in node.value:
        kind, where = str(kind_node.value), _line(kind_node)
        if kind not in CODE_KINDS:
            problems.append(
                warning(path, where, f"unknown code kind '{kind}'{_hint(kind, CODE_KINDS)}")
            )
            continue
        if not isinstance(entry, yaml.MappingNode):
            problems.append(
                error(path, where, f"code '{kind}' must be like {{colour: \"#1d4e89\"}}")
            )
            continue
        style: dict[str, Any] = {}
        for name_node, value in entry.value:
            name = str(name_node.value)
            if name == "colour":
                colour, problem = _colour(f"{kind}.colour", value)
                if problem:
                    problems.append(error(path, _line(name_node), f"code {kind}: colour {problem}"))
                else:
                    style[name] = colour
            elif name in ("bold", "italic"):
                flag = value.value.strip().lower() if isinstance(value, yaml.ScalarNode) else ""
                if flag not in ("true", "false"):
                    problems.append(
                        error(path, _line(name_node), f"code {kind}: {name} must be true or false")
                    )
                else:
                    style[name] = flag == "true"
            else:
                problems.append(
                    warning(
                        path,
                        _line(name_node),
                        f"unknown code setting '{name}' (known: colour, bold, italic)",
                    )
                )
        styles[kind] = style
    return styles


def _font_value(node: yaml.Node, kind: type) -> tuple[Any, str]:
    """A font name, or a list of font names, or the problem with it."""
    if kind is str:
        if isinstance(node, yaml.ScalarNode) and node.value.strip() and node.tag.endswith(":str"):
            return node.value.strip(), ""
        return None, 'must be a font name in quotes, like "Atkinson Hyperlegible"'
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) and item.value.strip() for item in node.value
    ):
        return [item.value.strip() for item in node.value], ""
    return None, 'must be a list of font names, like ["Noto Sans", "Noto Sans Arabic"]'


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
    files = [p for p in sorted(source.iterdir()) if p.is_file()]
    files += sorted((source / "messages").glob("*.yaml"))  # the message catalogues
    for path in files:
        if path.name.startswith("."):
            continue
        target = folder / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target) and not overwrite:  # a dangling link is there too
            skipped.append(target)
            continue
        write_atomic(target, path.read_bytes())
        written.append(target)
    return written, skipped
