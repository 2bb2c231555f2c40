"""Fonts: which files print a lesson, where they come from, and what to install for the rest.

Every glyph of a handout or key comes from a font the project controls: the families that
``theme.yaml`` names (``fonts.handout``, ``fonts.handout_fallbacks``, ``fonts.code``), each
found in a Python font package (a ``fontpkg-*`` package, or a package listed in
:data:`PACKAGED` below), or, only when ``theme.yaml`` names it under ``fonts.system``, a font
installed on this machine. WeasyPrint's fontconfig is given a configuration of its own
(:func:`private_fontconfig`), so a font that happens to be installed on the machine is never
picked silently: the same lesson prints the same on every machine.

:func:`missing_glyphs` is the check's side: the characters of a lesson that no font of the
stack has, grouped by line, with the install command that brings a font for them.

:func:`reproducible_fonts` makes the fonts WeasyPrint writes the same bytes on every build: a
variable font is instanced with fontTools, which stamps the instance with the current time
unless ``SOURCE_DATE_EPOCH`` is set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "PACKAGED",
    "FontFace",
    "FontStack",
    "MissingGlyphs",
    "font_stack",
    "document_chars",
    "missing_glyphs",
    "needed_families",
    "private_fontconfig",
    "unusable_theme_fonts",
    "reproducible_fonts",
]

#: The time stamped into fonts WeasyPrint instances (``head.modified``), when the user's
#: environment names none: the epoch of reproducible builds' convention.
FIXED_SOURCE_DATE_EPOCH = "0"


@dataclasses.dataclass(frozen=True)
class Packaged:
    """A font family shipped by a PyPI package that is not a ``fontpkg`` package."""

    family: str
    module: str  # the import name of the package that holds the files
    files: tuple[tuple[str, str], ...]  # (file name beside the module's __init__, style)
    pip: str  # the PyPI package to install
    extra: str = ""  # the coursepack extra that installs it ("" = a default dependency)
    scripts: tuple[str, ...] = ()  # Unicode name prefixes it covers (for install hints)


_CJK = ("CJK", "IDEOGRAPHIC", "KANGXI", "FULLWIDTH", "HALFWIDTH")


def _noto(family: str, file: str, *scripts: str) -> Packaged:
    return Packaged(family, "manimgx_fonts", ((file, "normal"),), "manimgx-fonts", "", scripts)


#: Families from packages other than fontpkg: manimgx-fonts (OFL-1.1 fonts, 3.5 MB, a default
#: dependency: Hebrew, symbols, a monochrome emoji font and the scripts of India and South-East
#: Asia) and justmytype-intl-cjk (OFL-1.1 fonts, 30 MB download, the ``cjk`` extra: Noto Sans
#: JP, KR, SC and TC, variable TrueType fonts with every weight; TrueType, not the CFF2 of the
#: Noto Sans CJK collection, which WeasyPrint embeds in a form PDF readers reject).
PACKAGED: dict[str, Packaged] = {
    entry.family: entry
    for entry in (
        _noto("Noto Sans Hebrew", "NotoSansHebrew[wght].ttf", "HEBREW"),
        _noto("Noto Sans Symbols", "NotoSansSymbols[wght].ttf"),
        _noto("Noto Emoji", "NotoEmoji[wght].ttf"),
        _noto("Noto Sans Armenian", "NotoSansArmenian[wght].ttf", "ARMENIAN"),
        _noto("Noto Sans Georgian", "NotoSansGeorgian[wght].ttf", "GEORGIAN"),
        _noto("Noto Sans Ethiopic", "NotoSansEthiopic[wght].ttf", "ETHIOPIC"),
        _noto("Noto Sans Devanagari", "NotoSansDevanagari[wght].ttf", "DEVANAGARI"),
        _noto("Noto Sans Bengali", "NotoSansBengali[wght].ttf", "BENGALI"),
        _noto("Noto Sans Gurmukhi", "NotoSansGurmukhi[wght].ttf", "GURMUKHI"),
        _noto("Noto Sans Gujarati", "NotoSansGujarati[wght].ttf", "GUJARATI"),
        _noto("Noto Sans Oriya", "NotoSansOriya[wght].ttf", "ORIYA"),
        _noto("Noto Sans Tamil", "NotoSansTamil[wght].ttf", "TAMIL"),
        _noto("Noto Sans Telugu", "NotoSansTelugu[wght].ttf", "TELUGU"),
        _noto("Noto Sans Kannada", "NotoSansKannada[wght].ttf", "KANNADA"),
        _noto("Noto Sans Malayalam", "NotoSansMalayalam[wght].ttf", "MALAYALAM"),
        _noto("Noto Sans Sinhala", "NotoSansSinhala[wght].ttf", "SINHALA"),
        _noto("Noto Sans Thai", "NotoSansThai[wght].ttf", "THAI"),
        _noto("Noto Sans Lao", "NotoSansLao[wght].ttf", "LAO"),
        _noto("Noto Sans Khmer", "NotoSansKhmer[wght].ttf", "KHMER"),
        _noto("Noto Sans Myanmar", "NotoSansMyanmar[wght].ttf", "MYANMAR"),
        *(
            Packaged(
                f"Noto Sans {tag}",
                "justmytype_intl_cjk",
                ((f"fonts/ofl/notosans{tag.lower()}/NotoSans{tag}[wght].ttf", "normal"),),
                "justmytype-intl-cjk",
                "cjk",
                scripts,
            )
            for tag, scripts in (
                ("JP", _CJK + ("HIRAGANA", "KATAKANA")),
                ("KR", ("HANGUL",)),
                ("SC", _CJK + ("BOPOMOFO",)),
                ("TC", _CJK + ("BOPOMOFO",)),
            )
        ),
    )
}


_CJK_FAMILIES = frozenset(f"Noto Sans {tag}" for tag in ("JP", "KR", "SC", "TC"))


@dataclasses.dataclass(frozen=True)
class FontFace:
    """One ``@font-face`` rule: a family, a style, a weight and the file."""

    family: str
    style: str
    weight: str
    path: Path

    def css(self) -> str:
        """The rule as CSS text."""
        family = self.family.replace('"', "")
        return (
            f'@font-face {{ font-family: "{family}"; font-style: {self.style}; '
            f'font-weight: {self.weight}; src: url("{self.path.as_uri()}"); }}'
        )


@dataclasses.dataclass(frozen=True)
class Unavailable:
    """A family the theme names that is not installed, and how to install it."""

    family: str
    hint: str
    scripts: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FontStack:
    """The fonts of the handout: faces in the order they are tried, and the missing ones."""

    text: tuple[str, ...]  # family names of the text stack, in order
    code: tuple[str, ...]  # family names of the code stack, in order
    faces: tuple[FontFace, ...]
    unavailable: tuple[Unavailable, ...]

    def files(
        self, families: Iterable[str], weight: int = 400, style: str = "normal"
    ) -> list[Path]:
        """One file per family (in order) for a weight and style, nearest first."""
        found: list[Path] = []
        for family in families:
            candidates = [face for face in self.faces if face.family == family]
            if not candidates:
                continue
            best = min(
                candidates,
                key=lambda f: (f.style != style, abs(int(f.weight) - weight)),
            )
            found.append(best.path)
        return found

    def only(self, families: Iterable[str]) -> FontStack:
        """The same stack (same family lists, so the same CSS) with the faces of ``families``
        only: the fonts WeasyPrint loads for a document that needs no others."""
        keep = set(families)
        faces = tuple(face for face in self.faces if face.family in keep)
        return FontStack(self.text, self.code, faces, self.unavailable)


#: Han characters are drawn differently in each language: a lesson (or a passage) in one of
#: these languages puts its own CJK font first. Attribute selectors, in CSS order (later wins).
LANGUAGE_FIRST = (
    ('[lang|="ja"]', "Noto Sans JP"),
    ('[lang|="ko"]', "Noto Sans KR"),
    ('[lang|="zh"]', "Noto Sans SC"),
    ('[lang="zh-TW"], [lang="zh-HK"], [lang="zh-MO"], [lang|="zh-Hant"]', "Noto Sans TC"),
)


def _language_orders(stack: FontStack) -> list[tuple[str, list[str]]]:
    """(selector, text families in order) for each language that puts its CJK font first."""
    orders: list[tuple[str, list[str]]] = []
    for selector, family in LANGUAGE_FIRST:
        if family not in stack.text or not stack.files([family]):
            continue
        first = stack.text.index(family)
        others = [f for f in stack.text if f != family]
        # Right after the fonts before the first CJK font (Latin stays in the text font).
        cjk_at = min((i for i, f in enumerate(stack.text) if f in _CJK_FAMILIES), default=first)
        orders.append((selector, others[:cjk_at] + [family] + others[cjk_at:]))
    return orders


def language_css(stack: FontStack) -> list[str]:
    """CSS rules that put a language's own CJK font first for text in that language."""
    rules: list[str] = []
    for selector, ordered in _language_orders(stack):
        text = ", ".join(f'"{name}"' for name in ordered)
        code = ", ".join(f'"{name}"' for name in (*stack.code, *ordered))
        rules.append(
            f"{selector} {{ font-family: {text}, sans-serif; --font-code: {code}, monospace; }}"
        )
    return rules


