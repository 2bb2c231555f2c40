"""The deck writer: open the written decks with python-pptx and check what a teacher relies on."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from conftest import body_runs
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.util import Pt

from coursepack.diagnostics import LessonError
from coursepack.model import Div, Lesson, Match, Order, Question, iter_all_blocks, plain_text
from coursepack.reader import read_lesson
from coursepack.writers import pptx_xml
from coursepack.writers.deck import DeckWriter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "deck"
UNAMIR = ROOT / "source" / "unamir.md"
TITLE_TYPES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)
GERMAN = {
    "Title Slide": "Titelfolie",
    "Title and Content": "Titel und Inhalt",
    "Section Header": "Abschnittsüberschrift",
    "Two Content": "Zwei Inhalte",
    "Comparison": "Vergleich",
    "Title Only": "Nur Titel",
    "Blank": "Leer",
    "Content with Caption": "Inhalt mit Überschrift",
    "Picture with Caption": "Bild mit Überschrift",
    "Title and Vertical Text": "Titel und vertikaler Text",
    "Vertical Title and Text": "Vertikaler Titel und Text",
}


def read(path: Path) -> Lesson:
    lesson, diags = read_lesson(path)
    assert lesson is not None, diags
    return lesson


@pytest.fixture(scope="module")
def small() -> tuple[Lesson, bytes]:
    lesson = read(FIXTURES / "small.md")
    return lesson, DeckWriter().render(lesson)


def open_deck(data: bytes):
    return Presentation(io.BytesIO(data))


def click_shapes(slide) -> set[int]:
    """The ids of the shapes the slide's animation shows whole on a click (answer boxes)."""
    builds = slide._element.findall(".//" + pptx_xml.qn("p:bldP"))
    return {int(b.get("spid")) for b in builds if b.get("build") != "p"}


def revealed_texts(slide) -> list[str]:
    """The text of the shapes that appear on a click."""
    hidden = click_shapes(slide)
    return [s.text_frame.text for s in slide.shapes if s.shape_id in hidden and s.has_text_frame]


def face_texts(slide) -> list[str]:
    """Every piece of text on the slide face before any click (shapes and table cells)."""
    texts = []
    hidden = click_shapes(slide)
    for shape in slide.shapes:
        if shape.shape_id in hidden:
            continue
        if shape.has_text_frame:
            texts.append(shape.text_frame.text)
        if shape.has_table:
            for row in shape.table.rows:
                texts.extend(cell.text for cell in row.cells)
    return texts


def notes_text(slide) -> str:
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def ph_types(slide) -> list:
    return [shape.placeholder_format.type for shape in slide.placeholders]


# --------------------------------------------------------------------------- the small lesson


def test_titles_sit_in_title_placeholders(small) -> None:
    _, data = small
    prs = open_deck(data)
    assert len(prs.slides) == 12
    for slide in prs.slides:
        title = slide.shapes.title
        assert title is not None and title.is_placeholder
        assert title.placeholder_format.type in TITLE_TYPES
        assert title.text_frame.text.strip()
    titles = [s.shapes.title.text_frame.text.replace("\u00a0", " ") for s in prs.slides]
    assert titles[0] == "A Small Lesson"
    assert "Question 3 (1 point)" in titles  # the topic only says "Questions"


def test_default_template_is_16_9_with_its_layouts(small) -> None:
    _, data = small
    prs = open_deck(data)
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)
    layouts = [s.slide_layout.name for s in prs.slides]
    assert layouts[:4] == [
        "Title Slide",
        "Title and Content",
        "Section Header",
        "Title and Content",
    ]
    assert "Title Only" in layouts  # the table and picture slides


def test_alt_text_is_the_lessons_not_a_path(small) -> None:
    _, data = small
    prs = open_deck(data)
    pictures = [
        sh for s in prs.slides for sh in s.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE
    ]
    assert len(pictures) == 2
    descr = [p._element.find(".//" + pptx_xml.qn("p:cNvPr")).get("descr") for p in pictures]
    assert descr == ["A simple blue map of the region", "The same map, on a slide of its own"]
    assert not any("map.png" in d or "/" in d for d in descr)


def test_nothing_from_handout_or_teacher_blocks_on_a_face(small) -> None:
    _, data = small
    prs = open_deck(data)
    faces = "\n".join(t for s in prs.slides for t in face_texts(s))
    notes = "\n".join(notes_text(s) for s in prs.slides)
    for marker in (
        "HANDOUT-ONLY-MARKER",
        "TEACHER-ONLY-MARKER",
        "SPEAKER-NOTE-MARKER",
        "MODEL-ANSWER-MARKER",
    ):
        assert marker not in faces
    assert "SLIDES-ONLY-MARKER" in faces
    assert "SPEAKER-NOTE-MARKER" in notes
    assert "Teacher note: TEACHER-ONLY-MARKER" in notes
    assert "HANDOUT-ONLY-MARKER" not in notes


