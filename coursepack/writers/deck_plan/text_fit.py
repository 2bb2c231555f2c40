"""Fitting text: measuring paragraphs, splitting them, paging them, sizing titles and footers.

Sizes are chosen between a maximum and a floor with real font metrics
(:mod:`coursepack.writers.text_metrics`); beyond the floor text is paged onto continuation slides
(an over-long bullet is cut at sentence ends, then words, then characters). A title too long for
its box even at the floor is cut at a word with "…" (the planner puts the whole title in the
speaker notes); the footer is shortened to one line the same way.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace

from coursepack import formulas
from coursepack.writers.deck_plan.slides import (
    EMU_PER_INCH,
    EMU_PER_PT,
    Box,
    FitRules,
    Insets,
    Para,
    Run,
    TextBlock,
)
from coursepack.writers.text_metrics import Piece, TextMetrics


def pieces_of(runs: Sequence[Run]) -> list[Piece]:
    """The runs as text-metrics pieces (text and style, no links)."""
    return [Piece(r.text, r.bold, r.italic, r.mono) for r in runs]


# --------------------------------------------------------------------------- measuring

_LEVEL_INDENT = 0.45  # inches per outline level
_HANG = 0.4  # inches of hanging indent for bullets and prefixes
#: The room (EMU) before a ``marked`` paragraph, where the answer reveal puts its mark.
MARK_GUTTER = int(0.55 * EMU_PER_INCH)


def indent_of(para: Para) -> tuple[int, int]:
    """(marL, indent) in EMU: text starts at marL; a bullet or prefix hangs at marL+indent
    (a ``marked`` paragraph starts :data:`MARK_GUTTER` further in)."""
    inch = EMU_PER_INCH
    gutter = MARK_GUTTER if para.marked else 0
    if para.style in ("bullet", "option"):
        hang = 0.55 if para.style == "option" else _HANG
        return int((hang + para.level * _LEVEL_INDENT) * inch) + gutter, int(-hang * inch)
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


#: A line holding a formula is this many times the formula's height (room above and below).
FORMULA_LEADING = 1.3


def formula_height(run: Run, size: float) -> float:
    """The height of a formula run drawn at ``size`` points (its drawing's box), in points."""
    return formulas.svg(run.math, run.display).height * size


def para_height(
    para: Para, size: float, width_pt: float, metrics: TextMetrics, rules: FitRules
) -> float:
    """The height a paragraph takes (space before included), in points.

    A formula taller than a line (a fraction, a sum with limits) makes its line taller.
    """
    s = para_size(para, size, rules)
    mar_l, _ = indent_of(para)
    avail = width_pt - mar_l / EMU_PER_PT
    lines = metrics.count_lines(pieces_of(para.runs), avail, s)
    line = metrics.line_height(s)
    tallest = max((formula_height(r, s) for r in para.runs if r.math), default=0.0)
    extra = tallest * FORMULA_LEADING - line
    return space_before(para, s) + lines * line + max(0.0, extra)


def para_tops(
    paras: Sequence[Para], size: float, height: Callable[[Para, float], float], rules: FitRules
) -> tuple[float, ...]:
    """Where each paragraph's text starts below the frame's top inset, in points
    (``height(para, size)`` is each paragraph's height, space before included).

    The first paragraph is written with no space before it (LibreOffice drops it anyway, so
    both renderers agree); the measured heights keep it, which only leaves a little air."""
    tops, y = [], 0.0
    for i, para in enumerate(paras):
        before = space_before(para, para_size(para, size, rules)) if i else 0.0
        tops.append(round(y + before, 2))
        y += (
            height(para, size)
            if i
            else height(para, size) - space_before(para, para_size(para, size, rules))
        )
    return tuple(tops)


def code_size_cap(
    paras: Sequence[Para],
    sizes: Sequence[float],
    width_pt: float,
    metrics: TextMetrics,
    r: FitRules,
) -> float | None:
    """The largest of ``sizes`` at which no code line wraps (the floor when none); None
    without code. Code is made smaller, down to the floor, before any of its lines wraps."""
    code = [p for p in paras if p.style == "code"]
    if not code:
        return None
    for size in sizes:
        if all(
            metrics.count_lines(
                pieces_of(p.runs), width_pt - indent_of(p)[0] / EMU_PER_PT, para_size(p, size, r)
            )
            <= 1
            for p in code
        ):
            return size
    return r.body_floor


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


def sizes_between(high: float, low: float, step: float) -> list[float]:
    """The sizes tried, largest first: ``high``, ``high - step``, … down to ``low`` (included)."""
    sizes, s = [], high
    while s > low:
        sizes.append(s)
        s -= step
    return [*sizes, low]


# --------------------------------------------------------------------------- splitting text

_SENTENCE_END = re.compile(r"(?<=[.!?…:;])[\"”’)\]]*\s+")


def run_starts(runs: Sequence[Run]) -> list[int]:
    """Where each run starts in the runs' joined text."""
    starts, pos = [], 0
    for run in runs:
        starts.append(pos)
        pos += len(run.text)
    return starts


def slice_runs(
    runs: Sequence[Run], start: int, end: int, starts: Sequence[int] | None = None
) -> tuple[Run, ...]:
    """The runs covering characters ``start:end`` of their joined text, trimmed of spaces.

    ``starts`` (from :func:`run_starts`) lets repeated slicing of one paragraph skip straight
    to the first run it needs instead of walking every run each time.
    """
    if starts is None:
        starts = run_starts(runs)
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


def boundaries(text: str, sentences: bool) -> list[int]:
    """Where ``text`` may be cut: after sentence ends (``sentences``) or spaces, never at 0 or
    at the end."""
    if sentences:
        return [m.end() for m in _SENTENCE_END.finditer(text) if m.end() < len(text)]
    return [m.end() for m in re.finditer(r"\s+", text) if m.end() < len(text)]


def last_fitting(count: int, first: int, ok: Callable[[int], bool]) -> int | None:
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

    if fits(para) or para.style in ("code", "formula"):
        return [para]  # a code line or a formula is never cut (it wraps, or overflows)
    text = "".join(run.text for run in para.runs)
    starts = run_starts(para.runs)
    inside = [  # positions inside a formula's text: no cut there
        range(start + 1, start + len(run.text))
        for start, run in zip(starts, para.runs, strict=True)
        if run.math
    ]

    def allowed(bounds: list[int]) -> list[int]:
        return [b for b in bounds if not any(b in span for span in inside)]

    def piece(start: int, end: int) -> Para:
        return replace(
            para,
            runs=slice_runs(para.runs, start, end, starts),
            continued=para.continued or start > 0,
        )

    for bounds in (boundaries(text, True), boundaries(text, False), list(range(1, len(text)))):
        bounds = [*allowed(bounds), len(text)]
        pieces: list[Para] = []
        start, first = 0, 0  # bounds[first] is the first boundary after start
        while start < len(text):
            best = last_fitting(
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


class Heights:
    """Paragraph heights (points) in a frame ``width_pt`` wide, each measured once per size.

    :func:`fit_text` tries up to eleven sizes and twenty-one page capacities over the same
    paragraphs; without this each paragraph of a 5,000-bullet topic was measured ~38 times.
    Entries are keyed by the paragraph object (kept alive here, so its ``id`` stays its own).
    Paragraphs too tall for a page are split once per size and page height, too.
    """

    def __init__(self, width_pt: float, metrics: TextMetrics, rules: FitRules) -> None:
        self.width_pt = width_pt
        self.metrics = metrics
        self.rules = rules
        self._heights: dict[tuple[int, float], tuple[Para, float]] = {}
        self._splits: dict[tuple[int, float, float], tuple[Para, list[Para]]] = {}

    def __call__(self, para: Para, size: float) -> float:
        """The height ``para`` takes at ``size`` (space before included)."""
        key = (id(para), size)
        hit = self._heights.get(key)
        if hit is not None and hit[0] is para:
            return hit[1]
        height = para_height(para, size, self.width_pt, self.metrics, self.rules)
        self._heights[key] = (para, height)
        return height

    def split(self, para: Para, size: float, height_pt: float) -> list[Para]:
        """:func:`split_para` of ``para`` into pages ``height_pt`` tall, remembered."""
        if self(para, size) <= height_pt:
            return [para]
        key = (id(para), size, height_pt)
        hit = self._splits.get(key)
        if hit is None or hit[0] is not para:
            pieces = split_para(para, size, self.width_pt, height_pt, self.metrics, self.rules)
            hit = self._splits[key] = (para, pieces)
        return hit[1]

    def total(self, paras: Sequence[Para], size: float, limit: float | None = None) -> float:
        """The frame height of ``paras`` at ``size``; with ``limit``, the sum stops as soon as
        it passes it (the caller only asks whether they fit)."""
        if limit is not None:
            used, margin = 0.0, limit + 1e-6 * (abs(limit) + 1)
            for para in paras:
                used += self(para, size)
                if used > margin:  # well past: what the whole sum is no longer matters
                    return used
        # the whole sum exactly as frame_height adds it (the heights are remembered by now)
        return sum(self(para, size) for para in paras)


def paginate(
    paras: Sequence[Para],
    size: float,
    width_pt: float,
    height_pt: float,
    metrics: TextMetrics,
    rules: FitRules,
    capacity: float | None = None,
    heights: Heights | None = None,
) -> list[list[Para]]:
    """Pack paragraphs into pages of ``capacity`` (≤ ``height_pt``) points, in order.

    ``heights`` (for ``width_pt``) shares measurements between calls over the same paragraphs.
    """
    measure = heights or Heights(width_pt, metrics, rules)
    cap = min(height_pt, capacity or height_pt)
    pieces: list[Para] = []
    for para in paras:
        pieces.extend(measure.split(para, size, height_pt))
    heights = [measure(p, size) for p in pieces]
    pages: list[list[Para]] = [[]]
    used = 0.0
    for index, para in enumerate(pieces):
        h = heights[index]
        limit = cap if pages[-1] else height_pt
        if para.style == "code" and not para.continued and pages[-1]:
            # a code block starts a new page rather than break, unless no page can hold it
            end = index + 1
            while end < len(pieces) and pieces[end].style == "code" and pieces[end].continued:
                end += 1
            block = sum(heights[index:end])
            if used + block > limit and block <= height_pt:
                pages.append([])
                used = 0.0
                limit = height_pt
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
            if measure.total(moved, size) <= height_pt:
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
    measure = Heights(width, metrics, rules)
    sizes = sizes_between(high or rules.body_max, rules.body_floor, rules.step)
    code_cap = code_size_cap(paras, sizes, width, metrics, rules)
    if code_cap is not None:
        sizes = [s for s in sizes if s <= code_cap]

    def block(page: Sequence[Para], size: float) -> TextBlock:
        return TextBlock(tuple(page), size, para_tops(page, size, measure, rules))

    for size in sizes:
        if measure.total(paras, size, limit=height) <= height:
            return [block(paras, size)]
    floor = len(paginate(paras, rules.body_floor, width, height, metrics, rules, heights=measure))
    for size in sizes:
        if len(paginate(paras, size, width, height, metrics, rules, heights=measure)) > floor:
            continue
        # even the pages out: the smallest capacity that keeps the page count
        total = measure.total(paras, size)
        for k in range(0, 21):
            cap = min(height, total / floor * (1 + 0.05 * k))
            pages = paginate(paras, size, width, height, metrics, rules, cap, heights=measure)
            if len(pages) <= floor:
                return [block(p, size) for p in pages]
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
    reserve: int = 0,
) -> tuple[float, Box, Box, Box] | None:
    """Paragraphs across the top and two columns under them, at one size; None if too big.

    Returns (size, top box, left box, right box); the top box is empty when ``top`` is.
    ``reserve`` (EMU) is kept free between the left column and the gap (where the answer
    reveal puts the letter each term matches).
    """
    full_w = text_width_pt(box, insets)
    # the wider text gets the wider column (terms are short, definitions long)
    widest = [max((metrics.width(p.text, 20) for p in side), default=1.0) for side in (left, right)]
    share = min(0.65, max(0.35, widest[0] / (widest[0] + widest[1])))
    left_col = Box(box.left, box.top, int((box.width - gap - reserve) * share), box.height)
    right_col = Box(0, 0, box.width - gap - reserve - left_col.width, box.height)
    left_w, right_w = text_width_pt(left_col, insets), text_width_pt(right_col, insets)
    pad = (insets.top + insets.bottom) / EMU_PER_PT
    for size in sizes_between(rules.body_max, rules.body_floor, rules.step):
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
            right_left = box.left + left_col.width + reserve + gap
            right_box = Box(right_left, y, right_col.width, box.bottom - y)
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
    limit: int | None = None,
) -> tuple[float, int]:
    """(size, height in EMU needed): the largest size at which the title fits its box.

    When it does not fit even at ``low``, the height it needs at ``low`` is returned, and the
    planner grows the title box into the body area. With ``limit`` (EMU), a title needing more
    than that is measured only far enough to tell: the height returned is then above ``limit``
    but may be less than the whole title needs.
    """
    width, height = text_width_pt(box, insets), text_height_pt(box, insets)
    pieces = [Piece(title, bold=True)]
    for size in sizes_between(high, low, step):
        line = metrics.line_height(size)
        # more lines than the box holds fail however many more: stop counting there
        lines = metrics.count_lines(pieces, width, size, most=max(0, int(height // line) + 1))
        if lines * line <= height:
            return size, box.height
    most = None
    if limit is not None:
        most = max(0, int(limit // (metrics.line_height(low) * EMU_PER_PT)) + 1)
    lines = metrics.count_lines(pieces, width, low, most=most)
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
        return fit_title(text + suffix, box, insets, metrics, high, low, limit=limit)[1] <= limit

    if fits(title):
        return title

    def cut(end: int) -> str:
        return title[:end].rstrip(" \t\n,;:-–—") + ELLIPSIS

    words = [m.start() for m in re.finditer(r"\s+", title) if m.start() > 0]
    for ends in (words, list(range(1, len(title)))):
        best = last_fitting(len(ends), 0, lambda i, ends=ends: fits(cut(ends[i])))
        if best is not None:
            return cut(ends[best])
    return ELLIPSIS


def fit_footer(text: str, width: int, metrics: TextMetrics, size: float) -> str:
    """The footer ``text`` shortened with " …" (at a word) to one line of a footer box
    ``width`` EMU wide (its default insets taken off)."""
    avail = (width - 2 * 91440) / EMU_PER_PT
    if metrics.count_lines([Piece(text)], avail, size, most=1) <= 1:
        return text
    words = text.split()

    def cut(count: int) -> str:
        return " ".join(words[:count]) + " …"

    # the most words that fit, found by galloping from the start: a 4,000-word title costs a
    # few short measurements, not one measurement of the whole title per word dropped
    most = last_fitting(
        len(words) + 1, 0, lambda k: metrics.count_lines([Piece(cut(k))], avail, size, most=1) <= 1
    )
    return cut(most or 0)
