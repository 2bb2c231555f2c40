"""The deck as plain data: which slides, their titles, paragraphs, sizes and splits.

Like Pandoc's ``Presentation.hs``, this is the first of two stages: :func:`plan_deck` turns a
:class:`~coursepack.model.Lesson` into a :class:`DeckPlan` of frozen dataclasses, testable without
python-pptx; :mod:`coursepack.writers.deck` writes it. Every fitting decision is made here, with
real font metrics (:mod:`coursepack.writers.text_metrics`): text is sized between a maximum and a
floor, and beyond the floor a slide is split into continuation slides titled "… (2/3)" (tables by
rows with the header repeated, an over-long bullet at sentence boundaries, then at words). A
title too long for its box even at the floor (a paragraph pasted as a heading) is cut at a word
with "…", and the whole title goes to the speaker notes.

Text contract: every string in a plan is XML-safe. Control characters (other than tab and line
feed), surrogates and U+FFFE/U+FFFF are removed by :func:`clean`; nothing else is changed.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from coursepack.model import (
    Block,
    BulletList,
    Cloze,
    Code,
    CodeBlock,
    Div,
    Emph,
    Image,
    Inlines,
    Lesson,
    LineBreak,
    Link,
    ListItem,
    Match,
    Order,
    Paragraph,
    Question,
    Quote,
    Strong,
    Table,
    Text,
    plain_text,
    shows,
)
from coursepack.writers.text_metrics import Piece, TextMetrics

EMU_PER_INCH = 914400
EMU_PER_PT = 12700

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` without characters XML 1.0 cannot hold (and DEL); CR becomes a space."""
    return _INVALID.sub("", text.replace("\r\n", "\n").replace("\r", " "))


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide, in EMU."""

    left: int
    top: int
    width: int
    height: int

    @property
    def bottom(self) -> int:
        """The bottom edge, in EMU."""
        return self.top + self.height


@dataclass(frozen=True)
class Insets:
    """A text frame's inner margins, in EMU (OOXML defaults: 0.1 in sides, 0.05 in top/bottom)."""

    left: int = 91440
    top: int = 45720
    right: int = 91440
    bottom: int = 45720


@dataclass(frozen=True)
class SlideGeometry:
    """Where text goes on each kind of slide, read from the template's placeholders.

    ``title``/``body`` come from the content layout (title and body placeholders); the cover
    and section boxes from their layouts. ``area`` is where tables and pictures go.
    """

    width: int
    height: int
    title: Box
    body: Box
    cover_title: Box
    cover_subtitle: Box | None
    section_title: Box
    section_body: Box | None = None
    insets: Insets = field(default_factory=Insets)

    @property
    def area(self) -> Box:
        """The content area for tables and pictures (the body placeholder's box)."""
        return self.body

    @classmethod
    def default(cls) -> SlideGeometry:
        """The geometry of ``layouts/deck.pptx`` (16:9), for tests and as documentation."""
        inch = EMU_PER_INCH
        return cls(
            width=12192000,
            height=6858000,
            title=Box(int(0.6 * inch), int(0.3 * inch), int(12.133 * inch), int(1.25 * inch)),
            body=Box(int(0.6 * inch), int(1.8 * inch), int(12.133 * inch), int(4.95 * inch)),
            cover_title=Box(int(0.8 * inch), int(1.2 * inch), int(11.733 * inch), int(2.9 * inch)),
            cover_subtitle=Box(
                int(0.8 * inch), int(4.4 * inch), int(11.733 * inch), int(1.9 * inch)
            ),
            section_title=Box(
                int(0.8 * inch), int(2.2 * inch), int(11.733 * inch), int(2.3 * inch)
            ),
        )


@dataclass(frozen=True)
class FitRules:
    """Sizes in points: the largest text we write and the floor we never go under."""

    body_max: float = 28
    body_floor: float = 18
    title_max: float = 40
    title_floor: float = 24
    cover_max: float = 44
    table_max: float = 24
    step: float = 1  # sizes tried, largest first
    level_step: float = 2  # each outline level is this much smaller
    caption: float = 18


# --------------------------------------------------------------------------- plan data

ParaStyle = Literal["bullet", "plain", "quote", "code", "label", "option"]


@dataclass(frozen=True)
class Run:
    """Text in one style. ``href`` is a link target (http/https/mailto only)."""

    text: str
    bold: bool = False
    italic: bool = False
    mono: bool = False
    href: str = ""


@dataclass(frozen=True)
class Para:
    """One paragraph of a text frame.

    ``level`` is the outline level (0-2, python-pptx ``paragraph.level``); ``prefix`` is a
    number or letter ("1.", "A.") set in the hanging indent; ``continued`` marks the second and
    later pieces of a split bullet (no bullet character).
    """

    runs: tuple[Run, ...]
    level: int = 0
    style: ParaStyle = "bullet"
    prefix: str = ""
    continued: bool = False

    @property
    def text(self) -> str:
        """The paragraph as plain text (prefix included)."""
        body = "".join(r.text for r in self.runs)
        return f"{self.prefix} {body}" if self.prefix else body


@dataclass(frozen=True)
class TextBlock:
    """Paragraphs and the one body size (points) they are written at."""

    paras: tuple[Para, ...]
    size: float


Cell = tuple[Run, ...]


@dataclass(frozen=True)
class TablePlan:
    """A native table: header row first, column widths and row heights in EMU."""

    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    aligns: tuple[str, ...]
    col_widths: tuple[int, ...]
    row_heights: tuple[int, ...]
    size: float
    box: Box


@dataclass(frozen=True)
class PicturePlan:
    """A picture scaled into ``box`` (aspect kept), its alt text and caption."""

    path: Path
    alt: str
    box: Box
    caption: str = ""
    caption_box: Box | None = None
    caption_size: float = 18


SlideKind = Literal["title", "overview", "section", "content", "question", "table", "image"]
LayoutRole = Literal["title", "section", "content", "title_only"]


@dataclass(frozen=True)
class SlidePlan:
    """One slide. ``title_box``/``body_box`` are set only when they differ from the layout's.

    On the title slide, ``body_box`` is the subtitle's box; ``columns`` are extra text boxes.
    """

    kind: SlideKind
    layout: LayoutRole
    title: str
    title_size: float
    body: TextBlock | None = None
    subtitle: TextBlock | None = None
    table: TablePlan | None = None
    picture: PicturePlan | None = None
    notes: tuple[str, ...] = ()
    footer: bool = True
    title_box: Box | None = None
    body_box: Box | None = None
    columns: tuple[tuple[Box, TextBlock], ...] = ()
    line: int = 0


@dataclass(frozen=True)
class DeckPlan:
    """The whole deck and the document properties."""

    slides: tuple[SlidePlan, ...]
    title: str
    author: str
    course: str
    date: str
    footer: str
    lang: str


# --------------------------------------------------------------------------- inlines → runs