def test_question_slides_and_their_notes(small) -> None:
    _, data = small
    prs = open_deck(data)
    titles = [s.shapes.title.text_frame.text for s in prs.slides]
    questions = [s for s in prs.slides if "Question\u00a0" in s.shapes.title.text_frame.text]
    assert len(questions) == 4
    # the topic "Questions" opens with a question: no slide of its own; its name would only
    # repeat the question word, so the first question's title leaves it out
    assert questions[0].shapes.title.text_frame.text == "Question\u00a01 (2\u00a0points)"
    assert "Questions" not in titles
    mc = questions[0]
    face = "\n".join(face_texts(mc))
    assert "A.\tJacques-Roger Booh-Booh" in face and "B.\tRoméo Dallaire" in face
    assert notes_text(mc).startswith("Answer: B — Roméo Dallaire")
    assert "Answer" not in face
    assert notes_text(questions[1]).startswith("Model answer: MODEL-ANSWER-MARKER")


def test_cloze_answers_are_bold_and_sizes_explicit(small) -> None:
    _, data = small
    prs = open_deck(data)
    runs = [
        r
        for s in prs.slides
        for sh in s.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        for r in p.runs
    ]
    blank = [r for r in runs if r.text == "cloze answer"]
    assert blank and blank[0].font.bold
    assert all(r.font.size is not None for r in runs)


def test_slide_numbers_and_footers_on_content_slides(small) -> None:
    lesson, data = small
    prs = open_deck(data)
    for number, slide in enumerate(prs.slides, 1):
        types = ph_types(slide)
        if number == 1:
            assert PP_PLACEHOLDER.FOOTER not in types
            continue
        assert PP_PLACEHOLDER.FOOTER in types and PP_PLACEHOLDER.SLIDE_NUMBER in types
        footer = next(s for s in slide.placeholders if s.placeholder_format.type == 15)
        assert footer.text_frame.text == lesson.meta.title
        num = next(s for s in slide.placeholders if s.placeholder_format.type == 13)
        fld = num._element.find(".//" + pptx_xml.qn("a:fld"))
        assert fld is not None and fld.get("type") == "slidenum"
        assert fld.find(pptx_xml.qn("a:t")).text == str(number)


def test_text_frames_do_not_autofit(small) -> None:
    _, data = small
    prs = open_deck(data)
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                body_pr = shape.text_frame._txBody.find(pptx_xml.qn("a:bodyPr"))
                if shape.is_placeholder and shape.placeholder_format.type in (13, 15):
                    continue
                assert body_pr.find(pptx_xml.qn("a:noAutofit")) is not None


def test_native_table_with_header(small) -> None:
    _, data = small
    prs = open_deck(data)
    tables = [sh.table for s in prs.slides for sh in s.shapes if sh.has_table]
    assert len(tables) == 1
    assert [c.text for c in tables[0].rows[0].cells] == ["Term", "Meaning"]
    assert [c.text for c in tables[0].rows[2].cells] == ["HQ", "Headquarters"]


def test_byte_identical_and_fixed_properties(small) -> None:
    lesson, data = small
    assert DeckWriter().render(lesson) == data
    prs = open_deck(data)
    props = prs.core_properties
    assert props.title == "A Small Lesson" and props.author == "Ms Example"
    assert props.created.year == 2026 and props.modified == props.created
    assert props.last_modified_by == "Ms Example"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist()[0] == "[Content_Types].xml"
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert zf.testzip() is None


def test_layout_files_are_the_template_theme_and_messages() -> None:
    names = [p.name for p in DeckWriter().layout_files()]
    assert names[:2] == ["deck.pptx", "theme.yaml"]
    assert "en.yaml" in names and "es.yaml" in names  # the deck's words (messages/)


def test_default_template_is_regenerated_identically() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_deck_template.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_default_template_theme_is_arial_and_the_handout_colours() -> None:
    import yaml
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    prs = Presentation(str(ROOT / "layouts" / "deck.pptx"))
    theme = etree.fromstring(prs.slide_master.part.part_related_by(RT.THEME).blob)
    fonts = [el.get("typeface") for el in theme.iter(pptx_xml.qn("a:latin"))]
    assert fonts[:2] == ["Arial", "Arial"]
    colours = yaml.safe_load((ROOT / "layouts" / "theme.yaml").read_text())["colours"]
    accent = theme.find(f".//{pptx_xml.qn('a:accent1')}/{pptx_xml.qn('a:srgbClr')}")
    assert accent.get("val") == colours["accent"].lstrip("#").upper()
    names = {layout.name for layout in prs.slide_layouts}
    assert {"Title Slide", "Section Header", "Title and Content", "Title Only"} <= names
    for layout in prs.slide_layouts:
        types = {ph.placeholder_format.type for ph in layout.placeholders}
        assert {PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER} <= types


