"""Splitting a table too wide for its slide or page by columns, the first column repeated.

Both the deck (which measures each column's longest word) and the handout (where WeasyPrint
lays the table out at its narrowest) use this one rule: the first column (the row labels) on
every part, then as many more columns as fit beside it, in parts as even as the widths allow.
"""

from __future__ import annotations

from collections.abc import Sequence


def column_groups(least: Sequence[float], room: float) -> list[list[int]]:
    """The columns of each part of a table whose columns need ``least`` widths side by side
    in ``room``: all of them when they fit; else the first column and as many more as fit,
    each part as wide as the widest needs (so the last part is not left with one column). A
    column too wide for the room beside the first column goes alone."""
    if sum(least) <= room or len(least) < 2:
        return [list(range(len(least)))]
    labels = least[0]

    def greedy(limit: float) -> list[list[int]]:
        """The columns after the first, as many a part as fit in ``limit`` beside it."""
        groups: list[list[int]] = [[]]
        used = labels
        for c in range(1, len(least)):
            if groups[-1] and used + least[c] > limit:
                groups.append([])
                used = labels
            groups[-1].append(c)
            used += least[c]
        return groups

    groups = greedy(room)
    # The least room that still needs no more parts (found by bisection) evens them out.
    low, high = labels + max(least[1:]), float(room)
    for _ in range(40):
        middle = (low + high) / 2
        if len(greedy(middle)) <= len(groups):
            high = middle
        else:
            low = middle
    if high <= room:
        groups = greedy(high)
    return [[0, *g] if len(g) > 1 or labels + least[g[0]] <= room else g for g in groups]