def runs_of(inlines: Inlines, bold: bool = False, italic: bool = False) -> tuple[Run, ...]:
    """Slide runs for inlines: cloze answers bold, code monospace, line breaks ``\\n``."""
    out: list[Run] = []
    for node in inlines:
        if isinstance(node, Text):
            out.append(Run(clean(node.text), bold, italic))
        elif isinstance(node, Code):
            out.append(Run(clean(node.text), bold, italic, mono=True))
        elif isinstance(node, Cloze):
            out.append(Run(clean(node.answer), True, italic))
        elif isinstance(node, LineBreak):
            out.append(Run("\n", bold, italic))
        elif isinstance(node, Strong):
            out.extend(runs_of(node.children, True, italic))
        elif isinstance(node, Emph):
            out.extend(runs_of(node.children, bold, True))
        elif isinstance(node, Link):
            href = clean(node.href) if re.match(r"(?i)(https?:|mailto:)", node.href) else ""
            out.extend(replace(r, href=href) for r in runs_of(node.children, bold, italic))
    return _merge(out)


def _merge(runs: Iterable[Run]) -> tuple[Run, ...]:
    merged: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        if merged and replace(merged[-1], text="") == replace(run, text=""):
            merged[-1] = replace(merged[-1], text=merged[-1].text + run.text)
        else:
            merged.append(run)
    return tuple(merged)


def _pieces(runs: Sequence[Run]) -> list[Piece]:
    return [Piece(r.text, r.bold, r.italic, r.mono) for r in runs]


# --------------------------------------------------------------------------- measuring

_LEVEL_INDENT = 0.45  # inches per outline level
_HANG = 0.4  # inches of hanging indent for bullets and prefixes


def indent_of(para: Para) -> tuple[int, int]:
    """(marL, indent) in EMU: text starts at marL; a bullet or prefix hangs at marL+indent."""
    inch = EMU_PER_INCH
    if para.style in ("bullet", "option"):
        hang = 0.55 if para.style == "option" else _HANG
        return int((hang + para.level * _LEVEL_INDENT) * inch), int(-hang * inch)
    if para.style == "quote":
        return int((0.5 + para.level * _LEVEL_INDENT) * inch), 0
    if para.style == "code":
        return int((0.25 + para.level * _LEVEL_INDENT) * inch), 0
    return int(para.level * _LEVEL_INDENT * inch), 0


def para_size(para: Para, size: float, rules: FitRules) -> float:
    """The size of a paragraph in a frame written at ``size``: sub-levels a step smaller."""
    if para.style in ("bullet", "quote", "code") and para.level:
        return max(rules.body_floor, size - rules.level_step * para.level)
    return size


def space_before(para: Para, size: float) -> float:
    """Space before a paragraph, in points (code lines after the first stay together)."""
    if para.style == "code" and para.continued:
        return 0.0
    if para.level:
        return round(size * 0.2, 1)
    return round(size * 0.45, 1)


def para_height(
    para: Para, size: float, width_pt: float, metrics: TextMetrics, rules: FitRules
) -> float:
    """The height a paragraph takes (space before included), in points."""
    s = para_size(para, size, rules)
    mar_l, _ = indent_of(para)
    avail = width_pt - mar_l / EMU_PER_PT
    lines = metrics.count_lines(_pieces(para.runs), avail, s)
    return space_before(para, s) + lines * metrics.line_height(s)


def text_width_pt(box: Box, insets: Insets) -> float:
    """The width text wraps in, in points."""
    return (box.width - insets.left - insets.right) / EMU_PER_PT


def text_height_pt(box: Box, insets: Insets) -> float:
    """The height text may fill, in points."""
    return (box.height - insets.top - insets.bottom) / EMU_PER_PT


def frame_height(
    paras: Sequence[Para], size: float, width_pt: float, metrics: TextMetrics, rules: FitRules
) -> float:
    """The height of a text frame's paragraphs, in points."""
    return sum(para_height(p, size, width_pt, metrics, rules) for p in paras)


def _sizes(high: float, low: float, step: float) -> list[float]:
    sizes, s = [], high
    while s > low:
        sizes.append(s)
        s -= step
    return [*sizes, low]


# --------------------------------------------------------------------------- splitting text

_SENTENCE_END = re.compile(r"(?<=[.!?…:;])[\"”’)\]]*\s+")


def _run_starts(runs: Sequence[Run]) -> list[int]:
    """Where each run starts in the runs' joined text."""
    starts, pos = [], 0
    for run in runs:
        starts.append(pos)
        pos += len(run.text)
    return starts


def _slice_runs(
    runs: Sequence[Run], start: int, end: int, starts: Sequence[int] | None = None
) -> tuple[Run, ...]:
    """The runs covering characters ``start:end`` of their joined text, trimmed of spaces.

    ``starts`` (from :func:`_run_starts`) lets repeated slicing of one paragraph skip straight
    to the first run it needs instead of walking every run each time.
    """
    if starts is None:
        starts = _run_starts(runs)
    out: list[Run] = []
    for i in range(max(0, bisect_right(starts, start) - 1), len(runs)):
        pos, run = starts[i], runs[i]
        if pos >= end:
            break
        lo, hi = max(start - pos, 0), min(end - pos, len(run.text))
        if lo == 0 and hi == len(run.text):
            out.append(run)  # whole: runs are frozen, so share it rather than copy it
        elif lo < hi:
            out.append(replace(run, text=run.text[lo:hi]))
    return _strip_runs(out)


def _strip_runs(runs: list[Run]) -> tuple[Run, ...]:
    runs = [r for r in runs if r.text]
    if runs:
        runs[0] = replace(runs[0], text=runs[0].text.lstrip())
        runs[-1] = replace(runs[-1], text=runs[-1].text.rstrip())
    return tuple(r for r in runs if r.text)


def _boundaries(text: str, sentences: bool) -> list[int]:
    if sentences:
        return [m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text)]
    return [m.end() for m in re.finditer(r"\s+", text) if m.end() < len(text)]


def _last_fitting(count: int, first: int, ok: Callable[[int], bool]) -> int | None:
    """The last index ``i >= first`` (below ``count``) with ``ok(i)``, or None if ``ok(first)``
    is false; ``ok`` must be monotone (true, then false).

    Gallops forward (1, 2, 4… steps) and then bisects, so a piece of k boundaries costs about
    2·log2(k) measurements instead of k: splitting a paragraph stays near-linear in its length.
    """
    if first >= count or not ok(first):
        return None
    good, step = first, 1
    bad = count  # the first index known not to fit (or the end)
    while good + step < count:
        if ok(good + step):
            good, step = good + step, step * 2
        else:
            bad = good + step
            break
    while bad - good > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


