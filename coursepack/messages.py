"""Message catalogues: every fixed word the outputs print, in the lesson's language.

One YAML file per language in the layouts' ``messages/`` folder (``messages/es.yaml``), found
on the layout search path like every other layout file, so a teacher can override a single
word. A catalogue holds:

- ``plural``: the language's plural rule, by name (:data:`PLURAL_RULES`);
- ``direction``: ``ltr`` or ``rtl``;
- ``answer``: the words that start a model answer in a lesson (``Respuesta``), besides the
  English ``Answer``, which is always understood;
- ``letters``: the letters options are lettered with, in order (Arabic أ ب ج, Hebrew א ב ג;
  A, B, C when the catalogue names none);
- ``messages``: each message is a text, or for a count a mapping of plural categories
  (``one``, ``other``...) to texts; ``{n}`` and other names in braces are filled in.

A language without a catalogue falls back to English (``check`` warns once, at the ``lang``
line). Values are substituted by name only (no ``str.format``): a catalogue is data, and a
layout override must not be able to reach Python attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from coursepack.diagnostics import LessonError
from coursepack.layouts import LayoutNotFound, LayoutSearch, ThemeError
from coursepack.model import LATIN_LETTERS, option_letter

__all__ = [
    "FALLBACK",
    "PLURAL_RULES",
    "Catalogue",
    "CatalogueError",
    "catalogue",
    "css_string",
]

FALLBACK = "en"
FOLDER = "messages"


def _one(n: int) -> str:
    return "one" if n == 1 else "other"


def _zero_one(n: int) -> str:
    return "one" if n in (0, 1) else "other"


def _arabic(n: int) -> str:
    if n in (0, 1, 2):
        return ("zero", "one", "two")[n]
    if 3 <= n % 100 <= 10:
        return "few"
    if 11 <= n % 100 <= 99:
        return "many"
    return "other"


def _hebrew(n: int) -> str:
    return {1: "one", 2: "two"}.get(n, "other")


#: Plural rules by name (the CLDR categories each language uses for whole numbers).
PLURAL_RULES: dict[str, Callable[[int], str]] = {
    "one": _one,  # en, de, nl, it, es: 1 point, 0 points, 2 points
    "zero-one": _zero_one,  # fr, pt: 0 point, 1 point, 2 points
    "arabic": _arabic,
    "hebrew": _hebrew,
    "none": lambda n: "other",  # ja, zh, ko
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_RTL_LANGUAGES = frozenset({"ar", "he", "iw", "fa", "ur", "yi", "ps", "dv", "ckb", "sd", "ug"})


class CatalogueError(ThemeError):
    """A message catalogue that cannot be read (reported as ``path: …``)."""


@dataclass(frozen=True)
class Catalogue:
    """The messages of one language; call it to get a message: ``t("points", n=2)``."""

    lang: str  # the language asked for ("es-MX")
    found: str  # the catalogue used ("es"), FALLBACK when the language has none
    plural: str
    direction: str
    answer_words: tuple[str, ...]
    messages: Mapping[str, Any] = field(repr=False)
    english: Mapping[str, Any] = field(repr=False)
    path: Path | None = None
    letters: tuple[str, ...] = LATIN_LETTERS

    def letter(self, index: int) -> str:
        """The letter of option ``index`` (0-based) in this language (:func:`option_letter`)."""
        return option_letter(index, self.letters)

    def version_name(self, letter: str) -> str:
        """How test version ``letter`` (A, B … as in the file names) is printed in this
        language: the option letter of the same place, in capitals (Greek Α Β Γ, Arabic
        أ ب ج, Hebrew א ב ג; Latin A B C)."""
        index = 0
        for char in letter:  # A → 0, Z → 25, AA → 26, as option_letter counts
            index = index * len(LATIN_LETTERS) + LATIN_LETTERS.index(char) + 1
        return self.letter(index - 1).upper()

    @property
    def is_fallback(self) -> bool:
        """True when the lesson's language has no catalogue (English is used)."""
        return self.found != _primary(self.lang) and self.found != self.lang

    @property
    def rtl(self) -> bool:
        """True for a right-to-left language."""
        return self.direction == "rtl"

    def __call__(self, key: str, n: int | None = None, **values: Any) -> str:
        """The message ``key``, its plural form for ``n``, with ``{name}`` values filled in."""
        entry = self.messages.get(key, self.english.get(key))
        rule = PLURAL_RULES.get(self.plural, _one)
        if key not in self.messages:
            rule = _one  # the English text
        if entry is None:
            raise KeyError(f"no message {key!r} in {self.path or 'the catalogue'}")
        if isinstance(entry, Mapping):
            category = rule(n if n is not None else 0)
            text = str(entry.get(category, entry.get("other", "")))
        else:
            text = str(entry)
        if n is not None:
            values.setdefault("n", n)
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    def parts(self, key: str, *names: str) -> list[str]:
        """The text of ``key`` around its placeholders ``names``, in order (for CSS content
        such as "Page {page} of {pages}"): ``["Page ", " of ", ""]``."""
        text = self(key, **{name: "\x00" for name in names})
        pieces = text.split("\x00")
        return pieces + [""] * (len(names) + 1 - len(pieces))