def _theme_list(fonts: Mapping[str, Any], key: str) -> list[str]:
    value = fonts.get(key) or []
    if isinstance(value, str):
        value = [value]
    return [str(name) for name in value if str(name).strip()]


def system_families(theme: Mapping[str, Any]) -> list[str]:
    """The system font families ``theme.yaml`` allows under ``fonts: system:`` (one name or
    a list)."""
    return _theme_list(theme.get("fonts") or {}, "system")


def font_stack(theme: Mapping[str, Any]) -> FontStack:
    """The faces of every family the theme names, resolved once (see the module docstring)."""
    fonts = theme.get("fonts") or {}
    text = _theme_list(fonts, "handout") + _theme_list(fonts, "handout_fallbacks")
    code = _theme_list(fonts, "code")
    system = set(system_families(theme))
    return _resolve(tuple(dict.fromkeys(text)), tuple(dict.fromkeys(code)), frozenset(system))


@lru_cache(maxsize=8)
def _resolve(text: tuple[str, ...], code: tuple[str, ...], system: frozenset[str]) -> FontStack:
    faces: list[FontFace] = []
    unavailable: list[Unavailable] = []
    for family in dict.fromkeys(code + text + tuple(sorted(system - set(text) - set(code)))):
        found, missing = _family_faces(family, family in system)
        faces += found
        if missing is not None:
            unavailable.append(missing)
    return FontStack(text, code, tuple(faces), tuple(unavailable))


