"""The handout and the answer key: one Jinja2 template, one CSS, an audience switch.

The writer turns a :class:`~coursepack.model.Lesson` into HTML with the templates found on the
layout search path, then into a PDF with WeasyPrint. Both audiences share every box size, so
"page 2, question 4" is at the same place in the handout and in the key: a cloze gap is as wide
as its answer (measured with the real font), the key writes model answers over the same ruled
lines, and the space of a teacher note is kept in the handout as a ruled notes area.

WeasyPrint is imported lazily: importing this module stays cheap. The Jinja2 environment, the
font configuration and the parsed CSS are created once per writer and reused for every document.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import logging
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from html import escape as html_escape
from pathlib import Path, PurePath
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from coursepack import code, formulas
from coursepack.diagnostics import Diagnostic, InternalError, LessonError, error, warning
from coursepack.fonts import (
    FontStack,
    document_chars,
    font_stack,
    language_css,
    needed_families,
    private_fontconfig,
    reproducible_fonts,
)
from coursepack.layouts import LayoutNotFound, LayoutSearch
from coursepack.messages import catalogue, css_string
from coursepack.model import (
    LATIN_LETTERS,
    Block,
    BulletList,
    Callout,
    Cloze,
    CodeBlock,
    Columns,
    Div,
    Graded,
    Image,
    Inlines,
    Lesson,
    Link,
    Match,
    Math,
    Option,
    Order,
    Paragraph,
    Question,
    Quote,
    Table,
    assert_never,
    iso_date,
    iter_all_blocks,
    link_allowed,
    option_letter,
    paper_name,
    plain_text,
    shows,
)
from coursepack.outputs import Output, PlanContext, Target, sha256_file
from coursepack.writers import cffi_types, css_vars, formula_paint
from coursepack.writers.weasyprint_loader import load_weasyprint
from coursepack.writers.wide_tables import column_groups

if TYPE_CHECKING:
    import jinja2

    from coursepack.course import Course
    from coursepack.writers.pdf_fetch import SafeURLFetcher

HandoutAudience = Literal["handout", "key"]

TEMPLATE = "handout.html.j2"
PACK_TEMPLATE = "pack.html.j2"
ANSWER_SHEET_TEMPLATE = "answer-sheet.html.j2"
STYLESHEETS = ("handout.css",)
# Templates the main template imports; listed so that stamps notice an override of any of them.
PARTIALS = ("lesson.html.j2", "blocks.html.j2", PACK_TEMPLATE, ANSWER_SHEET_TEMPLATE)
#: The CSS page size of each paper name (coursepack.model.PAPERS).
PAPER_SIZES = {"letter": "letter", "a4": "A4"}
DEFAULT_LINES = 4
#: Documents of at least this many pages get their style cascade collected between layout
#: and writing (course packs; see HandoutWriter._pdf).
COLLECT_FROM_PAGES = 20

# Cloze gaps: measured answer width plus this much room (em), never narrower than the minimum.
GAP_PADDING_EM = 1.2
GAP_MIN_EM = 3.0
# The set widths of blanks (em): each blank takes the first that fits its answer, so "gusta"
# and "gustan" get the same gap. Longer answers than the last get their own width.
GAP_WIDTHS_EM = (6.0, 10.0, 15.0, 21.0, 28.0)

_LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------- pure helpers


@dataclasses.dataclass(frozen=True)
class FormulaImage:
    """What the template needs to print one formula: an SVG picture sized in em."""

    src: str
    alt: str
    width: float
    height: float
    baseline: float  # the CSS vertical-align, in em: minus the depth below the baseline
    display: bool

    @property
    def html(self) -> Any:
        """The ``<img>`` (in a centred ``<span>`` when displayed), made here rather than in
        the template: the sandbox checks each attribute a template reads, and a lesson's
        formulas are hundreds of reads. Sized in em: an inline formula's depth below the
        baseline is its vertical-align, so it sits on the text's baseline."""
        from markupsafe import Markup, escape

        img = (
            f'<img class="math" src="{escape(self.src)}" alt="{escape(self.alt)}" '
            f'style="width: {self.width}em; height: {self.height}em; '
            f'vertical-align: {self.baseline}em">'
        )
        return Markup(f'<span class="math-display">{img}</span>' if self.display else img)


def formula_image(node: Math, lang: str) -> FormulaImage:
    """A formula as a vector picture (painted by :mod:`formula_paint` in the colour of the
    text around it), with its spoken form as alt text."""
    tex = node.tex.strip()
    drawing = formulas.svg(tex, node.display)
    return FormulaImage(
        src=formula_paint.formula_url(tex, node.display),
        alt=formulas.spoken(tex, node.display, lang),
        width=drawing.width,
        height=drawing.height,
        baseline=round(-drawing.depth, 4) + 0.0,  # + 0.0: never "-0.0"
        display=node.display,
    )


class LanguageSwitch:
    """The templates' ``t``: the message catalogue of the lesson being printed, and its
    other print settings (``blanks``).

    ``t("points", n=2)`` is a message; ``t.rtl`` tells the direction. A course pack prints
    each lesson with its own words and settings: its template calls ``t.use(lang, blanks)``
    before a lesson (it prints nothing) and ``t.use(course_lang)`` after it.
    """

    def __init__(self, layouts: LayoutSearch, lang: str, blanks: str = "fixed") -> None:
        self._layouts = layouts
        self.catalogue = catalogue(lang, layouts)
        self.blanks = blanks

    def __call__(self, key: str, n: int | None = None, **values: Any) -> str:
        return self.catalogue(key, n, **values)

    @property
    def rtl(self) -> bool:
        """True when the language is written right to left."""
        return self.catalogue.rtl

    @property
    def dir(self) -> str:
        """The HTML ``dir`` value."""
        return "rtl" if self.catalogue.rtl else "ltr"

    @property
    def letters(self) -> tuple[str, ...]:
        """The language's option letters (A, B, C; أ, ب, ج; א, ב, ג)."""
        return self.catalogue.letters

    def letter(self, index: int) -> str:
        """The letter of option ``index`` in the language being printed."""
        return self.catalogue.letter(index)

    def version_name(self, letter: str) -> str:
        """Test version ``letter`` (A, B …) as the language being printed names it."""
        return self.catalogue.version_name(letter)

    def use(self, lang: str, blanks: str = "fixed") -> str:
        """Switch to ``lang``'s catalogue and a lesson's blanks; returns "" so a template can
        call it inline."""
        self.catalogue = catalogue(lang, self._layouts)
        self.blanks = blanks
        return ""


def points_label(points: int, t: Any = None) -> str:
    """``(1 point)`` or ``(N points)``, in the language of ``t`` (English without one)."""
    if t is None:
        return f"({points} point{'s' if points != 1 else ''})"
    return t("points", n=points)


@dataclasses.dataclass(frozen=True)
class MatchRow:
    """One row of a printed matching block: a numbered term and a lettered definition."""

    number: int
    term: Inlines
    answer: str  # the letter of this term's definition
    letter: str
    definition: Inlines


@dataclasses.dataclass(frozen=True)
class OrderRow:
    """One printed ordering item: the item (in shuffled order) and its right position."""

    position: int
    inlines: Inlines


def match_rows(block: Match, letters: Sequence[str] = LATIN_LETTERS) -> list[MatchRow]:
    """Terms in written order, definitions in a stable shuffled order, lettered (in the
    lesson's ``letters``)."""
    shuffled = block.definition_order
    letter_of = {pair_index: option_letter(pos, letters) for pos, pair_index in enumerate(shuffled)}
    return [
        MatchRow(
            number=i + 1,
            term=pair.term,
            answer=letter_of[i],
            letter=option_letter(i, letters),
            definition=block.pairs[shuffled[i]].definition,
        )
        for i, pair in enumerate(block.pairs)
    ]


@dataclasses.dataclass(frozen=True)
class VersionTable:
    """Every version's number and answer for each graded block of the ordinary lesson."""

    letters: tuple[str, ...]
    rows: tuple[tuple[Graded, tuple[tuple[int, str], ...]], ...]


def answer_letters(block: Graded, letters: Sequence[str] = LATIN_LETTERS) -> str:
    """A graded block's answer as letters or numbers to mark by: ``C``, ``A, D`` (select
    all), ``1C 2A 3B`` (matching), ``2 3 1`` (ordering: each shown item's place); ``""`` for
    an open question."""
    match block:
        case Question() if block.options:
            return ", ".join(
                option_letter(i, letters) for i, o in enumerate(block.options) if o.correct
            )
        case Question():
            return ""
        case Match():
            return " ".join(f"{row.number}{row.answer}" for row in match_rows(block, letters))
        case Order():
            return " ".join(str(row.position) for row in order_rows(block))
        case _:
            assert_never(block)


