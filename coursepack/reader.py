"""Reading a lesson: one Markdown file in, a typed :class:`~coursepack.model.Lesson` out.

The reader works in four steps, and every model node keeps the 1-based line of the file it came
from (front matter counted), so any later check can say ``path:line``:

1. **Decode**: bytes to text (UTF-8 only; a UTF-8 BOM is dropped, Windows line endings become
   ``\\n``); control characters are removed with a warning.
2. **Front matter**: the ``---`` block at the top is parsed with PyYAML (safe loader); the raw text
   of each scalar is kept, so ``lang: no`` stays ``"no"`` and dates stay as written.
3. **Fenced divs**: a pre-scan of the body lines finds the ``:::`` fences (skipping code fences)
   and builds a tree of regions. markdown-it (which knows nothing about ``:::``) cannot close an
   unclosed div silently this way, and we can report it at the line where it opened.
4. **Markdown**: each region between fences is parsed with markdown-it-py (CommonMark + tables,
   raw HTML disabled so it stays literal text); token line maps plus the region's first line give
   the file line. ``[[answer]]`` cloze blanks are a markdown-it inline rule.

Only *syntax-level* problems are reported here; :mod:`coursepack.check` adds the semantic checks
(missing prompts, missing images...). Nothing here raises for anything a user can write.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

import yaml
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from .diagnostics import Diagnostic, error, warning
from .messages import answer_words
from .model import (
    AUDIENCE_KINDS,
    BUILD_KINDS,
    CALLOUT_KINDS,
    DIV_KINDS,
    PAPERS,
    Block,
    BulletList,
    Callout,
    Cloze,
    Code,
    CodeBlock,
    Column,
    Columns,
    Div,
    Emph,
    Image,
    Inline,
    Inlines,
    Lesson,
    LineBreak,
    Link,
    ListItem,
    Match,
    MatchPair,
    Math,
    Meta,
    Option,
    Order,
    OrderItem,
    Paragraph,
    Question,
    Quote,
    Section,
    Strong,
    Subscript,
    Superscript,
    Table,
    TableCell,
    Text,
    Topic,
    iter_blocks,
    paper_name,
    plain_text,
)

__all__ = [
    "FRONT_MATTER_KEYS",
    "MAX_LIST_DEPTH",
    "is_remote",
    "iter_images",
    "read_lesson",
    "read_text",
]

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


# --------------------------------------------------------------------------- public API


def read_lesson(path: Path) -> tuple[Lesson | None, list[Diagnostic]]:
    """Read the lesson at ``path``: the model plus syntax-level diagnostics.

    The lesson is ``None`` only when no model can be built at all (missing or unreadable file,
    not UTF-8, broken front matter). Never raises for user input.
    """
    path = Path(path)
    try:
        # Only regular files, and only so much of them: a device (/dev/zero) or a named pipe
        # would never end, and a video given by mistake would be read whole into memory.
        if path.exists() and not path.is_dir() and not path.is_file():
            return None, [error(path, 0, "this is not a regular file, so not a lesson")]
        with path.open("rb") as handle:
            data = handle.read(MAX_LESSON_BYTES + 1)
        if len(data) > MAX_LESSON_BYTES:
            return None, [
                error(
                    path,
                    0,
                    f"the file is larger than {MAX_LESSON_BYTES // 1_000_000} MB: too big for a "
                    "lesson (is it the right file?)",
                )
            ]
    except FileNotFoundError:
        return None, [error(path, 0, "file not found (check the name and the folder)")]
    except IsADirectoryError:
        return None, [error(path, 0, "this is a folder, not a lesson file")]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [error(path, 0, f"cannot read the file ({reason.lower()})")]
    text, diagnostics = _decode(data, path)
    if text is None:
        return None, diagnostics
    lesson, more = _read(text, path, hashlib.sha256(data).hexdigest())
    return lesson, diagnostics + more


def read_text(text: str, path: Path) -> tuple[Lesson | None, list[Diagnostic]]:
    """Read a lesson from a string, as if it were the contents of ``path`` (tests, fuzzing)."""
    path = Path(path)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if text.startswith("\ufeff"):
        text = text[1:]
    return _read(text, path, digest)


# --------------------------------------------------------------------------- decoding


def _decode(data: bytes, path: Path) -> tuple[str | None, list[Diagnostic]]:
    """Bytes to text: UTF-8 only (BOM dropped); other encodings are one clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [
            error(path, 1, 'the file is UTF-16 ("Unicode"), not UTF-8 (save it as UTF-8)')
        ]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:2000]
    if len(head) >= 8 and head.count(b"\x00") * 4 > len(head):
        return None, [
            error(path, 1, 'the file looks like UTF-16 ("Unicode"), not UTF-8 (save it as UTF-8)')
        ]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        return None, [
            error(
                path,
                line,
                f"the file is not UTF-8 (save it as UTF-8): byte 0x{byte:02x} at column "
                f"{column} of this line cannot be read (a file saved as Latin-1 or "
                "Windows-1252?)",
            )
        ]


