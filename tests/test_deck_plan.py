"""The deck plan: pure data, tested without python-pptx.

Fixtures are read with the lesson reader; a few model objects are built by hand to aim at one
rule at a time (a 1,000-character bullet, control characters, shuffles).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import assert_never

import pytest

from coursepack.model import (
    BulletList,
    Cloze,
    Lesson,
    ListItem,
    Match,
    MatchPair,
    Meta,
    Order,
    OrderItem,
    Paragraph,
    Section,
    Table,
    TableCell,
    Text,
    Topic,
    plain_text,
)
from coursepack.reader import read_lesson
from coursepack.writers.deck_plan import (
    EMU_PER_PT,
    Box,
    CoverSlide,
    DeckPlan,
    FitRules,
    Para,
    PictureSlide,
    QuestionSlide,
    Run,
    SectionSlide,
    Slide,
    SlideGeometry,
    TableSlide,
    TextAndPictureSlide,
    TextBlock,
    TextSlide,
    TitleOnlySlide,
    TwoColumnSlide,
    clean,
    fit_text,
    frame_height,
    graded_face_and_notes,
    plan_deck,
    split_para,
    text_height_pt,
    text_width_pt,
)
from coursepack.writers.text_metrics import Piece, default_metrics

FIXTURES = Path(__file__).parent / "fixtures" / "deck"
ROOT = Path(__file__).resolve().parent.parent
GEOMETRY = SlideGeometry.default()
METRICS = default_metrics()
RULES = FitRules()


def read(name: str) -> Lesson:
    lesson, diags = read_lesson(FIXTURES / name)
    assert lesson is not None, diags
    assert not [d for d in diags if d.is_error], diags
    return lesson


def plan_of(lesson: Lesson) -> DeckPlan:
    return plan_deck(lesson, GEOMETRY, METRICS, pixel_size=lambda image: (400, 250))


def frames(slide: Slide) -> list[tuple[Box, TextBlock]]:
    """Every text frame of a slide with the box it is written in (the layout's when None)."""
    match slide:
        case CoverSlide():
            box = slide.subtitle_box or GEOMETRY.cover_subtitle
            return [(box, slide.subtitle)] if slide.subtitle and box else []
        case SectionSlide() | TitleOnlySlide() | TableSlide() | PictureSlide():
            return []
        case TextSlide() | QuestionSlide():
            return [(slide.body_box or GEOMETRY.body, slide.body)]
        case TextAndPictureSlide():
            return [(slide.body_box, slide.body)]
        case TwoColumnSlide():
            top = [(slide.top_box, slide.top)] if slide.top and slide.top_box else []
            return [*top, (slide.first_box, slide.first), (slide.second_box, slide.second)]
        case _:
            assert_never(slide)


def face_text(slide: Slide) -> str:
    parts = [slide.title]
    for _, block in frames(slide):
        parts.extend(p.text for p in block.paras)
    if isinstance(slide, TableSlide):
        for row in (slide.table.header, *slide.table.rows):
            parts.extend("".join(r.text for r in cell) for cell in row)
    if isinstance(slide, (PictureSlide, TextAndPictureSlide)):
        parts.append(slide.picture.caption)
    return "\n".join(parts)


def lesson_of(*topics: Topic, title: str = "T") -> Lesson:
    return Lesson(Path("x.md"), Meta(title=title), (), (Section((Text("S"),), (), topics, 1),))


def bullet(text: str, line: int = 1) -> BulletList:
    return BulletList((ListItem((Text(text),), (), line),), line)


# --------------------------------------------------------------------------- structure


def test_slide_kinds_and_titles_of_a_small_lesson() -> None:
    plan = plan_of(read("small.md"))
    got = [(type(s), s.title.replace("\u00a0", " ")) for s in plan.slides]
    assert got == [
        (CoverSlide, "A Small Lesson"),
        (TextSlide, "Overview"),
        (SectionSlide, "First Section"),
        (TextSlide, "Bullets and Levels"),
        (TextAndPictureSlide, "Quote, Code and Picture"),
        (PictureSlide, "A Picture Alone"),
        (TableSlide, "A Table"),
        (SectionSlide, "Second Section"),
        # a topic that opens with a question ("Questions": its name only repeats the word)
        (QuestionSlide, "Question 1 (2 points)"),
        (QuestionSlide, "Question 2 (3 points)"),
        (TwoColumnSlide, "Question 3 (1 point)"),
        (QuestionSlide, "Question 4 (1 point)"),
    ]
    assert plan.title == "A Small Lesson" and plan.footer == "A Small Lesson"
    # no footer on the cover; the others carry it (short enough to need no cut here)
    assert plan.slides[0].footer is None
    assert all(s.footer == "A Small Lesson" for s in plan.slides[1:])


def test_bullet_levels_and_bold_cloze() -> None:
    plan = plan_of(read("small.md"))
    slide = next(s for s in plan.slides if s.title == "Bullets and Levels")
    levels = [(p.level, p.style) for p in slide.body.paras]
    assert levels[:4] == [(0, "bullet"), (1, "bullet"), (2, "bullet"), (0, "bullet")]
    blank = [r for r in slide.body.paras[3].runs if r.text == "blank"]
    assert blank and blank[0].bold
    assert any(r.mono and r.text == "code" for r in slide.body.paras[0].runs)


def test_quote_is_italic_and_code_is_monospace() -> None:
    plan = plan_of(read("small.md"))
    slide = next(s for s in plan.slides if s.title == "Quote, Code and Picture")
    styles = [p.style for p in slide.body.paras]
    assert styles == ["quote", "code", "code"]
    assert all(r.italic for r in slide.body.paras[0].runs)
    assert all(r.mono for p in slide.body.paras[1:] for r in p.runs)


def test_picture_keeps_aspect_and_alt_text() -> None:
    plan = plan_of(read("small.md"))
    beside, alone = [s for s in plan.slides if isinstance(s, (TextAndPictureSlide, PictureSlide))]
    area = GEOMETRY.area
    for slide in (beside, alone):
        pic = slide.picture
        assert abs(pic.box.width / pic.box.height - 400 / 250) < 0.01
        assert area.left <= pic.box.left and pic.box.left + pic.box.width <= area.left + area.width
        assert area.top <= pic.box.top and pic.box.bottom <= area.bottom
    assert beside.picture.alt == "A simple blue map of the region"
    assert beside.picture.caption_box is not None
    assert beside.picture.caption_box.bottom <= area.bottom
    assert alone.picture.alt == "The same map, on a slide of its own"
    assert isinstance(alone, PictureSlide)


def test_short_text_and_a_picture_share_a_slide_side_by_side() -> None:
    plan = plan_of(read("small.md"))
    slide = next(s for s in plan.slides if s.title == "Quote, Code and Picture")
    assert isinstance(slide, TextAndPictureSlide)
    text_box = slide.body_box
    assert text_box.left + text_box.width <= slide.picture.box.left
    assert slide.body.size >= 22


def test_every_slide_has_a_title() -> None:
    for name in ("small.md", "overflow.md"):
        for slide in plan_of(read(name)).slides:
            assert slide.title.strip(), slide


# --------------------------------------------------------------------------- audiences


def test_no_handout_or_teacher_text_on_the_face_and_notes_present() -> None:
    plan = plan_of(read("small.md"))
    faces = "\n".join(face_text(s) for s in plan.slides)
    notes = "\n".join(n for s in plan.slides for n in s.notes)
    for marker in (
        "HANDOUT-ONLY-MARKER",
        "TEACHER-ONLY-MARKER",
        "SPEAKER-NOTE-MARKER",
        "MODEL-ANSWER-MARKER",
    ):
        assert marker not in faces, marker
    assert "SLIDES-ONLY-MARKER" in faces
    assert "SPEAKER-NOTE-MARKER" in notes
    assert "Teacher note: TEACHER-ONLY-MARKER" in notes
    assert "HANDOUT-ONLY-MARKER" not in notes
    assert plan.slides[1].notes == ("Intro speaker note.",)


def test_question_slides_carry_numbers_and_answers_go_to_notes() -> None:
    plan = plan_of(read("small.md"))
    questions = [s for s in plan.slides if isinstance(s, (QuestionSlide, TwoColumnSlide))]
    assert [re.search(r"Question\s(\d+)", s.title)[1] for s in questions] == ["1", "2", "3", "4"]
    mc, open_q, match, order = questions
    assert [p.prefix for p in mc.body.paras if p.prefix] == ["A.", "B.", "C."]
    assert mc.notes[0] == "Answer: B — Roméo Dallaire"
    assert open_q.notes[0].startswith("Model answer: MODEL-ANSWER-MARKER")
    assert match.notes[0].startswith("Answers: 1 — ")
    assert order.notes[0].startswith("Correct order: ")
    for slide in questions:
        assert not any("Answer" in line for line in face_text(slide).splitlines()[1:])


def test_matching_is_shuffled_on_two_columns() -> None:
    plan = plan_of(read("small.md"))
    match = next(s for s in plan.slides if "Question\u00a03" in s.title)
    assert isinstance(match, TwoColumnSlide), "terms and definitions side by side"
    definitions = [p.text for p in match.second.paras if p.style == "option"]
    defs = [t.split(" ", 1)[1] for t in definitions if t[0].isalpha()]
    written = ["Force Commander", "Head of UN peacekeeping", "Head of Mission"]
    assert sorted(defs) == sorted(written) and defs != written


def test_order_items_are_never_in_the_correct_order() -> None:
    for n in range(2, 9):
        items = tuple(OrderItem((Text(f"event {i}"),), i) for i in range(n))
        block = Order(1, 1, (), items, 1)
        paras, notes = graded_face_and_notes(block)
        shown = [p.runs[0].text for p in paras]
        assert shown != [f"event {i}" for i in range(n)]
        assert sorted(shown) == sorted(f"event {i}" for i in range(n))
        assert notes[0].startswith("Correct order: ")


def test_slides_letter_matching_and_ordering_like_the_handout() -> None:
    """One shuffle for every output: the projector and the paper give the same letters."""
    from coursepack.model import plain_text
    from coursepack.writers.handout import match_rows, order_rows

    people = ["Dallaire", "Booh-Booh", "Annan", "Riza", "Jean-Pierre", "Habyarimana"]
    roles = [
        "Force Commander",
        "Head of Mission",
        "Peacekeeping",
        "Deputy",
        "Informant",
        "President",
    ]
    pairs = tuple(
        MatchPair((Text(who),), (Text(role),), i)
        for i, (who, role) in enumerate(zip(people, roles, strict=True))
    )
    match = Match(7, 3, (), pairs, 1)
    face, notes = graded_face_and_notes(match)
    slide_definitions = [p.runs[0].text for p in face if p.prefix[:1].isalpha()]
    assert slide_definitions == [plain_text(r.definition) for r in match_rows(match)]
    assert notes[0] == "Answers: " + ", ".join(
        f"{r.number} — {r.answer}" for r in match_rows(match)
    )

    order = Order(8, 2, (), tuple(OrderItem((Text(f"event {i}"),), i) for i in range(5)), 1)
    face, _ = graded_face_and_notes(order)
    assert [p.runs[0].text for p in face] == [plain_text(r.inlines) for r in order_rows(order)]


def test_matching_notes_name_every_pair() -> None:
    pairs = tuple(MatchPair((Text(f"T{i}"),), (Text(f"D{i}"),), i) for i in range(4))
    _, notes = graded_face_and_notes(Match(5, 2, (), pairs, 1))
    assert len(notes) == 5
    assert all(f"T{i}" in notes[i + 1] and f"D{i}" in notes[i + 1] for i in range(4))


# --------------------------------------------------------------------------- fitting


def test_long_topic_splits_into_continuation_slides() -> None:
    plan = plan_of(read("overflow.md"))
    titles = [s.title for s in plan.slides if s.title.startswith("Fourteen Long Bullets")]
    n = len(titles)
    assert n >= 2
    assert titles == [f"Fourteen Long Bullets ({i}/{n})" for i in range(1, n + 1)]
    bodies = [s.body for s in plan.slides if s.title in titles]
    texts = [p.text for b in bodies for p in b.paras]
    assert [t.split(":")[0] for t in texts] == [f"Bullet {i}" for i in range(1, 15)]
    sizes = {b.size for b in bodies}
    assert len(sizes) == 1 and RULES.body_floor <= sizes.pop() <= RULES.body_max


def test_every_text_block_fits_its_box() -> None:
    for name in ("small.md", "overflow.md"):
        for slide in plan_of(read(name)).slides:
            for box, block in frames(slide):
                assert block.size >= RULES.body_floor
                height = frame_height(
                    block.paras, block.size, text_width_pt(box, GEOMETRY.insets), METRICS, RULES
                )
                assert height <= text_height_pt(box, GEOMETRY.insets) + 0.01, slide.title


def test_thirty_row_table_splits_with_the_header_repeated() -> None:
    plan = plan_of(read("overflow.md"))
    tables = [s for s in plan.slides if isinstance(s, TableSlide) and "Thirty" in s.title]
    assert len(tables) >= 2
    header = tables[0].table.header
    rows = []
    for slide in tables:
        table = slide.table
        assert table.header == header
        assert table.size >= RULES.body_floor
        assert sum(table.row_heights) <= table.box.height
        assert sum(table.col_widths) <= table.box.width
        rows.extend(table.rows)
    years = ["".join(r.text for r in row[0]) for row in rows]
    assert years == [str(1960 + i) for i in range(30)]
    n = len(tables)
    assert [s.title for s in tables] == [
        f"A Table Of Thirty Rows ({i}/{n})" for i in range(1, n + 1)
    ]


def _cell_text(cell) -> str:
    return "".join(run.text for run in cell)


def test_wide_tables_split_by_columns_and_no_column_is_narrower_than_a_word() -> None:
    """13 and 150 columns: every column at least as wide as its longest word (at the size it
    is written), the first column on every slide, all slides of a table at one size, every
    other column exactly once and in order."""
    lesson = read("wide-tables.md")
    source = [b for topic in lesson.sections[0].topics for b in topic.blocks]
    plan = plan_of(lesson)
    lr = 2 * 91440
    for table in source:
        assert isinstance(table, Table)
        labels = [plain_text(cell.inlines) for cell in table.header]
        slides = [
            s
            for s in plan.slides
            if isinstance(s, TableSlide) and labels[0] == _cell_text(s.table.header[0])
        ]
        assert len(slides) >= 2
        assert len({s.table.size for s in slides}) == 1
        shown = []
        for slide in slides:
            plan_table = slide.table
            assert sum(plan_table.col_widths) <= plan_table.box.width
            assert sum(plan_table.row_heights) <= plan_table.box.height
            for c, width in enumerate(plan_table.col_widths):
                for r, row in enumerate((plan_table.header, *plan_table.rows)):
                    for word in _cell_text(row[c]).split():
                        need = METRICS.width(word, plan_table.size, r == 0) / METRICS.slack
                        assert need * EMU_PER_PT + lr <= width, (slide.title, word)
            assert [_cell_text(row[0]) for row in plan_table.rows] == [
                plain_text(row[0].inlines) for row in table.rows
            ]
            shown.extend(_cell_text(cell) for cell in plan_table.header[1:])
        assert shown == labels[1:]


def test_column_groups_repeat_the_first_column_and_even_the_parts_out() -> None:
    from coursepack.writers.wide_tables import column_groups

    assert column_groups([5, 1, 1], 12) == [[0, 1, 2]]  # fits: one part
    # 4 + 4 + 4 columns beside the labels, not the greedy 5 + 5 + 2
    assert column_groups([2] * 13, 12) == [[0, 1, 2, 3, 4], [0, 5, 6, 7, 8], [0, 9, 10, 11, 12]]
    # as even as the widths allow: 6 + 6 + 1, not the greedy 7 + 5 + 1 (the last is 6 wide)
    assert column_groups([3, *[1] * 12, 6], 10) == [
        [0, *range(1, 7)],
        [0, *range(7, 13)],
        [0, 13],
    ]
    assert column_groups([5, 20, 1, 1], 12) == [[1], [0, 2, 3]]  # too wide even alone
    assert column_groups([11, 2, 2, 2], 12) == [[0], [1, 2, 3]]  # labels fit beside nothing


def _thousand_characters() -> str:
    sentences = [
        f"Sentence number {i} tells the class one more fact about the mission and its mandate."
        for i in range(1, 14)
    ]
    text = " ".join(sentences)
    assert len(text) >= 1000
    return text


def test_a_thousand_character_bullet_splits_at_sentence_boundaries() -> None:
    text = _thousand_characters()
    para = Para((Run(text),), 0, "bullet")
    box = Box(0, 0, GEOMETRY.body.width, GEOMETRY.body.height // 3)
    width, height = text_width_pt(box, GEOMETRY.insets), text_height_pt(box, GEOMETRY.insets)
    pieces = split_para(para, 18, width, height, METRICS, RULES)
    assert len(pieces) >= 2
    for piece in pieces:
        assert piece.text.endswith("."), piece.text[-40:]
        assert frame_height([piece], 18, width, METRICS, RULES) <= height
    assert [p.continued for p in pieces] == [False] + [True] * (len(pieces) - 1)
    assert " ".join(p.text for p in pieces) == text


def test_a_thousand_character_bullet_on_a_full_slide_becomes_continuation_slides() -> None:
    text = _thousand_characters()
    items = [bullet("An opening bullet that takes a line of its own on the slide.")]
    items += [bullet(text * 2, 3)]
    lesson = lesson_of(Topic((Text("Long"),), tuple(items), 2))
    slides = [s for s in plan_of(lesson).slides if s.title.startswith("Long")]
    assert len(slides) >= 2 and slides[0].title == f"Long (1/{len(slides)})"
    for slide in slides[1:]:
        assert all(p.text.endswith(".") for p in slide.body.paras)


def test_a_sentence_longer_than_a_page_splits_at_words() -> None:
    words = " ".join(f"word{i}" for i in range(400))
    para = Para((Run(words),), 0, "bullet")
    box = Box(0, 0, GEOMETRY.body.width, GEOMETRY.body.height // 2)
    width, height = text_width_pt(box, GEOMETRY.insets), text_height_pt(box, GEOMETRY.insets)
    pieces = split_para(para, 18, width, height, METRICS, RULES)
    assert len(pieces) >= 2
    assert " ".join(p.text for p in pieces) == words
    assert all(frame_height([p], 18, width, METRICS, RULES) <= height for p in pieces)


def test_sizes_go_down_to_the_floor_before_splitting() -> None:
    box = GEOMETRY.body
    short = [Para((Run("One short bullet."),))]
    assert fit_text(short, box, GEOMETRY.insets, METRICS, RULES)[0].size == RULES.body_max
    medium = [Para((Run("A bullet of moderate length that wraps onto a second line. " * 2),))] * 5
    blocks = fit_text(medium, box, GEOMETRY.insets, METRICS, RULES)
    assert len(blocks) == 1 and RULES.body_floor <= blocks[0].size < RULES.body_max


def test_a_150_character_title_fits() -> None:
    plan = plan_of(read("overflow.md"))
    long = [s for s in plan.slides if s.title.startswith("A Topic Title That Goes On")]
    assert len(long) == 2  # the cover and the topic
    cover, topic = long
    assert len(topic.title) == 150
    assert topic.title_size >= RULES.title_floor
    box = topic.title_box or GEOMETRY.title
    lines = METRICS.count_lines(
        [Piece(topic.title, bold=True)], text_width_pt(box, GEOMETRY.insets), topic.title_size
    )
    assert lines * METRICS.line_height(topic.title_size) <= text_height_pt(box, GEOMETRY.insets)
    assert lines >= 2  # shrunk and wrapped
    body = topic.body_box or GEOMETRY.body
    assert body.top >= box.bottom


def test_a_paragraph_pasted_as_a_title_is_shortened_with_the_whole_title_in_the_notes() -> None:
    long = " ".join(f"Word{i}" for i in range(300))
    lesson = Lesson(
        Path("x.md"),
        Meta(title=long),
        (),
        (Section((Text(long),), (), (Topic((Text(long),), (bullet("a bullet"),), 3),), 1),),
    )
    plan = plan_of(lesson)
    boxes = {
        CoverSlide: (GEOMETRY.cover_title, RULES.cover_max),
        SectionSlide: (GEOMETRY.section_title, RULES.title_max),
        TextSlide: (GEOMETRY.title, RULES.title_max),
    }
    assert [type(s) for s in plan.slides] == [CoverSlide, SectionSlide, TextSlide]
    for slide in plan.slides:
        assert slide.title.endswith("…") and len(slide.title) < len(long)
        assert long.startswith(slide.title[:-1])  # cut at a word, nothing else changed
        assert slide.notes[0] == f"Full title: {long}"
        assert slide.title_size >= RULES.title_floor
        box = slide.title_box or boxes[type(slide)][0]
        lines = METRICS.count_lines(
            [Piece(slide.title, bold=True)], text_width_pt(box, GEOMETRY.insets), slide.title_size
        )
        assert lines * METRICS.line_height(slide.title_size) <= text_height_pt(box, GEOMETRY.insets)
        assert box.top >= 0 and box.bottom <= GEOMETRY.height
    topic = plan.slides[-1]
    body = topic.body_box or GEOMETRY.body
    assert body.top >= (topic.title_box or GEOMETRY.title).bottom
    assert body.height >= GEOMETRY.body.height // 2
    assert plan.title == long  # the document properties keep the whole title


def test_control_characters_are_removed() -> None:
    para = Paragraph((Text("bell\x07 and\x00 nul\x1b esc \ufffe ok"),), 2)
    lesson = Lesson(
        Path("x.md"), Meta(title="Ti\x01tle"), (para,), (Section((Text("S\x0b"),), (), (), 1),)
    )
    plan = plan_of(lesson)
    texts = [face_text(s) for s in plan.slides]
    assert plan.slides[0].title == "Title"
    assert "bell and nul esc  ok" in texts[1]
    assert not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", t) for t in texts)


def _fixture_lessons() -> list[Lesson]:
    from coursepack.check import check_lesson

    lessons = []
    for path in [
        *sorted((ROOT / "tests" / "fixtures").rglob("*.md")),
        ROOT / "source" / "unamir.md",
    ]:
        lesson, diags = check_lesson(path)
        if lesson is not None and not [d for d in diags if d.is_error]:
            lessons.append(lesson)
    assert len(lessons) > 20
    return lessons


def test_no_two_slides_in_a_row_share_a_title_and_none_is_wasted() -> None:
    """Across the sample and every fixture lesson: consecutive titles differ (continuations
    say "(2/3)"), and a title-only slide comes only from a topic the author left empty."""
    for lesson in _fixture_lessons():
        empty = {clean(t.title_text) for s in lesson.sections for t in s.topics if not t.blocks}
        titles = [s.title for s in plan_of(lesson).slides]
        for before, after in zip(titles, titles[1:], strict=False):
            assert before != after, (lesson.path.name, before)
        for slide in plan_of(lesson).slides:
            if isinstance(slide, TitleOnlySlide):
                assert slide.title in empty, (lesson.path.name, slide.title)


def _section_lesson(intro: tuple, topics: tuple) -> Lesson:
    return Lesson(Path("x.md"), Meta(title="T"), (), (Section((Text("Sec"),), intro, topics, 1),))


def test_a_short_section_introduction_goes_on_the_section_slide() -> None:
    geometry = replace(GEOMETRY, section_body=Box(731520, 4343400, 10728655, 1097280))
    intro = (Paragraph((Text("Why this section matters."),), 2),)
    lesson = _section_lesson(intro, (Topic((Text("A"),), (bullet("x"),), 4),))
    plan = plan_deck(lesson, geometry, METRICS, pixel_size=lambda image: (1, 1))
    assert [type(s) for s in plan.slides] == [CoverSlide, SectionSlide, TextSlide]
    assert plan.slides[1].body.paras[0].text == "Why this section matters."


def test_a_long_section_introduction_opens_the_first_topic_instead_of_a_slide_of_its_own() -> None:
    intro = tuple(bullet(f"Introductory point number {i} about the section.", 2) for i in range(6))
    lesson = _section_lesson(intro, (Topic((Text("A"),), (bullet("first topic bullet"),), 9),))
    plan = plan_of(lesson)
    assert [(type(s), s.title) for s in plan.slides] == [
        (CoverSlide, "T"),
        (SectionSlide, "Sec"),
        (TextSlide, "A"),
    ]
    texts = [p.text for p in plan.slides[2].body.paras]
    assert texts[0].startswith("Introductory point number 0") and texts[-1] == "first topic bullet"
    # a section with no topics: its introduction's slides stand for it (no header repeating it)
    alone = plan_of(_section_lesson(intro, ()))
    assert [(type(s), s.title) for s in alone.slides] == [(CoverSlide, "T"), (TextSlide, "Sec")]


def test_sections_without_topics_and_empty_topics_still_have_titled_slides() -> None:
    lesson = lesson_of(Topic((Text("Empty"),), (), 2))
    kinds = [(type(s), s.title) for s in plan_of(lesson).slides]
    assert kinds == [(CoverSlide, "T"), (SectionSlide, "S"), (TitleOnlySlide, "Empty")]


def test_the_plan_never_imports_python_pptx() -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from coursepack.reader import read_lesson\n"
        "from coursepack.writers.deck_plan import plan_deck, SlideGeometry\n"
        "from coursepack.writers.text_metrics import default_metrics\n"
        "import coursepack.writers.deck\n"
        f"lesson, _ = read_lesson(Path({str(FIXTURES / 'small.md')!r}))\n"
        "plan_deck(lesson, SlideGeometry.default(), default_metrics())\n"
        "assert 'pptx' not in sys.modules, 'python-pptx imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("size", [18, 28])
def test_measuring_matches_the_metric_twin(size: int) -> None:
    # Arimo has Arial's advance widths: "Hello world" is 4.9464 em wide in Arial regular.
    width = METRICS.width("Hello world", size)
    assert width == pytest.approx(4.9464 * size, rel=0.01)
    assert METRICS.width("Hello world", size, bold=True) > width
    assert EMU_PER_PT == 12700


def test_a_table_row_taller_than_a_slide_is_cut_into_rows() -> None:
    plan = plan_of(read("overflow.md"))
    tables = [
        s.table
        for s in plan.slides
        if isinstance(s, TableSlide) and s.title.startswith("A Table With A Giant Cell")
    ]
    assert len(tables) >= 2
    text = ""
    for table in tables:
        assert sum(table.row_heights) <= table.box.height
        text += " ".join("".join(r.text for r in row[1]) for row in table.rows) + " "
    clauses = re.findall(r"Clause (\d+) of", text)
    assert clauses == [str(i) for i in range(1, 45)]
    assert text.rstrip().endswith("A short cell.")


def test_a_long_code_block_is_split_by_lines_in_monospace() -> None:
    plan = plan_of(read("overflow.md"))
    slides = [s for s in plan.slides if s.title.startswith("A Long Code Block")]
    assert len(slides) >= 2
    lines = [p.text for s in slides for p in s.body.paras]
    assert lines[0].startswith("line_01 = compute(1")
    assert all(p.style == "code" for s in slides for p in s.body.paras)


def test_a_long_cover_subtitle_still_fits() -> None:
    meta = Meta(title="T", subtitle="A subtitle that goes on. " * 30, course="C", author="A")
    cover = plan_of(Lesson(Path("x.md"), meta, (), ())).slides[0]
    box = cover.subtitle_box or GEOMETRY.cover_subtitle
    assert box.bottom <= GEOMETRY.height
    height = frame_height(
        cover.subtitle.paras,
        cover.subtitle.size,
        text_width_pt(box, GEOMETRY.insets),
        METRICS,
        RULES,
    )
    assert height <= text_height_pt(box, GEOMETRY.insets)
    assert cover.subtitle.size >= RULES.body_floor


# --------------------------------------------------------------------------- scaling
#
# Shapes that once planned in quadratic time or worse. Each test times two sizes in one run
# (CPU seconds, the best of a few tries) and compares the ratio: linear growth gives about the
# size ratio, quadratic its square. No absolute limits: a loaded machine slows both alike.


def _cpu_seconds(lesson: Lesson, tries: int) -> float:
    best = float("inf")
    for _ in range(tries):
        start = time.process_time()
        plan_of(lesson)
        best = min(best, time.process_time() - start)
    return best


def _giant_row(words: int) -> Lesson:
    text = " ".join(f"word{i % 97}" for i in range(words))
    cells = (TableCell((Text(text),), 3), TableCell((Text("short"),), 3))
    table = Table((TableCell((Text("a"),), 3), TableCell((Text("b"),), 3)), (cells,), ("", ""), 3)
    return lesson_of(Topic((Text("Row"),), (table,), 2))


def _many_bullets(count: int) -> Lesson:
    items = tuple(
        ListItem(
            (Text(f"Bullet {i} says something about the "), Cloze(f"topic {i}", 3), Text(".")),
            (),
            3,
        )
        for i in range(count)
    )
    return lesson_of(Topic((Text("Bullets"),), (BulletList(items, 3),), 2))


def _long_titles(words: int) -> Lesson:
    title = " ".join(f"Word{i}" for i in range(words))
    return lesson_of(Topic((Text(title),), (bullet("a bullet"),), 2), title=title)


def test_a_table_row_of_thousands_of_words_plans_in_linear_time() -> None:
    small, big = _cpu_seconds(_giant_row(2000), 3), _cpu_seconds(_giant_row(8000), 2)
    # 4x the words: about 4x the time (it was ~cubic: every cut scanned every boundary)
    assert big < 8 * small + 0.05, (small, big)
    rows = [
        row
        for s in plan_of(_giant_row(8000)).slides
        if isinstance(s, TableSlide)
        for row in s.table.rows
    ]
    words = " ".join("".join(r.text for r in row[0]) for row in rows).split()
    assert words == [f"word{i % 97}" for i in range(8000)]


def test_thousands_of_bullets_plan_in_linear_time() -> None:
    small, big = _cpu_seconds(_many_bullets(800), 3), _cpu_seconds(_many_bullets(4000), 2)
    # 5x the bullets: linear with n log n caches and a loaded machine's noise stays under 10x
    # (7.5x failed once in twelve runs at load 10); the quadratic planning it guards gave 25x
    assert big < 5 * 2 * small + 0.05, (small, big)


def test_fit_text_measures_each_paragraph_once_per_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from coursepack.writers.deck_plan import text_fit

    calls = []
    real = text_fit.para_height

    def counting(para, *args):
        calls.append(para)
        return real(para, *args)

    monkeypatch.setattr(text_fit, "para_height", counting)
    paras = [Para((Run(f"Bullet {i} says something about the topic."),)) for i in range(1500)]
    blocks = fit_text(paras, GEOMETRY.body, GEOMETRY.insets, METRICS, RULES)
    assert sum(len(b.paras) for b in blocks) == 1500
    sizes = len(range(int(RULES.body_floor), int(RULES.body_max) + 1))  # 11 sizes tried
    # each paragraph once per size at most (it was ~38 times: every page count and capacity)
    assert len(calls) <= sizes * len(paras), len(calls) / len(paras)


def test_word_widths_are_measured_once_whatever_the_size() -> None:
    """The width cache is keyed without the size: 3,000 bullets tried at eleven sizes do not
    thrash it (FreeType is asked once per distinct word and style)."""
    from coursepack.writers.text_metrics import _TOKENS

    lesson = _many_bullets(3000)
    type(METRICS)._length.cache_clear()
    plan = plan_of(lesson)
    misses = type(METRICS)._length.cache_info().misses
    distinct = {
        (token, run.bold, run.italic)
        for slide in plan.slides
        for _, block in frames(slide)
        for para in block.paras
        for run in para.runs
        for token in _TOKENS.findall(run.text)
    }
    distinct |= {(t, True, False) for s in plan.slides for t in _TOKENS.findall(s.title)}
    assert misses <= len(distinct) + 50, (misses, len(distinct))  # + " (00/00)" and such


def test_a_title_of_4000_words_plans_in_linear_time() -> None:
    small, big = _cpu_seconds(_long_titles(1000), 3), _cpu_seconds(_long_titles(4000), 2)
    # the footer dropped a word at a time, measuring the whole title each time: quadratic
    assert big < 8 * small + 0.05, (small, big)
    plan = plan_of(_long_titles(4000))
    assert all(s.footer is None or s.footer.endswith(" …") for s in plan.slides)
    assert all(len(s.title) < 1000 for s in plan.slides)


# --------------------------------------------------------------------------- property: no overflow

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from coursepack.model import CodeBlock, Option, Question  # noqa: E402

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÉé.,;:!?-'0123456789", min_size=1, max_size=25)
_TEXT = st.lists(_WORD, min_size=1, max_size=220).map(" ".join)


@st.composite
def _blocks(draw) -> tuple:
    blocks = []
    for line in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["bullets", "para", "table", "code", "graded"]))
        if kind == "bullets":
            items = tuple(
                ListItem(
                    (Text(draw(_TEXT)),),
                    tuple(
                        ListItem((Text(draw(_TEXT)),), (), line)
                        for _ in range(draw(st.integers(0, 2)))
                    ),
                    line,
                )
                for _ in range(draw(st.integers(1, 8)))
            )
            blocks.append(BulletList(items, line))
        elif kind == "para":
            blocks.append(Paragraph((Text(draw(_TEXT)),), line))
        elif kind == "graded":
            prompt = (Paragraph((Text(draw(_TEXT)),), line),)
            n = draw(st.integers(2, 9))
            texts = [draw(_TEXT) for _ in range(2 * n)]
            blocks.append(
                draw(
                    st.sampled_from(
                        [
                            Question(
                                line + 1,
                                2,
                                prompt,
                                tuple(
                                    Option((Text(t),), i == 0, line)
                                    for i, t in enumerate(texts[:n])
                                ),
                                (),
                                None,
                                line,
                            ),
                            Match(
                                line + 1,
                                3,
                                prompt,
                                tuple(
                                    MatchPair((Text(a),), (Text(b),), line)
                                    for a, b in zip(texts[:n], texts[n:], strict=True)
                                ),
                                line,
                            ),
                            Order(
                                line + 1,
                                1,
                                prompt,
                                tuple(OrderItem((Text(t),), line) for t in texts[:n]),
                                line,
                            ),
                        ]
                    )
                )
            )
        elif kind == "code":
            lines = draw(st.lists(_WORD, min_size=1, max_size=40))
            blocks.append(CodeBlock("\n".join(lines), "", line))
        else:
            cols = draw(st.integers(1, 5))
            cell = st.builds(lambda t, n=line: TableCell((Text(t),), n), _TEXT)
            header = tuple(draw(cell) for _ in range(cols))
            rows = tuple(
                tuple(draw(cell) for _ in range(cols)) for _ in range(draw(st.integers(0, 25)))
            )
            blocks.append(Table(header, rows, ("",) * cols, line))
    return tuple(blocks)


@settings(
    max_examples=int(os.environ.get("COURSEPACK_DECK_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(title=_TEXT.map(lambda t: t[:150]), blocks=_blocks())
def test_property_every_planned_slide_fits(title: str, blocks: tuple) -> None:
    plan = plan_of(lesson_of(Topic((Text(title),), blocks, 1)))
    for slide in plan.slides:
        assert slide.title.strip()
        assert slide.title_size >= RULES.title_floor
        if not isinstance(slide, (CoverSlide, SectionSlide)):
            box = slide.title_box or GEOMETRY.title
            lines = METRICS.count_lines(
                [Piece(slide.title, bold=True)],
                text_width_pt(box, GEOMETRY.insets),
                slide.title_size,
            )
            assert (
                lines * METRICS.line_height(slide.title_size)
                <= text_height_pt(box, GEOMETRY.insets) + 0.01
            )
        for box, block in frames(slide):
            assert block.size >= RULES.body_floor
            height = frame_height(
                block.paras, block.size, text_width_pt(box, GEOMETRY.insets), METRICS, RULES
            )
            assert height <= text_height_pt(box, GEOMETRY.insets) + 0.01
        if isinstance(slide, TableSlide):
            table = slide.table
            assert table.size >= RULES.body_floor
            assert sum(table.row_heights) <= table.box.height
            assert sum(table.col_widths) <= table.box.width


# --------------------------------------------------------------------------- titles


def plan_text(tmp_path: Path, text: str, name: str = "x.md") -> DeckPlan:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return plan_of(read_lesson(path)[0])


QUESTION = "::: question\nWhich?\n\n- [ ] no\n- [x] yes\n:::\n"


@pytest.mark.parametrize(
    ("lang", "topic", "title"),
    [
        ("en", "Question", "Question\u00a01 (1\u00a0point)"),
        ("en", "Questions 1–3", "Question\u00a01 (1\u00a0point)"),
        ("en", "Quiz:", "Quiz: Question\u00a01 (1\u00a0point)"),
        ("en", "Why did it fail?", "Why did it fail? Question\u00a01 (1\u00a0point)"),
        ("es", "Preguntas", "Pregunta\u00a01 (1\u00a0punto)"),
        ("fr", "Question", "Question\u00a01 (1\u00a0point)"),
        ("fr", "Quiz", "Quiz : Question\u00a01 (1\u00a0point)"),
        ("de", "Fragen", "Frage\u00a01 (1\u00a0Punkt)"),
        ("it", "Domande", "Domanda\u00a01 (1\u00a0punto)"),
        ("nl", "Vraag", "Vraag\u00a01 (1\u00a0punt)"),
        ("pt", "Questões", "Questão\u00a01 (1\u00a0ponto)"),
        ("el", "Ερωτήσεις", "Ερώτηση\u00a01 (1\u00a0μονάδα)"),
        ("he", "שאלות", "שאלה\u00a01 (נקודה\u00a0אחת)"),
        ("ar", "الأسئلة", "السؤال\u00a01 (درجة\u00a0واحدة)"),
    ],
)
def test_a_question_titled_by_its_topic_never_repeats_the_question_word(
    tmp_path: Path, lang: str, topic: str, title: str
) -> None:
    """A topic named "Question" gave "Question: Question 1"; its name is left out when it only
    names the question word, in every language, and "?" takes no colon after it."""
    plan = plan_text(tmp_path, f"---\ntitle: T\nlang: {lang}\n---\n# S\n\n## {topic}\n\n{QUESTION}")
    [question] = [s for s in plan.slides if isinstance(s, QuestionSlide)]
    assert question.title == title


def test_a_section_named_like_its_first_topic_gets_no_header_slide(tmp_path: Path) -> None:
    text = "---\ntitle: T\n---\n# Mandates\n\nWhy mandates matter.\n\n## Mandates\n\n- a\n\n"
    text += "## Other\n\n- b\n"
    plan = plan_text(tmp_path, text)
    assert [type(s).__name__ for s in plan.slides] == ["CoverSlide", "TextSlide", "TextSlide"]
    assert [s.title for s in plan.slides[1:]] == ["Mandates", "Other"]
    assert "Why mandates matter." in face_text(plan.slides[1])


# --------------------------------------------------------------------------- open questions

SENTENCE = "Sentence {i} of the model answer gives one more cause of the failure of the mission."


def _open_question(tmp_path: Path, sentences: int, reveal: bool = True) -> list[QuestionSlide]:
    answer = " ".join(SENTENCE.format(i=i) for i in range(sentences))
    text = "---\ntitle: T\n" + ("" if reveal else "reveal-answers: false\n") + "---\n# S\n\n"
    text += f"## Why\n\n::: question lines=5\nWhy did it fail?\n\nAnswer: {answer}\n:::\n"
    plan = plan_text(tmp_path, text)
    return [s for s in plan.slides if isinstance(s, QuestionSlide)]


def _fits(block: TextBlock, box: Box) -> bool:
    width = text_width_pt(box, GEOMETRY.insets)
    return frame_height(block.paras, block.size, width, METRICS, RULES) <= text_height_pt(
        box, GEOMETRY.insets
    )


@pytest.mark.parametrize("sentences", [11, 13])
def test_a_model_answer_taller_than_half_the_slide_is_revealed_whole(
    tmp_path: Path, sentences: int
) -> None:
    """It was cut to the box at the bottom half: now the box grows (the prompt needs little)
    and the answer shrinks towards the floor, whole."""
    [slide] = _open_question(tmp_path, sentences)
    assert slide.reveal is not None and slide.reveal.text is not None
    shown = " ".join(p.text for p in slide.reveal.text.paras).split()
    expected = "Model answer: " + " ".join(SENTENCE.format(i=i) for i in range(sentences))
    assert shown == expected.split()
    assert _fits(slide.reveal.text, slide.reveal.box) and slide.reveal.text.size >= RULES.body_floor
    assert slide.reveal.box.height > GEOMETRY.body.height * 0.55  # more than it had
    body = slide.body_box or GEOMETRY.body
    assert body.bottom <= slide.reveal.box.top  # the question above it, not under it


def test_a_model_answer_too_long_for_any_box_follows_on_continuation_slides(
    tmp_path: Path,
) -> None:
    """Never cut: the question slide keeps room for the class (ruled lines), and the answer
    follows on slides titled as its continuations; the notes keep all of it."""
    slides = _open_question(tmp_path, 40)
    n = len(slides)
    assert n >= 3
    title = "Why: Question\u00a01, slide {i} of {n} (1\u00a0point)"
    assert [s.title for s in slides] == [title.format(i=i, n=n) for i in range(1, n + 1)]
    first, rest = slides[0], slides[1:]
    assert first.reveal is None and len(first.lines) == 5
    answer = " ".join(SENTENCE.format(i=i) for i in range(40))
    shown = " ".join(p.text for s in rest for p in s.body.paras).split()
    assert shown == ("Model answer: " + answer).split()
    for slide in rest:
        assert _fits(slide.body, slide.body_box or GEOMETRY.body)
        assert slide.body.size >= RULES.body_floor
    assert answer in " ".join(first.notes)


def test_an_open_question_without_the_reveal_gets_ruled_lines_under_its_prompt(
    tmp_path: Path,
) -> None:
    [slide] = _open_question(tmp_path, 2, reveal=False)
    assert slide.reveal is None
    assert len(slide.lines) == 5  # lines=5 on the question
    body = slide.body_box or GEOMETRY.body
    width = text_width_pt(body, GEOMETRY.insets)
    prompt = frame_height(slide.body.paras, slide.body.size, width, METRICS, RULES) * EMU_PER_PT
    tops = [line.top for line in slide.lines]
    assert body.top + prompt < tops[0] and tops == sorted(tops)
    assert tops[-1] <= GEOMETRY.body.bottom
    assert tops[-1] - tops[0] > GEOMETRY.body.height / 3  # they fill the lower part
    assert slide.body.size > RULES.body_max  # the prompt is set large


@pytest.mark.parametrize(
    ("lang", "part"),
    [
        ("en", "Question\u00a01, slide {n} of {m} (1\u00a0point)"),
        ("de", "Frage\u00a01, Folie {n} von {m} (1\u00a0Punkt)"),
    ],
)
def test_a_question_split_over_slides_names_each_slide_in_words(
    tmp_path: Path, lang: str, part: str
) -> None:
    """ "Question 1 (1 point) (1/2)" read as half a point: a split question's slides say
    "slide 1 of 2" before the points, in the lesson's language; a topic's keep "(1/2)"."""
    option = "an option long enough to need most of a line on a slide of its own, or more"
    options = "\n".join(f"- [{'x' if i == 3 else ' '}] {option} {i}" for i in range(12))
    text = (
        f"---\ntitle: T\nlang: {lang}\n---\n# S\n\n## Quiz\n\n"
        f"::: question\nWhich one?\n\n{options}\n:::\n"
    )
    slides = [s for s in plan_text(tmp_path, text).slides if isinstance(s, QuestionSlide)]
    m = len(slides)
    assert m >= 2
    titles = [s.title for s in slides]
    assert titles == [f"Quiz: {part.format(n=n, m=m)}" for n in range(1, m + 1)]
    assert not any("/" in title for title in titles)


def test_a_matching_too_big_for_two_columns_marks_its_terms_in_the_list(tmp_path: Path) -> None:
    """A matching that does not fit side by side is a list of terms then definitions: the
    reveal's letters sit in the gutter before each term (on whichever page it lands)."""
    long = "a definition long enough to need most of a line on a slide of its own, or more"
    pairs = "\n".join(f"- Term {i} :: {long} {i}" for i in range(9))
    text = f"---\ntitle: T\n---\n# S\n\n## M\n\n::: match\nMatch them.\n{pairs}\n:::\n"
    slides = [s for s in plan_text(tmp_path, text).slides if isinstance(s, QuestionSlide)]
    assert len(slides) >= 2
    notes = slides[0].notes[0]
    letters = dict(re.findall(r"(\d+) — ([A-Z])", notes))
    found = []
    for slide in slides:
        terms = [p for p in slide.body.paras if p.prefix[:1].isdigit() and not p.continued]
        marks = slide.reveal.marks if slide.reveal else ()
        assert len(marks) == len(terms)
        assert all(p.marked for p in terms)
        found += [(p.prefix[:-1], m.label) for p, m in zip(terms, marks, strict=True)]
        for mark in marks:
            assert mark.frame is None and mark.alt == f"Matches {mark.label}"
    assert dict(found) == letters and len(found) == 9


def test_every_question_of_a_topic_that_opens_with_questions_shows_the_topic(
    tmp_path: Path,
) -> None:
    """A topic of questions only never gets a slide of its own: each of its questions' slides
    carries its name, not the first alone (the others said "Check for understanding"). After
    a slide that shows the topic's name, a question needs it no more."""
    text = "# S\n\n## Exit ticket\n\n" + QUESTION + "\n" + QUESTION
    text += "\n## Notes\n\nSome words.\n\n" + QUESTION
    titles = [s.title.replace("\u00a0", " ") for s in plan_text(tmp_path, text).slides]
    assert titles[-4:] == [
        "Exit ticket: Question 1 (1 point)",
        "Exit ticket: Question 2 (1 point)",
        "Notes",
        "Check for understanding: Question 3 (1 point)",
    ]