def _family_faces(family: str, allow_system: bool) -> tuple[list[FontFace], Unavailable | None]:
    """The faces of one family: fontpkg, then the packaged table, then (if named) the system."""
    import fontpkg

    try:
        entry = fontpkg.family(family)
    except fontpkg.FontpkgError:
        entry = None
    if entry is not None:
        faces: list[FontFace] = []
        for file in entry.files:
            if file.variable:
                lo, hi = file.wght_min or 100, file.wght_max or 900
                faces += [
                    FontFace(entry.name, file.style, str(w), file.path)
                    for w in (400, 700)
                    if lo <= w <= hi
                ]
            else:
                faces.append(FontFace(entry.name, file.style, str(file.weight or 400), file.path))
        return faces, None
    packaged = PACKAGED.get(family)
    if packaged is not None:
        spec = importlib.util.find_spec(packaged.module)
        if spec is not None and spec.origin:
            folder = Path(spec.origin).parent
            faces = []
            for name, style in packaged.files:
                path = folder / name
                if path.is_file():
                    # Every packaged file is variable in weight: one rule per weight used.
                    faces += [FontFace(family, style, w, path) for w in ("400", "700")]
            if faces:
                return faces, None
        return [], Unavailable(family, install_hint(packaged), packaged.scripts)
    if allow_system:
        files = system_font_files(family)
        if files:
            return [FontFace(family, style, weight, path) for path, style, weight in files], None
        return [], Unavailable(
            family,
            "it is listed under fonts: system:, but no font of that family is installed on this "
            "computer (fc-list does not show it), so its text prints in the next font of the "
            "list: install the font, or remove it from theme.yaml (see docs/fonts.md)",
        )
    return [], Unavailable(
        family,
        f"{_did_you_mean(family)}no installed font package has it and it is not listed under "
        "fonts: system:, so its "
        "text prints in the next font of the list: pip install the font package that has it "
        "(a fontpkg-* package, see docs/fonts.md), or, for a font installed on this computer, "
        "add its family name to fonts: system:",
    )


