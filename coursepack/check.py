"""Checking lessons: the reader's syntax diagnostics plus every semantic check.

``check_lesson`` is the gate between reading and writing: it returns the lesson only when there
is no error, so writers never see an invalid lesson. Every diagnostic carries ``path:line``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import formulas
from .course import lesson_files
from .diagnostics import (
    Diagnostic,
    InternalError,
    LessonError,
    display_path,
    error,
    note,
    warning,
)
from .layouts import LayoutNotFound
from .messages import CatalogueError, answer_words, catalogue
from .model import (
    LINK_SCHEMES,
    Image,
    Inline,
    Lesson,
    Link,
    Match,
    Math,
    Order,
    Question,
    block_inlines,
    impossible_date,
    iter_all_blocks,
    iter_inlines,
    link_allowed,
    plain_text,
)
from .reader import is_remote, read_lesson

__all__ = ["check_lesson", "check_paths", "check_model", "starter_text", "IMAGE_FORMATS"]

#: Image formats every output can use (the handout's WeasyPrint and the deck's python-pptx).
IMAGE_FORMATS = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
#: Pictures above this many pixels are refused (Pillow's own decompression-bomb limit).
MAX_IMAGE_PIXELS = 89_478_485
#: A lesson reports at most this many problems (and then how many more there are).
MAX_DIAGNOSTICS = 200


def check_lesson(path: Path) -> tuple[Lesson | None, list[Diagnostic]]:
    """Read ``path`` and run every check; diagnostics are sorted by line.

    The lesson is returned only when there is no error (warnings are fine).
    """
    path = Path(path)
    lesson, diagnostics = read_lesson(path)
    if lesson is not None:
        diagnostics = diagnostics + check_model(lesson)
    diagnostics.sort(key=lambda d: d.line)
    failed = any(d.is_error for d in diagnostics)
    diagnostics = _cap(path, diagnostics)
    if failed:
        return None, diagnostics
    return lesson, diagnostics


def _cap(path: Path, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """At most MAX_DIAGNOSTICS lines, then one that counts the rest (a lesson of 1 MB of ``[[``
    would otherwise print half a million errors)."""
    if len(diagnostics) <= MAX_DIAGNOSTICS:
        return diagnostics
    kept, rest = diagnostics[:MAX_DIAGNOSTICS], diagnostics[MAX_DIAGNOSTICS:]
    summary = (
        f"{len(rest)} more problem(s) from this line on are not shown "
        "(fix the ones above and check again)"
    )
    make = error if any(d.is_error for d in rest) else warning
    return kept + [make(path, rest[0].line, summary)]


def check_paths(paths: Iterable[Path]) -> dict[Path, tuple[Lesson | None, list[Diagnostic]]]:
    """Check files and folders; a folder stands for its ``*.md`` files (sorted by name).

    Folders are not searched recursively. A missing path, or a folder without lessons, gives one
    error at line 0.
    """
    results: dict[Path, tuple[Lesson | None, list[Diagnostic]]] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            lessons = lesson_files(path)
            if not lessons:
                results[path] = (None, [error(path, 0, "no .md lesson files in this folder")])
            for lesson_path in lessons:
                if lesson_path not in results:
                    results[lesson_path] = _check_or_name(lesson_path)
        elif not path.exists():
            results[path] = (None, [error(path, 0, "no such file or folder")])
        elif path not in results:
            results[path] = _check_or_name(path)
    return results


def _check_or_name(path: Path) -> tuple[Lesson | None, list[Diagnostic]]:
    """``check_lesson``; a bug met while checking names the lesson (the CLI's exit 3 message)."""
    try:
        return check_lesson(path)
    except Exception as exc:
        raise InternalError(path, f"{type(exc).__name__}: {exc}") from exc


def starter_text() -> str:
    """The starter lesson written by ``coursepack new`` (``layouts/starter.md``)."""
    from .layouts import LayoutSearch

    return LayoutSearch().find("starter.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- semantic checks


def check_model(lesson: Lesson) -> list[Diagnostic]:
    """Every semantic check on a lesson the reader could build (unsorted)."""
    path = lesson.path
    found: list[Diagnostic] = []
    found.extend(_check_template(lesson))
    if impossible_date(lesson.meta.date or ""):
        found.append(
            error(
                path,
                lesson.meta.line_of("date"),
                f"date {lesson.meta.date.strip()} is not a real date (check the month and the day)",
            )
        )
    if lesson.meta.exports:
        from .course import unknown_export_problems

        found.extend(
            unknown_export_problems(path, lesson.meta.line_of("exports"), lesson.meta.exports)
        )
    found.extend(_check_language(lesson))
    words = answer_words(lesson.meta.lang)
    if not lesson.intro and not lesson.sections:
        found.append(
            warning(
                path,
                1,
                "the lesson has nothing after its front matter: its handout, key and slides "
                "show only the title (start a section with '# Heading')",
            )
        )
    for block in iter_all_blocks(lesson):
        if isinstance(block, Question):
            found.extend(_check_question(path, block, words))
        elif isinstance(block, Match):
            found.extend(_check_match(path, block))
        elif isinstance(block, Order) and len(block.items) < 2:
            found.append(
                error(
                    path,
                    block.line,
                    f"order {block.number} needs at least 2 items in a list "
                    f"(it has {len(block.items)})",
                )
            )
    for image in _images(lesson):
        found.extend(_check_image(lesson, image))
    for formula in formulas_of(lesson):
        reason = formulas.problem(formula.tex, formula.display)
        if reason:
            mark = "$$" if formula.display else "$"
            written = f"{mark}{_short(formula.tex.strip())}{mark}"
            found.append(error(path, formula.line, f"formula {written}: {reason}"))
    found.extend(_check_glyphs(lesson))
    found.extend(_check_deck_fonts(lesson))
    for link in _links(lesson):
        href = link.href.strip()
        if is_remote(href) and not link_allowed(href):
            scheme = href.split(":", 1)[0]
            found.append(
                error(
                    path,
                    link.line,
                    f"a link to a '{scheme}:' address cannot work in a handout or on a slide "
                    f"(links must start with {', '.join(f'{s}:' for s in LINK_SCHEMES)})",
                )
            )
    return found


def _check_match(path: Path, block: Match) -> list[Diagnostic]:
    """At least two pairs, and no term or definition twice: students could not tell which
    of two identical definitions is meant, and the key would have two right letters."""
    if len(block.pairs) < 2:
        return [
            error(
                path,
                block.line,
                f"match {block.number} needs at least 2 'term :: definition' pairs "
                f"(it has {len(block.pairs)})",
            )
        ]
    found: list[Diagnostic] = []
    for side in ("term", "definition"):
        seen: set[str] = set()
        for pair in block.pairs:
            text = " ".join(plain_text(getattr(pair, side)).split()).casefold()
            if text in seen:
                found.append(
                    warning(
                        path,
                        pair.line,
                        f"match {block.number}: this {side} is given twice, so two answers "
                        "would fit",
                    )
                )
            seen.add(text)
    return found


def _check_template(lesson: Lesson) -> list[Diagnostic]:
    """``pptx-template`` must name a .potx/.pptx file in the lesson's folder (or below)."""
    name = lesson.meta.pptx_template.strip()
    if not name:
        return []
    line = lesson.meta.line_of("pptx-template")
    if is_remote(name):
        return [error(lesson.path, line, f"pptx-template '{name}' must be a file, not an address")]
    if Path(name).suffix.lower() not in (".potx", ".pptx", ".potm", ".pptm"):
        return [
            error(
                lesson.path,
                line,
                f"pptx-template '{name}' is not a PowerPoint template (.potx or .pptx)",
            )
        ]
    try:
        folder = lesson.folder.resolve()
        target = (lesson.folder / name).resolve()
    except (OSError, RuntimeError):
        return [error(lesson.path, line, f"pptx-template '{name}' cannot be found")]
    if not target.is_relative_to(folder):
        # As for images: a lesson reads nothing outside its folder (--pptx-template may).
        return [
            error(
                lesson.path,
                line,
                f"pptx-template '{name}' is outside the lesson's folder (copy it into "
                f"{folder.name or '.'}/ or a folder inside it, or use --pptx-template)",
            )
        ]
    if not target.is_file():
        return [
            error(
                lesson.path,
                line,
                f"pptx-template '{name}' not found (looked for {display_path(target)})",
            )
        ]
    from .templates import TemplateProblem, read_template

    try:
        read_template(target)
    except TemplateProblem as exc:
        return [error(lesson.path, line, f"pptx-template '{name}' cannot be used: {exc}")]
    from .writers.deck import template_notes, template_problem

    problem = template_problem(target)  # a layout for every slide, before anything is written
    if problem:
        return [error(lesson.path, line, f"pptx-template '{name}' {problem}")]
    notes = template_notes(target)  # what reading it left out, layouts past the slide
    return [warning(lesson.path, line, f"pptx-template '{name}': {note}") for note in notes]


def _check_language(lesson: Lesson) -> list[Diagnostic]:
    """One warning when the lesson's language has no message catalogue (English is used)."""
    try:
        messages = catalogue(lesson.meta.lang)
    except (LayoutNotFound, CatalogueError) as exc:
        return [error(lesson.path, lesson.meta.line_of("lang"), str(exc))]
    except LessonError as exc:  # a catalogue that is a link to outside its layouts folder
        return list(exc.diagnostics)
    if not messages.is_fallback:
        return []
    return [
        warning(
            lesson.path,
            lesson.meta.line_of("lang"),
            f"no messages in language '{lesson.meta.lang}' (no layouts/messages/"
            f"{lesson.meta.lang}.yaml): the handout's own words (Name, Total, Page...) are "
            "printed in English",
        )
    ]


def _answer_label(words: tuple[str, ...]) -> str:
    """'Answer:' or, for a lesson in another language, "'Respuesta:' (or 'Answer:')"."""
    if words[0] == "Answer":
        return "'Answer:'"
    return f"'{words[0]}:' (or 'Answer:')"


def _check_question(path: Path, question: Question, words: tuple[str, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    number = question.number
    if not question.prompt:
        found.append(
            error(
                path,
                question.line,
                f"question {number} has no prompt (write the question as a paragraph "
                "after the '::: question' line)",
            )
        )
    if question.is_multiple_choice:
        if not any(option.correct for option in question.options):
            found.append(
                error(
                    path,
                    question.line,
                    f"question {number} has no correct option (mark the right one with '[x]')",
                )
            )
        if question.select_all and all(option.correct for option in question.options):
            found.append(
                warning(
                    path,
                    question.line,
                    f"select-all question {number} has no wrong option: ticking every box "
                    "always scores full marks (add at least one '- [ ]' option)",
                )
            )
        if question.answer:
            found.append(
                warning(
                    path,
                    question.answer[0].line,
                    f"the {_answer_label(words)} paragraph of multiple-choice question {number} "
                    "is not printed (the [x] options are its answer); put an explanation for the "
                    "teacher in a '::: teacher' block",
                )
            )
        for option in question.options:
            if ANSWER_IN_OPTION.search(plain_text(option.inlines)):
                found.append(
                    warning(
                        path,
                        option.line,
                        f"an option of question {number} contains 'Answer:' and students "
                        "would see it; move the explanation into a '::: teacher' block",
                    )
                )
    elif not question.answer:
        found.append(
            error(
                path,
                question.line,
                f"open question {number} has no {_answer_label(words)} paragraph (add one "
                "with the model answer for the key, or options written '- [ ]' / '- [x]')",
            )
        )
    return found


def _check_image(lesson: Lesson, image: Image) -> list[Diagnostic]:
    path = lesson.path
    found: list[Diagnostic] = []
    if not image.alt.strip():
        found.append(
            error(
                path,
                image.line,
                f"image '{image.src}' has no alt text (describe it between the brackets, "
                "e.g. ![Map of Rwanda in 1994](map.png))",
            )
        )
    src = image.src.strip()
    if not src:
        found.append(error(path, image.line, "image has no file name (write ![alt](file.png))"))
        return found
    if is_remote(src):
        found.append(
            error(
                path,
                image.line,
                f"image '{_short(src)}' is not a file: images must be files in the lesson's "
                "folder (save the picture next to the lesson and write its file name)",
            )
        )
        return found
    if "\0" in str(image.path):  # no file name can hold one (a %00 in the address)
        found.append(error(path, image.line, f"image '{src}' has a NUL character in its name"))
        return found
    try:
        folder = lesson.folder.resolve()
        target = image.path.resolve()
    except (OSError, RuntimeError, ValueError):
        found.append(error(path, image.line, f"image '{src}' cannot be found"))
        return found
    if not target.is_relative_to(folder):
        found.append(
            error(
                path,
                image.line,
                f"image '{src}' is outside the lesson's folder (copy it into {folder.name or '.'}"
                "/ or a folder inside it)",
            )
        )
        return found
    if target.is_dir():
        found.append(error(path, image.line, f"image '{src}' is a folder, not a picture"))
        return found
    if not target.is_file():
        found.append(
            error(
                path,
                image.line,
                f"image '{src}' not found (looked for {display_path(target)}; check the name "
                "and its capital letters)",
            )
        )
        return found
    try:
        with target.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        found.append(
            error(path, image.line, f"image '{src}' cannot be read ({exc.strerror or exc})")
        )
        return found
    if not any(head.startswith(magic) for magic in IMAGE_FORMATS):
        found.append(
            error(
                path,
                image.line,
                f"image '{src}' is not a PNG, JPEG or GIF picture (save it as PNG or JPEG)",
            )
        )
        return found
    found.extend(_check_pixels(path, image.line, src, target))
    return found


def _check_pixels(path: Path, line: int, src: str, target: Path) -> list[Diagnostic]:
    """A picture too big to decode (the handout would drop it silently, as Pillow refuses it as
    a decompression bomb, while the deck fails), or one that does not decode to the end: a
    truncated or damaged file prints as a black box. So every picture is decoded here, once."""
    import warnings

    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we decide below
            with PILImage.open(target) as picture:
                width, height = picture.size
                pixels = width * height
                if pixels <= MAX_IMAGE_PIXELS:
                    picture.load()  # every pixel: a truncated file fails here
            if pixels <= MAX_IMAGE_PIXELS:
                with PILImage.open(target) as picture:
                    picture.verify()  # the checksums, which decoding does not test
    except PILImage.DecompressionBombError:
        width, height = 0, 0
        pixels = MAX_IMAGE_PIXELS + 1
    except Exception as exc:  # a damaged file: Pillow raises many kinds of error
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [
            error(
                path,
                line,
                f"image '{src}' is damaged or incomplete and cannot be printed ({reason}; "
                "save it again from an image program)",
            )
        ]
    if pixels <= MAX_IMAGE_PIXELS:
        return []
    size = f" is {width}×{height} pixels and" if width else ""
    return [
        error(
            path,
            line,
            f"image '{src}'{size} is too big to print (at most {MAX_IMAGE_PIXELS // 1_000_000} "
            "million pixels; save it smaller)",
        )
    ]


# "Answer:" run into an option by a lazy continuation line (no blank line before it).
ANSWER_IN_OPTION = re.compile(r"(^|\s)Answer:", re.IGNORECASE)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_glyphs(lesson: Lesson) -> list[Diagnostic]:
    """A warning at each line with characters that no font of the theme has (they would
    print as empty boxes), naming the install command that brings a font for them."""
    from .fonts import font_stack, missing_glyphs
    from .layouts import LayoutSearch, ThemeError

    try:
        stack = font_stack(LayoutSearch().theme)
    except (ThemeError, LayoutNotFound, LessonError):
        return []  # the build reports the broken (or refused) theme.yaml
    found = missing_glyphs(_texts(lesson), stack)
    if not found:
        return []
    try:
        source = lesson.path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        source = []
    return [
        warning(lesson.path, _line_with(source, missing.line, missing.words), missing.message())
        for missing in found
    ]


_PUNCTUATION = ".,;:!?()[]«»\"'“”‘’،؛؟。、，！？：；（）「」"


def _check_deck_fonts(lesson: Lesson) -> list[Diagnostic]:
    """One note per lesson, at the first line concerned, when the slides name a packaged
    font (for Arabic, Hebrew, CJK...) that this computer's presentation programs cannot find:
    the deck names its fonts and embeds none, so those lines would show boxes or another font
    until ``coursepack fonts install`` puts the packaged fonts among the computer's own."""
    from .font_install import INSTALL_COMMAND, is_installed
    from .fonts import deck_typefaces, font_stack, system_families
    from .layouts import LayoutSearch, ThemeError

    try:
        theme = LayoutSearch().theme
        stack = font_stack(theme)
    except (ThemeError, LayoutNotFound, LessonError):
        return []
    system = set(system_families(theme))
    first_line = 0
    names: list[str] = []
    words: list[str] = []
    for line, text in _texts(lesson):
        if not any(ord(char) >= 0x370 for char in text):
            continue
        for family in deck_typefaces(text, stack, lesson.meta.lang):
            if not family or family in system or family in names or is_installed(family):
                continue
            names.append(family)
            first_line = first_line or line
            words += [
                word.strip(_PUNCTUATION)
                for word in text.split()
                if any(ord(char) >= 0x370 for char in word)
            ][:1]
    if not names:
        return []
    try:
        source = lesson.path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        source = []
    first_line = _line_with(source, first_line, tuple(words[:1]))
    quoted = " ".join(f'"{name}"' for name in names)
    plural = "s" if len(names) > 1 else ""
    # A note, not a warning: it is about this computer, not the lesson, so --strict ignores it.
    return [
        note(
            lesson.path,
            first_line,
            f"the slides name the font{plural} {', '.join(names)} (for {', '.join(words[:3])}), "
            "which this computer does not have: PowerPoint and LibreOffice show another font "
            f"or boxes there. Run: {INSTALL_COMMAND} {quoted} (on the presenting computer "
            "too; see docs/fonts.md)",
        )
    ]


def _line_with(source: list[str], line: int, words: tuple[str, ...]) -> int:
    """The first line from ``line`` on that holds one of ``words`` (a paragraph's node knows
    only the line it starts on), else ``line``."""
    for number in range(max(line, 1), min(len(source), line + 200) + 1):
        if any(word in source[number - 1] for word in words):
            return number
    return line


# --------------------------------------------------------------------------- walking the model

#: Fields of model nodes that hold no printed text.
_NOT_TEXT = frozenset({"kind", "src", "href", "info", "audience", "source_hash", "pptx_template"})


def _texts(lesson: Lesson) -> Iterator[tuple[int, str]]:
    """(line, text) for every piece of text the outputs can print: the front matter's values
    and every string of every node (walked by field, so a new node kind is covered too)."""
    meta = lesson.meta
    for key in ("title", "subtitle", "course", "author", "date"):
        value = getattr(meta, key)
        if value:
            yield meta.line_of(key), value
    yield from _node_texts((lesson.intro, lesson.sections), 1)


def _node_texts(node: object, line: int) -> Iterator[tuple[int, str]]:
    if isinstance(node, (tuple, list)):
        for child in node:
            yield from _node_texts(child, line)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return
    line = getattr(node, "line", 0) or line
    for field in dataclasses.fields(node):
        if field.name in _NOT_TEXT:
            continue
        value = getattr(node, field.name)
        if isinstance(value, str):
            if value:
                yield line, value
        else:
            yield from _node_texts(value, line)


def _images(lesson: Lesson) -> Iterator[Image]:
    return (block for block in iter_all_blocks(lesson) if isinstance(block, Image))


def _inline_nodes(lesson: Lesson) -> Iterator[Inline]:
    """Every inline of the lesson's text (titles, paragraphs, bullets, cells, options...),
    the content of bold, italics, links and blanks included."""
    for section in lesson.sections:
        yield from iter_inlines(section.title)
        for topic in section.topics:
            yield from iter_inlines(topic.title)
    for block in iter_all_blocks(lesson):
        for inlines in block_inlines(block):
            yield from iter_inlines(inlines)


def _links(lesson: Lesson) -> Iterator[Link]:
    """Every link in the lesson's text."""
    return (node for node in _inline_nodes(lesson) if isinstance(node, Link))


def formulas_of(lesson: Lesson) -> Iterator[Math]:
    """Every formula in the lesson's text, headings, prompts and answers included."""
    return (node for node in _inline_nodes(lesson) if isinstance(node, Math))
