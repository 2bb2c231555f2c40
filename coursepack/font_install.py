"""``coursepack fonts install``: put the packaged fonts where PowerPoint and LibreOffice find them.

A handout embeds its fonts; a deck only names them (``a:latin``, ``a:ea``, ``a:cs`` on each
run, see :func:`coursepack.fonts.deck_typefaces`), and the presenting computer draws the slides
with the fonts it has. The fonts coursepack prints with live inside Python packages, where no
presentation program looks, so a Japanese line on a slide shows boxes until they are installed
as the computer's own fonts. This module copies them into the user's font folder (no
administrator rights needed):

- Linux and other fontconfig systems: ``$XDG_DATA_HOME/fonts`` (``~/.local/share/fonts``),
  then ``fc-cache`` so that the fonts are usable at once;
- macOS: ``~/Library/Fonts``;
- Windows: ``%LOCALAPPDATA%\\Microsoft\\Windows\\Fonts``, registered for the user under
  ``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Fonts``.

Variable fonts are written as static regular and bold fonts (fontTools' instancer): LibreOffice
7.4 draws a variable font in its default instance, which for the Noto CJK fonts is Thin, and
older PowerPoints do not list variable fonts at all.

Embedding the fonts in the PPTX instead (``p:embeddedFontLst``) was tried and is not done:
LibreOffice 7.4 ignores embedded fonts in a PPTX, PowerPoint wants them as Embedded OpenType
parts, and a CJK font would add 6-10 MB to every deck.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from coursepack.fonts import FontFace, FontStack

__all__ = [
    "INSTALL_COMMAND",
    "InstallResult",
    "install_fonts",
    "installable_families",
    "installed_families",
    "is_installed",
    "missing_families",
    "user_font_folder",
]

#: The command the messages name (``coursepack fonts install "Noto Sans KR"``).
INSTALL_COMMAND = "coursepack fonts install"

#: The prefix of every file this module writes, so a second run replaces its own files only.
FILE_PREFIX = "coursepack-"


def user_font_folder(platform: str = sys.platform) -> Path:
    """The folder of the user's own fonts on this operating system."""
    home = Path.home()
    if platform == "darwin":
        return home / "Library" / "Fonts"
    if platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "Microsoft" / "Windows" / "Fonts"
    data = os.environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(data) / "fonts"


def installable_families(stack: FontStack, system: Iterable[str] = ()) -> list[str]:
    """The families of the theme's stacks that come from a Python package (not the system
    fonts the theme names), in the theme's order."""
    named = set(system)
    have = {face.family for face in stack.faces}
    return [f for f in dict.fromkeys((*stack.text, *stack.code)) if f in have and f not in named]


@dataclasses.dataclass(frozen=True)
class InstallResult:
    """What one run wrote: (family, file) pairs, and the families it could not find."""

    written: tuple[tuple[str, Path], ...]
    kept: tuple[tuple[str, Path], ...]
    unknown: tuple[str, ...]


#: File-name style of each (weight, style) a packaged family has.
_STYLES = {
    ("400", "normal"): "Regular",
    ("700", "normal"): "Bold",
    ("400", "italic"): "Italic",
    ("700", "italic"): "BoldItalic",
}


#: Beside the fonts: which packaged file each one was made from (its SHA-256), so that a run
#: after a font package upgrade, or after an interrupted copy, writes the file again.
MANIFEST = ".coursepack-fonts.json"


def _file_name(face: FontFace) -> str:
    """``coursepack-NotoSansKR-Bold.ttf``: only letters and digits of the family name (the
    name comes from a package or theme.yaml, and this file goes into the user's own folder)."""
    style = _STYLES.get((face.weight, face.style), f"{face.weight}{face.style.capitalize()}")
    return f"{_family_stem(face.family)}{re.sub(r'[^A-Za-z0-9]', '', style)}.ttf"


def _family_stem(family: str) -> str:
    """``coursepack-NotoSansKR-``: how the names of a family's files begin."""
    return f"{FILE_PREFIX}{re.sub(r'[^A-Za-z0-9]', '', family) or 'Font'}-"