def split_para(
    para: Para, size: float, width_pt: float, height_pt: float, metrics: TextMetrics, r: FitRules
) -> list[Para]:
    """Split a paragraph too tall for a page: at sentence ends, then words, then characters.

    Each piece is as long as a page allows; the second and later pieces are ``continued``.
    A piece's height only grows as it takes in more text (greedy wrapping), so the longest
    piece that fits is found by a galloping search over the boundaries, not one by one.
    """

    def fits(p: Para) -> bool:
        return para_height(p, size, width_pt, metrics, r) <= height_pt

    if fits(para):
        return [para]
    text = "".join(run.text for run in para.runs)
    starts = _run_starts(para.runs)

    def piece(start: int, end: int) -> Para:
        return replace(
            para,
            runs=_slice_runs(para.runs, start, end, starts),
            continued=para.continued or start > 0,
        )

    for bounds in (_boundaries(text, True), _boundaries(text, False), list(range(1, len(text)))):
        bounds = [*bounds, len(text)]
        pieces: list[Para] = []
        start, first = 0, 0  # bounds[first] is the first boundary after start
        while start < len(text):
            best = _last_fitting(
                len(bounds),
                first,
                lambda i, start=start, bounds=bounds: fits(piece(start, bounds[i])),
            )
            if best is None:
                break
            pieces.append(piece(start, bounds[best]))
            start, first = bounds[best], best + 1
        else:
            return [p for p in pieces if p.runs]
    return [para]  # a single character taller than a page: nothing more to do


def paginate(
    paras: Sequence[Para],
    size: float,
    width_pt: float,
    height_pt: float,
    metrics: TextMetrics,
    rules: FitRules,
    capacity: float | None = None,
) -> list[list[Para]]:
    """Pack paragraphs into pages of ``capacity`` (≤ ``height_pt``) points, in order."""
    cap = min(height_pt, capacity or height_pt)
    pieces: list[Para] = []
    for para in paras:
        pieces.extend(split_para(para, size, width_pt, height_pt, metrics, rules))
    pages: list[list[Para]] = [[]]
    used = 0.0
    for para in pieces:
        h = para_height(para, size, width_pt, metrics, rules)
        limit = cap if pages[-1] else height_pt
        if pages[-1] and used + h > limit:
            pages.append([])
            used = 0.0
        pages[-1].append(para)
        used += h
    # a label ("Terms", a lead-in ending with ':') never ends a page when it can move on
    for i in range(len(pages) - 1):
        last = pages[i][-1]
        if len(pages[i]) > 1 and (last.style == "label" or last.text.rstrip().endswith(":")):
            moved = [pages[i].pop(), *pages[i + 1]]
            if frame_height(moved, size, width_pt, metrics, rules) <= height_pt:
                pages[i + 1] = moved
            else:
                pages[i].append(moved.pop(0))
    return [p for p in pages if p]


def fit_text(
    paras: Sequence[Para],
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    rules: FitRules,
    high: float | None = None,
) -> list[TextBlock]:
    """One text block at the largest size that fits, or the fewest pages, evenly filled."""
    width, height = text_width_pt(box, insets), text_height_pt(box, insets)
    sizes = _sizes(high or rules.body_max, rules.body_floor, rules.step)
    for size in sizes:
        if frame_height(paras, size, width, metrics, rules) <= height:
            return [TextBlock(tuple(paras), size)]
    floor_pages = len(paginate(paras, rules.body_floor, width, height, metrics, rules))
    for size in sizes:
        if len(paginate(paras, size, width, height, metrics, rules)) > floor_pages:
            continue
        # even the pages out: the smallest capacity that keeps the page count
        total = frame_height(paras, size, width, metrics, rules)
        for k in range(0, 21):
            cap = min(height, total / floor_pages * (1 + 0.05 * k))
            pages = paginate(paras, size, width, height, metrics, rules, cap)
            if len(pages) <= floor_pages:
                return [TextBlock(tuple(p), size) for p in pages]
    raise AssertionError("unreachable: the floor size always paginates")


def fit_columns(
    top: Sequence[Para],
    left: Sequence[Para],
    right: Sequence[Para],
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    rules: FitRules,
    gap: int = EMU_PER_INCH // 3,
) -> tuple[float, Box, Box, Box] | None:
    """Paragraphs across the top and two columns under them, at one size; None if too big.

    Returns (size, top box, left box, right box); the top box is empty when ``top`` is.
    """
    full_w = text_width_pt(box, insets)
    # the wider text gets the wider column (terms are short, definitions long)
    widest = [max((metrics.width(p.text, 20) for p in side), default=1.0) for side in (left, right)]
    share = min(0.65, max(0.35, widest[0] / (widest[0] + widest[1])))
    left_col = Box(box.left, box.top, int((box.width - gap) * share), box.height)
    right_col = Box(0, 0, box.width - gap - left_col.width, box.height)
    left_w, right_w = text_width_pt(left_col, insets), text_width_pt(right_col, insets)
    pad = (insets.top + insets.bottom) / EMU_PER_PT
    for size in _sizes(rules.body_max, rules.body_floor, rules.step):
        top_h = frame_height(top, size, full_w, metrics, rules) + pad if top else 0.0
        col_h = (box.height / EMU_PER_PT) - top_h - pad
        if col_h <= 0:
            continue
        if (
            frame_height(left, size, left_w, metrics, rules) <= col_h
            and frame_height(right, size, right_w, metrics, rules) <= col_h
        ):
            top_emu = int(math.ceil(top_h * EMU_PER_PT))
            top_box = Box(box.left, box.top, box.width, top_emu)
            y = box.top + top_emu
            left_box = Box(box.left, y, left_col.width, box.bottom - y)
            right_box = Box(box.left + left_col.width + gap, y, right_col.width, box.bottom - y)
            return size, top_box, left_box, right_box
    return None


def fit_title(
    title: str,
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    high: float,
    low: float,
    step: float = 2,
) -> tuple[float, int]:
    """(size, height in EMU needed): the largest size at which the title fits its box.

    When it does not fit even at ``low``, the height it needs at ``low`` is returned, and the
    planner grows the title box into the body area.
    """
    width, height = text_width_pt(box, insets), text_height_pt(box, insets)
    pieces = [Piece(title, bold=True)]
    for size in _sizes(high, low, step):
        lines = metrics.count_lines(pieces, width, size)
        if lines * metrics.line_height(size) <= height:
            return size, box.height
    lines = metrics.count_lines(pieces, width, low)
    need = lines * metrics.line_height(low) * EMU_PER_PT + insets.top + insets.bottom
    return low, int(math.ceil(need))


TITLE_MAX_LINES = 4  # a 150-character title fits whole, even on a 4:3 slide
ELLIPSIS = "…"


def shorten_title(
    title: str,
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    high: float,
    low: float,
    limit: int,
    suffix: str = "",
) -> str:
    """``title`` when ``title + suffix`` fits a box ``limit`` EMU tall (see :func:`fit_title`);
    else its longest start that does, cut at a word (a character in one endless word) + "…".

    A heading pasted from a paragraph would otherwise need a title box taller than the slide.
    The planner puts the whole title in the speaker notes.
    """

    def fits(text: str) -> bool:
        return fit_title(text + suffix, box, insets, metrics, high, low)[1] <= limit

    if fits(title):
        return title

    def cut(end: int) -> str:
        return title[:end].rstrip(" \t\n,;:-–—") + ELLIPSIS

    words = [m.start() for m in re.finditer(r"\s+", title) if m.start() > 0]
    for ends in (words, list(range(1, len(title)))):
        best = _last_fitting(len(ends), 0, lambda i, ends=ends: fits(cut(ends[i])))
        if best is not None:
            return cut(ends[best])
    return ELLIPSIS