def _clean_lines(text: str, path: Path) -> tuple[list[str], list[Diagnostic]]:
    """Split into lines (``\\r\\n``, ``\\r`` and ``\\n`` all end a line) and drop bad characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    diagnostics: list[Diagnostic] = []
    if not _BAD_CHARS_RE.search(text):
        return lines, diagnostics
    bad_lines = 0
    first_unreported = 0
    for index, line in enumerate(lines):
        found = _BAD_CHARS_RE.findall(line)
        if not found:
            continue
        bad_lines += 1
        lines[index] = _BAD_CHARS_RE.sub("", line)
        if bad_lines == _MAX_CHAR_WARNINGS + 1:
            first_unreported = index + 1
        if bad_lines <= _MAX_CHAR_WARNINGS:
            names = ", ".join(dict.fromkeys(_char_name(c) for c in found))
            diagnostics.append(
                warning(
                    path,
                    index + 1,
                    f"removed {len(found)} invisible control character(s) ({names})",
                )
            )
    if bad_lines > _MAX_CHAR_WARNINGS:
        diagnostics.append(
            warning(
                path,
                first_unreported,
                f"removed control characters on {bad_lines - _MAX_CHAR_WARNINGS} more line(s), "
                "from this one on",
            )
        )
    return lines, diagnostics


def _char_name(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "NUL"
    return f"U+{code:04X}"


# --------------------------------------------------------------------------- front matter


def _split_front_matter(
    lines: list[str], path: Path
) -> tuple[list[str] | None, int, list[Diagnostic]]:
    """Return (front matter lines or None, index of the first body line, diagnostics).

    Front matter starts with ``---`` on the first line and ends with ``---`` or ``...``.
    """
    if not lines or lines[0].rstrip() != "---":
        return None, 0, []
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return lines[1:index], index + 1, []
    return (
        None,
        -1,
        [
            error(
                path,
                1,
                "front matter opened with '---' on line 1 is never closed "
                "(add a line with '---' after the last 'key: value' line)",
            )
        ],
    )


def _parse_meta(fm_lines: list[str] | None, path: Path) -> tuple[Meta | None, list[Diagnostic]]:
    """Parse the front matter into :class:`Meta` (``None`` when it cannot be read at all)."""
    diagnostics: list[Diagnostic] = []
    if fm_lines is None:
        return Meta(title=""), [
            error(
                path,
                1,
                "missing title (start the file with front matter: a '---' line, "
                "'title: Your lesson title', and another '---' line)",
            )
        ]
    source = "\n".join(fm_lines)
    try:
        # Parse with the safe loader but keep the nodes: values stay the text as written
        # (``lang: no`` is "no", not False; ``date: 2026-13-45`` is no error), and each key
        # keeps its line.
        node = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context_mark", None)
        if context is not None and mark is not None and context.line != mark.line:
            problem += f" (in the value that starts on line {context.line + 2})"
        bad_line = (
            fm_lines[min(line, len(fm_lines) + 1) - 2] if 2 <= line <= len(fm_lines) + 1 else ""
        )
        if "'\\t'" in problem:
            hint = "use spaces, not tabs, at the start of a line"
        elif any(quote in bad_line for quote in _CURLY_QUOTES):
            hint = (
                "the value is in curly quotes (“ ” or ‘ ’), which YAML does not read as quotes: "
                'type straight quotes, "like this"'
            )
        else:
            hint = "write one 'key: value' per line; put quotes around a value that contains ': '"
        message = f"the front matter is not valid YAML: {problem} ({hint})"
        return None, [error(path, min(line, len(fm_lines) + 1), message)]
    except RecursionError:
        return None, [error(path, 1, "the front matter is nested too deeply to be read")]
    except ValueError as exc:  # pragma: no cover - exotic YAML failures
        return None, [error(path, 1, f"the front matter cannot be read: {exc}")]
    if node is None:
        return Meta(title=""), [
            error(
                path, 1, "missing title (add a line 'title: Your lesson title' to the front matter)"
            )
        ]
    if not isinstance(node, yaml.MappingNode):
        return None, [
            error(
                path,
                node.start_mark.line + 2,
                "the front matter must be 'key: value' lines (for example 'title: My lesson')",
            )
        ]
    values: dict[str, str] = {}
    lists: dict[str, tuple[str, ...]] = {}
    key_lines: list[tuple[str, int]] = []
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 2
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        if not isinstance(key, str) or not key:
            diagnostics.append(error(path, line, "a front matter key must be a plain word"))
            continue
        if key not in FRONT_MATTER_KEYS:
            diagnostics.append(
                warning(
                    path,
                    line,
                    f"unknown front matter key '{key}'{_suggest(key, FRONT_MATTER_KEYS)}",
                )
            )
            continue
        if key in values:
            diagnostics.append(
                warning(
                    path, line, f"front matter key '{key}' appears twice (the last one is used)"
                )
            )
        key_lines.append((key, line))
        if key in LIST_KEYS:
            words, problem = yaml_words(value_node)
            if problem:
                diagnostics.append(error(path, line, f"'{key}' {problem}"))
            lists[key] = words
            continue
        if isinstance(value_node, yaml.ScalarNode):
            raw = value_node.value
            if value_node.tag == "tag:yaml.org,2002:null" and value_node.style is None:
                raw = ""
            values[key] = raw.strip()
            if (
                value_node.style is None
                and len(values[key]) >= 2
                and values[key][0] in "“‘„«"
                and values[key][-1] in "”’“»"
            ):
                diagnostics.append(
                    warning(
                        path,
                        line,
                        f"'{key}' is written in curly quotes (“…”), which are printed as part of "
                        'it: type straight quotes, "like this", or none',
                    )
                )
        else:
            kind = "a list" if isinstance(value_node, yaml.SequenceNode) else "a group of keys"
            diagnostics.append(
                error(
                    path,
                    line,
                    f"'{key}' must be plain text, not {kind} (write it on one line after '{key}:')",
                )
            )
            values[key] = ""
    title_line = dict(key_lines).get("title")
    if not values.get("title") and not any(d.line == title_line for d in diagnostics):
        where = "to the front matter" if fm_lines else "in front matter at the top of the file"
        diagnostics.append(
            error(
                path,
                title_line or 1,
                f"missing title (add a line 'title: Your lesson title' {where})",
            )
        )
    paper = paper_name(values.get("paper") or "letter")
    if paper is None:
        diagnostics.append(
            error(
                path,
                dict(key_lines)["paper"],
                f"paper '{values['paper']}' is not known (use {' or '.join(map(repr, PAPERS))})",
            )
        )
        paper = "letter"
    moodle_ordering = values.get("moodle-ordering", "").lower()
    if moodle_ordering not in ("", "ordering", "matching"):
        diagnostics.append(
            error(
                path,
                dict(key_lines)["moodle-ordering"],
                f"moodle-ordering '{values['moodle-ordering']}' is not known (use 'ordering' "
                "for Moodle 4.4 and later, or 'matching' for an older Moodle)",
            )
        )
        moodle_ordering = ""
    slide_math = values.get("slide-math", "").lower()
    if slide_math not in ("", "equations", "pictures"):
        diagnostics.append(
            error(
                path,
                dict(key_lines)["slide-math"],
                f"slide-math '{values['slide-math']}' is not known (use 'equations' or 'pictures')",
            )
        )
        slide_math = ""
    flags = {}
    for key, default in (("incremental", False), ("reveal-answers", True)):
        raw = values.get(key, "").lower()
        flags[key] = default
        if raw in ("true", "yes", "on"):
            flags[key] = True
        elif raw in ("false", "no", "off"):
            flags[key] = False
        elif raw:
            diagnostics.append(
                error(
                    path,
                    dict(key_lines)[key],
                    f"{key} '{values[key]}' is not known (use 'true' or 'false')",
                )
            )
    blanks = values.get("blanks", "fixed").lower() or "fixed"
    if blanks not in ("fixed", "answer"):
        diagnostics.append(
            error(
                path,
                dict(key_lines)["blanks"],
                f"blanks '{values['blanks']}' is not known (use 'fixed': a few set widths that "
                "do not tell the answer's length, or 'answer': each blank as wide as its answer)",
            )
        )
        blanks = "fixed"
    meta = Meta(
        title=values.get("title", ""),
        subtitle=values.get("subtitle", ""),
        course=values.get("course", ""),
        author=values.get("author", ""),
        date=values.get("date", ""),
        lang=values.get("lang", "") or "en",
        paper=paper,  # type: ignore[arg-type]
        pptx_template=values.get("pptx-template", ""),
        slide_math=slide_math,  # type: ignore[arg-type]
        moodle_ordering=moodle_ordering,
        incremental=flags["incremental"],
        reveal_answers=flags["reveal-answers"],
        exports=lists.get("exports", ()),
        versions=version_count(values.get("versions", ""), path, dict(key_lines), diagnostics),
        blanks=blanks,  # type: ignore[arg-type]
        key_lines=tuple(key_lines),
    )
    return meta, diagnostics


def version_count(
    raw: str, path: Path, key_lines: dict[str, int], diagnostics: list[Diagnostic]
) -> int:
    """``versions: 3`` as a number of test versions (0 when absent or wrong, with an error)."""
    from .versions import MAX_VERSIONS

    if not raw:
        return 0
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_VERSIONS:
        return int(text)
    diagnostics.append(
        error(
            path,
            key_lines.get("versions", 1),
            f"versions: {raw[:40]} must be a number of test versions from 1 to {MAX_VERSIONS}",
        )
    )
    return 0


def yaml_words(node: yaml.Node) -> tuple[tuple[str, ...], str]:
    """A list of words from a YAML node: ``[a, b]``, ``- a`` lines or ``a, b``; with the
    problem (``""`` when none) for anything else."""
    if isinstance(node, yaml.ScalarNode):
        return tuple(word.strip() for word in node.value.split(",") if word.strip()), ""
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        return tuple(item.value.strip() for item in node.value if item.value.strip()), ""
    return (), "must be a list of words, for example [moodle, qti]"


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest choice, or ``""``."""
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------- div pre-scan


@dataclass
class _Chunk:
    """Consecutive Markdown lines between fences; ``start`` is the file line of the first."""

    start: int
    lines: list[str]


@dataclass
class _DivRegion:
    """A ``:::`` div found by the pre-scan."""

    line: int
    colons: int
    spec: str
    children: list[_Chunk | _DivRegion] = field(default_factory=list)
    closed: bool = False


