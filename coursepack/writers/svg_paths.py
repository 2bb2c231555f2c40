"""A faster way for WeasyPrint to draw the SVG paths of formulas (same PDF operators).

A formula's drawing (:mod:`coursepack.formulas`) is glyph outlines: ``<path d="M x y L x y
Q x y x y … Z">`` with absolute commands only. WeasyPrint's general path parser handles every
SVG path form with a few regular expressions per coordinate, and a page of formulas spends
most of its printing time there (200 formulas: ~90,000 points, about 1 s per PDF). For a
path in exactly that simple form, :func:`install` draws it with one ``split``: the same
moves, lines and curves (a quadratic curve raised to a cubic as WeasyPrint does), so the
PDF is byte-identical; a glyph drawn before (each is placed by a transform) gives its
remembered operators again. Any other path (a lesson's picture is never SVG, but a layout's may
be) goes to WeasyPrint's own parser.

The only thing skipped is the list of vertices WeasyPrint keeps for markers; a path that
asks for markers is drawn by WeasyPrint's parser too.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

# Absolute M, L, Q and Z with plain decimal numbers, as ziafont writes glyph outlines.
_SIMPLE = re.compile(r"[MLQZ0-9.\- ]*")
_MARKERS = ("marker", "marker-start", "marker-mid", "marker-end")
# A glyph's outline always gives the same operators (it is placed by a transform): remembered
# by its path data, for a few thousand glyphs.
_OPERATORS: dict[str, tuple[bytes, ...]] = {}
_MAX_REMEMBERED = 4096


def install(weasyprint: ModuleType) -> bool:
    """Make WeasyPrint (already imported) draw simple paths fast; False if it cannot be
    done with this WeasyPrint (then nothing is changed)."""
    svg = getattr(weasyprint, "svg", None)
    tags = getattr(svg, "TAGS", None)
    original = tags.get("path") if isinstance(tags, dict) else None
    if original is None or getattr(original, "_coursepack_fast", False):
        return original is not None

    def path(drawing: Any, node: Any, font_size: float) -> None:
        d = node.get("d", "")
        if not _SIMPLE.fullmatch(d) or any(name in node.attrib for name in _MARKERS):
            original(drawing, node, font_size)
            return
        stream = drawing.stream
        operators = _OPERATORS.get(d)
        if operators is None or len(_OPERATORS) > _MAX_REMEMBERED:
            start = len(stream.stream)
            _draw(stream, d.split())
            operators = tuple(stream.stream[start:])
            if len(_OPERATORS) <= _MAX_REMEMBERED:
                _OPERATORS[d] = operators
        else:
            # the same glyph again (digits, x, +, =): its operators, as bytes, once more
            stream.stream.extend(operators)

    path._coursepack_fast = True  # type: ignore[attr-defined]
    tags["path"] = path
    return True


def _draw(stream: Any, tokens: list[str]) -> None:
    """Moves, lines and curves of an absolute M/L/Q/Z path, as WeasyPrint writes them."""
    current = (0.0, 0.0)
    stream.move_to(*current)  # WeasyPrint starts every path at the origin, too
    first: tuple[float, float] | None = None
    index, count = 0, len(tokens)
    letter = ""
    while index < count:
        token = tokens[index]
        if token in ("M", "L", "Q", "Z"):
            letter = token
            index += 1
            if letter == "Z":
                if first is not None:
                    stream.close()
                    current = first
                first = None
                continue
        if letter == "M":
            current = (float(tokens[index]), float(tokens[index + 1]))
            stream.move_to(*current)
            index += 2
            first = None
            letter = "L"  # further pairs after a move are lines
        elif letter == "L":
            if first is None:
                first = current
            current = (float(tokens[index]), float(tokens[index + 1]))
            stream.line_to(*current)
            index += 2
        elif letter == "Q":
            if first is None:
                first = current
            x1, y1 = current
            x2, y2 = float(tokens[index]), float(tokens[index + 1])
            x3, y3 = float(tokens[index + 2]), float(tokens[index + 3])
            stream.curve_to(
                x2 * 2 / 3 + x1 / 3,
                y2 * 2 / 3 + y1 / 3,
                x2 * 2 / 3 + x3 / 3,
                y2 * 2 / 3 + y3 / 3,
                x3,
                y3,
            )
            current = (x3, y3)
            index += 4
        else:  # numbers before any command: not a path we know
            raise ValueError("path data must start with a command")