def version_table(
    lesson: Lesson, versions: Mapping[str, Lesson], letters: Sequence[str] = LATIN_LETTERS
) -> VersionTable:
    """The ordinary key's table of versions: for each graded block (by its written place, its
    source line), its number and its answer letters in each version."""
    by_line = {
        letter: {block.line: block for block in version.graded()}
        for letter, version in versions.items()
    }
    rows = tuple(
        (
            block,
            tuple(
                (
                    by_line[letter][block.line].number,
                    answer_letters(by_line[letter][block.line], letters),
                )
                for letter in versions
            ),
        )
        for block in lesson.graded()
    )
    return VersionTable(tuple(versions), rows)


def order_rows(block: Order) -> list[OrderRow]:
    """The items in a stable shuffled order, each with its right position (1-based)."""
    return [OrderRow(position=i + 1, inlines=block.items[i].inlines) for i in block.shown_order]


def iter_clozes(node: Any, view: str) -> Iterator[Cloze]:
    """Every cloze blank shown in ``view``, in source order (for the key's answer table)."""
    if isinstance(node, Cloze):
        yield node
    elif isinstance(node, Div) and not shows(node, view):  # type: ignore[arg-type]
        return
    elif isinstance(node, (tuple, list)):
        for child in node:
            yield from iter_clozes(child, view)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            if field.name not in ("answer", "path", "meta"):
                yield from iter_clozes(getattr(node, field.name), view)