def _prescan(
    lines: list[str], first_line: int, path: Path
) -> tuple[list[_Chunk | _DivRegion], list[Diagnostic]]:
    """Find ``:::`` fences (outside code fences) and group the lines into a region tree."""
    diagnostics: list[Diagnostic] = []
    root: list[_Chunk | _DivRegion] = []
    stack: list[_DivRegion] = []
    code_fence: tuple[str, int, int] | None = None  # (char, length, line)
    too_deep = 0  # fences opened beyond MAX_DIV_DEPTH (ignored, and so are their closers)

    def children() -> list[_Chunk | _DivRegion]:
        return stack[-1].children if stack else root

    def add_line(number: int, text: str) -> None:
        siblings = children()
        if siblings and isinstance(siblings[-1], _Chunk):
            siblings[-1].lines.append(text)
        else:
            siblings.append(_Chunk(number, [text]))

    for index, text in enumerate(lines):
        number = first_line + index
        if code_fence is not None:
            match = _CODE_FENCE_RE.match(text)
            if (
                match
                and match.group(1)[0] == code_fence[0]
                and len(match.group(1)) >= code_fence[1]
                and not match.group(2).strip()
            ):
                code_fence = None
            add_line(number, text)
            continue
        match = _CODE_FENCE_RE.match(text)
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            code_fence = (match.group(1)[0], len(match.group(1)), number)
            add_line(number, text)
            continue
        match = _DIV_FENCE_RE.match(text)
        if match is None:
            add_line(number, text)
            continue
        spec = match.group(2).strip().rstrip(":").strip()
        if spec and len(stack) >= MAX_DIV_DEPTH:
            too_deep += 1
            diagnostics.append(
                error(
                    path,
                    number,
                    f"'::: {spec}' is nested too deeply (at most {MAX_DIV_DEPTH} ':::' blocks "
                    "inside each other; close some with ':::')",
                )
            )
        elif spec:
            region = _DivRegion(number, len(match.group(1)), spec)
            children().append(region)
            stack.append(region)
        elif too_deep:
            too_deep -= 1
        elif stack:
            stack.pop().closed = True
        else:
            diagnostics.append(
                error(
                    path,
                    number,
                    "this ':::' closes nothing (no block is open here; delete it, "
                    "or check the ':::' lines above)",
                )
            )
    if code_fence is not None:
        diagnostics.append(
            warning(
                path,
                code_fence[2],
                f"the code block opened with '{code_fence[0] * 3}' is never closed, so the rest "
                f"of the file is shown as code (add a line with '{code_fence[0] * code_fence[1]}')",
            )
        )
    for region in stack:
        diagnostics.append(
            error(
                path,
                region.line,
                f"'{':' * region.colons} {region.spec}' opened here is never closed "
                "(add a line with ':::' where the block ends)",
            )
        )
    return root, diagnostics


@dataclass(frozen=True)
class _DivSpec:
    kind: str
    attrs: dict[str, str]


def _parse_div_spec(region: _DivRegion, path: Path) -> tuple[_DivSpec | None, list[Diagnostic]]:
    """``question points=2`` or ``{.question points=2}`` into kind and attributes."""
    diagnostics: list[Diagnostic] = []
    spec = region.spec
    line = region.line
    kind = ""
    if not spec.startswith("{"):
        word, _, spec = spec.partition(" ")
        kind = word.strip()
        spec = spec.strip()
        if kind.startswith("{"):  # "{.question}" without a space
            spec, kind = kind + " " + spec, ""
    if spec.startswith("{"):
        if not spec.endswith("}"):
            diagnostics.append(
                error(path, line, "the '{' of the block's attributes is never closed (add '}')")
            )
            spec = spec[1:]
        else:
            spec = spec[1:-1]
    attrs: dict[str, str] = {}
    extras: list[str] = []
    for match in _ATTR_TOKEN_RE.finditer(spec):
        name, value, cls, ident, other = match.groups()
        if name:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            attrs[name.lower()] = value
        elif cls:
            if not kind:
                kind = cls[1:]
            else:
                extras.append(cls)
        elif ident:
            extras.append(ident)
        elif other:
            if not kind and not other.startswith(("{", "}")):
                kind = other
            else:
                extras.append(other)
    if not kind:
        diagnostics.append(
            error(
                path,
                line,
                "this ':::' block has no kind (write e.g. '::: question' or '::: notes')",
            )
        )
        return None, diagnostics
    kind_lower = kind.lower()
    if kind_lower not in DIV_KINDS:
        diagnostics.append(
            error(
                path,
                line,
                f"unknown block kind '{kind}'{_suggest(kind_lower, DIV_KINDS)} "
                f"(the kinds are: {', '.join(DIV_KINDS)})",
            )
        )
        return None, diagnostics
    allowed = DIV_ATTRIBUTES[kind_lower]
    for extra in extras:
        diagnostics.append(
            warning(
                path, line, f"unknown attribute '{extra}' on '::: {kind_lower}' (it is ignored)"
            )
        )
    for name in list(attrs):
        if name not in allowed:
            takes = " and ".join(a + "=" for a in allowed) or "no attributes"
            diagnostics.append(
                warning(
                    path,
                    line,
                    f"unknown attribute '{name}' on '::: {kind_lower}' is ignored "
                    f"(a {kind_lower} block takes {takes})",
                )
            )
            del attrs[name]
    return _DivSpec(kind_lower, attrs), diagnostics


def _yes_no(
    attrs: dict[str, str], name: str, line: int, path: Path, diagnostics: list[Diagnostic]
) -> bool:
    """A true/false attribute (``shuffle=false``); true when absent or invalid."""
    if name not in attrs:
        return True
    raw = attrs[name].strip().lower()
    if raw in ("true", "yes"):
        return True
    if raw in ("false", "no"):
        return False
    diagnostics.append(
        error(path, line, f"{name}={attrs[name]} must be {name}=true or {name}=false")
    )
    return True


def _whole_number(
    attrs: dict[str, str], name: str, line: int, path: Path, diagnostics: list[Diagnostic]
) -> int | None:
    """A positive whole-number attribute (``points=2``), or None when absent or invalid."""
    if name not in attrs:
        return None
    raw = attrs[name].strip()
    # At most 9 digits: int() of thousands of digits fails (Python's 4300-digit limit).
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > 9 or int(raw) < 1:
        diagnostics.append(
            error(
                path,
                line,
                f"{name}={attrs[name]!s} is not a positive whole number (write e.g. {name}=2)",
            )
        )
        return None
    value = int(raw)
    if name == "lines" and value > MAX_LINES:
        diagnostics.append(
            error(path, line, f"lines={value} is too many (at most {MAX_LINES} writing lines)")
        )
        return None
    return value


# --------------------------------------------------------------------------- markdown-it


def _next_index(state: StateInline, needle: str, start: int) -> int:
    """``state.src.find(needle, start)``, remembered so many ``[[`` on one line stay linear."""
    cache = state.env.setdefault("_next_index", {})
    if cache.get("src") is not state.src:
        cache.clear()
        cache["src"] = state.src
    searched = cache.get(needle)
    if searched is not None:
        searched_from, found = searched
        if searched_from <= start and (found < 0 or found >= start):
            return found
    found = state.src.find(needle, start)
    cache[needle] = (start, found)
    return found