def unusable_theme_fonts(theme: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(family, what to do) for each font the theme names that neither a font package nor a
    listed, installed system font provides. A packaged family whose package is not installed
    (the ``cjk`` extra) is left out: the lines that need it are reported by the check."""
    stack = font_stack(theme)
    used = set(stack.text) | set(stack.code)
    return [
        (missing.family, missing.hint)
        for missing in stack.unavailable
        if missing.family not in PACKAGED and missing.family in used | set(system_families(theme))
    ]


def _did_you_mean(family: str) -> str:
    """``did you mean 'Atkinson Hyperlegible'? `` for a near miss of a packaged family."""
    import difflib

    import fontpkg

    known = [entry.name for entry in fontpkg.families().values()] + list(PACKAGED)
    close = difflib.get_close_matches(family, known, n=1, cutoff=0.8)
    return f"did you mean '{close[0]}'? " if close else ""


def install_hint(packaged: Packaged) -> str:
    """The pip command that installs a packaged family (as the messages print it)."""
    if packaged.extra:
        return f"install coursepack[{packaged.extra}] (pip install {packaged.pip})"
    return f"pip install {packaged.pip}"


def system_font_files(family: str) -> list[tuple[Path, str, str]]:
    """(file, style, weight) of the regular and bold faces of an installed system family,
    from ``fc-list`` (exact family name; condensed and light faces are left out)."""
    try:
        result = subprocess.run(
            ["fc-list", "--format", "%{file}\t%{family}\t%{style}\t%{weight}\t%{width}\n", family],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    found: list[tuple[Path, str, str]] = []
    for row in sorted(result.stdout.splitlines()):
        parts = row.split("\t")
        if len(parts) != 5 or family not in parts[1].split(","):
            continue
        path, _, style, weight, width = parts
        # fontconfig weights: 80 regular, 200 bold; width 100 is normal (not condensed).
        if width not in ("", "100") or weight not in ("80", "200"):
            continue
        italic = any(word in style.lower() for word in ("italic", "oblique"))
        found.append(
            (Path(path), "italic" if italic else "normal", "700" if weight == "200" else "400")
        )
    return found


# --------------------------------------------------------------------------- coverage


@lru_cache(maxsize=64)
def _cmap(path: Path) -> frozenset[int]:
    """The code points a font file (the first face of a collection) has glyphs for.

    Kept on disk between processes (:func:`_cmap_cache_file`): the check of every build, a
    no-op rebuild's included, needs the text font's, and reading one with fontTools (and
    importing fontTools) cost more than the rest of a no-op's check.
    """
    cache = _cmap_cache_file(path)
    codes = _read_cached_cmap(cache)
    if codes is None:
        codes = _read_cmap(path)
        _write_cached_cmap(cache, codes)
    return codes


def _read_cmap(path: Path) -> frozenset[int]:
    """The code points of ``path``'s best Unicode cmap, read with fontTools."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        # Only the code points are kept, not the glyph names the cmap maps them to: with no
        # glyph order, fontTools names glyph n "glyph0000n" instead of reading every name
        # from the 'post' table, two thirds of reading a cmap (the same keys either way).
        font.glyphOrder = []
        return frozenset(font.getBestCmap() or {})


# Bump when the cached form changes.
_CMAP_FORMAT = "1"


def _cmap_cache_file(path: Path) -> Path | None:
    """Where the code points of ``path`` are kept: named by the file's path, size and
    modification time (a font file replaced or upgraded gets a new name), in the cache
    folder beside the drawn formulas (``COURSEPACK_CACHE``: another folder, "" none)."""
    from coursepack.cache import cache_folder

    folder = cache_folder("cmaps")
    if folder is None:
        return None
    try:
        info = path.stat()
        where = str(path.resolve())
    except (OSError, RuntimeError):
        return None
    key = "\0".join((_CMAP_FORMAT, where, str(info.st_size), str(info.st_mtime_ns)))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return folder / f"{digest}.json"


def _read_cached_cmap(cache: Path | None) -> frozenset[int] | None:
    """The cached code points (as ``[first, last]`` ranges), or None (none, or damaged)."""
    if cache is None:
        return None
    try:
        ranges = json.loads(cache.read_text(encoding="utf-8"))
        codes: set[int] = set()
        for first, last in ranges:
            if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last):
                return None
            if last > 0x10FFFF:
                return None
            codes.update(range(first, last + 1))
    except (OSError, ValueError, TypeError):
        return None
    return frozenset(codes)


