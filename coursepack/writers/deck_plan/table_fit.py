"""Fitting tables: column widths, row heights, the largest size that fits, splits by rows
and by columns.

A table is written at the largest size from ``table_max`` down to the floor that fits the
content area; beyond that it is split by rows onto continuation slides with the header repeated.
A row taller than a slide even at the floor is cut at sentence ends (else words) into several
rows, and a header taller than a third of the area is cut the same way. No word is ever broken
inside a cell: every column is at least as wide as its longest word, and a table too wide for
that even at the floor (13 months, 150 columns) is split by columns onto continuation slides,
each repeating the first column (the row labels).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace

from coursepack.model import Table
from coursepack.writers.deck_plan.paras import runs_of
from coursepack.writers.deck_plan.slides import EMU_PER_PT, Box, Cell, FitRules, TablePlan
from coursepack.writers.deck_plan.text_fit import boundaries, run_starts, sizes_between, slice_runs
from coursepack.writers.text_metrics import Piece, TextMetrics
from coursepack.writers.wide_tables import column_groups


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
    natural_emu, minimum_emu = _extents(header, rows, size, metrics)
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


def _extents(
    header: Sequence[Cell], rows: Sequence[Sequence[Cell]], size: float, metrics: TextMetrics
) -> tuple[list[float], list[float]]:
    """Per column, in EMU with the cell margins: its widest line unwrapped (natural) and its
    longest word (the least width that breaks no word)."""
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
    return natural_emu, minimum_emu


def _least_width(
    header: Sequence[Cell], rows: Sequence[Sequence[Cell]], size: float, metrics: TextMetrics
) -> float:
    """The narrowest the table can be at ``size`` without breaking a word."""
    return sum(_extents(header, rows, size, metrics)[1])


def _column_groups(
    header: Sequence[Cell],
    rows: Sequence[Sequence[Cell]],
    box: Box,
    metrics: TextMetrics,
    rules: FitRules,
) -> list[list[int]]:
    """The columns of each slide of a table: all of them when every column fits its longest
    word at the floor, else split with the first column repeated (see
    :mod:`coursepack.writers.wide_tables`)."""
    _, least = _extents(header, rows, rules.body_floor, metrics)
    return column_groups(least, box.width)


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


class _CellCuts:
    """One cell's text and its sentence (or word) boundaries, to cut it into ``parts`` pieces
    again and again without scanning the boundaries each time."""

    def __init__(self, cell: Cell, sentences: bool) -> None:
        self.cell = cell
        self.length = sum(len(r.text) for r in cell)
        self.bounds = boundaries("".join(r.text for r in cell), sentences)
        self.starts = run_starts(cell)

    def edges(self, parts: int) -> list[int]:
        """Where the ``parts`` pieces start and end: each cut at the boundary nearest to an
        even share of the text (the earlier one on a tie), found by bisection."""
        bounds, length = self.bounds, self.length
        cuts = []
        for i in range(1, parts):
            target = length * i / parts
            if not bounds:
                cuts.append(length)
                continue
            j = bisect_left(bounds, target)
            if j == len(bounds) or (
                j > 0 and abs(bounds[j - 1] - target) <= abs(bounds[j] - target)
            ):
                j -= 1
            cuts.append(bounds[j])
        return [0, *sorted(set(cuts)), length]

    def piece(self, edges: Sequence[int], i: int) -> Cell:
        """The ``i``-th piece between ``edges`` (empty past the last edge)."""
        if i + 1 >= len(edges):
            return ()
        return slice_runs(self.cell, edges[i], edges[i + 1], self.starts)


def _split_tall_rows(
    header: tuple[Cell, ...],
    rows: tuple[tuple[Cell, ...], ...],
    box: Box,
    metrics: TextMetrics,
    rules: FitRules,
) -> tuple[tuple[Cell, ...], ...]:
    """Rows too tall for a slide even at the floor become several rows (cut at words).

    The fewest parts that fit are tried from two up, as ever; a try stops at its first piece
    that does not fit (with too few parts that is the first piece, a 1/parts share of the
    text), so a 12,800-word row costs about (text × log parts) measurements, not text × parts.
    """
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
        pieces: list[tuple[Cell, ...]] = [row]
        for sentences in (True, False):
            cells = [_CellCuts(cell, sentences) for cell in row]
            most = max(len(c.bounds) for c in cells) + 1
            found = False
            for parts in range(2, min(most, 500) + 1):
                edges = [c.edges(parts) for c in cells]
                pieces = []
                for i in range(parts):
                    piece = tuple(c.piece(e, i) for c, e in zip(cells, edges, strict=True))
                    if not fits(piece):
                        break
                    pieces.append(piece)
                else:
                    found = True
                    break
            if found:
                break
            if most >= 2:  # none fits: the last try's pieces, as many as it made
                last = min(most, 500)
                edges = [c.edges(last) for c in cells]
                pieces = [
                    tuple(c.piece(e, i) for c, e in zip(cells, edges, strict=True))
                    for i in range(last)
                ]
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
    """The table at the largest size that fits, else split by rows with the header repeated;
    a table too wide for its words is first split by columns, the first column repeated."""
    header = tuple(runs_of(cell.inlines) for cell in table.header)
    rows = tuple(tuple(runs_of(cell.inlines) for cell in row) for row in table.rows)
    aligns = tuple(table.aligns) + ("",) * (len(header) - len(table.aligns))
    groups = _column_groups(header, rows, box, metrics, rules)

    def fit(columns: list[int], rules: FitRules) -> list[TablePlan]:
        def pick(cells: Sequence[Cell]) -> tuple[Cell, ...]:
            return tuple(cells[c] if c < len(cells) else () for c in columns)

        rows_of = tuple(pick(row) for row in rows)
        aligns_of = tuple(aligns[c] for c in columns)
        return _fit_rows(pick(header), rows_of, aligns_of, box, metrics, rules)

    parts = [fit(columns, rules) for columns in groups]
    smallest = min(plan.size for part in parts for plan in part)
    if len(parts) > 1 and any(plan.size != smallest for part in parts for plan in part):
        # One table, one size: every slide of its columns at the size the widest part needs.
        parts = [fit(columns, replace(rules, table_max=smallest)) for columns in groups]
    return [plan for part in parts for plan in part]


def _fit_rows(
    header: tuple[Cell, ...],
    rows: tuple[tuple[Cell, ...], ...],
    aligns: tuple[str, ...],
    box: Box,
    metrics: TextMetrics,
    rules: FitRules,
) -> list[TablePlan]:
    """Columns that fit side by side at the floor: the largest size that fits, else split by
    rows with the header repeated."""
    header, rows = _fit_header(header, rows, box, metrics, rules)
    rows = _split_tall_rows(header, rows, box, metrics, rules)

    def layout(size: float) -> tuple[list[int], int, list[int]]:
        widths = _table_widths(header, rows, size, box, metrics)
        head = _row_height(header, widths, size, True, metrics)
        return widths, head, [_row_height(r, widths, size, False, metrics) for r in rows]

    def pages(size: float) -> tuple[list[int], int, list[list[int]]] | None:
        if size > rules.body_floor and _least_width(header, rows, size, metrics) > box.width:
            return None  # a word would be broken at this size
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

    sizes = sizes_between(rules.table_max, rules.body_floor, rules.step)
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
