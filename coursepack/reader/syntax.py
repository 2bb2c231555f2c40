"""What the lesson format accepts: front-matter keys, div attributes, limits, and the
patterns of fences, attributes and ``Answer:``."""

from __future__ import annotations

import re

from ..model import CALLOUT_KINDS

#: Front-matter keys a lesson may use (``pptx-template`` maps to ``Meta.pptx_template``).
FRONT_MATTER_KEYS = (
    "title",
    "subtitle",
    "course",
    "author",
    "date",
    "lang",
    "paper",
    "pptx-template",
    "slide-math",
    "moodle-ordering",
    "incremental",
    "reveal-answers",
    "exports",
    "versions",
    "blanks",
)
#: Front-matter keys that take a list of words (``exports: [moodle, qti]`` or ``moodle, qti``).
LIST_KEYS = ("exports",)
#: Bullets nest at most this deep; deeper items are flattened to this level.
MAX_LIST_DEPTH = 3
#: Attributes each div kind accepts.
DIV_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "question": ("points", "lines", "shuffle"),
    "match": ("points", "shuffle"),
    "order": ("points", "shuffle"),
    "notes": (),
    "teacher": (),
    "handout": (),
    "slides": (),
    "incremental": (),
    "nonincremental": (),
    **dict.fromkeys(CALLOUT_KINDS, ("title",)),
    "columns": (),
    "column": ("width",),
}
#: ``:::`` blocks nest at most this deep.
MAX_DIV_DEPTH = 8
#: Bold, italics and links nest at most this deep; deeper formatting is dropped (the text is
#: kept). Without a limit, ``*****...a*****...`` builds a model so deep that walking it (the
#: checks, the templates, the deck) overflows Python's recursion limit.
MAX_INLINE_DEPTH = 8
#: A lesson file larger than this is refused (a lesson of 1 MB is already a very long one).
MAX_LESSON_BYTES = 20_000_000
#: The most writing lines an open question may ask for.
MAX_LINES = 100
#: At most this many "removed character" warnings; the rest are summed up in one.
_MAX_CHAR_WARNINGS = 20

_REMOTE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_WINDOWS_DRIVE_RE = re.compile(r"^[a-zA-Z]:[\\/]")
# Characters removed from the text: C0/C1 controls except tab/newline/CR, DEL, non-characters
# U+FFFE/U+FFFF, and lone surrogates (only possible when text comes in as a Python string).
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# Fence lines (the only Markdown we match with regular expressions).
_DIV_FENCE_RE = re.compile(r"^ {0,3}(:{3,})(.*)$")
_CODE_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_ATTR_TOKEN_RE = re.compile(
    r"""\s*(?:([A-Za-z_][\w.-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'}]+)|(\.[^\s{}=]+)|(\#[^\s{}=]+)|(\S+))"""
)


_CURLY_QUOTES = ("“", "”", "‘", "’", "„")
# A bullet pasted from a word processor: "•", "–" (en dash) or "—" (em dash), then a space.
_PASTED_BULLET_RE = re.compile(r"^( {0,3})([•–—])[ \t]+(\S.*)$")
# Option lines that are no option: what is wrong with each (checked on a question's lines).
_OPTION_MISTAKES = (
    (
        re.compile(r"^\s*[-*+]\[[ xX]?\]"),
        "this option needs a space after the '-': write '- [ ] …' (or '- [x] …')",
    ),
    (
        re.compile(r"^\s*[-*+]\s+\[\](\s|$)"),
        "this option's box is '[]': write '[ ]' with a space inside (or '[x]' for a right one)",
    ),
    (
        re.compile(r"^\s*[-*+]\s+\[(\s+[xX]\s*|\s*[xX]\s+|[✓✔√✗])\](\s|$)"),
        "this option's box is not '[ ]' or '[x]': write '[x]' for a right option, '[ ]' for "
        "a wrong one",
    ),
    (
        re.compile(r"^\t+\s*[-*+]\s*\[[ xX]?\]"),
        "this option is indented with a tab, so it is not read as an option: start it at the "
        "beginning of the line",
    ),
)
# ![alt](a file.png): no image for Markdown (a destination cannot hold a space), so plain text.
_SPACED_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\(\s*([^)<>\s\"]+(?:\s+[^)<>\s\"]+)+)\s*\)")
# Markdown formatting that a blank's answer would print literally: **bold**, *italic*, `code`.
_FORMATTING_RE = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])|`(.+?)`")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer_re(words: tuple[str, ...]) -> re.Pattern[str]:
    """``Answer:`` (or a word of the lesson's language: ``Respuesta:``) at the start of text."""
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"^\s*(?:{alternatives})\s*:\s*", re.IGNORECASE)


def is_remote(src: str) -> bool:
    """True when ``src`` is a URL with a scheme (``https:``, ``file:``, ``data:``...).

    A Windows drive path (``C:\\pics\\map.png``) is not remote (it is a path outside the folder).
    """
    return bool(_REMOTE_RE.match(src)) and not _WINDOWS_DRIVE_RE.match(src)