def _cloze_rule(state: StateInline, silent: bool) -> bool:
    """``[[answer]]`` as a ``cloze`` token; a lone ``[[`` becomes a ``cloze_error`` token."""
    src = state.src
    pos = state.pos
    if not src.startswith("[[", pos):
        return False
    end = _next_index(state, "]]", pos + 2)
    newline = _next_index(state, "\n", pos)
    reopen = _next_index(state, "[[", pos + 2)
    # A blank stays on one line and holds no other blank; otherwise this '[[' is unclosed.
    if end < 0 or end >= state.posMax or 0 <= newline < end or 0 <= reopen < end:
        if not silent:
            token = state.push("cloze_error", "", 0)
            token.content = "[["
            token.meta = {
                "offset": pos,
                "message": "'[[' is never closed with ']]' (a blank is written [[answer]])",
            }
        state.pos = pos + 2
        return True
    answer = src[pos + 2 : end]
    if not silent:
        if not answer.strip():
            token = state.push("cloze_error", "", 0)
            token.content = src[pos : end + 2]
            token.meta = {
                "offset": pos,
                "message": "empty blank '[[ ]]' (write the answer inside: [[answer]])",
            }
        else:
            token = state.push("cloze", "", 0)
            token.content = answer
            token.meta = {"offset": pos}
    state.pos = end + 2
    return True


def _cloze_close_rule(state: StateInline, silent: bool) -> bool:
    """A ``]]`` that closes no ``[[`` (escape it as ``\\]\\]`` to write it literally)."""
    src = state.src
    pos = state.pos
    if not src.startswith("]]", pos):
        return False
    if silent:
        return False  # let link-label scanning see the ']' as usual
    token = state.push("cloze_error", "", 0)
    token.content = "]]"
    token.meta = {
        "offset": pos,
        "message": "']]' without a matching '[[' (a blank is written [[answer]])",
    }
    state.pos = pos + 2
    return True


def _math_close(src: str, start: int, end: int) -> int:
    """Where the ``$`` closing inline math opened before ``start`` is, or -1 (Pandoc's rules).

    The closing ``$`` has a non-space right before it and no digit right after it, so
    "Tickets cost $20 and $30" holds no math; ``\\$`` inside the formula is TeX's dollar.
    """
    index = start
    while True:
        found = src.find("$", index, end)
        if found < 0:
            return -1
        escaped = src[found - 1] == "\\"
        after = src[found + 1] if found + 1 < end else ""
        if not escaped and not src[found - 1].isspace() and not after.isdigit():
            return found
        index = found + 1


def _math_rule(state: StateInline, silent: bool) -> bool:
    """Formulas as Pandoc reads them: ``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]``.

    Runs before the backslash-escape rule, so ``\\(`` opens a formula; ``\\$`` is still a
    dollar sign. Unclosed delimiters are ordinary text, as in Pandoc.
    """
    src, pos, end = state.src, state.pos, state.posMax
    if src.startswith("\\[\\[", pos) or (pos >= 2 and src.startswith("\\[\\[", pos - 2)):
        return False  # \[\[ is how a literal "[[" (not a blank) is written
    if src.startswith(("\\(", "\\["), pos):
        display = src[pos + 1] == "["
        close = src.find("\\]" if display else "\\)", pos + 2, end)
        if close < 0:
            return False
        content, stop = src[pos + 2 : close], close + 2
    elif src.startswith("$$", pos):
        display = True
        close = src.find("$$", pos + 2, end)
        if close < 0 or not src[pos + 2 : close].strip():
            return False
        content, stop = src[pos + 2 : close], close + 2
    elif src.startswith("$", pos):
        display = False
        if pos + 1 >= end or src[pos + 1].isspace():
            return False
        close = _math_close(src, pos + 2, end)
        if close < 0:
            return False
        content, stop = src[pos + 1 : close], close + 1
    else:
        return False
    if not silent:
        token = state.push("math", "", 0)
        token.content = content
        token.meta = {"display": display, "newlines": src.count("\n", pos, stop)}
    state.pos = stop
    return True


def _make_parser() -> MarkdownIt:
    """CommonMark + GFM tables + formulas and ``~sub~``/``^sup^`` (Pandoc's syntax); raw
    HTML off (it stays text); all link schemes let through."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.inline.ruler.before("escape", "math", _math_rule)
    md.use(sub_plugin).use(superscript_plugin)
    md.inline.ruler.before("link", "cloze", _cloze_rule)
    md.inline.ruler.before("link", "cloze_close", _cloze_close_rule)
    # Keep file:, data:, javascript: links and images as links/images so the checks can name
    # them (markdown-it would otherwise turn them silently into text).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_PARSER = _make_parser()


# --------------------------------------------------------------------------- building the model


@dataclass(frozen=True)
class _Heading:
    """A ``#``/``##`` heading met while converting a region (structure is built later)."""

    level: int
    title: Inlines
    line: int


_Item = Block | _Heading