def test_control_characters_never_reach_the_xml(tmp_path: Path) -> None:
    lesson_path = tmp_path / "ctl.md"
    lesson_path.write_text(
        "---\ntitle: Bell\x07 lesson\n---\n\n# S\n\n## T\n\n- a\x01b\x1bc\n", encoding="utf-8"
    )
    lesson = read(lesson_path)
    prs = open_deck(DeckWriter().render(lesson))
    texts = "\n".join(t for s in prs.slides for t in face_texts(s))
    assert "abc" in texts and not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", texts)


# --------------------------------------------------------------------------- the UNAMIR deck


@pytest.fixture(scope="module")
def unamir() -> tuple[Lesson, bytes]:
    lesson = read(UNAMIR)
    return lesson, DeckWriter().render(lesson)


def test_unamir_deck_titles_and_sections(unamir) -> None:
    lesson, data = unamir
    prs = open_deck(data)
    titles = [s.shapes.title.text_frame.text for s in prs.slides]
    assert titles[0] == lesson.meta.title
    for section in lesson.sections:
        assert section.title_text in titles
        for topic in section.topics:
            has_face = any(
                not isinstance(b, (Div, Question, Match, Order))
                or (isinstance(b, Div) and b.audience == "slides")
                for b in topic.blocks
            )
            if has_face:
                assert any(
                    t == topic.title_text or t.startswith(topic.title_text + " (") for t in titles
                ), topic.title_text
    for slide in prs.slides:
        assert slide.shapes.title.placeholder_format.type in TITLE_TYPES


def test_unamir_question_slides_carry_numbers_and_answers_in_notes(unamir) -> None:
    lesson, data = unamir
    prs = open_deck(data)
    graded = lesson.graded()
    assert len(graded) >= 6
    for block in graded:
        unit = "point" if block.points == 1 else "points"
        head = f"Check for understanding: Question {block.number} ({block.points} {unit})"
        slides = [
            s
            for s in prs.slides
            if s.shapes.title.text_frame.text.replace("\u00a0", " ").startswith(head)
        ]
        assert slides, head
        notes = notes_text(slides[0])
        face = "\n".join(face_texts(slides[0]))
        if isinstance(block, Question) and block.options:
            correct = [plain_text(o.inlines) for o in block.options if o.correct]
            assert notes.startswith("Answer")
            assert all(c in notes for c in correct)
        elif isinstance(block, Question):
            assert notes.startswith("Model answer: ")
            answer = plain_text(block.answer[0].inlines)
            assert answer[:60] in notes and answer[:60] not in face
        elif isinstance(block, Match):
            assert notes.startswith("Answers: 1 — ")
        else:
            assert notes.startswith("Correct order: ")


def test_unamir_nothing_from_handout_or_teacher_on_a_face(unamir) -> None:
    lesson, data = unamir
    prs = open_deck(data)
    faces = "\n".join(t for s in prs.slides for t in face_texts(s))
    notes = "\n".join(notes_text(s) for s in prs.slides)
    hidden = []
    for block in iter_all_blocks(lesson):
        if isinstance(block, Div) and block.audience in ("handout", "teacher", "notes"):
            for inner in block.blocks:
                text = plain_text(inner.inlines) if hasattr(inner, "inlines") else ""
                if len(text) > 25:
                    hidden.append((block.audience, text))
    assert hidden, "the UNAMIR lesson has handout and teacher blocks"
    for audience, text in hidden:
        assert text[:80] not in faces, (audience, text[:80])
        if audience == "teacher":
            assert text[:80] in notes
    assert "Teacher note: " in notes


def test_unamir_deck_every_body_run_at_least_the_floor(unamir) -> None:
    _, data = unamir
    prs = open_deck(data)
    for slide, run in body_runs(prs):
        assert run.font.size >= Pt(18), (slide.shapes.title.text, run.text)


# --------------------------------------------------------------------------- school templates


def _german_template(tmp_path: Path, *, potx: bool) -> Path:
    """A 4:3 template with localised layout names and one example slide (with notes)."""
    prs = Presentation()  # python-pptx's default: 4:3, Calibri
    for layout in prs.slide_layouts:
        layout.name = GERMAN.get(layout.name, layout.name)
    # shuffle the layouts' order so that position cannot be what finds them
    lst = prs.slide_master._element.find(pptx_xml.qn("p:sldLayoutIdLst"))
    ids = list(lst)
    for el in ids:
        lst.remove(el)
    for el in reversed(ids):
        lst.append(el)
    slide = prs.slides.add_slide(prs.slide_layouts.get_by_name("Titel und Inhalt"))
    slide.shapes.title.text = "TEMPLATE-EXAMPLE-SLIDE"
    slide.notes_slide.notes_text_frame.text = "TEMPLATE-EXAMPLE-NOTES"
    buf = io.BytesIO()
    prs.save(buf)
    data = buf.getvalue()
    path = tmp_path / ("school.potx" if potx else "school.pptx")
    path.write_bytes(pptx_xml.set_template_content_type(data) if potx else data)
    return path