def _write_cached_cmap(cache: Path | None, codes: frozenset[int]) -> None:
    """Keep ``codes`` in ``cache`` (a folder that cannot be written is skipped)."""
    if cache is None:
        return
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    from coursepack.cache import write_whole

    write_whole(cache, json.dumps(ranges, separators=(",", ":")).encode("ascii"))


def script_name(char: str) -> str:
    """A reader's name for the script of ``char`` ("Japanese", "Hebrew", "emoji"...)."""
    name = unicodedata.name(char, "")
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "Japanese"
    if name.startswith("HANGUL"):
        return "Korean"
    if name.startswith(("CJK", "IDEOGRAPHIC", "KANGXI", "BOPOMOFO")):
        return "Chinese/Japanese/Korean"
    if unicodedata.category(char) == "So" or 0x1F000 <= ord(char) <= 0x1FAFF:
        return "symbol or emoji"
    first = name.split(" ")[0].capitalize() if name else f"U+{ord(char):04X}"
    return first


@dataclasses.dataclass(frozen=True)
class MissingGlyphs:
    """Characters on one line that no font of the stack has, and what to do about it."""

    line: int
    words: tuple[str, ...]
    scripts: tuple[str, ...]
    hint: str

    def message(self) -> str:
        """The warning text: ``no font for 食べ物 (Japanese): install …``."""
        words = ", ".join(self.words)
        return f"no font for {words} ({', '.join(self.scripts)}): {self.hint}"


def _hint_for(chars: Iterable[str], stack: FontStack) -> str:
    hints: list[str] = []
    for char in chars:
        name = unicodedata.name(char, "")
        for missing in stack.unavailable:
            if any(name.startswith(prefix) for prefix in missing.scripts):
                hints.append(missing.hint)
                break
        else:
            hints.append(
                "no font that coursepack installs has it (name an installed font in "
                "theme.yaml under fonts: system:, see docs/fonts.md)"
            )
    return "; ".join(dict.fromkeys(hints))


def _words_with(text: str, chars: set[str], limit: int = 4) -> list[str]:
    """The words of ``text`` that contain one of ``chars`` (at most ``limit``)."""
    words: list[str] = []
    current = ""
    for char in text + " ":
        if char.isspace() or (unicodedata.category(char).startswith("P") and char not in chars):
            if current and any(c in chars for c in current) and current not in words:
                words.append(current)
            current = ""
        else:
            current += char
    return words[:limit] or sorted(chars)[:limit]


def missing_glyphs(texts: Iterable[tuple[int, str]], stack: FontStack) -> list[MissingGlyphs]:
    """For (line, text) pairs: the lines with characters no font of the text stack has."""
    files = stack.files(stack.text)
    covered: set[int] = set()
    loaded = 0
    by_line: dict[int, tuple[list[str], set[str]]] = {}
    for line, text in texts:
        for char in set(text):
            code = ord(char)
            if code < 0x80 and (char.isprintable() or char.isspace()):
                continue  # every text font has ASCII; saves loading any cmap for most lessons
            if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Mn", "Zs"):
                continue  # marks and format characters are drawn with their base (or not at all)
            while code not in covered and loaded < len(files):
                covered |= _cmap(files[loaded])
                loaded += 1
            if code not in covered:
                line_texts, chars = by_line.setdefault(line, ([], set()))
                if text not in line_texts:
                    line_texts.append(text)
                chars.add(char)
    found: list[MissingGlyphs] = []
    for line in sorted(by_line):
        line_texts, chars = by_line[line]
        words: list[str] = []
        for text in line_texts:
            words += [w for w in _words_with(text, chars) if w not in words]
        scripts = tuple(dict.fromkeys(script_name(c) for c in sorted(chars)))
        hint = _hint_for(sorted(chars), stack)
        found.append(MissingGlyphs(line, tuple(words[:4]), scripts, hint))
    return found


