"""Splitting a table too wide for its slide or page by columns, the first column repeated.

Both the deck (which measures each column's longest word) and the handout (where WeasyPrint
lays the table out at its narrowest) use this one rule: the first column (the row labels) on
every part, then as many more columns as fit beside it, in parts as even as the widths allow.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def column_groups(least: Sequence[float], room: float) -> list[list[int]]:
    """The columns of each part of a table whose columns need ``least`` widths side by side
    in ``room``: all of them when they fit; else the first column and as many more as fit,
    each part as wide as the widest needs (so the last part is not left with one column). A
    column too wide for the room beside the first column goes alone."""
    if sum(least) <= room or len(least) < 2:
        return [list(range(len(least)))]
    labels = least[0]
    if labels + min(least[1:]) > room:
        # Row labels too wide to stand beside any column: split without repeating them.
        return _parts(least, room, 0.0, 0)
    return [
        [0, *g] if len(g) > 1 or labels + least[g[0]] <= room else g
        for g in _parts(least, room, labels, 1)
    ]


def _parts(least: Sequence[float], room: float, labels: float, first: int) -> list[list[int]]:
    """The columns from ``first`` on in parts that each fit in ``room`` beside ``labels``
    (a column too wide alone is a part of its own), as even as the widths allow."""

    def greedy(limit: float) -> list[list[int]]:
        """As many columns a part as fit in ``limit``, from the first part on."""
        groups: list[list[int]] = [[]]
        used = labels
        for c in range(first, len(least)):
            if groups[-1] and used + least[c] > limit:
                groups.append([])
                used = labels
            groups[-1].append(c)
            used += least[c]
        return groups

    groups = greedy(room)
    # The least room that still needs no more parts (found by bisection) evens them out.
    low, high = labels + max(least[first:]), float(room)
    for _ in range(40):
        middle = (low + high) / 2
        if len(greedy(middle)) <= len(groups):
            high = middle
        else:
            low = middle
    if high <= room:
        groups = greedy(high)
    # Greedy parts are fullest first and leave the last short: as many columns a part, else
    # cuts where each part's share of the width ends (the nearest column edge), if they fit.
    data = least[first:]
    edges = [0.0]
    for width in data:
        edges.append(edges[-1] + width)
    k = len(groups)
    by_count = [round(len(data) * i / k) for i in range(k + 1)]
    by_width = [_nearest(edges, edges[-1] * i / k) for i in range(k + 1)]
    for cuts in (by_count, by_width):
        even = [
            list(range(a + first, b + first)) for a, b in zip(cuts, cuts[1:], strict=False) if b > a
        ]
        if len(even) == k and all(labels + sum(least[c] for c in g) <= room for g in even):
            groups = even
            break
    return groups


def _nearest(edges: Sequence[float], value: float) -> int:
    """The index of the value in the sorted ``edges`` nearest to ``value`` (the earlier on a
    tie)."""
    i = bisect_left(edges, value)
    if i == len(edges) or (i > 0 and value - edges[i - 1] <= edges[i] - value):
        return i - 1
    return i