@pytest.mark.parametrize("potx", [False, True], ids=["pptx", "potx"])
def test_localised_4_3_template(tmp_path: Path, small, potx: bool) -> None:
    lesson, _ = small
    template = _german_template(tmp_path, potx=potx)
    if potx:
        with zipfile.ZipFile(template) as zf:
            assert pptx_xml.CT_TEMPLATE in zf.read("[Content_Types].xml").decode()
    data = DeckWriter().render(lesson, template)
    prs = open_deck(data)
    assert (prs.slide_width, prs.slide_height) == (9144000, 6858000)
    layouts = [s.slide_layout.name for s in prs.slides]
    assert layouts[0] == "Titelfolie"
    assert layouts[2] == "Abschnittsüberschrift"
    assert "Titel und Inhalt" in layouts and "Nur Titel" in layouts
    assert set(layouts) <= set(GERMAN.values())
    for slide in prs.slides:
        title = slide.shapes.title
        assert title is not None and title.text_frame.text.strip()
        assert "TEMPLATE-EXAMPLE" not in "\n".join(face_texts(slide) + [notes_text(slide)])
    # the example slide's parts are gone, and every slide part is one the deck uses
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        blob = b"".join(zf.read(n) for n in names)
        assert b"TEMPLATE-EXAMPLE" not in blob
        rels = zf.read("ppt/_rels/presentation.xml.rels").decode()
        slide_parts = [n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
        assert len(slide_parts) == len(prs.slides)
        for part in slide_parts:
            assert (
                f'Target="{part.removeprefix("ppt/")}"' in rels or part.removeprefix("ppt/") in rels
            )
        notes_parts = [n for n in names if re.fullmatch(r"ppt/notesSlides/notesSlide\d+\.xml", n)]
        assert len(notes_parts) == sum(1 for s in prs.slides if s.has_notes_slide)
        assert pptx_xml.CT_TEMPLATE not in zf.read("[Content_Types].xml").decode()
    # the deck's text is measured for the theme's Calibri (Carlito): no font forced on runs
    runs = [
        r
        for s in prs.slides
        for sh in s.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        for r in p.runs
    ]
    assert {r.font.name for r in runs} <= {None, "Courier New"}


def test_template_without_a_usable_layout_is_a_clear_error(tmp_path: Path, small) -> None:
    lesson, _ = small
    prs = Presentation()
    for layout in list(prs.slide_layouts):
        if layout.name not in ("Title Only", "Blank"):
            prs.slide_layouts.remove(layout)
    path = tmp_path / "bare.pptx"
    prs.save(path)
    with pytest.raises(LessonError) as info:
        DeckWriter().render(lesson, path)
    message = str(info.value)
    assert "template bare.pptx has no layout with a title and a body placeholder" in message


def test_a_file_that_is_not_a_template_is_a_clear_error(tmp_path: Path, small) -> None:
    lesson, _ = small
    path = tmp_path / "school.pptx"
    path.write_text("not a zip file")
    with pytest.raises(LessonError, match="school.pptx cannot be used: it is not a PowerPoint"):
        DeckWriter().render(lesson, path)
    with pytest.raises(LessonError, match="missing.pptx cannot be used: it cannot be read"):
        DeckWriter().render(lesson, tmp_path / "missing.pptx")


def test_an_unmeasurable_theme_font_is_replaced_by_arial(tmp_path: Path, small) -> None:
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    lesson, _ = small
    prs = Presentation()
    part = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(part.blob)
    for latin in root.iter(pptx_xml.qn("a:latin")):
        latin.set("typeface", "Some Unknown Display Font")
    part._blob = etree.tostring(root)
    path = tmp_path / "fancy.pptx"
    prs.save(path)
    deck = open_deck(DeckWriter().render(lesson, path))
    names = {
        r.font.name
        for s in deck.slides
        for sh in s.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        for r in p.runs
    }
    assert "Arial" in names and "Some Unknown Display Font" not in names


def test_default_geometry_is_the_default_templates() -> None:
    from coursepack.writers.deck import find_layouts, geometry_of
    from coursepack.writers.deck_plan import SlideGeometry

    prs = Presentation(str(ROOT / "layouts" / "deck.pptx"))
    roles, missing = find_layouts(prs, "deck.pptx")
    assert roles is not None, missing
    got = geometry_of(prs, roles)
    want = SlideGeometry.default()
    for field in ("width", "height", "title", "body", "cover_title", "section_title"):
        a, b = getattr(got, field), getattr(want, field)
        if isinstance(a, int):
            assert a == b, field
        else:
            assert all(
                abs(x - y) <= 1000 for x, y in zip(vars(a).values(), vars(b).values(), strict=True)
            ), field


def test_byte_identical_across_processes(small) -> None:
    import hashlib
    import os
    import subprocess
    import sys

    _, data = small
    code = (
        "import hashlib, sys; from pathlib import Path\n"
        "from coursepack.reader import read_lesson\n"
        "from coursepack.writers.deck import DeckWriter\n"
        f"lesson, _ = read_lesson(Path({str(FIXTURES / 'small.md')!r}))\n"
        "sys.stdout.write(hashlib.sha256(DeckWriter().render(lesson)).hexdigest())\n"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert out.stdout == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- builds, reveals

BUILDS = """---
title: Builds
incremental: true
---

# Section

## Built list

- First point
  - its detail
- Second point
- Third point

## Not built

::: nonincremental
- Shown at once
- Also at once
:::

## Quiz

::: question
Which is right?

- [ ] Wrong
- [x] Right
:::

::: question
Why?

Answer: Because it is.
:::
"""


def deck_of(tmp_path: Path, text: str, name: str = "x.md") -> bytes:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return DeckWriter().render(read(path))


def slide_titled(prs, start: str):
    return next(s for s in prs.slides if s.shapes.title.text_frame.text.startswith(start))


def click_steps(slide) -> list[list[tuple[int, int | None]]]:
    """What each click shows: (shape id, paragraph index or None for the whole shape)."""
    q = pptx_xml.qn
    main = slide._element.find(f".//{q('p:cTn')}[@nodeType='mainSeq']")
    if main is None:
        return []
    steps = []
    for click in main.find(q("p:childTnLst")).findall(q("p:par")):
        step = []
        for target in click.iter(q("p:spTgt")):
            rng = target.find(f"{q('p:txEl')}/{q('p:pRg')}")
            step.append((int(target.get("spid")), None if rng is None else int(rng.get("st"))))
        steps.append(step)
    return steps


def test_incremental_lists_build_one_bullet_per_click(tmp_path: Path) -> None:
    prs = open_deck(deck_of(tmp_path, BUILDS))
    built = slide_titled(prs, "Built list")
    body = next(s for s in built.placeholders if s.placeholder_format.idx == 1)
    # one click per bullet; the sub-bullet comes with its bullet
    assert click_steps(built) == [
        [(body.shape_id, 0), (body.shape_id, 1)],
        [(body.shape_id, 2)],
        [(body.shape_id, 3)],
    ]
    builds = built._element.findall(".//" + pptx_xml.qn("p:bldP"))
    assert [(b.get("spid"), b.get("build")) for b in builds] == [(str(body.shape_id), "p")]
    effects = built._element.findall(".//" + pptx_xml.qn("p:cTn") + "[@presetClass='entr']")
    assert [e.get("nodeType") for e in effects] == [
        "clickEffect",
        "withEffect",
        "clickEffect",
        "clickEffect",
    ]
    # '::: nonincremental' keeps a list whole even when the lesson builds its lists
    assert click_steps(slide_titled(prs, "Not built")) == []
    assert slide_titled(prs, "Not built")._element.find(pptx_xml.qn("p:timing")) is None


def test_an_incremental_div_builds_only_its_own_list(tmp_path: Path) -> None:
    text = "---\ntitle: T\n---\n# S\n\n## One\n\n::: incremental\n- a\n- b\n:::\n"
    text += "\n## Two\n\n- c\n- d\n"
    prs = open_deck(deck_of(tmp_path, text))
    assert len(click_steps(slide_titled(prs, "One"))) == 2
    assert click_steps(slide_titled(prs, "Two")) == []


def shown_on_click(slide) -> list:
    """The shapes the slide's one click shows, in z-order."""
    [step] = click_steps(slide)
    ids = {spid for spid, _ in step}
    assert all(paragraph is None for _, paragraph in step)
    return [s for s in slide.shapes if s.shape_id in ids]


def alt_text(shape) -> str:
    return shape._element.find(".//" + pptx_xml.qn("p:cNvPr")).get("descr", "")


def test_question_slides_reveal_their_answer_on_one_click(tmp_path: Path) -> None:
    """One click marks the correct option in place (a frame round its line and a tick badge
    in the gutter before its letter), or shows an open question's model answer in a box."""
    prs = open_deck(deck_of(tmp_path, BUILDS))
    mc = slide_titled(prs, "Quiz: Question\u00a01")
    shown = shown_on_click(mc)
    kinds = [s.name.rsplit(" ", 1)[0] for s in shown]
    assert kinds == ["Answer frame", "Answer mark", "Answer tick"]
    # said once, by the badge: the frame and the tick are marked decorative (screen readers
    # skip them rather than saying "Correct answer" three times)
    assert [alt_text(s) for s in shown] == ["", "Correct answer", ""]
    decorative = "{http://schemas.microsoft.com/office/drawing/2017/decorative}decorative"
    assert [s._element.find(".//" + decorative) is not None for s in shown] == [True, False, True]
    assert revealed_texts(mc) == ["", "", ""]  # no answer box: the marks are the answer
    assert "Answer" not in "\n".join(face_texts(mc))
    assert notes_text(mc).startswith("Answer: B — Right")  # the notes keep it as before
    frame, badge, tick = shown
    question = next(s for s in mc.placeholders if s.placeholder_format.idx == 1)
    # the frame lies in the question's box, the badge before it, the tick in the badge
    assert question.left < badge.left < badge.left + badge.width <= frame.left
    assert frame.left + frame.width <= question.left + question.width
    assert question.top < frame.top < frame.top + frame.height < question.top + question.height
    assert frame.top < badge.top + badge.height // 2 < frame.top + frame.height
    assert badge.left <= tick.left and tick.left + tick.width <= badge.left + badge.width
    # the options start a gutter further in than the prompt: room for the marks
    margins = [p._p.pPr.get("marL") for p in question.text_frame.paragraphs]
    assert int(margins[-1]) > int(margins[0]) + 0.5 * 914400
    open_q = slide_titled(prs, "Quiz: Question\u00a02")
    assert revealed_texts(open_q) == ["Model answer: Because it is."]
    assert len(click_steps(open_q)) == 1


def test_matching_letters_and_ordering_numbers_appear_beside_their_lines(small) -> None:
    prs = open_deck(small[1])
    match = slide_titled(prs, "Question\u00a03")
    badges = sorted(shown_on_click(match), key=lambda s: s.top)
    pairs = re.findall(r"(\d+) — ([A-Z])", notes_text(match).splitlines()[0])
    assert [b.text_frame.text for b in badges] == [letter for _, letter in pairs]
    assert [alt_text(b) for b in badges] == [f"Matches {letter}" for _, letter in pairs]
    terms = next(s for s in match.shapes if s.has_text_frame and s.text_frame.text[:5] == "Terms")
    definitions = next(s for s in match.shapes if s.text_frame.text.startswith("Definitions"))
    for badge in badges:  # between the terms and the definitions
        assert terms.left + terms.width <= badge.left
        assert badge.left + badge.width <= definitions.left
    order = slide_titled(prs, "Question\u00a04")
    badges = sorted(shown_on_click(order), key=lambda s: s.top)
    right = notes_text(order).splitlines()[0].removeprefix("Correct order: ").split(", ")
    shown = "ABC"[: len(right)]  # the items as the slide letters them, top to bottom
    assert [b.text_frame.text for b in badges] == [str(right.index(x) + 1) for x in shown]
    for badge in badges:
        assert badge.text_frame.paragraphs[0].runs[0].font.bold


def test_reveal_answers_false_keeps_the_answers_in_the_notes_only(tmp_path: Path) -> None:
    text = BUILDS.replace("incremental: true", "reveal-answers: false")
    prs = open_deck(deck_of(tmp_path, text))
    for start in ("Quiz: Question\u00a01", "Quiz: Question\u00a02"):
        slide = slide_titled(prs, start)
        assert click_steps(slide) == [] and revealed_texts(slide) == []
        assert notes_text(slide).startswith(("Answer: B", "Model answer: Because"))
    # the open question's lower half: ruled lines for the class's answers, under the prompt
    open_q = slide_titled(prs, "Quiz: Question\u00a02")
    lines = [s for s in open_q.shapes if s.name.startswith("Answer line")]
    prompt = next(s for s in open_q.placeholders if s.placeholder_format.idx == 1)
    assert len(lines) >= 3 and all(line.height == 0 for line in lines)
    assert all(prompt.top < line.top < prs.slide_height * 0.9 for line in lines)
    assert max(line.top for line in lines) - min(line.top for line in lines) > Pt(100)
    # and no lesson-wide builds without incremental: true
    assert click_steps(slide_titled(prs, "Built list")) == []


def test_animated_decks_are_valid_against_the_ooxml_schemas(tmp_path: Path, small) -> None:
    """openxml-audit checks every part against the ECMA-376 schemas (timing trees too)."""
    from openxml_audit import validate_pptx

    decks = {"builds": deck_of(tmp_path, BUILDS), "small": small[1]}
    # the reveal's marks right to left, and columns holding a table and a callout
    decks["builds-he"] = deck_of(tmp_path, BUILDS.replace("title: Builds", "title: B\nlang: he"))
    decks["columns"] = DeckWriter().render(read(FIXTURES / "columns.md"))
    if UNAMIR.is_file():
        decks["unamir"] = DeckWriter().render(read(UNAMIR))
    for name, data in decks.items():
        path = tmp_path / f"{name}.pptx"
        path.write_bytes(data)
        result = validate_pptx(str(path))
        assert result.is_valid, (name, [str(e) for e in result.errors[:5]])
    assert click_steps(slide_titled(open_deck(decks["builds"]), "Built list"))


# --------------------------------------------------------------------------- any template fits


def test_a_template_whose_layouts_reach_past_the_slide_is_warned_about_and_fitted(
    tmp_path: Path,
) -> None:
    """python-pptx's 4:3 template saved as portrait: check names the layouts that reach past
    the slide, and the deck scales them to fit (every placeholder on the slide)."""
    from coursepack.check import check_lesson

    prs = Presentation()
    prs.slide_width, prs.slide_height = 6858000, 9144000  # 7.5 × 10 in
    prs.save(tmp_path / "portrait.pptx")
    path = tmp_path / "x.md"
    path.write_text(
        "---\ntitle: T\npptx-template: portrait.pptx\n---\n# S\n\n## A\n\n- a bullet\n",
        encoding="utf-8",
    )
    lesson, diagnostics = check_lesson(path)
    warnings = [d.format() for d in diagnostics if not d.is_error]
    assert any(
        "layout 'Title and Content' reaches past the edge of the slide" in w for w in warnings
    )
    assert all(
        w.startswith(f"{path}:3: warning: pptx-template 'portrait.pptx': ") for w in warnings
    )
    deck = open_deck(DeckWriter().render(lesson, tmp_path / "portrait.pptx"))
    for slide in deck.slides:
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.left + shape.width <= deck.slide_width, shape.name
            assert shape.top >= 0 and shape.top + shape.height <= deck.slide_height, shape.name


# --------------------------------------------------------------------------- callouts


def test_callouts_are_boxes_on_the_slides_in_their_styles_colours(tmp_path: Path) -> None:
    """Quarto's callouts: a tinted, framed box with its label; one after text shares its
    slide; several in a row stack on one slide."""
    from pptx.enum.dml import MSO_THEME_COLOR

    source = Path(__file__).parent / "fixtures" / "reader" / "callouts.md"
    prs = open_deck(DeckWriter().render(read(source)))
    boxes = {
        s.shapes.title.text_frame.text: [sh for sh in s.shapes if sh.name.startswith("Callout")]
        for s in prs.slides
    }
    [remember] = boxes["Mandates"]
    assert remember.text_frame.text.startswith("Remember\nA peacekeeping mandate")
    mandates = slide_titled(prs, "Mandates")
    assert "Chapter VII missions may use force." in "\n".join(face_texts(mandates))
    body = next(s for s in mandates.placeholders if s.placeholder_format.idx == 1)
    assert body.top + body.height <= remember.top  # the text above the box
    safety = boxes["Safety"]
    assert [b.text_frame.text.split("\n")[0] for b in safety] == ["Warning", "Tip", "Due Friday"]
    colours = [b.fill.fore_color.theme_color for b in safety]
    assert colours == [MSO_THEME_COLOR.ACCENT_4, MSO_THEME_COLOR.ACCENT_2, MSO_THEME_COLOR.ACCENT_6]
    for upper, lower in zip(safety, safety[1:], strict=False):
        assert upper.top + upper.height <= lower.top  # stacked, not overlapping
    assert safety[-1].top + safety[-1].height <= prs.slide_height


# --------------------------------------------------------------------------- columns


def test_columns_are_a_two_content_slide_with_shapes_side_by_side() -> None:
    prs = open_deck(DeckWriter().render(read(FIXTURES / "columns.md")))
    sides = slide_titled(prs, "Two sides")
    assert sides.slide_layout.name == "Two Content"  # the template's own two-content layout
    left, right = sorted(
        (s for s in sides.placeholders if s.placeholder_format.idx in (1, 2)),
        key=lambda s: s.left,
    )
    assert left.text_frame.text.startswith("Chapter VI: consent")
    assert right.text_frame.text.startswith("UNAMIR was a Chapter VI mission")
    assert left.left + left.width < right.left  # side by side
    assert abs(left.top - right.top) < Pt(1)
    # width=40%: the left column takes 40% of the row, the right one the rest
    assert 0.38 < left.width / (left.width + right.width) < 0.42
    sizes = {r.font.size for s in (left, right) for p in s.text_frame.paragraphs for r in p.runs}
    assert len(sizes) == 1  # one text size across the columns
    picture = slide_titled(prs, "Map and notes")
    pics = [s for s in picture.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    texts = [s for s in picture.placeholders if s.placeholder_format.idx in (1, 2)]
    assert len(pics) == 1 and len(texts) == 1
    assert pics[0].left + pics[0].width <= texts[0].left  # the picture beside the bullets
    assert texts[0].text_frame.text.startswith("Kigali is the capital")


def test_a_command_line_template_reaching_past_the_slide_is_warned_about_once(
    tmp_path: Path,
) -> None:
    """``--pptx-template`` is warned about as the front matter's is (check), once per build
    however many lessons use it; the deck is still written, scaled to the slide."""
    from tests.conftest import run_cli

    prs = Presentation()
    prs.slide_width, prs.slide_height = 6858000, 9144000  # portrait: 4:3 layouts reach past
    template = tmp_path / "portrait.pptx"
    prs.save(template)
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text(
            "---\ntitle: T\n---\n# S\n\n## A\n\n- a bullet\n", encoding="utf-8"
        )
    result = run_cli(
        "build", "a.md", "b.md", "-o", "out", "--only", "slides", "--pptx-template",
        str(template), cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    warned = [
        line for line in result.output.splitlines() if "reaches past the edge of the slide" in line
    ]
    assert any("layout 'Title and Content'" in line for line in warned), result.output
    assert all("portrait.pptx: warning: --pptx-template: layout '" in line for line in warned)
    assert len(warned) == len(set(warned))  # once, not once per lesson
    assert (tmp_path / "out" / "a-slides.pptx").is_file()


def test_three_columns_and_a_table_beside_a_callout_stand_side_by_side() -> None:
    """A third column no longer goes under the second, and a column may hold a table or a
    callout (each fitted to its column) instead of the columns following one another."""
    prs = open_deck(DeckWriter().render(read(FIXTURES / "columns.md")))
    three = slide_titled(prs, "Three chapters")
    texts = sorted(
        (s for s in three.shapes if s.has_text_frame and s.text_frame.text.startswith("Chapter")),
        key=lambda s: s.left,
    )
    assert [s.text_frame.text.split(":")[0] for s in texts] == [
        "Chapter VI",
        "Chapter VII",
        "Chapter VIII",
    ]
    for left, right in zip(texts, texts[1:], strict=False):
        assert left.left + left.width < right.left  # side by side, in order
        assert abs(left.top - right.top) < Pt(1)
    assert texts[-1].left + texts[-1].width <= prs.slide_width
    sizes = {r.font.size for s in texts for p in s.text_frame.paragraphs for r in p.runs}
    assert len(sizes) == 1
    mixed = slide_titled(prs, "Troops and a reminder")
    [table] = [s for s in mixed.shapes if s.has_table]
    [callout] = [s for s in mixed.shapes if s.name.startswith("Callout")]
    assert table.table.cell(1, 0).text == "UNAMIR"
    assert callout.text_frame.text.startswith("Remember\nTroop numbers")
    assert table.left + table.width < callout.left  # the table left, the callout right
    assert callout.left + callout.width <= prs.slide_width
    assert table.top < callout.top + callout.height and callout.top < table.top + table.height


RIGHT_TO_LEFT = """---
title: מחזור המים
lang: he
---

# מים

## התאמה

::: match
- אידוי :: מים הופכים לאדים
- עיבוי :: אדים הופכים למים
- משקעים :: מים יורדים מהעננים
:::

## טורים

:::: columns
::: column
- הטור הראשון
:::
::: column
- הטור השני
:::
::::

## טבלה

| שלב | תיאור | מספר |
|---|:-:|--:|
| אידוי | המים עולים | 1 |
"""


def test_right_to_left_slides_put_the_first_column_on_the_right(tmp_path: Path) -> None:
    """Hebrew: the terms to match are on the right with the reveal's letters on their left,
    the first of two columns is on the right, and a table's first column is its rightmost
    cell, its cells aligned to the start (right) unless centred, as in the handout."""
    from pptx.enum.text import PP_ALIGN

    prs = open_deck(deck_of(tmp_path, RIGHT_TO_LEFT))
    match = next(s for s in prs.slides if "אידוי" in "\n".join(face_texts(s)))
    texts = [s for s in match.shapes if s.has_text_frame]
    terms = next(s for s in texts if "עיבוי" in s.text_frame.text)
    definitions = next(s for s in texts if "אדים הופכים" in s.text_frame.text)
    assert definitions.left + definitions.width <= terms.left
    # the number and the term parted by a no-break space (LibreOffice gives a right-to-left
    # paragraph's tab no width)
    assert "1.\u00a0אידוי" in terms.text_frame.text and "\t" not in terms.text_frame.text
    badges = shown_on_click(match)
    assert len(badges) == 3
    for badge in badges:  # between the definitions and the terms, beside the terms
        after_definitions = badge.left - (definitions.left + definitions.width)
        before_terms = terms.left - (badge.left + badge.width)
        assert 0 <= before_terms < after_definitions

    columns = slide_titled(prs, "טורים")
    first = next(s for s in columns.shapes if s.has_text_frame and "הראשון" in s.text_frame.text)
    second = next(s for s in columns.shapes if s.has_text_frame and "השני" in s.text_frame.text)
    assert second.left + second.width <= first.left

    [shape] = [s for s in slide_titled(prs, "טבלה").shapes if s.has_table]
    table = shape.table
    assert [table.cell(0, c).text for c in range(3)] == ["מספר", "תיאור", "שלב"]
    assert [table.cell(1, c).text for c in range(3)] == ["1", "המים עולים", "אידוי"]
    widths = [table.columns[c].width for c in range(3)]
    assert widths[0] < widths[1]  # "מספר" (1) is the narrow column, now on the left
    aligns = [table.cell(1, c).text_frame.paragraphs[0].alignment for c in range(3)]
    assert aligns == [PP_ALIGN.RIGHT, PP_ALIGN.CENTER, PP_ALIGN.RIGHT]
    for c in range(3):
        assert table.cell(1, c).text_frame.paragraphs[0]._p.pPr.get("rtl") == "1"