# --------------------------------------------------------------------------- fonts a document needs

#: Characters WeasyPrint can print that are in neither the HTML nor the CSS text: an ellipsis
#: (text-overflow) and the bullet of a list item whose list style is the initial one (disc).
GENERATED_CHARS = frozenset("\u2026\u2022 ")
#: The user agent's bullets of nested lists (circle, square), unless a stylesheet styles ``ul``.
NESTED_BULLETS = frozenset("\u25e6\u25aa")
_UL_STYLED = re.compile(r"(?:^|[};])\s*ul\s*\{[^}]*list-style", re.MULTILINE)
#: The user agent's marks of a ``<details>`` element (disclosure-open, disclosure-closed).
DISCLOSURE_CHARS = frozenset("\u25b8\u25be")
#: What a hyphenated break prints (WeasyPrint's ``hyphenate-character``).
HYPHEN = "\u2010"
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")


def css_chars(css: str) -> set[str]:
    """The characters of a stylesheet's text, its ``\\2713`` escapes decoded."""
    chars = set(css)
    for match in _CSS_ESCAPE.finditer(css):
        code = int(match.group(1), 16)
        if 0 < code <= 0x10FFFF:
            chars.add(chr(code))
    return chars


def document_chars(html: str, css_texts: Iterable[str]) -> set[str] | None:
    """Every character WeasyPrint may print for ``html`` with these stylesheets (a superset:
    markup and CSS words included), or None when that cannot be told from the text: quotation
    marks the user agent adds, or a counter style that is not plain ASCII."""
    import html as html_module

    css = "\n".join(css_texts)
    lowered = css.lower()
    if "<q" in html or "open-quote" in lowered or "close-quote" in lowered:
        return None
    chars = set(html_module.unescape(html)) | css_chars(css) | GENERATED_CHARS
    if "\u00ad" in chars or "&shy;" in html or "hyphens: auto" in lowered:
        chars.add(HYPHEN)
    if not _UL_STYLED.search(lowered):
        chars |= NESTED_BULLETS
    if "<details" in html or "<summary" in html or "disclosure" in lowered:
        chars |= DISCLOSURE_CHARS
    for used in _COUNTER_USE.findall(lowered + "\n" + html.lower()):
        if set(re.findall(r"[a-z][a-z-]*", used)) & _OTHER_COUNTER_STYLES:
            return None
    return chars


#: Where a counter style is named: list-style(-type), counter(s)(), a style that extends one.
_COUNTER_USE = re.compile(r"list-style(?:-type)?\s*:[^;}\"]*|counters?\([^)]*\)|extends\s+[\w-]+")


#: The user agent's counter styles (WeasyPrint's html5_ua.css) with symbols other than ASCII
#: digits and letters and GENERATED_CHARS: a stylesheet naming one loads every font.
_OTHER_COUNTER_STYLES = frozenset(
    {"arabic-indic", "armenian", "upper-armenian", "lower-armenian", "bengali", "cambodian",
     "khmer", "cjk-decimal", "devanagari", "georgian", "gujarati", "gurmukhi", "hebrew",
     "kannada", "lao", "malayalam", "mongolian", "myanmar", "oriya", "persian", "lower-greek",
     "tamil", "telugu", "thai", "tibetan", "cjk-earthly-branch", "cjk-heavenly-stem",
     "hiragana", "hiragana-iroha", "katakana", "katakana-iroha", "japanese-informal",
     "japanese-formal", "korean-hangul-formal", "korean-hanja-informal",
     "korean-hanja-formal", "simp-chinese-informal", "simp-chinese-formal",
     "trad-chinese-informal", "trad-chinese-formal", "ethiopic-numeric", "cjk-ideographic"}
)  # fmt: skip