# --------------------------------------------------------------------------- tables


def _cell_margin() -> tuple[int, int]:
    """(left+right, top+bottom) cell margins in EMU: the OOXML defaults."""
    return 2 * 91440, 2 * 45720


def _column_widths(
    header: Sequence[Cell],
    rows: Sequence[Sequence[Cell]],
    size: float,
    total: int,
    metrics: TextMetrics,
    unwrapped: bool = False,
) -> list[int]:
    """Column widths in EMU summing to ``total`` (``unwrapped``: natural widths instead)."""
    ncols = len(header)
    lr, _ = _cell_margin()
    natural = [0.0] * ncols
    minimum = [0.0] * ncols
    for r_index, row in enumerate([header, *rows]):
        for c in range(ncols):
            cell = row[c] if c < len(row) else ()
            bold = r_index == 0
            line = sum(
                metrics.width(run.text, size, bold or run.bold, run.italic, run.mono)
                for run in cell
            )
            natural[c] = max(natural[c], line)
            for run in cell:
                for word in run.text.split():
                    w = metrics.width(word, size, bold or run.bold, run.italic, run.mono)
                    minimum[c] = max(minimum[c], w)
    natural_emu = [n / metrics.slack * EMU_PER_PT + lr + 1 for n in natural]
    minimum_emu = [m / metrics.slack * EMU_PER_PT + lr + 1 for m in minimum]
    if unwrapped:
        return [int(n) for n in natural_emu]
    if sum(natural_emu) <= total:
        scale = total / sum(natural_emu)
        return _exact([n * scale for n in natural_emu], total)
    if sum(minimum_emu) >= total:
        return _exact([m * total / sum(minimum_emu) for m in minimum_emu], total)
    # Narrow columns get their natural width (no wrapping); the wide ones share the rest in
    # proportion to their natural widths, never under their longest word.
    widths: dict[int, float] = {}
    while True:
        free = [c for c in range(ncols) if c not in widths]
        share = (total - sum(widths.values())) / max(len(free), 1)
        fixed = [c for c in free if natural_emu[c] <= share]
        if not fixed or len(fixed) == len(free):
            break
        for c in fixed:
            widths[c] = natural_emu[c]
    free = [c for c in range(ncols) if c not in widths]
    rest = total - sum(widths.values())
    for c in free:
        widths[c] = rest * natural_emu[c] / sum(natural_emu[f] for f in free)
    short = {c: minimum_emu[c] - widths[c] for c in free if widths[c] < minimum_emu[c]}
    if short:  # give those columns their longest word, taken from the others
        need = sum(short.values())
        donors = [c for c in range(ncols) if c not in short]
        spare = sum(widths[c] - minimum_emu[c] for c in donors)
        for c in donors:
            widths[c] -= need * (widths[c] - minimum_emu[c]) / spare
        for c, gap in short.items():
            widths[c] += gap
    return _exact([widths[c] for c in range(ncols)], total)


def _exact(widths: list[float], total: int) -> list[int]:
    out = [int(w) for w in widths]
    out[-1] += total - sum(out)
    return out


def _row_height(
    row: Sequence[Cell], widths: Sequence[int], size: float, bold: bool, metrics: TextMetrics
) -> int:
    lr, tb = _cell_margin()
    lines = 1
    for c, width in enumerate(widths):
        cell = row[c] if c < len(row) else ()
        pieces = [Piece(r.text, bold or r.bold, r.italic, r.mono) for r in cell]
        lines = max(lines, metrics.count_lines(pieces, (width - lr) / EMU_PER_PT, size))
    return int(math.ceil(lines * metrics.line_height(size) * EMU_PER_PT + tb))


