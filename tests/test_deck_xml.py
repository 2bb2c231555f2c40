"""The deck writer's shortcuts past python-pptx's proxies give python-pptx's own XML.

Each shortcut (coursepack/writers/pptx_xml.py) writes what a python-pptx call sequence would
write, faster; these tests make the same shapes and slides both ways and compare the bytes.
"""

from __future__ import annotations

import io
import random

from lxml import etree
from pptx import Presentation
from pptx.enum.dml import MSO_THEME_COLOR
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR
from pptx.util import Emu, Pt

from coursepack.writers import pptx_xml as X


def _slide():
    prs = Presentation()
    return prs, prs.slides.add_slide(prs.slide_layouts[6])


def _reference_mark(slide, frame, badge, alt: str) -> list[int]:
    """The marks as the deck writer made them through python-pptx (before the shortcut)."""
    ids = []
    accent, paper = MSO_THEME_COLOR.ACCENT_2, MSO_THEME_COLOR.BACKGROUND_1
    if frame is not None:
        shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *(Emu(v) for v in frame))
        shape.adjustments[0] = 0.2
        shape.fill.background()
        shape.line.color.theme_color = accent
        shape.line.width = Pt(2.5)
        X.drop_style(shape)
        shape.name = f"Answer frame {len(slide.shapes)}"
        X.set_decorative(shape)
        ids.append(shape.shape_id)
    left, top, width, height = badge
    kind = MSO_SHAPE.OVAL if width == height else MSO_SHAPE.ROUNDED_RECTANGLE
    shape = slide.shapes.add_shape(kind, *(Emu(v) for v in badge))
    shape.fill.solid()
    shape.fill.fore_color.theme_color = accent
    shape.line.fill.background()
    X.drop_style(shape)
    shape.name = f"Answer mark {len(slide.shapes)}"
    X.set_alt_text(shape, alt)
    ids.append(shape.shape_id)
    tf = shape.text_frame
    X.body_pr(tf, anchor="ctr", insets=(0, 0, 0, 0))
    tf.vertical_anchor = MSO_ANCHOR.MIDDLE
    side = width
    points = [(0.27, 0.53), (0.44, 0.70), (0.75, 0.33)]
    x0, y0 = left + side * points[0][0], top + side * points[0][1]
    builder = slide.shapes.build_freeform(int(x0), int(y0))
    builder.add_line_segments(
        [(int(left + side * x), int(top + side * y)) for x, y in points[1:]], close=False
    )
    tick = builder.convert_to_shape()
    tick.fill.background()
    tick.line.color.theme_color = paper
    tick.line.width = Emu(int(side * 0.11))
    X.drop_style(tick)
    X.round_line(tick)
    tick.name = f"Answer tick {len(slide.shapes)}"
    X.set_decorative(tick)
    ids.append(tick.shape_id)
    return ids


def _fast_mark(slide, frame, badge, alt: str) -> list[int]:
    ids = []
    if frame is not None:
        ids.append(X.add_answer_frame(slide, frame, "accent2", Pt(2.5)))
    ids.append(X.add_answer_badge(slide, badge, "accent2", alt)[1])
    left, top, side, _ = badge
    points = [(0.27, 0.53), (0.44, 0.70), (0.75, 0.33)]
    x0, y0 = left + side * points[0][0], top + side * points[0][1]
    path = [(int(x0), int(y0))]
    path += [(int(left + side * x), int(top + side * y)) for x, y in points[1:]]
    ids.append(X.add_answer_tick(slide, path, "bg1", int(side * 0.11)))
    return ids


def test_answer_marks_are_the_shapes_python_pptx_makes() -> None:
    rng = random.Random(18)
    for n in range(60):
        before, after = _slide()[1], _slide()[1]
        for slide in (before, after):  # something on the slide already: ids follow it
            slide.shapes.add_textbox(Emu(1), Emu(2), Emu(3), Emu(4))
        for _ in range(rng.randint(1, 3)):
            frame = None
            if rng.random() < 0.6:
                frame = tuple(rng.randint(0, 9_000_000) for _ in range(4))
            side = rng.randint(100_000, 600_000)
            badge = (rng.randint(0, 9_000_000), rng.randint(0, 6_000_000), side, side)
            if n % 5 == 0:  # a wide badge (a label): a rounded rectangle
                badge = (*badge[:3], side // 2)
            alt = rng.choice(["Correct answer", 'Matches "F" & <G>', "Zeile\nzwei"])
            assert _reference_mark(before, frame, badge, alt) == _fast_mark(
                after, frame, badge, alt
            )
        assert etree.tostring(before._element) == etree.tostring(after._element)


def test_copied_slides_and_notes_are_the_ones_python_pptx_makes() -> None:
    """NewSlides, NotesSlides, fast part names and the one-pass save against python-pptx."""

    def deck(fast: bool) -> bytes:
        prs = Presentation()
        if fast:
            X.fast_partnames(prs)
            slides, notes = X.NewSlides(prs), X.NotesSlides()
        for i in range(12):
            layout = prs.slide_layouts[i % 3]
            slide = slides.add_slide(layout) if fast else prs.slides.add_slide(layout)
            slide.shapes.title.text = f"Slide {i}"
            if i % 4 != 1:
                page = notes.notes_slide(slide) if fast else slide.notes_slide
                page.notes_text_frame.text = f"Notes {i}"
        if fast:
            return X.save_stable(prs)
        buf = io.BytesIO()
        prs.save(buf)
        return X.stable_zip(buf.getvalue())

    assert deck(True) == deck(False)