class _Builder:
    """Turns the region tree into model blocks, collecting diagnostics as it goes."""

    def __init__(self, path: Path, env: dict, answer_words: tuple[str, ...] = ("Answer",)) -> None:
        self.path = path
        self.answer_words = answer_words
        self.answer_re = _answer_re(answer_words)
        # Option lines with a mistake, by the line of their question (see _option_mistakes).
        self.option_mistakes: dict[int, list[Option]] = {}
        self.folder = path.parent
        self.env = env
        self.diagnostics: list[Diagnostic] = []
        self.number = 0  # graded blocks seen so far
        self.graded_open: list[str] = []  # kinds of the graded blocks being converted
        self.images: dict[Path, None] = {}

    # ---------------------------------------------------------------- regions

    def regions(
        self, nodes: list[_Chunk | _DivRegion], *, top: bool, parent_div: str = ""
    ) -> list[_Item]:
        """Convert a list of chunks and divs, in order, into blocks (and headings when top)."""
        items: list[_Item] = []
        for node in nodes:
            if isinstance(node, _Chunk):
                items.extend(self.chunk(node, top=top, parent_div=parent_div))
            else:
                items.extend(self.div(node, parent_div=parent_div))
        return items

    def chunk(self, chunk: _Chunk, *, top: bool, parent_div: str) -> list[_Item]:
        """Parse one chunk with markdown-it and convert its tokens."""
        if not any(line.strip() for line in chunk.lines):
            return []
        tokens = _PARSER.parse("\n".join(chunk.lines), self.env)
        stream = _Tokens(tokens, chunk.start)
        items: list[_Item] = []
        while not stream.done():
            token = stream.peek()
            if token.type == "heading_open":
                stream.next()
                inline = stream.next()
                stream.next()  # heading_close
                level = int(token.tag[1:])
                line = stream.line(token)
                title = self.inlines(inline, line)
                if top and level <= 2:
                    items.append(_Heading(level, title, line))
                else:
                    if level <= 2 and parent_div:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                line,
                                f"a '{'#' * level}' heading inside '::: {parent_div}' cannot start "
                                "a new section or topic; it is shown as bold text (close the "
                                "block with ':::' before the heading)",
                            )
                        )
                    items.append(Paragraph((Strong(title, line),) if title else (), line))
            else:
                block = self.block(stream)
                if block is not None:
                    items.append(block)
        return items

    def div(self, region: _DivRegion, *, parent_div: str) -> list[_Item]:
        """Convert one ``:::`` region into a Div, Question, Match or Order."""
        spec, diagnostics = _parse_div_spec(region, self.path)
        self.diagnostics.extend(diagnostics)
        if spec is None:  # unknown kind: keep its content in place
            return self.blocks_only(region, parent_div=parent_div)
        kind = spec.kind
        if kind == "columns":
            return [self.columns(region, parent_div)]
        if kind == "column":
            self.diagnostics.append(
                error(
                    self.path,
                    region.line,
                    "a '::: column' goes inside a ':::: columns' block (its text is kept here)",
                )
            )
            return self.blocks_only(region, parent_div=parent_div)
        if kind in CALLOUT_KINDS:
            blocks = self.blocks_only(region, parent_div=parent_div)
            style = kind.removeprefix("callout-")
            title = spec.attrs.get("title", "").strip()
            return [Callout(style, title, tuple(blocks), region.line)]  # type: ignore[arg-type]
        if kind in BUILD_KINDS:  # the lists in it are built one item per click (or not)
            blocks = self.blocks_only(region, parent_div=parent_div)
            built = kind == "incremental"
            return [
                replace(b, incremental=built) if isinstance(b, BulletList) else b for b in blocks
            ]
        if kind in AUDIENCE_KINDS:
            blocks = self.blocks_only(region, parent_div=kind if region.closed else "")
            return [Div(kind, tuple(blocks), region.line)]  # type: ignore[arg-type]
        # graded block
        if self.graded_open:
            outer = self.graded_open[-1]
            self.diagnostics.append(
                error(
                    self.path,
                    region.line,
                    f"a '::: {kind}' cannot go inside a '::: {outer}' (close the "
                    f"{outer} with ':::' first)",
                )
            )
        elif parent_div in ("notes", "teacher"):
            self.diagnostics.append(
                warning(
                    self.path,
                    region.line,
                    f"this {kind} is inside '::: {parent_div}', so students will not see it "
                    "in the handout (move it out of the block)",
                )
            )
        self.number += 1
        number = self.number
        points = _whole_number(spec.attrs, "points", region.line, self.path, self.diagnostics) or 1
        lines = _whole_number(spec.attrs, "lines", region.line, self.path, self.diagnostics)
        shuffle = _yes_no(spec.attrs, "shuffle", region.line, self.path, self.diagnostics)
        if region.closed:
            self.graded_open.append(kind)
        try:
            blocks = self.blocks_only(region, parent_div=kind if region.closed else "")
        finally:
            if region.closed:
                self.graded_open.pop()
        if kind == "question":
            self._option_mistakes(region)
            graded: Block = self.question(blocks, number, points, lines, region.line)
        elif kind == "match":
            graded = self.match(blocks, number, points, region.line)
        else:
            graded = self.order(blocks, number, points, region.line)
        return [graded if shuffle else replace(graded, shuffle=False)]

    def columns(self, region: _DivRegion, parent_div: str) -> Columns:
        """``:::: columns``: each ``::: column`` inside is a column (``width=40%``); text
        between them goes into the column before it, with a warning."""
        columns: list[Column] = []
        for node in region.children:
            if isinstance(node, _DivRegion):
                spec, diagnostics = _parse_div_spec(node, self.path)
                if spec is not None and spec.kind == "column":
                    self.diagnostics.extend(diagnostics)
                    width = self.column_width(spec.attrs.get("width"), node.line)
                    blocks = self.blocks_only(node, parent_div=parent_div)
                    columns.append(Column(width, tuple(blocks), node.line))
                    continue
                stray = self.div(node, parent_div=parent_div)
            else:
                stray = self.chunk(node, top=False, parent_div=parent_div)
            blocks = [b for b in stray if not isinstance(b, _Heading)]
            if not blocks:
                continue
            self.diagnostics.append(
                warning(
                    self.path,
                    blocks[0].line,
                    "text inside ':::: columns' but outside a '::: column' goes into the column "
                    "before it (put it inside a '::: column')",
                )
            )
            if columns:
                last = columns[-1]
                columns[-1] = replace(last, blocks=(*last.blocks, *blocks))
            else:
                columns.append(Column(None, tuple(blocks), blocks[0].line))
        if len(columns) > 2:
            self.diagnostics.append(
                warning(
                    self.path,
                    region.line,
                    f"{len(columns)} columns: slides show two side by side (the others go "
                    "under the second); the handout shows them all",
                )
            )
        if not columns:
            self.diagnostics.append(
                warning(self.path, region.line, "':::: columns' has no '::: column' inside")
            )
        return Columns(tuple(columns), region.line)

    def column_width(self, raw: str | None, line: int) -> float | None:
        """``width=40%`` → 0.4 (None when absent or not a percentage, with an error)."""
        if raw is None:
            return None
        match = re.fullmatch(r"\s*(\d{1,3}(?:\.\d+)?)\s*%\s*", raw)
        if match is None or not 0 < float(match[1]) <= 100:
            self.diagnostics.append(
                error(
                    self.path,
                    line,
                    f"column width '{raw}' is not a percentage (write e.g. width=40%)",
                )
            )
            return None
        return float(match[1]) / 100

    def blocks_only(self, region: _DivRegion, *, parent_div: str) -> list[Block]:
        """The blocks of a region (headings inside divs are already bold paragraphs)."""
        return [
            item
            for item in self.regions(region.children, top=False, parent_div=parent_div)
            if not isinstance(item, _Heading)
        ]

    # ---------------------------------------------------------------- graded blocks

    def _option_mistakes(self, region: _DivRegion) -> None:
        """An error at each line of a question that was meant as an option but is none
        ('-[x]', '- []', '- [ x ]', a tab before it): without it the question would read as
        an open question with no answer, which says nothing about the real mistake."""
        for chunk in region.children:
            if not isinstance(chunk, _Chunk):
                continue
            for offset, text in enumerate(chunk.lines):
                for pattern, message in _OPTION_MISTAKES:
                    found = pattern.match(text)
                    if found:
                        number = chunk.start + offset
                        self.diagnostics.append(error(self.path, number, message))
                        # Kept as an option, so the question is not also called an open
                        # question without an answer.
                        rest = text[found.end() :].strip() or "?"
                        correct = "x" in found.group(0).lower() or "✓" in found.group(0)
                        recovered = Option((Text(rest, number),), correct, number)
                        self.option_mistakes.setdefault(region.line, []).append(recovered)
                        break

    def question(
        self, blocks: list[Block], number: int, points: int, lines: int | None, line: int
    ) -> Question:
        """Split a question's blocks into prompt, options and answer."""
        answer_at = len(blocks)
        answer: list[Block] = []
        for index, block in enumerate(blocks):
            stripped = _strip_answer_prefix(block, self.answer_re, self.answer_words)
            if stripped is not None:
                answer_at = index
                answer = ([stripped] if stripped.inlines else []) + blocks[index + 1 :]
                break
        prompt: list[Block] = []
        options: list[Option] = []
        for block in blocks[:answer_at]:
            if not options and isinstance(block, BulletList):
                found = self.options(block)
                if found is not None:
                    options = found
                    continue
            prompt.append(block)
        if not options and line in self.option_mistakes:
            options = self.option_mistakes[line]
            prompt = [b for b in prompt if b.line not in {o.line for o in options}]
        if options and lines is not None:
            self.diagnostics.append(
                warning(
                    self.path,
                    line,
                    "lines= is ignored for a multiple-choice question (it is for open questions)",
                )
            )
            lines = None
        return Question(number, points, tuple(prompt), tuple(options), tuple(answer), lines, line)

    def options(self, block: BulletList) -> list[Option] | None:
        """A task list (``- [ ]`` / ``- [x]``) as options, or None when it is no task list."""
        marked = [_task_marker(item.inlines) for item in block.items]
        if not any(mark is not None for mark in marked):
            return None
        options: list[Option] = []
        for item, mark in zip(block.items, marked, strict=True):
            if mark is None:
                if any(
                    o.line == item.line for found in self.option_mistakes.values() for o in found
                ):
                    options.append(Option(item.inlines, False, item.line))
                    continue  # already said what is wrong with this option line
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "this option has no box: start every option with '[ ]' "
                        "(or '[x]' for a correct one)",
                    )
                )
                options.append(Option(item.inlines, False, item.line))
                continue
            correct, rest = mark
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets under an option are left out (write each option on one line)",
                    )
                )
            rest, fixed = _pinned(rest)
            if not plain_text(rest).strip():
                self.diagnostics.append(
                    error(self.path, item.line, "this option is empty (write it after the box)")
                )
            options.append(Option(rest, correct, item.line, fixed))
        return options

    def match(self, blocks: list[Block], number: int, points: int, line: int) -> Match:
        """A match block: prompt paragraphs, then ``- term :: definition`` items."""
        lists = [b for b in blocks if isinstance(b, BulletList)]
        pair_list = lists[-1] if lists else None
        prompt = tuple(b for b in blocks if b is not pair_list)
        pairs: list[MatchPair] = []
        for item in pair_list.items if pair_list else ():
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets in a match block are left out (write each pair on one line)",
                    )
                )
            split = _split_pair(item.inlines)
            if split is None:
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "match item has no '::' (write it as '- term :: definition')",
                    )
                )
                continue
            term, definition = split
            if not plain_text(term).strip() or not plain_text(definition).strip():
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "match item needs text on both sides of '::' ('- term :: definition')",
                    )
                )
                continue
            pairs.append(MatchPair(term, definition, item.line))
        return Match(number, points, prompt, tuple(pairs), line)

    def order(self, blocks: list[Block], number: int, points: int, line: int) -> Order:
        """An order block: prompt paragraphs, then the items in their right order."""
        lists = [b for b in blocks if isinstance(b, BulletList)]
        item_list = lists[-1] if lists else None
        prompt = tuple(b for b in blocks if b is not item_list)
        items = tuple(OrderItem(i.inlines, i.line) for i in (item_list.items if item_list else ()))
        for item in item_list.items if item_list else ():
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets in an order block are left out (write each item on one line)",
                    )
                )
        return Order(number, points, prompt, items, line)

    # ---------------------------------------------------------------- blocks

    def block(self, stream: _Tokens) -> Block | None:
        """Convert the block starting at the stream's position (None for ignored tokens)."""
        token = stream.next()
        line = stream.line(token)
        kind = token.type
        if kind == "paragraph_open":
            inline = stream.next()
            stream.next()  # paragraph_close
            return self.paragraph(inline, line)
        if kind in ("bullet_list_open", "ordered_list_open"):
            return self.bullet_list(stream, token, depth=1)
        if kind == "blockquote_open":
            blocks = self.until(stream, "blockquote_close")
            return Quote(tuple(blocks), line)
        if kind in ("fence", "code_block"):
            text = token.content
            return CodeBlock(text[:-1] if text.endswith("\n") else text, token.info.strip(), line)
        if kind == "table_open":
            return self.table(stream, line)
        if kind == "heading_open":  # inside a quote or list item
            inline = stream.next()
            stream.next()
            title = self.inlines(inline, line)
            return Paragraph((Strong(title, line),) if title else (), line)
        if kind == "hr":
            self.diagnostics.append(
                warning(
                    self.path,
                    line,
                    "a '---' line is ignored (start a new slide with a '##' heading instead)",
                )
            )
            return None
        if kind in ("html_block",):  # not produced with html disabled; kept literal anyway
            return Paragraph((Text(token.content.rstrip("\n"), line),), line)
        # Every token the parser can produce has a case above: a new Markdown feature must
        # get one, not vanish from every output.
        raise AssertionError(f"the reader has no case for the block token {kind!r}")

    def until(self, stream: _Tokens, close: str) -> list[Block]:
        """Blocks up to the matching ``close`` token (which is consumed)."""
        blocks: list[Block] = []
        while not stream.done():
            if stream.peek().type == close:
                stream.next()
                break
            block = self.block(stream)
            if block is not None:
                blocks.append(block)
        return blocks

    def paragraph(self, inline: Token, line: int) -> Block:
        """A paragraph, or an :class:`Image` block when it holds only one image."""
        children = inline.children or []
        meaningful = [
            c
            for c in children
            if not (
                c.type in ("softbreak", "hardbreak") or (c.type == "text" and not c.content.strip())
            )
        ]
        if len(meaningful) == 1 and meaningful[0].type == "image":
            return self.image(meaningful[0], line)
        return Paragraph(self.inlines(inline, line), line)

    def image(self, token: Token, line: int) -> Image:
        """An image block; the path is resolved against the lesson's folder."""
        src = unquote(str(token.attrGet("src") or ""))
        alt = plain_text(self.inline_children(token.children or [], line, None)).strip()
        caption = str(token.attrGet("title") or "")
        if is_remote(src) or not src:
            path = Path(src)
        else:
            try:
                path = (self.folder / src).resolve()
            except (OSError, RuntimeError, ValueError):
                path = self.folder / src
            self.images.setdefault(path, None)
        return Image(src, path, alt, caption, line)

    def bullet_list(self, stream: _Tokens, open_token: Token, depth: int) -> BulletList:
        """A (possibly nested) list; items deeper than 3 levels are flattened to level 3."""
        ordered = open_token.type == "ordered_list_open"
        close = "ordered_list_close" if ordered else "bullet_list_close"
        start = 1
        if ordered:
            try:
                start = int(open_token.attrGet("start") or 1)
            except ValueError:
                start = 1
        items: list[ListItem] = []
        while not stream.done():
            token = stream.next()
            if token.type == close:
                break
            if token.type == "list_item_open":
                items.extend(self.list_item(stream, token, depth))
        return BulletList(tuple(items), stream.line(open_token), ordered, start)

    def list_item(self, stream: _Tokens, open_token: Token, depth: int) -> list[ListItem]:
        """One item (plus, below level 3, its flattened descendants)."""
        line = stream.line(open_token)
        inlines: list[Inline] = []
        children: list[ListItem] = []
        ordered_children: bool | None = None
        while not stream.done():
            token = stream.peek()
            if token.type == "list_item_close":
                stream.next()
                break
            if token.type == "paragraph_open":
                stream.next()
                inline = stream.next()
                stream.next()
                para_line = stream.line(token)
                if inlines:
                    inlines.append(LineBreak(para_line))
                inlines.extend(self.inlines(inline, para_line))
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                stream.next()
                sub = self.bullet_list(stream, token, depth + 1)
                if ordered_children is None:
                    ordered_children = sub.ordered
                children.extend(sub.items)
            else:
                block = self.block(stream)
                if block is not None:
                    self.diagnostics.append(
                        warning(
                            self.path,
                            block.line,
                            f"a {_block_name(block)} inside a bullet is left out (a bullet can "
                            "only hold text and sub-bullets; move it out of the list)",
                        )
                    )
        item_inlines = _merge_text(inlines)
        if depth < MAX_LIST_DEPTH:
            return [ListItem(item_inlines, tuple(children), line, bool(ordered_children))]
        if children and depth == MAX_LIST_DEPTH:
            self.diagnostics.append(
                warning(
                    self.path,
                    children[0].line,
                    f"bullets nest at most {MAX_LIST_DEPTH} levels deep; deeper bullets are "
                    f"shown at level {MAX_LIST_DEPTH}",
                )
            )
        return [ListItem(item_inlines, (), line), *children]

    def table(self, stream: _Tokens, line: int) -> Table:
        """A GFM table."""
        header: list[TableCell] = []
        rows: list[tuple[TableCell, ...]] = []
        aligns: list[str] = []
        row: list[TableCell] = []
        row_line = line
        in_head = False
        while not stream.done():
            token = stream.next()
            if token.type == "table_close":
                break
            if token.type == "thead_open":
                in_head = True
            elif token.type == "tbody_open":
                in_head = False
            elif token.type == "tr_open":
                row = []
                row_line = stream.line(token)
            elif token.type in ("th_open", "td_open"):
                inline = stream.next()
                row.append(TableCell(self.inlines(inline, row_line), row_line))
                if in_head:
                    style = str(token.attrGet("style") or "")
                    aligns.append(style.removeprefix("text-align:") if style else "")
            elif token.type == "tr_close":
                if in_head:
                    header = row
                else:
                    rows.append(tuple(row))
        return Table(tuple(header), tuple(rows), tuple(aligns), line)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- inlines

    def _spaced_image_path(self, text: str, line: int) -> None:
        """A picture whose file name has a space is no picture in Markdown (it would print
        as typed): say how to write it."""
        for match in _SPACED_IMAGE_RE.finditer(text):
            alt, target = match.group(1), match.group(2).strip()
            self.diagnostics.append(
                error(
                    self.path,
                    line,
                    f"the picture '{_short(target)}' has a space in its file name, so it would "
                    "print as typed: put the name in angle brackets, "
                    f"![{_short(alt)}](<{_short(target)}>) (or rename the file without spaces)",
                )
            )

    def inlines(self, inline: Token, line: int) -> Inlines:
        """The inline children of an ``inline`` token, with lines and cloze diagnostics."""
        return self.inline_children(inline.children or [], line, inline.content)

    def cloze(self, answer: str, line: int) -> Cloze:
        """A blank; its answer's formulas and sub/superscripts are kept as inlines."""
        if not any(mark in answer for mark in ("$", "\\(", "\\[", "~", "^")):
            return Cloze(answer, line)
        tokens = _PARSER.parseInline(answer, self.env)
        parsed = self.inline_children(tokens[0].children or [], line, None) if tokens else ()
        if any(isinstance(node, (Math, Subscript, Superscript)) for node in parsed):
            return Cloze(answer, line, parsed)
        return Cloze(answer, line)

    def inline_children(self, children: list[Token], line: int, content: str | None) -> Inlines:
        """Convert inline tokens; ``content`` (the source) gives cloze error lines."""
        base = line
        newlines: list[int] | None = None  # positions of "\n" in content, for error lines
        stack: list[tuple[str, list[Inline], int, str]] = []
        out: list[Inline] = []
        current = out
        too_deep = 0  # formatting opened beyond MAX_INLINE_DEPTH (dropped, and its closers)
        script: str | None = None  # inside ~sub~ or ^sup^
        for token in children:
            kind = token.type
            if kind == "text" and script == "sub_open":
                current.append(Subscript(token.content, line))
            elif kind == "text" and script == "sup_open":
                current.append(Superscript(token.content, line))
            elif kind == "text":
                if "](" in token.content:
                    self._spaced_image_path(token.content, line)
                current.append(Text(token.content, line))
            elif kind == "softbreak":
                current.append(Text(" ", line))
                line += 1
            elif kind == "hardbreak":
                current.append(LineBreak(line))
                line += 1
            elif kind == "code_inline":
                current.append(Code(token.content, line))
            elif kind == "math":
                current.append(Math(token.content, bool(token.meta["display"]), line))
                line += token.meta["newlines"]
            elif kind in ("sub_open", "sup_open"):
                script = kind  # the plugins put one text token between open and close
            elif kind in ("sub_close", "sup_close"):
                script = None
            elif kind == "cloze":
                answer = token.content.strip()
                if _FORMATTING_RE.search(answer):
                    plain = _FORMATTING_RE.sub(
                        lambda m: next(g for g in m.groups()[1:] if g), answer
                    )
                    self.diagnostics.append(
                        error(
                            self.path,
                            line,
                            f"formatting inside the blank [[{_short(answer)}]] would be printed "
                            f"as typed: write the answer as plain text, [[{_short(plain)}]] (the "
                            "key prints answers in bold)",
                        )
                    )
                    answer = plain
                current.append(self.cloze(answer, line))
            elif kind == "cloze_error":
                where = line
                if content is not None and token.meta:
                    if newlines is None:
                        newlines = [i for i, char in enumerate(content) if char == "\n"]
                    where = base + bisect.bisect_left(newlines, token.meta["offset"])
                self.diagnostics.append(error(self.path, where, token.meta["message"]))
                current.append(Text(token.content, line))
            elif kind in ("strong_open", "em_open", "link_open"):
                if len(stack) >= MAX_INLINE_DEPTH:
                    if not too_deep:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                line,
                                f"bold, italics and links nest at most {MAX_INLINE_DEPTH} deep; "
                                "the deeper formatting is left out (the text is kept)",
                            )
                        )
                    too_deep += 1
                    continue
                stack.append((kind, current, line, str(token.attrGet("href") or "")))
                current = []
            elif kind in ("strong_close", "em_close", "link_close") and too_deep:
                # Tokens nest properly, so the innermost (dropped) formatting closes first.
                too_deep -= 1
            elif kind in ("strong_close", "em_close", "link_close") and stack:
                opened, parent, start, href = stack.pop()
                merged = _merge_text(current)
                if opened == "strong_open":
                    parent.append(Strong(merged, start))
                elif opened == "em_open":
                    parent.append(Emph(merged, start))
                else:
                    parent.append(Link(href, merged, start))
                current = parent
            elif kind == "image":
                alt = self.inline_children(token.children or [], line, None)
                self.diagnostics.append(
                    warning(
                        self.path,
                        line,
                        "an image inside text is shown as its description only (put the image "
                        "on a line of its own, with blank lines around it)",
                    )
                )
                current.extend(alt)
            elif kind == "html_inline":  # not produced with html disabled; literal if it is
                current.append(Text(token.content, line))
            elif kind in ("strong_close", "em_close", "link_close"):
                pass  # a closer without its opener (should not happen): nothing to close
            else:
                # A new inline token kind must get a case, not vanish from every output.
                raise AssertionError(f"the reader has no case for the inline token {kind!r}")
        while stack:  # unbalanced (should not happen): keep the content
            _, parent, _, _ = stack.pop()
            parent.extend(current)
            current = parent
        return _merge_text(out)

    # ---------------------------------------------------------------- structure

    def structure(self, items: list[_Item]) -> tuple[tuple[Block, ...], tuple[Section, ...]]:
        """Group top-level items into the introduction, sections and topics."""
        intro: list[Block] = []
        sections: list[Section] = []
        section: dict | None = None
        topic: dict | None = None

        def close_topic() -> None:
            nonlocal topic
            if topic is not None and section is not None:
                section["topics"].append(
                    Topic(topic["title"], tuple(topic["blocks"]), topic["line"])
                )
            topic = None

        def close_section() -> None:
            nonlocal section
            close_topic()
            if section is not None:
                sections.append(
                    Section(
                        section["title"],
                        tuple(section["blocks"]),
                        tuple(section["topics"]),
                        section["line"],
                    )
                )
            section = None

        for item in items:
            if isinstance(item, _Heading):
                if not plain_text(item.title).strip():
                    self.diagnostics.append(
                        warning(
                            self.path,
                            item.line,
                            f"empty '{'#' * item.level}' heading (add a title)",
                        )
                    )
                if item.level == 1:
                    close_section()
                    section = {"title": item.title, "blocks": [], "topics": [], "line": item.line}
                else:
                    close_topic()
                    if section is None:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                item.line,
                                "this '##' topic comes before any '#' section heading; it is put "
                                "in a section without a title (add a '# Section' line above it)",
                            )
                        )
                        section = {"title": (), "blocks": [], "topics": [], "line": item.line}
                    topic = {"title": item.title, "blocks": [], "line": item.line}
            elif topic is not None:
                topic["blocks"].append(item)
            elif section is not None:
                section["blocks"].append(item)
            else:
                intro.append(item)
        close_section()
        return tuple(intro), tuple(sections)