def _table_widths(
    header: Sequence[Cell],
    rows: Sequence[Sequence[Cell]],
    size: float,
    box: Box,
    metrics: TextMetrics,
) -> list[int]:
    """Column widths: a narrow table is not stretched across the slide (natural width + air)."""
    natural = sum(_column_widths(header, rows, size, 10 * box.width, metrics, unwrapped=True))
    total = min(box.width, max(int(natural * 1.3), box.width // 2))
    return _column_widths(header, rows, size, total, metrics)


def _split_cell(cell: Cell, parts: int, sentences: bool) -> list[Cell]:
    """A cell's runs cut at sentence (or word) boundaries into ``parts`` similar pieces."""
    text = "".join(r.text for r in cell)
    bounds = _boundaries(text, sentences)
    cuts = []
    for i in range(1, parts):
        target = len(text) * i / parts
        cuts.append(min(bounds, key=lambda b: abs(b - target)) if bounds else len(text))
    edges = [0, *sorted(set(cuts)), len(text)]
    pieces = [_slice_runs(cell, a, b) for a, b in zip(edges, edges[1:], strict=False)]
    return pieces + [()] * (parts - len(pieces))


def _split_tall_rows(
    header: tuple[Cell, ...],
    rows: tuple[tuple[Cell, ...], ...],
    box: Box,
    metrics: TextMetrics,
    rules: FitRules,
) -> tuple[tuple[Cell, ...], ...]:
    """Rows too tall for a slide even at the floor become several rows (cut at words)."""
    size = rules.body_floor
    widths = _table_widths(header, rows, size, box, metrics)
    head = _row_height(header, widths, size, True, metrics)

    def fits(row: Sequence[Cell]) -> bool:
        return head + _row_height(row, widths, size, False, metrics) <= box.height

    out: list[tuple[Cell, ...]] = []
    for row in rows:
        if fits(row):
            out.append(row)
            continue
        pieces = [row]
        for sentences in (True, False):
            most = max(len(_boundaries("".join(r.text for r in c), sentences)) for c in row) + 1
            for parts in range(2, min(most, 500) + 1):
                cells = [_split_cell(cell, parts, sentences) for cell in row]
                pieces = [tuple(cells[c][i] for c in range(len(row))) for i in range(parts)]
                if all(fits(piece) for piece in pieces):
                    break
            else:
                continue
            break
        out.extend(pieces)
    return tuple(out)


def _fit_header(
    header: tuple[Cell, ...],
    rows: tuple[tuple[Cell, ...], ...],
    box: Box,
    metrics: TextMetrics,
    rules: FitRules,
) -> tuple[tuple[Cell, ...], tuple[tuple[Cell, ...], ...]]:
    """A header taller than a third of the area at the floor is cut (at words): its first
    part stays the header and the rest opens the body, in bold, so no text is lost."""
    size = rules.body_floor
    widths = _table_widths(header, rows, size, box, metrics)
    limit = box.height // 3
    if _row_height(header, widths, size, True, metrics) <= limit:
        return header, rows
    third = Box(box.left, box.top, box.width, limit)
    pieces = _split_tall_rows(tuple(() for _ in header), (header,), third, metrics, rules)
    bold = tuple(
        tuple(tuple(replace(r, bold=True) for r in cell) for cell in piece) for piece in pieces
    )
    return bold[0], (*bold[1:], *rows)


def fit_table(table: Table, box: Box, metrics: TextMetrics, rules: FitRules) -> list[TablePlan]:
    """The table at the largest size that fits, else split by rows with the header repeated."""
    header = tuple(runs_of(cell.inlines) for cell in table.header)
    rows = tuple(tuple(runs_of(cell.inlines) for cell in row) for row in table.rows)
    aligns = tuple(table.aligns) + ("",) * (len(header) - len(table.aligns))
    header, rows = _fit_header(header, rows, box, metrics, rules)
    rows = _split_tall_rows(header, rows, box, metrics, rules)

    def layout(size: float) -> tuple[list[int], int, list[int]]:
        widths = _table_widths(header, rows, size, box, metrics)
        head = _row_height(header, widths, size, True, metrics)
        return widths, head, [_row_height(r, widths, size, False, metrics) for r in rows]

    def pages(size: float) -> tuple[list[int], int, list[list[int]]] | None:
        widths, head, heights = layout(size)
        if head + max(heights, default=0) > box.height:
            return None  # some row cannot fit under the header at this size
        groups: list[list[int]] = [[]]
        used = head
        for i, h in enumerate(heights):
            if groups[-1] and used + h > box.height:
                groups.append([])
                used = head
            groups[-1].append(i)
            used += h
        return widths, head, groups

    sizes = _sizes(rules.table_max, rules.body_floor, rules.step)
    at_floor = pages(rules.body_floor)
    floor_count = len(at_floor[2]) if at_floor else len(rows) or 1
    for size in sizes:
        paged = pages(size)
        if paged is None and size > rules.body_floor:
            continue
        if paged is None:  # cannot happen after the splits above; one row a slide, then
            widths, head, _ = layout(size)
            paged = (widths, head, [[i] for i in range(len(rows))] or [[]])
        widths, head, groups = paged
        if len(groups) > floor_count:
            continue
        if len(groups) > 1:  # even the pages out
            per = math.ceil(len(rows) / len(groups))
            even = [list(range(i, min(i + per, len(rows)))) for i in range(0, len(rows), per)]
            _, _, heights = layout(size)
            if len(even) == len(groups) and all(
                head + sum(heights[i] for i in g) <= box.height for g in even
            ):
                groups = even
        _, _, heights = layout(size)
        out = []
        for group in groups:
            out.append(
                TablePlan(
                    header=header,
                    rows=tuple(rows[i] for i in group),
                    aligns=aligns,
                    col_widths=tuple(widths),
                    row_heights=(head, *(heights[i] for i in group)),
                    size=size,
                    box=box,
                )
            )
        return out
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- pictures


def image_size(path: Path) -> tuple[int, int]:
    """The pixel size of an image file (Pillow reads only the header)."""
    from PIL import Image as PILImage

    with PILImage.open(path) as img:
        return img.size


def fit_picture(
    image: Image,
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    rules: FitRules,
    pixel_size: tuple[int, int],
) -> PicturePlan:
    """Scale a picture into the area (aspect kept, centred), leaving room for its caption."""
    caption = clean(image.caption)
    cap_box = None
    cap_h = 0
    if caption:
        width = text_width_pt(box, insets)
        lines = metrics.count_lines([Piece(caption, italic=True)], width, rules.caption)
        cap_h = int(
            lines * metrics.line_height(rules.caption) * EMU_PER_PT + insets.top + insets.bottom + 1
        )
    avail_h = box.height - cap_h
    px_w, px_h = pixel_size
    scale = min(box.width / max(px_w, 1), avail_h / max(px_h, 1))
    w, h = int(px_w * scale), int(px_h * scale)
    pic = Box(box.left + (box.width - w) // 2, box.top, w, h)
    if caption:
        cap_box = Box(box.left, box.top + h, box.width, cap_h)
    alt = clean(image.alt) or caption
    return PicturePlan(image.path, alt, pic, caption, cap_box, rules.caption)


# --------------------------------------------------------------------------- blocks → paras


def _notes_lines(blocks: Sequence[Block], prefix: str = "") -> list[str]:
    """Speaker-notes paragraphs for blocks (plain text; lists as "- " lines)."""
    lines: list[str] = []

    def item_lines(item: ListItem, depth: int) -> None:
        lines.append("  " * depth + "- " + clean(plain_text(item.inlines)))
        for child in item.children:
            item_lines(child, depth + 1)

    for block in blocks:
        if isinstance(block, Paragraph):
            lines.append(clean(plain_text(block.inlines)))
        elif isinstance(block, BulletList):
            for item in block.items:
                item_lines(item, 0)
        elif isinstance(block, CodeBlock):
            lines.extend(clean(block.text).splitlines())
        elif isinstance(block, (Quote, Div)):
            lines.extend(_notes_lines(block.blocks))
        elif isinstance(block, Table):
            for row in (block.header, *block.rows):
                lines.append(" | ".join(clean(plain_text(c.inlines)) for c in row))
        elif isinstance(block, Image):
            lines.append(f"[Image: {clean(block.alt)}]")
    if prefix and lines:
        lines[0] = prefix + lines[0]
    return [line for line in lines if line.strip()]


def _list_paras(items: Sequence[ListItem], level: int, ordered: bool, start: int) -> list[Para]:
    out: list[Para] = []
    for n, item in enumerate(items, start):
        out.append(
            Para(
                runs_of(item.inlines),
                min(level, 2),
                "option" if ordered else "bullet",
                f"{n}." if ordered else "",
            )
        )
        out.extend(_list_paras(item.children, level + 1, item.ordered_children, 1))
    return out


def _quote_paras(blocks: Sequence[Block], level: int = 0) -> list[Para]:
    out: list[Para] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(Para(runs_of(block.inlines, italic=True), level, "quote"))
        elif isinstance(block, BulletList):
            for p in _list_paras(block.items, level, block.ordered, block.start):
                out.append(
                    replace(p, runs=tuple(replace(r, italic=True) for r in p.runs), style="quote")
                )
        elif isinstance(block, Quote):
            out.extend(_quote_paras(block.blocks, min(level + 1, 2)))
        elif isinstance(block, CodeBlock):
            out.extend(_code_paras(block))
    return out


def _code_paras(block: CodeBlock) -> list[Para]:
    lines = clean(block.text).rstrip("\n").split("\n") or [""]
    return [
        Para((Run(line.replace("\t", "    ") or " ", mono=True),), 0, "code", continued=i > 0)
        for i, line in enumerate(lines)
    ]


# --------------------------------------------------------------------------- graded blocks

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letter(i: int) -> str:
    return _LETTERS[i] if i < 26 else _LETTERS[i // 26 - 1] + _LETTERS[i % 26]


def _prompt_paras(blocks: Sequence[Block]) -> tuple[list[Para], list[str]]:
    """Face paragraphs of a graded block's prompt, and the notes its divs carry."""
    paras: list[Para] = []
    notes: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            paras.append(Para(runs_of(block.inlines), 0, "plain"))
        elif isinstance(block, BulletList):
            paras.extend(_list_paras(block.items, 0, block.ordered, block.start))
        elif isinstance(block, Quote):
            paras.extend(_quote_paras(block.blocks))
        elif isinstance(block, CodeBlock):
            paras.extend(_code_paras(block))
        elif isinstance(block, Div):
            if shows(block, "slide"):
                inner, more = _prompt_paras(block.blocks)
                paras.extend(inner)
                notes.extend(more)
            elif shows(block, "notes"):
                prefix = "Teacher note: " if block.audience == "teacher" else ""
                notes.extend(_notes_lines(block.blocks, prefix))
    return paras, notes


def graded_title(block: Question | Match | Order) -> str:
    """ "Check for understanding: Question 3 (2 points)"."""
    unit = "point" if block.points == 1 else "points"
    # no-break spaces keep "Question 3" and "(2 points)" on one line when the title wraps
    return f"Check for understanding: Question\u00a0{block.number} ({block.points}\u00a0{unit})"


def graded_face_and_notes(block: Question | Match | Order) -> tuple[list[Para], list[str]]:
    """What a graded block shows on its slide, and the answers for the speaker notes."""
    paras, extra = _prompt_paras(block.prompt)
    notes: list[str] = []
    if isinstance(block, Question):
        if block.options:
            if block.select_all:
                paras.append(Para((Run("Select all that apply.", italic=True),), 0, "plain"))
            correct = []
            for i, option in enumerate(block.options):
                paras.append(Para(runs_of(option.inlines), 0, "option", f"{_letter(i)}."))
                if option.correct:
                    correct.append(f"{_letter(i)} — {clean(plain_text(option.inlines))}")
            label = "Answers: " if len(correct) > 1 else "Answer: "
            notes.append(label + "; ".join(correct))
        else:
            answer = _notes_lines(block.answer)
            if answer:
                notes.append("Model answer: " + answer[0])
                notes.extend(answer[1:])
    elif isinstance(block, Match):
        texts = [clean(plain_text(p.definition)) for p in block.pairs]
        order = block.definition_order
        letter_of = {pair_index: _letter(pos) for pos, pair_index in enumerate(order)}
        paras.append(Para((Run("Terms", bold=True),), 0, "label"))
        for i, pair in enumerate(block.pairs):
            paras.append(Para(runs_of(pair.term), 0, "option", f"{i + 1}."))
        paras.append(Para((Run("Definitions", bold=True),), 0, "label"))
        for pos, pair_index in enumerate(order):
            pair = block.pairs[pair_index]
            paras.append(Para(runs_of(pair.definition), 0, "option", f"{_letter(pos)}."))
        notes.append(
            "Answers: " + ", ".join(f"{i + 1} — {letter_of[i]}" for i in range(len(block.pairs)))
        )
        for i, pair in enumerate(block.pairs):
            notes.append(f"{i + 1}. {clean(plain_text(pair.term))} — {letter_of[i]}. {texts[i]}")
    elif isinstance(block, Order):
        texts = [clean(plain_text(item.inlines)) for item in block.items]
        order = block.shown_order
        letter_of = {item_index: _letter(pos) for pos, item_index in enumerate(order)}
        for pos, item_index in enumerate(order):
            paras.append(
                Para(runs_of(block.items[item_index].inlines), 0, "option", f"{_letter(pos)}.")
            )
        notes.append("Correct order: " + ", ".join(letter_of[i] for i in range(len(texts))))
        notes.extend(f"{i + 1}. {letter_of[i]} — {t}" for i, t in enumerate(texts))
    return paras, notes + extra


# --------------------------------------------------------------------------- the planner


@dataclass
class _Chunk:
    kind: Literal["text", "table", "image", "graded"]
    paras: list[Para] = field(default_factory=list)
    block: Block | None = None
    notes: list[str] = field(default_factory=list)
    line: int = 0
    closed: bool = False


_LEAD_INS = {"check for understanding", "check your understanding"}
# text beside a picture must fit its half of the slide at this size or more
_SIDE_BY_SIDE_MIN = 22


class _Walker:
    """Collects a topic's face content in chunks (text, table, image, graded) and its notes."""

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.pending_notes: list[str] = []

    def text(self, line: int) -> _Chunk:
        if not self.chunks or self.chunks[-1].kind != "text" or self.chunks[-1].closed:
            self.add(_Chunk("text", line=line))
        return self.chunks[-1]

    def add(self, chunk: _Chunk) -> None:
        chunk.notes[:0] = self.pending_notes
        self.pending_notes = []
        self.chunks.append(chunk)

    def _drop_lead_in(self) -> None:
        """Drop a bold "Check for understanding" line before a graded block: its slide's title
        already says so, and the line would end the previous slide on a dangling heading."""
        if not self.chunks or self.chunks[-1].kind != "text" or not self.chunks[-1].paras:
            return
        last = self.chunks[-1].paras[-1]
        words = re.sub(r"[^a-z ]", "", last.text.lower()).strip()
        if last.style == "plain" and all(r.bold for r in last.runs) and words in _LEAD_INS:
            self.chunks[-1].paras.pop()
            if not self.chunks[-1].paras:
                dropped = self.chunks.pop()
                self.pending_notes[:0] = dropped.notes

    def note(self, lines: list[str]) -> None:
        if self.chunks:
            self.chunks[-1].notes.extend(lines)
        else:
            self.pending_notes.extend(lines)

    def walk(self, blocks: Sequence[Block]) -> None:
        for block in blocks:
            if isinstance(block, Paragraph):
                self.text(block.line).paras.append(Para(runs_of(block.inlines), 0, "plain"))
            elif isinstance(block, BulletList):
                self.text(block.line).paras.extend(
                    _list_paras(block.items, 0, block.ordered, block.start)
                )
            elif isinstance(block, Quote):
                self.text(block.line).paras.extend(_quote_paras(block.blocks))
            elif isinstance(block, CodeBlock):
                self.text(block.line).paras.extend(_code_paras(block))
            elif isinstance(block, Table):
                self.add(_Chunk("table", block=block, line=block.line, closed=True))
            elif isinstance(block, Image):
                self.add(_Chunk("image", block=block, line=block.line, closed=True))
            elif isinstance(block, (Question, Match, Order)):
                self._drop_lead_in()
                self.add(_Chunk("graded", block=block, line=block.line, closed=True))
            elif isinstance(block, Div):
                if shows(block, "slide"):
                    self.walk(block.blocks)
                elif shows(block, "notes"):
                    prefix = "Teacher note: " if block.audience == "teacher" else ""
                    self.note(_notes_lines(block.blocks, prefix))


_LONGEST_SUFFIX = " (00/00)"  # the widest continuation suffix a title is measured with


class _Planner:
    def __init__(
        self,
        lesson: Lesson,
        geometry: SlideGeometry,
        metrics: TextMetrics,
        rules: FitRules,
        pixel_size,
    ) -> None:
        self.lesson = lesson
        self.g = geometry
        self.m = metrics
        self.r = rules
        self.pixel_size = pixel_size
        self.slides: list[SlidePlan] = []

    # -- titles
    def _title(self, text: str) -> tuple[float, Box | None, Box | None]:
        size, need = fit_title(
            text, self.g.title, self.g.insets, self.m, self.r.title_max, self.r.title_floor
        )
        if need <= self.g.title.height:
            return size, None, None
        grow = need - self.g.title.height
        t = self.g.title
        b = self.g.body
        title_box = Box(t.left, t.top, t.width, need)
        body_top = max(b.top, t.top + need)
        body_box = Box(b.left, body_top, b.width, b.bottom - body_top) if grow else None
        return size, title_box, body_box

    # -- slides
    def cover(self) -> None:
        meta = self.lesson.meta
        full = clean(meta.title)
        box = self.g.cover_title
        # the cover title grows upwards, at most to a fifth of an inch under the slide's top
        title = shorten_title(
            full,
            box,
            self.g.insets,
            self.m,
            self.r.cover_max,
            self.r.title_floor,
            box.bottom - EMU_PER_INCH // 5,
        )
        size, need = fit_title(
            title, box, self.g.insets, self.m, self.r.cover_max, self.r.title_floor
        )
        title_box = None
        if need > box.height:  # grow upwards: the cover title sits on its bottom edge
            top = max(EMU_PER_INCH // 5, box.bottom - need)
            title_box = Box(box.left, top, box.width, box.bottom - top)
        sub, sub_box = None, None
        if self.g.cover_subtitle is not None:
            paras = []
            if meta.subtitle:
                paras.append(Para((Run(clean(meta.subtitle)),), 0, "plain"))
            if meta.course:
                paras.append(Para((Run(clean(meta.course)),), 0, "plain"))
            details = " · ".join(clean(x) for x in (meta.author, meta.date) if x)
            if details:
                paras.append(Para((Run(details),), 0, "plain"))
            if paras:
                sub, sub_box = self._cover_subtitle(paras)
        self.slides.append(
            SlidePlan(
                "title",
                "title",
                title,
                size,
                subtitle=sub,
                footer=False,
                title_box=title_box,
                body_box=sub_box,
                notes=self._full_title(full, title),
                line=1,
            )
        )

    def _cover_subtitle(self, paras: list[Para]) -> tuple[TextBlock, Box | None]:
        """The cover's subtitle lines: in their box, else a box reaching down the slide, else
        as many lines as fit (the last ones are dropped rather than overflow)."""
        box = self.g.cover_subtitle
        assert box is not None
        tall = Box(
            box.left,
            box.top,
            box.width,
            max(box.height, self.g.height - box.top - EMU_PER_INCH // 4),
        )
        for candidate, override in ((box, None), (tall, tall)):
            blocks = fit_text(paras, candidate, self.g.insets, self.m, self.r, high=28)
            if len(blocks) == 1:
                return blocks[0], override
        first = fit_text(paras, tall, self.g.insets, self.m, self.r, high=28)[0]
        return first, tall

    def section(self, title: str, line: int) -> None:
        box, insets = self.g.section_title, self.g.insets
        high, low = self.r.title_max, self.r.title_floor
        shown = shorten_title(title, box, insets, self.m, high, low, box.height)
        size, _ = fit_title(shown, box, insets, self.m, high, low)
        self.slides.append(
            SlidePlan(
                "section",
                "section",
                shown,
                size,
                notes=self._full_title(title, shown),
                footer=True,
                line=line,
            )
        )

    def topic(
        self,
        title: str,
        blocks: Sequence[Block],
        line: int,
        kind: SlideKind,
        empty_slide: bool = True,
    ) -> list[str]:
        """Slides for a topic; returns notes left over when the topic made no slide."""
        full, title = title, self._topic_title(title)
        walker = _Walker()
        walker.walk(blocks)
        planned: list[tuple[SlidePlan, bool]] = []  # (slide, counts toward "(i/n)")
        chunks = list(walker.chunks)
        while chunks:
            chunk = chunks.pop(0)
            pair = self._side_by_side(chunk, chunks[0], title, kind) if chunks else None
            if pair is not None:
                other = chunks.pop(0)
                notes = tuple(chunk.notes + other.notes)
                planned.append((replace(pair, notes=notes), True))
                continue
            made = self._chunk(chunk, title, kind)
            if made and chunk.notes:
                first, counts = made[0]
                made[0] = (replace(first, notes=first.notes + tuple(chunk.notes)), counts)
            planned.extend(made)
        if not planned:
            if not empty_slide:
                return walker.pending_notes
            planned.append((self._title_slide(title, kind, line, walker.pending_notes), True))
        elif not planned[0][1] and empty_slide:
            # The topic opens with a question, whose slide is titled "Check for understanding":
            # a title slide first, so the topic's name is shown before its questions.
            planned.insert(0, (self._title_slide(title, kind, line, []), False))
        if title != full:  # the slide shows a shortened title: the notes keep the whole one
            first, counts = planned[0]
            planned[0] = (replace(first, notes=self._full_title(full, title) + first.notes), counts)
        self._number(planned, title)
        return []

    def _title_slide(self, title: str, kind: SlideKind, line: int, notes: list[str]) -> SlidePlan:
        """A slide with only the topic's title (and any speaker notes)."""
        size, tbox, _ = self._title(title)
        return SlidePlan(
            kind, "title_only", title, size, notes=tuple(notes), title_box=tbox, line=line
        )

    def _number(self, planned: list[tuple[SlidePlan, bool]], title: str) -> None:
        """Title continuation slides "… (2/3)" and size every title for its final text."""
        total = sum(counts for _, counts in planned)
        i = 0
        for slide, counts in planned:
            if counts:
                i += 1
                text = f"{title} ({i}/{total})" if total > 1 else title
                size, tbox, _ = self._title(text)
                # the body was placed for the worst-case title; keep a grown box if it had one
                slide = replace(
                    slide, title=text, title_size=size, title_box=tbox or slide.title_box
                )
            self.slides.append(slide)

    def _body_box(self, title: str) -> tuple[float, Box | None, Box]:
        size, tbox, bbox = self._title(title)
        return size, tbox, bbox or self.g.body

    def _longest_title(self, title: str) -> str:
        # measure with a worst-case continuation suffix so "(2/3)" never needs more room
        return f"{title}{_LONGEST_SUFFIX}"

    def _title_limit(self) -> int:
        """The tallest a content slide's title box may grow, in EMU: ``TITLE_MAX_LINES`` lines
        at the floor size, and never so tall that the body keeps less than half its height."""
        t, b, ins = self.g.title, self.g.body, self.g.insets
        # the same sum as fit_title's, so a title of exactly TITLE_MAX_LINES lines is allowed
        lines = TITLE_MAX_LINES * self.m.line_height(self.r.title_floor) * EMU_PER_PT
        most = int(math.ceil(lines + ins.top + ins.bottom))
        return max(t.height, min(most, b.bottom - b.height // 2 - t.top))

    def _topic_title(self, title: str) -> str:
        """The title a topic's slides show: whole, or shortened to fit ``_title_limit``."""
        return shorten_title(
            title,
            self.g.title,
            self.g.insets,
            self.m,
            self.r.title_max,
            self.r.title_floor,
            self._title_limit(),
            suffix=_LONGEST_SUFFIX,
        )

    @staticmethod
    def _full_title(full: str, shown: str) -> tuple[str, ...]:
        """Speaker notes giving the whole title when the slide shows it shortened."""
        return (f"Full title: {full}",) if shown != full else ()

    def _side_by_side(
        self, first: _Chunk, second: _Chunk, title: str, kind: SlideKind
    ) -> SlidePlan | None:
        """Short text and a picture next to each other on one slide, when the text fits its
        half at a comfortable size (else None: they get a slide each)."""
        kinds = {first.kind, second.kind}
        if kinds != {"text", "image"}:
            return None
        text, image = (first, second) if first.kind == "text" else (second, first)
        assert isinstance(image.block, Image)
        if not text.paras:
            return None
        size, tbox, body = self._body_box(self._longest_title(title))
        gap = EMU_PER_INCH // 3
        half = (body.width - gap) // 2
        left = Box(body.left, body.top, half, body.height)
        right = Box(body.left + half + gap, body.top, body.width - half - gap, body.height)
        blocks = fit_text(text.paras, left, self.g.insets, self.m, self.r)
        if len(blocks) != 1 or blocks[0].size < _SIDE_BY_SIDE_MIN:
            return None
        pic = fit_picture(
            image.block, right, self.g.insets, self.m, self.r, self.pixel_size(image.block)
        )
        return SlidePlan(
            kind,
            "content",
            title,
            size,
            body=blocks[0],
            body_box=left,
            picture=pic,
            title_box=tbox,
            line=min(first.line, second.line),
        )

    def _chunk(self, chunk: _Chunk, title: str, kind: SlideKind) -> list[tuple[SlidePlan, bool]]:
        out: list[tuple[SlidePlan, bool]] = []
        if chunk.kind == "text":
            if not chunk.paras:
                return out
            size, tbox, body = self._body_box(self._longest_title(title))
            for block in fit_text(chunk.paras, body, self.g.insets, self.m, self.r):
                out.append(
                    (
                        SlidePlan(
                            kind,
                            "content",
                            title,
                            size,
                            body=block,
                            title_box=tbox,
                            body_box=body if body != self.g.body else None,
                            line=chunk.line,
                        ),
                        True,
                    )
                )
        elif chunk.kind == "table":
            assert isinstance(chunk.block, Table)
            size, tbox, area = self._body_box(self._longest_title(title))
            for table in fit_table(chunk.block, area, self.m, self.r):
                out.append(
                    (
                        SlidePlan(
                            "table",
                            "title_only",
                            title,
                            size,
                            table=table,
                            title_box=tbox,
                            line=chunk.line,
                        ),
                        True,
                    )
                )
        elif chunk.kind == "image":
            assert isinstance(chunk.block, Image)
            size, tbox, area = self._body_box(self._longest_title(title))
            pic = fit_picture(
                chunk.block, area, self.g.insets, self.m, self.r, self.pixel_size(chunk.block)
            )
            out.append(
                (
                    SlidePlan(
                        "image",
                        "title_only",
                        title,
                        size,
                        picture=pic,
                        title_box=tbox,
                        line=chunk.line,
                    ),
                    True,
                )
            )
        else:
            block = chunk.block
            assert isinstance(block, (Question, Match, Order))
            gtitle = graded_title(block)
            paras, notes = graded_face_and_notes(block)
            size, tbox, body = self._body_box(self._longest_title(gtitle))
            if isinstance(block, Match):
                two = self._match_slide(block, paras, gtitle, size, tbox, body, notes)
                if two is not None:
                    return [(two, False)]
            pages = fit_text(paras, body, self.g.insets, self.m, self.r) if paras else []
            slides = [
                SlidePlan(
                    "question",
                    "content",
                    gtitle,
                    size,
                    body=p,
                    title_box=tbox,
                    body_box=body if body != self.g.body else None,
                    line=block.line,
                )
                for p in pages
            ] or [
                SlidePlan("question", "title_only", gtitle, size, title_box=tbox, line=block.line)
            ]
            slides[0] = replace(slides[0], notes=tuple(notes))
            n = len(slides)
            for i, s in enumerate(slides):
                t = f"{gtitle} ({i + 1}/{n})" if n > 1 else gtitle
                sz, tb, _ = self._title(t)
                out.append((replace(s, title=t, title_size=sz, title_box=tb or s.title_box), False))
        return out

    def _match_slide(
        self,
        block: Match,
        paras: list[Para],
        title: str,
        size: float,
        tbox: Box | None,
        body: Box,
        notes: list[str],
    ) -> SlidePlan | None:
        """A matching block on one slide: prompt on top, terms left, definitions right."""
        labels = [i for i, p in enumerate(paras) if p.style == "label"]
        if len(labels) != 2:
            return None
        top, left, right = paras[: labels[0]], paras[labels[0] : labels[1]], paras[labels[1] :]
        fitted = fit_columns(top, left, right, body, self.g.insets, self.m, self.r)
        if fitted is None:
            return None
        text_size, top_box, left_box, right_box = fitted
        sz, tb, _ = self._title(title)
        columns = ((right_box, TextBlock(tuple(right), text_size)),)
        if top:
            main, main_box = TextBlock(tuple(top), text_size), top_box
            columns = ((left_box, TextBlock(tuple(left), text_size)), *columns)
        else:
            main, main_box = TextBlock(tuple(left), text_size), left_box
        return SlidePlan(
            "question",
            "content",
            title,
            sz,
            body=main,
            body_box=main_box,
            columns=columns,
            notes=tuple(notes),
            title_box=tb or tbox,
            line=block.line,
        )

    def plan(self) -> DeckPlan:
        lesson = self.lesson
        meta = lesson.meta
        self.cover()
        leftover = self.topic("Overview", lesson.intro, 1, "overview", empty_slide=False)
        if leftover:
            self.slides[0] = replace(self.slides[0], notes=self.slides[0].notes + tuple(leftover))
        for section in lesson.sections:
            self.section(clean(section.title_text), section.line)
            index = len(self.slides) - 1
            leftover = self.topic(
                clean(section.title_text),
                section.blocks,
                section.line,
                "content",
                empty_slide=False,
            )
            if leftover:
                s = self.slides[index]
                self.slides[index] = replace(s, notes=s.notes + tuple(leftover))
            for topic in section.topics:
                self.topic(clean(topic.title_text), topic.blocks, topic.line, "content")
        return DeckPlan(
            slides=tuple(self.slides),
            title=clean(meta.title),
            author=clean(meta.author),
            course=clean(meta.course),
            date=clean(meta.date),
            footer=clean(meta.title),
            lang=clean(meta.lang) or "en",
        )


def plan_deck(
    lesson: Lesson,
    geometry: SlideGeometry,
    metrics: TextMetrics,
    rules: FitRules | None = None,
    pixel_size=image_size,
) -> DeckPlan:
    """Plan the deck for a lesson: pure data, no python-pptx.

    ``pixel_size(image)`` gives an image's (width, height) in pixels; the default reads the file
    header with Pillow (tests may pass a stub).
    """

    def sizer(image: Image) -> tuple[int, int]:
        if pixel_size is image_size:
            return image_size(image.path)
        return pixel_size(image)

    return _Planner(lesson, geometry, metrics, rules or FitRules(), sizer).plan()