def _source_digest(face: FontFace) -> str:
    """What an installed file was made from: the packaged file's bytes and the face's weight."""
    digest = hashlib.sha256(face.path.read_bytes())
    digest.update(f"|{face.weight}|{face.style}".encode())
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _write_atomic(folder: Path, target: Path, write: Callable[[Path], None]) -> None:
    """``write`` into a temporary of this run in ``folder``, then move it over ``target``
    (never through a link there, never a half-written font at ``target``)."""
    import tempfile

    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    partial = Path(name)
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _is_variable(path: Path) -> bool:
    """Whether the font file has variation axes (``fvar``)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return "fvar" in font


def _static_copy(face: FontFace, target: Path) -> None:
    """Write ``face`` as a static font file at ``target`` (a variable file is instanced at the
    face's weight, with its names updated: "Noto Sans KR" Bold, not "Noto Sans KR Thin")."""
    if not _is_variable(face.path):
        shutil.copyfile(face.path, target)
        return
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    with TTFont(face.path, fontNumber=0) as font:
        axes = {axis.axisTag: axis for axis in font["fvar"].axes}
        location: dict[str, float] = {}
        for tag, axis in axes.items():
            if tag == "wght":
                location[tag] = max(axis.minValue, min(axis.maxValue, float(face.weight)))
            else:  # width, slant, optical size...: the font's own default
                location[tag] = axis.defaultValue
        try:
            static = instancer.instantiateVariableFont(font, location, updateFontNames=True)
        except (ValueError, KeyError, AttributeError):  # no STAT table to name the instance by
            static = instancer.instantiateVariableFont(font, location)
            _name_static(static, face)
        static.save(target)


def _name_static(font, face: FontFace) -> None:
    """Family and style names for an instance whose font has no STAT table."""
    style = {"700": "Bold"}.get(face.weight, "Regular")
    if face.style == "italic":
        style = "Bold Italic" if style == "Bold" else "Italic"
    table = font["name"]
    postscript = f"{face.family.replace(' ', '')}-{style.replace(' ', '')}"
    for name_id, value in ((1, face.family), (2, style), (4, f"{face.family} {style}"),
                           (6, postscript)):  # fmt: skip
        table.setName(value, name_id, 3, 1, 0x409)
        table.setName(value, name_id, 1, 0, 0)
    for name_id in (16, 17):
        table.removeNames(nameID=name_id)


def install_fonts(
    stack: FontStack,
    families: Iterable[str],
    folder: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> InstallResult:
    """Write the regular and bold (and italic, where packaged) faces of ``families`` into
    ``folder`` (default: :func:`user_font_folder`) and tell the system about them."""
    folder = folder or user_font_folder()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(folder)
    written: list[tuple[str, Path]] = []
    kept: list[tuple[str, Path]] = []
    unknown: list[str] = []
    for family in dict.fromkeys(families):
        faces = [face for face in stack.faces if face.family == family]
        if not faces:
            unknown.append(family)
            continue
        for face in faces:
            target = folder / _file_name(face)
            source = _source_digest(face)
            # Kept only when it is the file this package makes: not after an upgrade, not a
            # file a run was stopped in the middle of (it is written elsewhere, then moved).
            fresh = target.is_file() and not target.is_symlink()
            if manifest.get(target.name) == source and fresh and not force:
                kept.append((family, target))
                continue
            if progress:
                progress(f"installing {family} ({target.stem.split('-')[-1]}) in {folder}")
            _write_atomic(folder, target, lambda path, face=face: _static_copy(face, path))
            manifest[target.name] = source
            written.append((family, target))
    if written:
        text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
        _write_atomic(folder, folder / MANIFEST, lambda path: path.write_text(text, "utf-8"))
        _register(folder, [path for _, path in written])
    _fc_families.cache_clear()
    return InstallResult(tuple(written), tuple(kept), tuple(unknown))


def _register(folder: Path, files: list[Path]) -> None:
    """Make newly written fonts usable without logging out: fontconfig's cache on Linux, the
    per-user font registry on Windows (macOS picks up ~/Library/Fonts by itself)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import winreg

        from fontTools.ttLib import TTFont

        key_path = r"Software\Microsoft\Windows NT\CurrentVersion\Fonts"
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key_path) as key:
            for path in files:
                with TTFont(path, lazy=True) as font:
                    full = font["name"].getDebugName(4) or path.stem
                winreg.SetValueEx(key, f"{full} (TrueType)", 0, winreg.REG_SZ, str(path))
        return
    if shutil.which("fc-cache"):
        subprocess.run(["fc-cache", "-f", str(folder)], capture_output=True, check=False)


def installed_families() -> frozenset[str] | None:
    """The family names of the fonts installed on this computer (``fc-list``), or ``None``
    where fontconfig is not there to ask (macOS and Windows usually).

    Asked once per state of the user's font folder: a running ``coursepack watch`` sees the
    fonts that ``coursepack fonts install`` (in another terminal) has just added."""
    return _fc_families(_folder_state(user_font_folder()))


def _folder_state(folder: Path) -> tuple[int, int] | None:
    try:
        info = folder.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_ino


@lru_cache(maxsize=1)
def _fc_families(folder_state: tuple[int, int] | None) -> frozenset[str] | None:
    """``fc-list``'s families (``folder_state`` only keys the cache)."""
    if shutil.which("fc-list") is None:
        return None
    try:
        result = subprocess.run(
            ["fc-list", "--format", "%{family}\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names: set[str] = set()
    for row in result.stdout.splitlines():
        names.update(name.strip() for name in row.split(",") if name.strip())
    return frozenset(names)


def is_installed(family: str) -> bool:
    """Whether presentation programs on this computer can find ``family``: in fontconfig's
    list, or (without fontconfig) as a file this module wrote into the user's font folder."""
    names = installed_families()
    if names is not None:
        return family in names
    return _has_own_files(family, user_font_folder())


def _has_own_files(family: str, folder: Path) -> bool:
    stem = _family_stem(family)
    return folder.is_dir() and any(path.name.startswith(stem) for path in folder.iterdir())


def missing_families(available: Iterable[str], folder: Path) -> tuple[list[str], list[str]]:
    """What ``coursepack fonts install`` without names installs into ``folder``, and what it
    leaves alone: a family this computer has from elsewhere than this module's own files
    (the distribution's Noto Sans, say), since a copy in the user's folder would shadow the
    system's and its updates. Named, such a family is installed all the same."""
    names = installed_families() or frozenset()
    wanted, skipped = [], []
    for family in available:
        elsewhere = family in names and not _has_own_files(family, folder)
        (skipped if elsewhere else wanted).append(family)
    return wanted, skipped