def _primary(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()


def _candidates(lang: str) -> list[str]:
    tag = lang.replace("_", "-").strip()
    out = [tag, tag.lower(), _primary(tag)] if tag else []
    return list(dict.fromkeys(name for name in out if re.fullmatch(r"[A-Za-z0-9-]{1,20}", name)))


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogueError(f"{where}: invalid message catalogue: {reason}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("messages", {}), dict):
        raise CatalogueError(f"{path}: a message catalogue needs a 'messages:' mapping")
    letters = data.get("letters", list(LATIN_LETTERS))
    if (
        not isinstance(letters, list)
        or len(letters) < 2
        or not all(isinstance(x, str) and x.strip() for x in letters)
        or len(set(letters)) != len(letters)
    ):
        raise CatalogueError(
            f"{path}: 'letters' must be a list of at least two different letters, like [A, B, C, D]"
        )
    plural = str(data.get("plural", "one"))
    if plural not in PLURAL_RULES:
        known = ", ".join(PLURAL_RULES)
        raise CatalogueError(f"{path}: unknown plural rule {plural!r} (use one of: {known})")
    return data


def catalogue(lang: str, layouts: LayoutSearch | None = None) -> Catalogue:
    """The catalogue for ``lang`` ("es", "pt-BR"...), English when there is none."""
    layouts = layouts or LayoutSearch()
    # The files' change times are part of the key: `coursepack watch` sees an edited catalogue.
    stamps = tuple((path, _mtime(path)) for path in layouts.message_files())
    return _catalogue(lang or FALLBACK, layouts.folders, stamps)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@lru_cache(maxsize=64)
def _catalogue(
    lang: str, folders: tuple[Path, ...], stamps: tuple[tuple[Path, int], ...]
) -> Catalogue:
    search = LayoutSearch(folders)
    english_path = search.find(f"{FOLDER}/{FALLBACK}.yaml")
    english = _load(english_path)
    for name in _candidates(lang):
        try:
            path = search.find(f"{FOLDER}/{name}.yaml")
        except LayoutNotFound:
            continue
        data = english if path == english_path else _load(path)
        return _make(lang, name, data, english, path)
    made = _make(lang, FALLBACK, english, english, english_path)
    if _primary(lang) in _RTL_LANGUAGES:  # English words, but the lesson's own direction
        made = Catalogue(**{**made.__dict__, "direction": "rtl"})
    return made


def _make(
    lang: str, found: str, data: Mapping[str, Any], english: Mapping[str, Any], path: Path
) -> Catalogue:
    words = data.get("answer") or []
    if isinstance(words, str):
        words = [words]
    direction = str(data.get("direction", "rtl" if _primary(found) in _RTL_LANGUAGES else "ltr"))
    return Catalogue(
        lang=lang,
        found=found,
        plural=str(data.get("plural", "one")),
        direction="rtl" if direction == "rtl" else "ltr",
        answer_words=tuple(dict.fromkeys([*map(str, words), "Answer"])),
        messages=data.get("messages") or {},
        english=english.get("messages") or {},
        path=path,
        letters=tuple(str(x).strip() for x in data.get("letters") or LATIN_LETTERS),
    )


def answer_words(lang: str) -> tuple[str, ...]:
    """The words that start a model answer in a lesson in ``lang`` (English included)."""
    try:
        return catalogue(lang).answer_words
    except (LayoutNotFound, CatalogueError, LessonError):  # check reports the catalogue
        return ("Answer",)


def css_string(text: str) -> str:
    """``text`` as a CSS string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'
