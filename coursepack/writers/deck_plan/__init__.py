"""The deck as plain data: which slides, their titles, paragraphs, sizes and splits.

Like Pandoc's ``Presentation.hs``, this is the first of two stages: :func:`plan_deck` turns a
:class:`~coursepack.model.Lesson` into a :class:`DeckPlan` of frozen dataclasses, one class per
slide kind, testable without python-pptx; :mod:`coursepack.writers.deck` writes it. Every fitting
decision is made here, with real font metrics (:mod:`coursepack.writers.text_metrics`): text is
sized between a maximum and a floor, and beyond the floor a slide is split into continuation
slides titled "… (2/3)" (tables by rows with the header repeated, an over-long bullet at sentence
boundaries, then at words). A title too long for its box even at the floor (a paragraph pasted as
a heading) is cut at a word with "…", and the whole title goes to the speaker notes.

The package, one module per seam:

* :mod:`.slides` — the plan's types: geometry, sizes, runs and paragraphs, tables, pictures,
  the slide classes and :class:`DeckPlan`;
* :mod:`.paras` — lesson → paragraphs: inlines to runs, blocks to paragraphs and notes, the
  faces and answers of graded blocks;
* :mod:`.text_fit`, :mod:`.table_fit`, :mod:`.picture_fit` — measuring and fitting;
* :mod:`.planner` — topics and sections to slides (:func:`plan_deck`).

This module re-exports the names the writer and the tests use.
"""

from coursepack.writers.deck_plan.paras import graded_face_and_notes, graded_title, runs_of
from coursepack.writers.deck_plan.picture_fit import fit_picture, image_size
from coursepack.writers.deck_plan.planner import plan_deck
from coursepack.writers.deck_plan.slides import (
    EMU_PER_INCH,
    EMU_PER_PT,
    Box,
    CalloutSlide,
    Cell,
    ColumnsSlide,
    CoverSlide,
    DeckPlan,
    FitRules,
    Insets,
    LayoutRole,
    Mark,
    Panel,
    Para,
    PicturePlan,
    PictureSlide,
    QuestionSlide,
    Reveal,
    Run,
    SectionSlide,
    Slide,
    SlideGeometry,
    TablePlan,
    TableSlide,
    TextAndPictureSlide,
    TextBlock,
    TextSlide,
    TitleOnlySlide,
    TwoColumnSlide,
    clean,
)
from coursepack.writers.deck_plan.table_fit import fit_table
from coursepack.writers.deck_plan.text_fit import (
    fit_columns,
    fit_footer,
    fit_text,
    fit_title,
    frame_height,
    indent_of,
    paginate,
    para_height,
    para_size,
    shorten_title,
    space_before,
    split_para,
    text_height_pt,
    text_width_pt,
)

__all__ = [
    "EMU_PER_INCH",
    "EMU_PER_PT",
    "Box",
    "CalloutSlide",
    "Cell",
    "ColumnsSlide",
    "CoverSlide",
    "DeckPlan",
    "FitRules",
    "Insets",
    "LayoutRole",
    "Mark",
    "Para",
    "PicturePlan",
    "Panel",
    "PictureSlide",
    "QuestionSlide",
    "Reveal",
    "Run",
    "SectionSlide",
    "Slide",
    "SlideGeometry",
    "TablePlan",
    "TableSlide",
    "TextAndPictureSlide",
    "TextBlock",
    "TextSlide",
    "TitleOnlySlide",
    "TwoColumnSlide",
    "clean",
    "fit_columns",
    "fit_footer",
    "fit_picture",
    "fit_table",
    "fit_text",
    "fit_title",
    "frame_height",
    "graded_face_and_notes",
    "graded_title",
    "image_size",
    "indent_of",
    "paginate",
    "para_height",
    "para_size",
    "plan_deck",
    "runs_of",
    "shorten_title",
    "space_before",
    "split_para",
    "text_height_pt",
    "text_width_pt",
]
