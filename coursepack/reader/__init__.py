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

Each step is a module of this package: :mod:`.decode`, :mod:`.front_matter`, :mod:`.divs`,
then :mod:`.markdown` (the parser and its inline rules) and :mod:`.builder` (tokens to the
model); :mod:`.syntax` holds what the format accepts (keys, attributes, limits).

Only *syntax-level* problems are reported here; :mod:`coursepack.check` adds the semantic checks
(missing prompts, missing images...). Nothing here raises for anything a user can write.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..diagnostics import Diagnostic, error, warning
from ..messages import answer_words
from ..model import Lesson
from .builder import _Builder
from .decode import _clean_lines, _decode
from .divs import _Chunk, _DivRegion, _prescan
from .front_matter import _parse_meta, _split_front_matter, version_count, yaml_words
from .syntax import (
    _CODE_FENCE_RE,
    _PASTED_BULLET_RE,
    DIV_ATTRIBUTES,
    FRONT_MATTER_KEYS,
    MAX_INLINE_DEPTH,
    MAX_LESSON_BYTES,
    MAX_LIST_DEPTH,
    is_remote,
)

__all__ = [
    "DIV_ATTRIBUTES",
    "FRONT_MATTER_KEYS",
    "MAX_INLINE_DEPTH",
    "MAX_LESSON_BYTES",
    "MAX_LIST_DEPTH",
    "is_remote",
    "iter_images",
    "read_lesson",
    "read_text",
    "version_count",
    "yaml_words",
]

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