class _Tokens:
    """A cursor over markdown-it tokens of one chunk; ``line`` maps to file lines."""

    def __init__(self, tokens: list[Token], first_line: int) -> None:
        self.tokens = tokens
        self.index = 0
        self.first_line = first_line

    def done(self) -> bool:
        return self.index >= len(self.tokens)

    def peek(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def line(self, token: Token) -> int:
        """The 1-based file line of a block token."""
        return self.first_line + (token.map[0] if token.map else 0)


def _merge_text(inlines: list[Inline]) -> Inlines:
    """Join neighbouring Text nodes (keeping the first one's line)."""
    merged: list[Inline] = []
    run: list[Text] = []

    def flush() -> None:
        if run:
            merged.append(
                run[0] if len(run) == 1 else Text("".join(t.text for t in run), run[0].line)
            )
            run.clear()

    for node in inlines:
        if isinstance(node, Text):
            if node.text:
                run.append(node)
            continue
        flush()
        merged.append(node)
    flush()
    return tuple(merged)


def _strip_leading(inlines: Inlines, count: int) -> Inlines:
    """Drop ``count`` characters (and then leading spaces) from the first Text node."""
    first = inlines[0]
    assert isinstance(first, Text)
    rest = first.text[count:].lstrip()
    return ((Text(rest, first.line),) if rest else ()) + inlines[1:]


_PINNED_RE = re.compile(r"\s*\{\s*\.fixed\s*\}\s*$")


def _pinned(inlines: Inlines) -> tuple[Inlines, bool]:
    """An option's text without a trailing ``{.fixed}``, and whether it had one (test versions
    keep such an option where it was written: "None of the above")."""
    if inlines and isinstance(inlines[-1], Text):
        last = inlines[-1]
        match = _PINNED_RE.search(last.text)
        if match:
            kept = last.text[: match.start()]
            return (*inlines[:-1], *((replace(last, text=kept),) if kept else ())), True
    return inlines, False


def _task_marker(inlines: Inlines) -> tuple[bool, Inlines] | None:
    """``(correct, rest)`` when an item starts with ``[ ]`` or ``[x]``, else None."""
    if not inlines or not isinstance(inlines[0], Text):
        return None
    text = inlines[0].text
    if len(text) < 3 or text[0] != "[" or text[2] != "]" or text[1] not in " xX":
        return None
    if len(text) > 3 and not text[3].isspace():
        return None
    return text[1] in "xX", _strip_leading(inlines, 3)


def _strip_answer_prefix(
    block: Block, answer_re: re.Pattern[str], words: tuple[str, ...]
) -> Paragraph | None:
    """The paragraph without its ``Answer:`` prefix (or the lesson language's word for it:
    ``Respuesta:``), or None when it has none."""
    if not isinstance(block, Paragraph) or not block.inlines:
        return None
    first = block.inlines[0]
    lowered = {word.casefold() for word in words}
    if isinstance(first, Text):
        match = answer_re.match(first.text)
        if match:
            return Paragraph(_strip_leading(block.inlines, match.end()), block.line)
        return None
    if isinstance(first, (Strong, Emph)):
        label = plain_text(first.children).strip().casefold()
        rest = block.inlines[1:]
        if label.endswith(":") and label[:-1].strip() in lowered:
            pass
        elif (
            label in lowered and rest and isinstance(rest[0], Text) and rest[0].text.startswith(":")
        ):
            rest = _strip_leading(rest, 1)
        else:
            return None
        if rest and isinstance(rest[0], Text):
            rest = _strip_leading(rest, 0)
        return Paragraph(tuple(rest), block.line)
    return None


def _split_pair(inlines: Inlines) -> tuple[Inlines, Inlines] | None:
    """Split ``term :: definition`` at the first ``::`` in top-level text."""
    for index, node in enumerate(inlines):
        if isinstance(node, Text) and "::" in node.text:
            before, _, after = node.text.partition("::")
            term = inlines[:index] + ((Text(before, node.line),) if before else ())
            definition = ((Text(after, node.line),) if after else ()) + inlines[index + 1 :]
            return _trim(term), _trim(definition)
    return None


def _trim(inlines: Inlines) -> Inlines:
    """Strip spaces at both ends of an inline sequence."""
    items = list(inlines)
    if items and isinstance(items[0], Text):
        items[0] = Text(items[0].text.lstrip(), items[0].line)
        if not items[0].text:
            items.pop(0)
    if items and isinstance(items[-1], Text):
        items[-1] = Text(items[-1].text.rstrip(), items[-1].line)
        if not items[-1].text:
            items.pop()
    return tuple(items)


def _block_name(block: Block) -> str:
    names = {
        "codeblock": "code block",
        "quote": "quote",
        "table": "table",
        "image": "picture",
        "paragraph": "paragraph",
    }
    return names.get(block.kind, block.kind)


def iter_images(blocks: tuple[Block, ...]) -> Iterator[Image]:
    """Every image in ``blocks``, including inside divs, quotes and graded blocks."""
    return (block for block in iter_blocks(blocks) if isinstance(block, Image))


# --------------------------------------------------------------------------- the whole reader


def _read(text: str, path: Path, digest: str) -> tuple[Lesson | None, list[Diagnostic]]:
    """Read decoded text: front matter, div pre-scan, markdown-it, model."""
    lines, diagnostics = _clean_lines(text, path)
    fm_lines, body_start, more = _split_front_matter(lines, path)
    diagnostics += more
    if body_start < 0:
        return None, diagnostics
    meta, more = _parse_meta(fm_lines, path)
    diagnostics += more
    if meta is None:
        return None, diagnostics
    body, more = _pasted_bullets(lines[body_start:], body_start + 1, path)
    diagnostics += more
    tree, more = _prescan(body, body_start + 1, path)
    diagnostics += more
    answers = answer_words(meta.lang)
    builder = _Builder(path, {}, answers)
    items = builder.regions(tree, top=True)
    if builder.env.get("references") and _count_chunks(tree) > 1:
        # A reference link may be defined in another region: parse again now all are known.
        builder = _Builder(path, builder.env, answers)
        items = builder.regions(tree, top=True)
    intro, sections = builder.structure(items)
    diagnostics += builder.diagnostics
    lesson = Lesson(
        path=path,
        meta=meta,
        intro=intro,
        sections=sections,
        source_hash=digest,
        images=tuple(builder.images),
    )
    return lesson, diagnostics


def _pasted_bullets(
    lines: list[str], first_line: int, path: Path
) -> tuple[list[str], list[Diagnostic]]:
    """Lines that start with '•', '–' or '—' and a space (a list pasted from a word processor)
    become '- ' bullets, with a warning at each run of them; code fences are left alone."""
    out: list[str] = []
    diagnostics: list[Diagnostic] = []
    fence = ""
    previous = False
    for index, line in enumerate(lines):
        opened = _CODE_FENCE_RE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            out.append(line)
            continue
        if opened:
            fence = opened.group(1)
            out.append(line)
            previous = False
            continue
        match = _PASTED_BULLET_RE.match(line)
        if match is None:
            out.append(line)
            previous = False
            continue
        indent, marker, rest = match.groups()
        out.append(f"{indent}- {rest}")
        if not previous:
            diagnostics.append(
                warning(
                    path,
                    first_line + index,
                    f"a line starting with '{marker}' (pasted from a word processor?) is read as "
                    f"a bullet, like '- '; write '\\{marker}' to keep the '{marker}' as text",
                )
            )
        previous = True
    return out, diagnostics


def _count_chunks(nodes: list[_Chunk | _DivRegion]) -> int:
    count = 0
    for node in nodes:
        count += 1 if isinstance(node, _Chunk) else _count_chunks(node.children)
    return count