def needed_families(chars: Iterable[str], stack: FontStack) -> frozenset[str] | None:
    """The families of ``stack`` that can print a character of ``chars``, or None when some
    character has no font in the stack (then every font is loaded, as before).

    Pango prints each character in the first family of the CSS list whose face has it. Every
    list the handout's CSS uses is walked (text, code, each language's CJK order); for a
    character a family is kept when one of its faces has it, up to the first family whose
    every face has it. A family left out is never the one a character is printed in, so the
    PDF is the same as with every font loaded, and a Latin lesson no longer loads CJK fonts.
    """
    orders = [list(stack.text), [*stack.code, *stack.text]]
    for _, ordered in _language_orders(stack):
        orders += [ordered, [*stack.code, *ordered]]
    faces: dict[str, list[Path]] = {}
    for face in stack.faces:
        faces.setdefault(face.family, [])
        if face.path not in faces[face.family]:
            faces[face.family].append(face.path)
    keep: set[str] = set()
    for char in set(chars):
        if char in "\n\r\t":
            continue  # line breaks and tabs are never drawn with a glyph
        code = ord(char)
        for order in orders:
            for family in order:
                paths = faces.get(family)
                if not paths:
                    continue
                has = [code in _cmap(path) for path in paths]
                if any(has):
                    keep.add(family)
                if all(has):
                    break
            else:
                return None
    return frozenset(keep)


# --------------------------------------------------------------------------- the deck

#: Where OOXML draws a character: East Asian text with the run's ``ea`` typeface, right-to-left
#: and South/South-East Asian scripts with its ``cs`` (complex script) typeface.
_EAST_ASIAN = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "FULLWIDTH")
_COMPLEX = (
    "ARABIC", "HEBREW", "THAI", "LAO", "KHMER", "MYANMAR", "DEVANAGARI", "BENGALI", "GURMUKHI",
    "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA",
)  # fmt: skip


def deck_typefaces(text: str, stack: FontStack, lang: str = "") -> tuple[str, str]:
    """The (East Asian, complex script) typefaces a slide run should name for ``text``: the
    families the handout prints those characters in ("" where the text has none)."""
    order = list(stack.text)
    for selector, family in LANGUAGE_FIRST:  # a lesson in ja/ko/zh puts its own CJK font first
        tags = [part.split('"')[1] for part in selector.split(",")]
        primary = lang.split("-")[0]
        if family in order and any(lang == tag or primary == tag for tag in tags):
            order.remove(family)
            order.insert(0, family)
    wanted: dict[str, set[int]] = {"ea": set(), "cs": set()}
    for char in text:
        if ord(char) < 0x370:
            continue
        name = unicodedata.name(char, "")
        if name.startswith(_EAST_ASIAN):
            wanted["ea"].add(ord(char))
        elif name.startswith(_COMPLEX):
            wanted["cs"].add(ord(char))
    chosen = {"ea": "", "cs": ""}
    for slot, codes in wanted.items():
        best = 0
        for family in order:  # the family that has most of them, the first of equals
            files = stack.files([family])
            count = len(codes & _cmap(files[0])) if files and codes else 0
            if count > best:
                best, chosen[slot] = count, family
    east, complex_ = chosen["ea"], chosen["cs"]
    return east, complex_


# --------------------------------------------------------------------------- WeasyPrint


@contextlib.contextmanager
def private_fontconfig(stack: FontStack) -> Iterator[None]:
    """While a WeasyPrint ``FontConfiguration`` is made: a fontconfig configuration that knows
    only the stack's font folders, never the machine's own fonts (``FONTCONFIG_FILE``)."""
    folders = sorted({str(face.path.parent) for face in stack.faces})
    body = "".join(f"<dir>{escape(folder)}</dir>" for folder in folders)
    xml = (
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig>{body}</fontconfig>"
    )
    with tempfile.TemporaryDirectory(prefix="coursepack-fc-") as folder:
        conf = Path(folder) / "fonts.conf"
        conf.write_text(xml, encoding="utf-8")
        saved = os.environ.get("FONTCONFIG_FILE")
        os.environ["FONTCONFIG_FILE"] = str(conf)
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("FONTCONFIG_FILE", None)
            else:
                os.environ["FONTCONFIG_FILE"] = saved


@contextlib.contextmanager
def reproducible_fonts() -> Iterator[None]:
    """While a PDF is written: fonts instanced by fontTools get a fixed time stamp
    (``SOURCE_DATE_EPOCH``; a value the user set is kept)."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = FIXED_SOURCE_DATE_EPOCH
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