def reserved(node: Any) -> Any:
    """A copy of teacher-only blocks for the handout's reserved notes area: laid out to the
    same size (so the pages match the key) but with nothing a PDF keeps besides drawn text,
    which is never drawn there: links lose their address (no link annotation), pictures their
    alt text (no structure-tree entry). The student's file holds no byte of the note."""
    if isinstance(node, Link):
        return dataclasses.replace(node, href="", children=reserved(node.children))
    if isinstance(node, Image):
        return dataclasses.replace(node, alt="")
    if isinstance(node, tuple):
        return tuple(reserved(child) for child in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {
            field.name: reserved(getattr(node, field.name))
            for field in dataclasses.fields(node)
            if isinstance(getattr(node, field.name), tuple)
        }
        return dataclasses.replace(node, **changes) if changes else node
    return node


def lesson_clozes(lesson: Lesson, view: str) -> list[Cloze]:
    """The blanks a student fills in, in reading order."""
    found: list[Cloze] = list(iter_clozes(lesson.intro, view))
    for section in lesson.sections:
        found += iter_clozes(section.title, view)
        found += iter_clozes(section.blocks, view)
        for topic in section.topics:
            found += iter_clozes(topic.title, view)
            found += iter_clozes(topic.blocks, view)
    return found


# --------------------------------------------------------------------------- fonts


@lru_cache(maxsize=32)
def _advances(path: Path) -> tuple[dict[int, float], float]:
    """Advance widths (in em) per code point of a font file (the first face of a collection),
    and the file's average width."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        upm = font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        widths = {cp: metrics[name][0] / upm for cp, name in font.getBestCmap().items()}
    average = sum(widths.values()) / max(1, len(widths))
    return widths, average


def text_width_em(text: str, fonts: list[Path]) -> float:
    """The width of ``text`` in em, using the first font that has each character (a font's
    widths are read only when an earlier font lacks a character: the CJK font is large)."""
    total = 0.0
    for char in text:
        for path in fonts:
            widths = _advances(path)[0]
            if ord(char) in widths:
                total += widths[ord(char)]
                break
        else:
            total += 0.6
    return total


# The width a model answer has on the ruled lines, per paper size, in pt: the page less the
# layout's side margins (0.75in each) and the question's gutter, with a little to spare. Only used
# to choose the key's answer size; a layout override with other margins is still laid out right.
ANSWER_WIDTH_PT = {"letter": 612 - 108 - 44, "a4": 595.3 - 108 - 44}
ANSWER_SIZES_PT = (10.5, 10.0, 9.5, 9.0, 8.5)
OPTION_INDENT_PT = 34  # tick box and letter before an option's text


def wrapped_lines(paragraphs: list[str], width_em: float, fonts: list[Path]) -> int:
    """How many lines ``paragraphs`` take when wrapped greedily at ``width_em``."""
    space = text_width_em(" ", fonts)
    count = 0
    for paragraph in paragraphs:
        used = None
        for word in paragraph.split():
            width = text_width_em(word, fonts)
            if used is None:
                used, count = width, count + 1
            elif used + space + width <= width_em:
                used += space + width
            else:
                used, count = width, count + 1
    return count


@lru_cache(maxsize=8)
def ruled_line_tile(colour: str) -> str:
    """A ``data:`` PNG tile, one writing line in ``colour`` at the bottom of a 20pt-high tile,
    for the handout's notes areas.

    Not a CSS gradient: a line this thin vanishes in some viewers at low zoom. Not SVG either:
    WeasyPrint keeps the whole style cascade alive through every SVG image until the PDF is
    written (a third of a long course pack's peak memory). 576 dpi: crisp on paper.
    """
    import base64
    import io

    from PIL import Image as PILImage
    from PIL import ImageColor

    red, green, blue = ImageColor.getrgb(colour)[:3]  # ValueError for what PIL cannot read
    tile = PILImage.new("RGBA", (4, 160), (red, green, blue, 0))
    # Rows 153-158 (0.75pt): the SVG stroke it replaces was 0.7pt at y=19.5pt.
    tile.paste((red, green, blue, 255), (0, 153, 4, 159))
    data = io.BytesIO()
    tile.save(data, "PNG")
    return "data:image/png;base64," + base64.b64encode(data.getvalue()).decode("ascii")


def _known_paper(name: str | None, where: Path, line: int = 0) -> str:
    """``name`` as a paper the reader, course.yaml and ``--paper`` accept (letter when none);
    anything else (from a caller of this writer) is an error at ``where``."""
    chosen = paper_name(name or "letter")
    if chosen is None:
        names = " or ".join(PAPER_SIZES)
        raise LessonError([error(where, line, f"unknown paper size {name!r} (use {names})")])
    return chosen


def no_case_for(node: object, macro: str) -> str:
    """Called by a layout macro that met a node kind it has no branch for: fail loudly
    (an internal error naming the kind) rather than leave the node out of the PDF."""
    kind = getattr(node, "kind", type(node).__name__)
    raise TypeError(f"the layout macro {macro!r} has no case for a {kind!r} node")


def block_paragraphs(blocks: tuple[Block, ...]) -> list[str]:
    """The text of each paragraph or list item of ``blocks`` (each starts a new line)."""
    texts: list[str] = []
    for block in blocks:
        match block:
            case Paragraph():
                texts.append(plain_text(block.inlines))
            case BulletList():
                texts += [plain_text(item.inlines) for item in block.items]
            case Quote() | Div() | Callout() | Columns():
                texts += block_paragraphs(block.blocks)
            case Table() | Image() | CodeBlock() | Question() | Match() | Order():
                pass  # a model answer is measured by its paragraphs and list items
            case _:
                assert_never(block)
    return texts


# --------------------------------------------------------------------------- the writer


def _remove_font_folder(font_config: Any) -> None:
    """Remove the temporary folder of a WeasyPrint font configuration now (see close)."""
    folder = getattr(font_config, "_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        font_config._folder = None


def _give_font_folder(font_config: Any) -> None:
    """Create the temporary folder WeasyPrint copies fonts into, with SIGTERM and SIGHUP held
    back meanwhile: created lazily by WeasyPrint, a signal between its ``mkdtemp`` and the
    assignment left an 11 MB folder that nobody knew of."""
    import signal
    import tempfile

    held = {getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)}
    block = hasattr(signal, "pthread_sigmask")
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held) if block else None
    try:
        font_config._folder = Path(tempfile.mkdtemp(prefix="weasyprint-"))
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class HandoutWriter:
    """Renders the handout and the answer key: one template, an audience switch."""

    def __init__(self, layouts: LayoutSearch | None = None) -> None:
        """Prepare a writer; nothing heavy happens until the first render."""
        self.layouts = layouts or LayoutSearch()
        self._env: jinja2.Environment | None = None
        self._font_config: Any = None  # of the fonts prepare() loads (see _font_set)
        self._stylesheets: list[Any] | None = None
        # Fonts and parsed CSS per set of font families a document needs (None: every font).
        self._font_sets: dict[frozenset[str] | None, tuple[Any, list[Any], int]] = {}
        self._css_texts: list[str] | None = None
        # The layout stylesheets with the document-wide var() values written in (css_vars),
        # the names written in, and per font set the stylesheets parsed as written instead.
        self._written_css: tuple[list[str], frozenset[str]] | None = None
        self._as_written: dict[frozenset[str] | None, list[Any]] = {}
        self._paper_css: dict[str, Any] = {}
        self._language_css: dict[str, Any] = {}
        self._extra_css: dict[str, Any] = {}
        self._fetcher: SafeURLFetcher | None = None
        self._css_places: dict[str, tuple[Path, int]] | None = None
        self._gap_fonts: list[Path] | None = None
        self._answer_fonts: list[Path] | None = None
        self._regular_fonts: list[Path] | None = None
        #: Where the course packs keep their rendered parts (a folder in the output folder,
        #: see keep_between_builds); None keeps nothing.
        self.pack_cache: Path | None = None

    # ----------------------------------------------------------------- public API

    def keep_between_builds(self, folder: Path) -> None:
        """Keep the course packs' rendered parts in ``folder`` (inside the output folder)."""
        from coursepack.writers.pack_parts import CACHE_NAME  # pikepdf is not imported here

        self.pack_cache = folder / CACHE_NAME

    def prepare(self) -> None:
        """Do the once-per-writer work now: compile the templates, load the fonts and parse
        the CSS (with each paper size). Called before worker processes fork, so they share
        the work and one temporary font folder instead of each making its own."""
        load_weasyprint()
        cffi_types.install()
        cffi_types.warm()  # inherited by the workers: each would parse the same C type names
        environment = self._environment()
        for name in (TEMPLATE, *PARTIALS):
            with contextlib.suppress(Exception):  # a broken override is reported when used
                environment.get_template(name)
        self._weasy_stylesheets()
        for paper in PAPER_SIZES:
            self._paper_stylesheet(paper)

    def prepare_lessons(self, lessons: Sequence[Lesson]) -> None:
        """Turn the lessons' formulas into painting operators now: the handout and the key
        are printed by two workers side by side, and each would read (on a first build,
        make) every formula's operators itself; forked, both inherit them."""
        from coursepack.check import formulas_of

        for lesson in lessons:
            for node in formulas_of(lesson):
                formula_paint.painting_of(node.tex.strip(), node.display)

    def close(self) -> None:
        """Let go of the fonts and CSS if this process loaded them, so WeasyPrint removes the
        font files it copied to a temporary folder. A forked worker shares its parent's and
        leaves them alone (the parent cleans up)."""
        mine = [key for key, (_, _, pid) in self._font_sets.items() if pid == os.getpid()]
        if mine:
            for key in mine:
                # Remove the folder now, as FontConfiguration.__del__ would: when a signal or
                # an error is unwinding, its traceback still holds the configuration, and an
                # object alive at exit is never collected, so waiting for the collector left
                # it in /tmp.
                _remove_font_folder(self._font_sets.pop(key)[0])
            self._font_config = None
            self._stylesheets = None
            self._as_written.clear()
            self._paper_css.clear()
            self._language_css.clear()
            self._extra_css.clear()
            # No gc.collect() here: the font folders are removed above, and what is left is
            # memory, which the collector frees in its own time (watch) or the process's end
            # does (a build: collecting first cost 0.09 s of CPU for nothing).

    def render(
        self,
        lesson: Lesson,
        audience: HandoutAudience,
        paper: str | None = None,
        *,
        version: str = "",
        versions: Mapping[str, Lesson] | None = None,
    ) -> bytes:
        """The PDF of ``lesson`` for ``audience``; ``paper`` overrides ``lesson.meta.paper``.

        ``version`` (``A``…) marks every page of a test version (``lesson`` is then the
        version's model, see :mod:`coursepack.versions`); ``versions`` gives an ordinary key
        the table of every version's answers.
        """
        return self._pdf(
            lambda splits: self.render_html(
                lesson, audience, paper, version=version, versions=versions, splits=splits
            ),
            self._paper(lesson, paper),
            [lesson],
            lesson.path,
            lesson.meta.lang,
        )

    def render_answer_sheet(self, lesson: Lesson, paper: str | None, version: str = "") -> bytes:
        """One page to answer the choice questions on: a row of lettered boxes each."""
        chosen = self._paper(lesson, paper)
        context = self._shared_context("handout", chosen, lesson.meta.lang, lesson.meta.blanks)
        context.update(lesson=lesson, meta=lesson.meta, version=version, created="")
        html = self._render_template(ANSWER_SHEET_TEMPLATE, context, lesson.path)
        return self._pdf(lambda _splits: html, chosen, [lesson], lesson.path, lesson.meta.lang)

    def render_pack(
        self,
        course: Course,
        lessons: Sequence[Lesson],
        audience: HandoutAudience,
        paper: str | None = None,
        cache_dir: Path | None = None,
    ) -> bytes:
        """A course pack: a cover, the contents, then every lesson (handouts or answer keys).

        Printed in parts (:mod:`coursepack.writers.pack_parts`): each lesson's pages, the
        front (cover and contents) and the page numbers, each kept in ``cache_dir`` (inside
        the output folder; None: nothing kept) by a digest of what it is made from, then
        joined. A build after an edit renders only the parts the edit changed, and writes the
        same bytes as a build with an empty cache."""
        from coursepack.writers import pack_parts

        chosen = self._pack_paper(course, lessons, paper)
        cache = pack_parts.PartCache(cache_dir)
        width = self._page_number_width(course.lang)
        # The page number's box keeps one width on every page (the words of the longest
        # number), so the running title beside it wraps the same whatever the number is.
        part_css = f'@page {{ @bottom-right {{ content: ""; width: {width}pt; }} }}'
        inputs = self._part_inputs(chosen, course.lang)

        def part_html(part: str, number: int = 0, toc: Mapping[str, int] | None = None):
            return lambda splits: self.render_pack_html(
                course, lessons, audience, paper, splits, part=part, only=number, toc=toc
            )

        parts = [
            self._pack_part(
                cache,
                part_html("lesson", number),
                chosen,
                [lesson],
                course,
                part_css,
                inputs,
                # A lesson's part is known by its source (its HTML is made from nothing
                # else but the inputs above): an unchanged lesson's HTML is not even made.
                known_by=[
                    "lesson",
                    audience,
                    str(number),
                    str(paper),
                    course.lang,
                    lesson.source_hash,
                    *(f"{image.name}={sha256_file(image)}" for image in sorted(lesson.images)),
                ],
            )
            for number, lesson in enumerate(lessons, 1)
        ]
        # The contents' page numbers depend on how long the contents are: lay it out with a
        # guess, then again with its own length until they agree (once, in practice).
        front_pages = 2
        for _ in range(4):
            toc = self._toc_pages(front_pages, parts)
            front = self._pack_part(
                cache, part_html("front", toc=toc), chosen, lessons, course, part_css, inputs
            )
            if front.pages == front_pages:
                break
            front_pages = front.pages
        else:  # pragma: no cover (a contents that grows with its own numbers, forever)
            raise InternalError(course.path, "the contents' length does not settle")
        numbered = pack_parts.numbered_pages(front, parts, [i > 0 for i in range(front.pages)])
        numbers = self._page_numbers(cache, numbered, chosen, course, width, inputs)
        pdf = pack_parts.join(front, parts, numbers, numbered)
        cache.prune(f"{course.slug}-{audience}")
        return pdf

    def render_pack_html(
        self,
        course: Course,
        lessons: Sequence[Lesson],
        audience: HandoutAudience,
        paper: str | None = None,
        splits: TableSplits | None = None,
        *,
        part: str = "whole",
        only: int = 0,
        toc: Mapping[str, int] | None = None,
    ) -> str:
        """The HTML of a course pack (``part``: "whole", or the "front" with the contents'
        page numbers ``toc``, or lesson number ``only`` alone; ``splits``: see
        :meth:`render_html`)."""
        chosen = self._pack_paper(course, lessons, paper)
        context = self._shared_context(audience, chosen, course.lang, splits=splits)
        context.update(course=course, lessons=tuple(lessons))
        context.update(pack_part=part, only_lesson=only, toc_pages=dict(toc or {}))
        context["formula"] = lambda node: self._formula(node, course.lang or "en")
        return self._render_template(PACK_TEMPLATE, context, course.path)

    def _pack_part(
        self,
        cache: Any,
        html_of: Callable[[TableSplits | None], str],
        paper: str,
        lessons: Sequence[Lesson],
        course: Course,
        extra_css: str,
        inputs: Sequence[str],
        *,
        tagged: bool = True,
        known_by: Sequence[str] = (),
    ) -> Any:
        """One part of a pack, from the cache when its inputs are the same: its HTML, or
        (``known_by``) the sources its HTML is made from."""
        from coursepack.writers import pack_parts

        html = None if known_by else html_of(None)
        key = pack_parts.digest(*inputs, extra_css, str(tagged), *(known_by or [html or ""]))
        part = cache.get(key)
        if part is None:
            facts: list[tuple[int, int, dict[str, int]]] = []
            pdf = self._pdf(
                html_of,
                paper,
                lessons,
                course.path,
                course.lang,
                first_html=html,
                extra_css=extra_css,
                tagged=tagged,
                on_document=lambda document: facts.append(pack_parts.page_facts(document)),
            )
            part = pack_parts.Part(pdf, *facts[-1])
            cache.put(key, part)
        return part

    @staticmethod
    def _toc_pages(front_pages: int, parts: Sequence[Any]) -> dict[str, int]:
        """The page number of every lesson anchor, with a front of ``front_pages`` pages."""
        from coursepack.writers import pack_parts

        front = pack_parts.Part(b"", front_pages, 0, {})
        pages: dict[str, int] = {}
        for start, part in zip(pack_parts.starts(front, parts), parts, strict=True):
            for name, index in part.anchors.items():
                pages.setdefault(name, start + index - part.first + 1)
        return pages

    def _page_numbers(
        self,
        cache: Any,
        numbered: Sequence[bool],
        paper: str,
        course: Course,
        width: int,
        inputs: Sequence[str],
    ) -> bytes:
        """A document of the pack's length with only the page numbers ("Page 7 of 14") where
        the pack shows them, in the box the parts leave empty (untagged: the join paints them
        as artifacts)."""
        lang = html_escape(course.lang or "en")
        direction = "rtl" if catalogue(course.lang or "en", self.layouts).rtl else "ltr"
        pages = "".join(
            '<div class="n"></div>' if shown else '<div class="n off"></div>' for shown in numbered
        )
        html = (
            f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head>'
            f'<meta charset="utf-8"></head><body>{pages}</body></html>'
        )
        none = "content: none;"
        css = (
            f"@page {{ @top-left {{ {none} }} @top-center {{ {none} }} @top-right {{ {none} }}"
            f" @bottom-left {{ {none} }} @bottom-center {{ {none} }}"
            f" @bottom-right {{ width: {width}pt; }} }}"
            f" @page off {{ @bottom-right {{ {none} }} }}"
            " html, body { background: none !important; }"
            " div.n { break-before: page; margin: 0; padding: 0; height: 1pt; }"
            " div.n:first-child { break-before: auto; } div.off { page: off; }"
        )
        return self._pack_part(
            cache, lambda _splits: html, paper, [], course, css, inputs, tagged=False
        ).pdf

    def _page_number_width(self, lang: str) -> int:
        """The width (pt) of the pack's page-number box: the words around the widest
        four-digit numbers, in the course's language, at the footer's 8pt, with room."""
        messages = catalogue(lang, self.layouts)
        before, between, after = messages.parts("page_of", "page", "pages")
        fonts = self._theme_font_files(400, "normal")
        widest = max(
            text_width_em(f"{before}{digit * 4}{between}{digit * 4}{after}", fonts)
            for digit in "0123456789"
        )
        return math.ceil(widest * 8 * 1.1) + 2

    def _part_inputs(self, paper: str, lang: str) -> list[str]:
        """What every part of a pack is made from besides its HTML: the versions, the layout
        stylesheets and generated CSS (theme, fonts), the page words, the paper, the fonts."""
        from importlib import metadata

        from coursepack import __version__

        versions = []
        for name in (*PDF_PACKAGES, *PACK_PACKAGES):
            try:
                versions.append(f"{name}={metadata.version(name)}")
            except metadata.PackageNotFoundError:
                versions.append(f"{name}=none")
        fonts = []
        for face in self._fonts().faces:
            try:
                info = face.path.stat()
                fonts.append(f"{face.path}:{info.st_size}:{info.st_mtime_ns}")
            except OSError:
                fonts.append(f"{face.path}:missing")
        # The templates, stylesheets, theme and messages by content (small files).
        faces = {face.path for face in self._fonts().faces}
        layouts = [
            f"{path}={sha256_file(path)}" for path in self.layout_files() if path not in faces
        ]
        return [
            f"coursepack={__version__}",
            *versions,
            *layouts,
            *self._layout_css_texts(),
            self.generated_css(),
            self._language_body(lang),
            paper,
            *fonts,
        ]

    def _pdf(
        self,
        html_of: Callable[[TableSplits | None], str],
        paper: str,
        lessons: Sequence[Lesson],
        where: Path,
        lang: str,
        *,
        first_html: str | None = None,
        extra_css: str = "",
        tagged: bool = True,
        on_document: Callable[[Any], None] | None = None,
    ) -> bytes:
        """Print the HTML ``html_of`` makes: shared fonts and CSS, the paper size and the page
        labels in ``lang``, only allowed files fetched. A data table wider than its page even
        at its narrowest (its longest words side by side) is split by columns, the first
        column repeated, and the document laid out again: nothing runs off the page."""
        weasyprint = load_weasyprint()
        HTML = weasyprint.HTML  # noqa: N806 (the class)
        html = html_of(None) if first_html is None else first_html
        # Formulas are painted from cached operators; without the hook they would print as
        # their alt text, silently: a WeasyPrint it does not fit is a bug to report, loudly.
        if not formula_paint.install(weasyprint) and formula_paint.names_formulas(html):
            raise InternalError(where, "this WeasyPrint cannot paint formulas (see pyproject)")
        cffi_types.install()  # the same arrays, without a C parse per array length
        extra = [self._paper_stylesheet(paper), self._language_stylesheet(lang)]
        if extra_css:
            extra.append(self._extra_stylesheet(extra_css))
        font_config, sheets = self._font_set(html, [self._language_body(lang)], extra_css)
        stylesheets = sheets + extra
        fetcher = self._require_fetcher()
        folders = sorted({lesson.folder for lesson in lessons} | {where.parent})
        with fetcher.allowing(folders) as refused, _quiet_refusals(), _fewer_collections():

            def lay_out(html: str, font_config: Any) -> Any:
                return HTML(string=html, base_url=str(where.parent), url_fetcher=fetcher).render(
                    stylesheets=stylesheets,
                    font_config=font_config,
                    pdf_tags=tagged,  # tagged PDF with /Lang
                )

            document = lay_out(html, font_config)
            # Only a document with data tables is walked for them (a course pack has 10^5 boxes).
            splits = too_wide_tables(document) if 'data-table="' in html else {}
            if splits:  # "Table continued" is new text: the fonts for it too
                html = html_of(splits)
                font_config, sheets = self._font_set(html, [self._language_body(lang)], extra_css)
                stylesheets = sheets + extra
                document = lay_out(html, font_config)
            if on_document is not None:
                on_document(document)
            # The style cascade is garbage once the pages are laid out, but in reference
            # cycles: collect it now, before writing adds its own peak on top (a 300-page
            # course pack peaks about 90 MB lower). A lesson's few pages gain nothing
            # measurable, and the collection costs 0.03-0.09 s of CPU each.
            if len(document.pages) >= COLLECT_FROM_PAGES:
                gc.collect()
            with reproducible_fonts():
                # PDF/UA-1: tagged, and its XMP metadata says so (pdfuaid:part 1; no
                # random id, no date: the same bytes every build).
                pdf = document.write_pdf(
                    pdf_tags=tagged,
                    uncompressed_pdf=False,
                    pdf_variant="pdf/ua-1" if tagged else None,
                )
            problems = list(refused)
        if problems:
            self._raise_refused(lessons, where, problems)
        return pdf

    def render_html(
        self,
        lesson: Lesson,
        audience: HandoutAudience,
        paper: str | None = None,
        *,
        version: str = "",
        versions: Mapping[str, Lesson] | None = None,
        splits: TableSplits | None = None,
    ) -> str:
        """The HTML that :meth:`render` prints (for tests and debugging); ``splits`` gives
        the columns of each part of the data tables split by columns (by their order)."""
        if audience not in ("handout", "key"):
            raise ValueError(f"audience must be 'handout' or 'key', not {audience!r}")
        context = self._shared_context(
            audience, self._paper(lesson, paper), lesson.meta.lang, lesson.meta.blanks, splits
        )
        meta = lesson.meta
        context.update(
            lesson=lesson,
            meta=meta,
            created=meta.date if iso_date(meta.date) else "",
            formula=lambda node: self._formula(node, meta.lang or "en"),
            version=version,
            version_table=(
                version_table(lesson, versions, context["t"].letters) if versions else None
            ),
        )
        return self._render_template(TEMPLATE, context, lesson.path)

    def layout_problems(self) -> list[Diagnostic]:
        """Template syntax errors and missing templates, found by compiling every template
        (cheap, and kept for the renders that follow)."""
        import jinja2

        problems: list[Diagnostic] = []
        environment = self._environment()
        for name in (TEMPLATE, *PARTIALS):
            try:
                environment.get_template(name)
            except jinja2.TemplateNotFound as exc:
                missing = LayoutNotFound(exc.name or name, self.layouts.folders)
                problems.append(error(Path(exc.name or name), 0, str(missing)))
            except jinja2.TemplateSyntaxError as exc:
                path = Path(exc.filename) if exc.filename else Path(name)
                problems.append(error(path, exc.lineno or 0, f"template error: {exc.message}"))
        return problems

    def _render_template(self, name: str, context: dict[str, Any], where: Path) -> str:
        """Render layout template ``name``; template problems become clear errors."""
        import jinja2
        import jinja2.sandbox

        try:
            return self._environment().get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise LayoutNotFound(exc.name or name, self.layouts.folders) from exc
        except jinja2.TemplateSyntaxError as exc:
            path = Path(exc.filename) if exc.filename else where
            message = f"template error: {exc.message}"
            raise LessonError([error(path, exc.lineno or 0, message)]) from exc
        except jinja2.UndefinedError as exc:
            raise LessonError(
                [error(where, 0, f"layout template {name} failed: {exc.message}")]
            ) from exc
        except jinja2.sandbox.SecurityError as exc:
            path, line = _template_place(exc, self.layouts.folders) or (where, 0)
            message = f"layout template refused: {exc} (layouts may not reach into Python)"
            raise LessonError([error(path, line, message)]) from exc

    def layout_files(self) -> list[Path]:
        """Every template, stylesheet, theme and font file a render uses (for build stamps)."""
        files = [self.layouts.find(name) for name in (TEMPLATE, *PARTIALS, *STYLESHEETS)]
        files += self.layouts.theme_files()  # every theme.yaml merged, not only the first
        files += self.layouts.message_files()
        files += [face.path for face in self._fonts().faces]
        return files

    # ----------------------------------------------------------------- template context

    def _shared_context(
        self,
        audience: HandoutAudience,
        paper: str,
        lang: str,
        blanks: str = "fixed",
        splits: TableSplits | None = None,
    ) -> dict[str, Any]:
        """What every template gets: the audience switch, the messages and the helpers."""
        if audience not in ("handout", "key"):
            raise ValueError(f"audience must be 'handout' or 'key', not {audience!r}")
        is_key = audience == "key"
        switch = LanguageSwitch(self.layouts, lang, blanks)
        return {
            "audience": audience,
            "view": audience,
            "is_key": is_key,
            "paper": paper,
            "lesson_clozes": lambda one: lesson_clozes(one, "handout") if is_key else [],
            "default_lines": DEFAULT_LINES,
            "shows": shows,
            "letter": switch.letter,
            "points_label": points_label,
            "t": switch,
            "link_allowed": link_allowed,
            "match_rows": match_rows,
            "order_rows": order_rows,
            "gap_width": lambda answer: self._gap_width(answer, switch.blanks),
            "answer_fit": lambda question: self._answer_fit(question, paper),
            "bold_fits": lambda option: self._bold_fits(option, paper),
            "image_url": self._image_url,
            "plain_text": plain_text,
            "reserved": reserved,
            "formula": lambda node: self._formula(node, "en"),
            "code_lines": code.lines,
            "no_case_for": no_case_for,
            "table_parts": table_parts_counter(splits),
            "version": "",  # a test version's letter (render_html sets it)
            "version_table": None,
        }

    def _formula(self, node: Math, lang: str) -> FormulaImage:
        return formula_image(node, lang)

    def _gap_width(self, answer: str, blanks: str = "fixed") -> str:
        """The CSS width of a cloze gap, the same in both audiences: the answer in bold plus
        room, rounded up to the next of a few set widths (``GAP_WIDTHS_EM``) so that a gap
        does not tell how long its answer is; with ``blanks: answer``, the answer's width."""
        if self._gap_fonts is None:
            self._gap_fonts = self._theme_font_files(700, "normal")
        width = max(text_width_em(answer, self._gap_fonts) + GAP_PADDING_EM, GAP_MIN_EM)
        if blanks != "answer":
            width = next((w for w in GAP_WIDTHS_EM if w >= width), width)
        return f"{width:.2f}em"

    def _answer_fit(self, question: Question, paper: str) -> dict[str, Any]:
        """Writing lines and the key's answer size: the model answer fits the ruled lines.

        The requested number of lines is kept, and the key writes a long model answer smaller
        (down to 8.5pt) so it stays on them; only an answer too long even then gets more lines,
        in both audiences, so the pages still match.
        """
        lines = question.lines or DEFAULT_LINES
        paragraphs = block_paragraphs(question.answer)
        fonts = self._italic_fonts()
        width = ANSWER_WIDTH_PT.get(paper, ANSWER_WIDTH_PT["letter"])
        for size in ANSWER_SIZES_PT:
            needed = wrapped_lines(paragraphs, width / size, fonts)
            if needed <= lines:
                return {"lines": lines, "size": f"{size}pt"}
        return {"lines": needed, "size": f"{ANSWER_SIZES_PT[-1]}pt"}

    def _bold_fits(self, option: Option, paper: str) -> bool:
        """True when a correct option set in bold takes no more lines than in regular weight.

        The key sets correct options in bold; where that would wrap onto an extra line (and
        shift the page against the handout), it underlines them instead.
        """
        text = [plain_text(option.inlines)]
        width = (ANSWER_WIDTH_PT.get(paper, ANSWER_WIDTH_PT["letter"]) - OPTION_INDENT_PT) / 10.5
        if self._gap_fonts is None:
            self._gap_fonts = self._theme_font_files(700, "normal")
        if self._regular_fonts is None:
            self._regular_fonts = self._theme_font_files(400, "normal")
        regular = wrapped_lines(text, width, self._regular_fonts)
        return wrapped_lines(text, width * 0.97, self._gap_fonts) <= regular

    def _italic_fonts(self) -> list[Path]:
        if self._answer_fonts is None:
            self._answer_fonts = self._theme_font_files(400, "italic")
        return self._answer_fonts

    def _theme_font_files(self, weight: int, style: str) -> list[Path]:
        """The files of the theme's text font and fallbacks for one weight and style."""
        stack = self._fonts()
        return stack.files(stack.text, weight, style)

    @staticmethod
    def _pack_paper(course: Course, lessons: Sequence[Lesson], paper: str | None) -> str:
        """The pack's paper: the override, else the course's, else the first lesson's."""
        chosen = paper or course.paper or (lessons[0].meta.paper if lessons else None)
        return _known_paper(chosen, course.path)

    @staticmethod
    def _paper(lesson: Lesson, paper: str | None) -> str:
        return _known_paper(paper or lesson.meta.paper, lesson.path, lesson.meta.line_of("paper"))

    # ----------------------------------------------------------------- shared resources

    def _environment(self) -> jinja2.Environment:
        """One Jinja2 environment per writer: autoescape on, strict, over the layout folders."""
        if self._env is None:
            import jinja2
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            # Sandboxed: a ./layouts/ override in a shared folder may change the look, never
            # run code (no ``__globals__``, no attribute of a Python internal, no mutation of
            # what it is given), and its loader reads nothing outside the layouts folders.
            class LayoutSandbox(ImmutableSandboxedEnvironment):
                """Jinja's sandbox, and no file or module methods: a lesson's paths are
                there to be printed, not read (``lesson.path.read_text()``) or written."""

                def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
                    if isinstance(obj, (PurePath, ModuleType)):
                        return False
                    return super().is_safe_attribute(obj, attr, value)

            self._env = LayoutSandbox(
                loader=_layout_loader(self.layouts),
                bytecode_cache=_template_cache(),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
        return self._env

    def _fonts(self) -> FontStack:
        """The theme's fonts, resolved once (see :mod:`coursepack.fonts`)."""
        return font_stack(self.layouts.theme)

    def generated_css(self, stack: FontStack | None = None) -> str:
        """Theme colours as CSS variables, the font stack, and the ``@font-face`` rules (of
        ``stack``'s faces: by default every face of the theme's fonts)."""
        theme = self.layouts.theme
        lines = ["/* generated by coursepack from theme.yaml: do not edit */"]
        lines += [face.css() for face in (stack or self._fonts()).faces]
        variables = []
        # Every colour is #rrggbb: coursepack.layouts.load_theme refused anything else.
        for name, value in (theme.get("colours") or {}).items():
            variables.append(f"  --{name.replace('_', '-')}: {value};")
        tile = ruled_line_tile(str((theme.get("colours") or {}).get("muted", "#5b6675")))
        variables.append(f'  --ruled-line: url("{tile}");')
        stack = self._fonts()
        text = ", ".join(f'"{name}"' for name in stack.text)
        code = ", ".join(f'"{name}"' for name in (*stack.code, *stack.text))
        variables.append(f"  --font-text: {text}, sans-serif;")
        variables.append(f"  --font-code: {code}, monospace;")
        body = "\n".join(variables)
        lines += self._code_css()
        # Page margin boxes do not inherit from :root, so the page context gets the same variables.
        lines.append(":root {\n" + body + "\n}")
        lines.append("@page {\n" + body + "\n}")
        lines += language_css(stack)
        # Safety, not presentation: a teacher note's space is kept in the handout, its text never
        # drawn, whatever a layout override says.
        lines.append(
            ".teacher-note.reserved .note-body, .teacher-note.reserved .note-body * "
            "{ visibility: hidden !important; }"
        )
        return "\n".join(lines) + "\n"

    def _image_url(self, image: Image) -> str:
        """A picture's address in the HTML: named by its content (the fetcher resolves it to
        the file, checks it is in the lesson's folder, and converts what WeasyPrint cannot
        print), so the PDF is the same whatever folder the lesson is in."""
        return self._require_fetcher().image(image.path)

    def _code_css(self) -> list[str]:
        """One rule per kind of code token, from theme.yaml's ``code:`` (shared with the deck)."""
        rules = []
        for kind, style in code.code_styles(self.layouts.theme).items():
            if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]+", style.colour):
                where = self.layouts.find("theme.yaml")
                raise LessonError([error(where, 0, f"bad code colour {kind}: {style.colour!r}")])
            weight = "700" if style.bold else "400"
            slant = "italic" if style.italic else "normal"
            rules.append(
                f".tok-{kind} {{ color: {style.colour}; font-weight: {weight}; "
                f"font-style: {slant}; }}"
            )
        return rules

    def _require_fetcher(self) -> SafeURLFetcher:
        if self._fetcher is None:
            from coursepack.writers.pdf_fetch import SafeURLFetcher

            roots = list(self.layouts.folders)
            roots += sorted({face.path.parent for face in self._fonts().faces})
            self._fetcher = SafeURLFetcher(roots)
        return self._fetcher

    def _weasy_stylesheets(self) -> list[Any]:
        """The font configuration and the parsed CSS of the fonts most lessons need (every
        Latin-script lesson: see :meth:`_font_set`), created once and reused."""
        if self._stylesheets is None:
            latin = "".join(chr(code) for code in (*range(0x20, 0x7F), *range(0xA0, 0x100)))
            chars = document_chars(latin, self._layout_css_texts())
            families = None if chars is None else needed_families(chars, self._fonts())
            self._font_config, self._stylesheets = self._load_font_set(families)
        return self._stylesheets

    def _layout_css_texts(self) -> list[str]:
        """The text of the layout stylesheets (read once per writer)."""
        if self._css_texts is None:
            names = STYLESHEETS
            self._css_texts = [self.layouts.find(n).read_text(encoding="utf-8") for n in names]
        return self._css_texts

    def _font_set(
        self, html: str, css_texts: list[str], extra_css: str = ""
    ) -> tuple[Any, list[Any]]:
        """The font configuration and parsed CSS for printing ``html``: fonts of only the
        families its characters need (:func:`coursepack.fonts.needed_families`; a Latin
        lesson does not load the CJK, Indic and emoji fonts, about 50 MB to copy and scan),
        the same PDF as with every font. A loaded set that holds those families is reused.
        A document whose HTML or other CSS (``css_texts``, ``extra_css``) names a custom
        property that the parsed layout CSS has written in gets the layout CSS as written."""
        self._weasy_stylesheets()
        chars = document_chars(html, [*self._layout_css_texts(), *css_texts])
        families = None if chars is None else needed_families(chars, self._fonts())
        covers = (
            k for k in self._font_sets if k is None or (families is not None and families <= k)
        )
        key = next(covers, families)
        if key in self._font_sets:
            font_config, sheets, _ = self._font_sets[key]
        else:
            font_config, sheets = self._load_font_set(families)
        names = self._written_layout_css()[1]
        if css_vars.mentions("".join((html, *css_texts, extra_css)), names):
            return font_config, self._sheets_as_written(key, font_config, sheets)
        return font_config, sheets

    def _written_layout_css(self) -> tuple[list[str], frozenset[str]]:
        """The layout stylesheets with the custom properties that only ``:root`` (and
        ``@page``) declare written in where they are used (:mod:`css_vars`; the same
        computed values, parsed once instead of solved per element), and those names."""
        if self._written_css is None:
            import tinycss2.bytes

            # Decoded as WeasyPrint decodes a stylesheet file (BOM, @charset, else UTF-8).
            paths = [self.layouts.find(name) for name in STYLESHEETS]
            texts = [tinycss2.bytes.decode_stylesheet_bytes(p.read_bytes())[0] for p in paths]
            self._written_css = css_vars.write_in(self.generated_css(), texts)
        return self._written_css

    def _sheets_as_written(
        self, key: frozenset[str] | None, font_config: Any, sheets: list[Any]
    ) -> list[Any]:
        """The font set ``key``'s stylesheets with the layout CSS parsed as written (its
        ``var()`` solved per element), for the rare document that sets a custom property
        the written-in CSS assumes document-wide; parsed once per font set."""
        if key not in self._as_written:
            CSS = load_weasyprint().CSS  # noqa: N806 (the class)
            fetcher = self._require_fetcher()
            with fetcher.allowing([]), _quiet_refusals():
                layout = [
                    CSS(
                        filename=str(self.layouts.find(name)),
                        font_config=font_config,
                        url_fetcher=fetcher,
                    )
                    for name in STYLESHEETS
                ]
            self._as_written[key] = [sheets[0], *layout]  # the generated CSS, then the layout's
        return self._as_written[key]

    def _load_font_set(self, families: frozenset[str] | None) -> tuple[Any, list[Any]]:
        """A font configuration with the faces of ``families`` (None: all) and the CSS
        parsed with it (the ``@font-face`` rules register fonts as they are parsed)."""
        CSS = load_weasyprint().CSS  # noqa: N806 (the class)
        from weasyprint.text.fonts import FontConfiguration

        stack = self._fonts() if families is None else self._fonts().only(families)
        # Fontconfig still scans the folders of every font of the theme (cheap): a family
        # some package ships twice (manimgx-fonts has its own Noto Sans Arabic) resolves as
        # it always did, whichever families a document needs.
        with private_fontconfig(self._fonts()):
            font_config = FontConfiguration()
        # Owned from here on: the CSS below copies fonts into its temporary folder, and a
        # SIGTERM during that must find it in close().
        _give_font_folder(font_config)
        sheets: list[Any] = []
        self._font_sets[families] = (font_config, sheets, os.getpid())
        try:
            fetcher = self._require_fetcher()
            with fetcher.allowing([]) as refused, _quiet_refusals():
                sheets.append(
                    CSS(
                        string=self.generated_css(stack),
                        font_config=font_config,
                        url_fetcher=fetcher,
                    )
                )
                written = self._written_layout_css()[0]
                for name, text in zip(STYLESHEETS, written, strict=True):
                    # Parsed from the text with the document-wide var() values written in,
                    # at the file's address (the same base URL as parsing the file).
                    path = self.layouts.find(name)
                    sheets.append(
                        CSS(
                            string=text,
                            base_url=str(path),
                            font_config=font_config,
                            url_fetcher=fetcher,
                        )
                    )
                problems = list(refused)
            if problems:
                from coursepack.writers.pdf_fetch import describe

                places = self._layout_places()
                where = (self.layouts.find(STYLESHEETS[0]), 0)
                raise LessonError([error(*places.get(p.url, where), describe(p)) for p in problems])
        except BaseException:
            # Half parsed: not a set to print with (a later render loads it again).
            del self._font_sets[families]
            _remove_font_folder(font_config)
            raise
        return font_config, sheets

    def _paper_stylesheet(self, paper: str) -> Any:
        """A tiny parsed ``@page { size }`` per paper size, after the layout CSS so it wins."""
        if paper not in self._paper_css:
            self._paper_css[paper] = load_weasyprint().CSS(
                string=f"@page {{ size: {PAPER_SIZES[paper]}; }}",
                font_config=self._font_config,
                url_fetcher=self._require_fetcher(),
            )
        return self._paper_css[paper]

    def _extra_stylesheet(self, css: str) -> Any:
        """A stylesheet of ours after the others (a course pack's parts), parsed once."""
        if css not in self._extra_css:
            self._extra_css[css] = load_weasyprint().CSS(
                string=css, font_config=self._font_config, url_fetcher=self._require_fetcher()
            )
        return self._extra_css[css]

    def _language_stylesheet(self, lang: str) -> Any:
        """The words of the page margins in ``lang`` (CSS variables of the page context:
        ``--t-page-before`` "Page ", ``--t-page-between`` " of ", ``--t-page-after``,
        ``--t-answer-key``, ``--t-answer-key-banner``), parsed once per catalogue."""
        body = self._language_body(lang)
        key = body  # by content: an edited catalogue (coursepack watch) gets its own
        if key not in self._language_css:
            self._language_css[key] = load_weasyprint().CSS(
                string=f"@page {{ {body} }}",
                font_config=self._font_config,
                url_fetcher=self._require_fetcher(),
            )
        return self._language_css[key]

    def _language_body(self, lang: str) -> str:
        """The declarations of :meth:`_language_stylesheet`."""
        messages = catalogue(lang, self.layouts)
        before, between, after = messages.parts("page_of", "page", "pages")
        values = {
            "page-before": before,
            "page-between": between,
            "page-after": after,
            "answer-key": messages("answer_key"),
            "answer-key-banner": messages("answer_key_banner"),
        }
        return " ".join(f"--t-{name}: {css_string(text)};" for name, text in values.items())

    def _layout_places(self) -> dict[str, tuple[Path, int]]:
        """Where the layout stylesheets ask for each URL they load: url → (file, line)."""
        if self._css_places is None:
            from coursepack.writers.pdf_fetch import css_url_lines

            places: dict[str, tuple[Path, int]] = {}
            for name in STYLESHEETS:
                path = self.layouts.find(name)
                for url, line in css_url_lines(path).items():
                    places.setdefault(url, (path, line))
            self._css_places = places
        return self._css_places

    def _raise_refused(self, lessons: Sequence[Lesson], where: Path, problems: list) -> None:
        """One LessonError for every refused URL, blamed on whoever asked for it: the image's
        line in its lesson, the line of a layout stylesheet, else ``where`` (line 0)."""
        from coursepack.writers.pdf_fetch import describe

        places = dict(self._layout_places())
        places.update(
            (self._image_url(image), (lesson.path, image.line))
            for lesson in lessons
            for image in _images(lesson)
        )
        diagnostics = []
        seen: set[str] = set()
        for problem in problems:
            if problem.url in seen:
                continue
            seen.add(problem.url)
            path, line = places.get(problem.url, (where, 0))
            diagnostics.append(error(path, line, describe(problem)))
        raise LessonError(diagnostics)


# Per data table of a document (numbered in document order): the columns of each of its parts.
TableSplits = Mapping[int, list[list[int]]]


def table_parts_counter(splits: TableSplits | None) -> Callable[[Table], list[Any]]:
    """The template's ``table_parts(table)``: the parts of the next data table, each
    ``(number, columns, first)``: its number in the document (``data-table``), the indices of
    its columns, and whether it is the first part. One part of every column unless ``splits``
    names the table."""
    count = itertools.count()

    def parts(table: Table) -> list[Any]:
        number = next(count)
        groups = (splits or {}).get(number) or [list(range(len(table.header)))]
        return [(number, columns, i == 0) for i, columns in enumerate(groups)]

    return parts


def too_wide_tables(document: Any) -> dict[int, list[list[int]]]:
    """The data tables of a laid-out WeasyPrint ``document`` that reach past their container
    (a table is as narrow as its longest words, then overflows): their column splits, from
    the widths WeasyPrint gave their columns."""
    found: dict[int, list[list[int]]] = {}
    for page in document.pages:
        stack = [(page._page_box, page._page_box)]
        while stack:
            box, parent = stack.pop()
            element = getattr(box, "element", None)
            number = element.get("data-table") if element is not None else None
            if type(box).__name__ == "TableBox" and number is not None:
                room = parent.width
                widths = list(getattr(box, "column_widths", []) or [])
                if widths and box.margin_width() > room + 0.5 and int(number) not in found:
                    found[int(number)] = column_groups(widths, room)
                continue
            # A table's wrapper is as wide as the table: the room is its container's.
            inner = parent if getattr(box, "is_table_wrapper", False) else box
            stack.extend((child, inner) for child in getattr(box, "children", ()))
    return found


def _layout_loader(layouts: LayoutSearch) -> jinja2.BaseLoader:
    """A Jinja loader over :meth:`LayoutSearch.find`: the first layouts folder that has the
    file wins, and a file that resolves outside its folder (a symlink, ``..``, an absolute
    name in ``{% include %}``) is refused (:class:`~coursepack.layouts.LayoutRefused`)."""
    import jinja2
    from jinja2.loaders import split_template_path

    class LayoutLoader(jinja2.BaseLoader):
        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            pieces = split_template_path(template)  # TemplateNotFound for ".." parts
            try:
                path = layouts.find("/".join(pieces))  # LayoutRefused passes through
            except LayoutNotFound as exc:
                raise jinja2.TemplateNotFound(template) from exc
            source = path.read_text(encoding="utf-8")
            mtime = path.stat().st_mtime
            return source, str(path), lambda: _mtime(path) == mtime

    return LayoutLoader()


def _template_cache() -> jinja2.BytecodeCache | None:
    """Where the compiled templates are kept between processes, or None.

    Compiling the layout templates cost about 0.2 s of CPU on every build (a tenth of the
    answer key's own layout). Jinja keeps each template's compiled code under the digest of
    its name and checks the source's checksum before using it, so an edited or overriding
    template is compiled again. In the user's cache folder beside the drawn formulas
    (``COURSEPACK_CACHE``: another folder, "" none), one folder per version; the code
    is run, so only a folder that this user owns and nobody else may write to is used.
    """
    import jinja2

    from coursepack import __version__
    from coursepack.cache import private_folder

    # The compiled code also depends on the environment's options (ours, in this version).
    folder = private_folder(f"templates-{__version__}-jinja{jinja2.__version__}")
    if folder is None:
        return None

    class TemplateCache(jinja2.FileSystemBytecodeCache):
        """Jinja's file cache that never fails a build: a file it cannot write is skipped."""

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged file (pickle and marshal say so in many ways)
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    return TemplateCache(str(folder))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _template_place(exc: BaseException, folders: Sequence[Path]) -> tuple[Path, int] | None:
    """The layout file and line where a template error happened, from Jinja's rewritten
    traceback (its frames carry the template's file name and line)."""
    place = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if any(filename.startswith(str(folder)) for folder in folders):
            place = (Path(filename), tb.tb_lineno)
        tb = tb.tb_next
    return place


# WeasyPrint allocates millions of small objects while it lays out and writes: at Python's
# default threshold (a young-generation collection every 700 allocations, and the older
# generations scanned every 10 of those) the collector costs 12-15% of the CPU of a render.
# Collected less often the same garbage goes, with the same peak (the cascade is collected
# explicitly in _pdf): measured on a 30-lesson answer-key pack, 25.8 -> 22.0 s CPU, peak RSS
# 502 MB either way, the same bytes.
_RENDER_GC_THRESHOLD = (20_000, 20, 20)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the block with the garbage collector's thresholds raised, then restore them."""
    before = gc.get_threshold()
    gc.set_threshold(*_RENDER_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _DropRefusals(logging.Filter):
    """Drops WeasyPrint's log lines about URLs we refused: they become one LessonError."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "refused to load" not in message and "cannot read" not in message


@contextlib.contextmanager
def _quiet_refusals() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    dropper = _DropRefusals()
    logger.addFilter(dropper)
    try:
        yield
    finally:
        logger.removeFilter(dropper)


def _images(lesson: Lesson) -> Iterator[Image]:
    return (block for block in iter_all_blocks(lesson) if isinstance(block, Image))


__all__ = [
    "HandoutWriter",
    "match_rows",
    "order_rows",
    "points_label",
]


# --------------------------------------------------------------------------- registered outputs

#: Libraries whose upgrade can change a handout's or key's bytes (stamped with the output).
#: What else a course pack's parts are made with (read, formulas, code, the join).
PACK_PACKAGES = (
    "markdown-it-py",
    "mdit-py-plugins",
    "PyYAML",
    "ziamath",
    "latex2mathml",
    "Pygments",
    "fonttools",
    "pikepdf",
)
PDF_PACKAGES = (
    "weasyprint",
    "pydyf",
    "jinja2",
    "fontpkg-atkinson-hyperlegible",
    "fontpkg-noto-sans",
    "fontpkg-noto-sans-arabic",
    "fontpkg-jetbrains-mono",
    "manimgx-fonts",
    "justmytype-intl-cjk",  # the cjk extra ("none" when it is not installed)
    "fonttools",  # instances the variable fonts
)


class LessonPdf(Output):
    """A lesson's handout or answer key: one writer, the audience is the output's name."""

    packages = PDF_PACKAGES
    writer = HandoutWriter

    def __init__(self, name: HandoutAudience, suffix: str, *, lists_versions: bool = False):
        self.name = name
        self.suffix = suffix
        self.audience: HandoutAudience = name
        #: The ordinary key of a lesson with test versions lists every version's answers.
        self.lists_versions = lists_versions

    def _paper(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The paper: ``--paper``, else the lesson's own ``paper:``, else its course's."""
        lesson = target.lesson
        if context.paper:
            return {"paper": context.paper}
        if "paper" in dict(lesson.meta.key_lines):
            return {"paper": lesson.meta.paper}
        course = context.course_of(lesson)
        return {"paper": course.paper if course and course.paper else lesson.meta.paper}

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The paper; for the key of a lesson with test versions, their count and seed (its
        answer table gives every version's letters)."""
        chosen = self._paper(context, target)
        count = context.versions_for(target.lesson) if self.lists_versions else 0
        return {**chosen, "versions": count, "seed": context.seed} if count else chosen

    def render(self, writer: HandoutWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The PDF."""
        versions = None
        if settings.get("versions"):
            from coursepack.versions import versions_of

            versions = versions_of(target.lesson, settings["versions"], settings["seed"])
        return writer.render(
            target.lesson, self.audience, paper=settings["paper"], versions=versions
        )


class VersionPdf(LessonPdf):
    """A test version's handout or key (``x-handout-A.pdf``), one file per version letter,
    written when ``--versions``, the lesson's ``versions:`` or its course's asks for them."""

    def __init__(self, name: str, stem: str, audience: HandoutAudience) -> None:
        super().__init__(audience, f"{stem}-V.pdf")
        self.name = name
        self.selected_by = audience  # --only key writes the keys of the versions too
        self.stem = stem

    def variants(self, context: PlanContext, target: Target) -> tuple[str, ...]:
        """One version letter per version asked for."""
        from coursepack.versions import version_letters

        return version_letters(context.versions_for(target.lesson))

    def problems(self, context: PlanContext, target: Target) -> list[Diagnostic]:
        """A warning for each version whose right answers favour one letter too much (the
        handout's versions only, so it is said once)."""
        from coursepack.versions import unbalanced, versions_of

        count = context.versions_for(target.lesson)
        if self.audience != "handout" or not count:
            return []
        lesson = target.lesson
        found = []
        for letter, version in versions_of(lesson, count, context.seed).items():
            favoured = unbalanced(version)
            if favoured:
                message = (
                    f"in test version {letter}, {favoured} is the right answer unusually often; "
                    f"try another order with --seed {context.seed + 1}"
                )
                found.append(warning(lesson.path, lesson.meta.line_of("versions"), message))
        return found

    def file_suffix(self, variant: str) -> str:
        """``-handout-A.pdf``."""
        return f"{self.stem}-{variant}.pdf"

    @property
    def suffix_pattern(self) -> str:
        """``-handout-`` and one to three capital letters, then ``.pdf``."""
        return re.escape(f"{self.stem}-") + "[A-Z]{1,3}" + re.escape(".pdf")

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The paper, and the seed every version's order derives from."""
        return {**self._paper(context, target), "seed": context.seed}

    def render(self, writer: HandoutWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The version's PDF: the lesson shuffled as this version, marked on every page."""
        from coursepack.versions import version_of

        version = settings["variant"]
        shuffled = version_of(target.lesson, version, settings["seed"])
        return writer.render(shuffled, self.audience, paper=settings["paper"], version=version)


class AnswerSheet(LessonPdf):
    """``--answer-sheet``: one page of answer boxes, one per version (or one plain sheet)."""

    default = False  # written for --answer-sheet, --only answer-sheet, exports: [answer-sheet]

    def __init__(self) -> None:
        super().__init__("handout", "-answer-sheet.pdf")
        self.name = "answer-sheet"

    def variants(self, context: PlanContext, target: Target) -> tuple[str, ...]:
        """A sheet per version, else one plain sheet; none for a lesson without choices."""
        from coursepack.versions import version_letters

        if not any(isinstance(b, Question) and b.options for b in target.lesson.graded()):
            return ()
        return version_letters(context.versions_for(target.lesson)) or ("",)

    def file_suffix(self, variant: str) -> str:
        """``-answer-sheet-A.pdf`` (or ``-answer-sheet.pdf``)."""
        return f"-answer-sheet-{variant}.pdf" if variant else self.suffix

    @property
    def suffix_pattern(self) -> str:
        """With or without a version letter."""
        return re.escape("-answer-sheet") + "(?:-[A-Z]{1,3})?" + re.escape(".pdf")

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The paper and the seed."""
        return {**self._paper(context, target), "seed": context.seed}

    def render(self, writer: HandoutWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The sheet."""
        from coursepack.versions import version_of

        version = settings.get("variant", "")
        lesson = version_of(target.lesson, version, settings["seed"]) if version else target.lesson
        return writer.render_answer_sheet(lesson, settings["paper"], version)


class PackPdf(Output):
    """A course pack of handouts or of answer keys (``course.yaml``)."""

    scope = "course"
    packages = (*PDF_PACKAGES, "pikepdf")
    writer = HandoutWriter

    def __init__(self, name: str, suffix: str, audience: HandoutAudience) -> None:
        self.name = name
        self.suffix = suffix
        self.selected_by = audience
        self.audience: HandoutAudience = audience

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The paper: ``--paper``, else the course's (the writer falls back to the lesson's)."""
        assert target.course is not None
        return {"paper": context.paper or target.course.paper}

    def digest_parts(self, target: Target) -> list[str]:
        """Each lesson's paper (the pack falls back to the first lesson's)."""
        return [lesson.meta.paper for lesson in target.lessons]

    def render(self, writer: HandoutWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The pack's PDF."""
        assert target.course is not None
        return writer.render_pack(
            target.course,
            target.lessons,
            self.audience,
            paper=settings["paper"],
            cache_dir=writer.pack_cache,
        )


HANDOUT = LessonPdf("handout", "-handout.pdf")
KEY = LessonPdf("key", "-answer-key.pdf", lists_versions=True)
HANDOUT_VERSIONS = VersionPdf("handout-versions", "-handout", "handout")
KEY_VERSIONS = VersionPdf("key-versions", "-answer-key", "key")
ANSWER_SHEET = AnswerSheet()
PACK = PackPdf("pack", "-coursepack.pdf", "handout")
PACK_KEY = PackPdf("pack-key", "-coursepack-answer-key.pdf", "key")
