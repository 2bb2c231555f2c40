"""Render decks with LibreOffice and check that nothing overflows.

One ``soffice`` call converts every deck to PDF; ``pdftotext -bbox`` gives each word's box. Every
word must lie on its page and inside the box of a shape of its slide (text that overflows a
placeholder falls outside it). Every body run in the pptx is at least the 18 pt floor.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import libreoffice_convert
from pptx import Presentation
from pptx.util import Pt

from coursepack.reader import read_lesson
from coursepack.writers.deck import DeckWriter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "deck"
UNAMIR = ROOT / "source" / "unamir.md"
WIDE = FIXTURES / "wide-tables.md"  # a 13-column and a 150-column table
EMU_PER_PT = 12700
TOLERANCE = 3.0  # points: glyph boxes may poke out of a text box by a hair
FOOTER_TYPES = (13, 15, 16)  # slide number, footer, date placeholders

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) and poppler-utils (pdftotext) are needed to render decks",
)


def _school_template(folder: Path) -> Path:
    """A 4:3 template with German layout names (python-pptx's default, renamed)."""
    prs = Presentation()
    names = {
        "Title Slide": "Titelfolie",
        "Title and Content": "Titel und Inhalt",
        "Section Header": "Abschnittsüberschrift",
        "Title Only": "Nur Titel",
    }
    for layout in prs.slide_layouts:
        layout.name = names.get(layout.name, layout.name)
    path = folder / "school.pptx"
    prs.save(path)
    return path


def _resized_template(folder: Path, name: str, width_in: float, height_in: float) -> Path:
    """python-pptx's 4:3 template re-saved at another slide size, its layouts unchanged: their
    placeholders reach past a 16:10 slide's bottom or a portrait slide's right edge."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = int(width_in * 914400), int(height_in * 914400)
    path = folder / f"{name}.pptx"
    prs.save(path)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, tuple[bytes, Path]]:
    """name → (pptx bytes, pdf path), converted in one soffice run."""
    out = tmp_path_factory.mktemp("decks")
    inputs = [("overflow", FIXTURES / "overflow.md", None), ("small", FIXTURES / "small.md", None)]
    school = _school_template(out)
    inputs += [("overflow-4x3", FIXTURES / "overflow.md", school)]
    wide = _resized_template(out, "wide-16x10", 10, 6.25)
    tall = _resized_template(out, "portrait", 7.5, 10)
    inputs += [("small-16x10", FIXTURES / "small.md", wide)]
    inputs += [("small-portrait", FIXTURES / "small.md", tall)]
    inputs += [("unamir", UNAMIR, None), ("unamir-4x3", UNAMIR, school)]
    inputs += [("unamir-16x10", UNAMIR, wide), ("unamir-portrait", UNAMIR, tall)]
    # every other sample lesson with slides of its own kinds (columns, callouts, questions)
    inputs += [
        ("columns", FIXTURES / "columns.md", None),
        ("columns-4x3", FIXTURES / "columns.md", school),
    ]
    inputs += [("callouts", FIXTURES.parent / "reader" / "callouts.md", None)]
    inputs += [("callouts-portrait", FIXTURES.parent / "reader" / "callouts.md", tall)]
    inputs += [("wide-tables", WIDE, None), ("wide-tables-portrait", WIDE, tall)]
    decks: dict[str, bytes] = {}
    for name, source, template in inputs:
        lesson, diags = read_lesson(source)
        assert lesson is not None, diags
        decks[name] = DeckWriter().render(lesson, template)
        (out / f"{name}.pptx").write_bytes(decks[name])
    libreoffice_convert([out / f"{name}.pptx" for name in decks], out)
    return {name: (data, out / f"{name}.pdf") for name, data in decks.items()}


def words_by_page(pdf: Path) -> list[tuple[float, float, list[tuple[str, tuple[float, ...]]]]]:
    """(width, height, [(word, (x0, y0, x1, y1))]) per page, from ``pdftotext -bbox``."""
    xhtml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    root = ElementTree.fromstring(xhtml)
    ns = "{http://www.w3.org/1999/xhtml}"
    pages = []
    for page in root.iter(f"{ns}page"):
        words = [
            (w.text or "", tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
            for w in page.iter(f"{ns}word")
        ]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def shape_boxes(slide) -> list[tuple[float, float, float, float]]:
    """Every shape's box on a slide, in points (placeholders inherit from their layout)."""
    boxes = []
    for shape in slide.shapes:
        if shape.left is None or shape.width is None:
            continue
        x, y = shape.left / EMU_PER_PT, shape.top / EMU_PER_PT
        boxes.append((x, y, x + shape.width / EMU_PER_PT, y + shape.height / EMU_PER_PT))
    return boxes


def inside(box, outer, tol: float = TOLERANCE) -> bool:
    """True when a word's box lies in ``outer``.

    pdftotext's word boxes span the font's whole ascent and descent (about 1.3 em), more than
    the glyphs ink, so vertically a sixth of the word's height is tolerated as well: a line
    that really overflows is off by a whole line.
    """
    vertical = max(tol, (box[3] - box[1]) / 6)
    return (
        box[0] >= outer[0] - tol
        and box[1] >= outer[1] - vertical
        and box[2] <= outer[2] + tol
        and box[3] <= outer[3] + vertical
    )


DECKS = [
    "overflow",
    "small",
    "overflow-4x3",
    "small-16x10",
    "small-portrait",
    "unamir",
    "unamir-4x3",
    "unamir-16x10",
    "unamir-portrait",
    "columns",
    "columns-4x3",
    "callouts",
    "callouts-portrait",
    "wide-tables",
    "wide-tables-portrait",
]


@pytest.mark.parametrize("name", [d for d in DECKS if d.endswith(("16x10", "portrait"))])
def test_every_shape_is_inside_the_slide_in_any_slide_size(rendered, name: str) -> None:
    """A template whose layouts reach past its slide: every shape (placeholders with the
    position they inherit) is cut to the slide."""
    data, _ = rendered[name]
    prs = Presentation(io.BytesIO(data))
    width, height = prs.slide_width / EMU_PER_PT, prs.slide_height / EMU_PER_PT
    for number, slide in enumerate(prs.slides, 1):
        for box in shape_boxes(slide):
            assert inside(box, (0, 0, width, height), tol=0.5), (number, box)


@pytest.mark.parametrize("name", DECKS)
def test_no_word_outside_the_slide_or_its_shape(rendered, name: str) -> None:
    data, pdf = rendered[name]
    prs = Presentation(io.BytesIO(data))
    pages = words_by_page(pdf)
    assert len(pages) == len(prs.slides)
    problems = []
    for number, (slide, (width, height, words)) in enumerate(
        zip(prs.slides, pages, strict=True), 1
    ):
        assert abs(width - prs.slide_width / EMU_PER_PT) < 1
        boxes = shape_boxes(slide)
        for word, box in words:
            if not inside(box, (0, 0, width, height), tol=0.5):
                problems.append(f"slide {number}: {word!r} is off the page at {box}")
            elif not any(inside(box, outer) for outer in boxes):
                problems.append(f"slide {number}: {word!r} overflows its shape at {box}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("name", DECKS)
def test_no_body_text_under_the_floor(rendered, name: str) -> None:
    data, _ = rendered[name]
    prs = Presentation(io.BytesIO(data))
    checked = 0
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.is_placeholder and shape.placeholder_format.type in FOOTER_TYPES:
                continue
            is_title = shape == slide.shapes.title
            frames = [shape.text_frame] if shape.has_text_frame else []
            if shape.has_table:
                frames = [cell.text_frame for row in shape.table.rows for cell in row.cells]
            for tf in frames:
                for run in (r for p in tf.paragraphs for r in p.runs):
                    assert run.font.size is not None, run.text
                    floor = Pt(24) if is_title else Pt(18)
                    assert run.font.size >= floor, (slide.shapes.title.text_frame.text, run.text)
                    checked += 1
    assert checked > 10  # the smallest sample deck (callouts) has 14 runs


def _source_columns(path: Path) -> dict[str, list[list[str]]]:
    """Per table of the fixture (by the heading above it): its columns, each the cells'
    texts from the header down, read straight from the Markdown."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:]
        elif line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            columns = tables.setdefault(heading, [[] for _ in cells])
            for column, cell in zip(columns, cells, strict=True):
                column.append(cell)
    return tables


@pytest.mark.parametrize("name", ["wide-tables", "wide-tables-portrait"])
def test_wide_tables_are_split_by_columns_with_the_first_column_repeated(
    rendered, name: str
) -> None:
    """A 13-column table broke words mid-word on slides and a 150-column one ran off the
    slide: each is split by columns onto numbered continuation slides, every one repeating
    the first column; every cell holds its source text whole; every table is on its slide,
    and LibreOffice draws only whole words of the source."""
    data, pdf = rendered[name]
    prs = Presentation(io.BytesIO(data))
    width, height = prs.slide_width / EMU_PER_PT, prs.slide_height / EMU_PER_PT
    pages = words_by_page(pdf)
    for heading, columns in _source_columns(WIDE).items():
        slides = [
            (number, slide)
            for number, slide in enumerate(prs.slides)
            if slide.shapes.title.text_frame.text.startswith(heading)
        ]
        assert len(slides) >= 2, heading
        assert [s.shapes.title.text_frame.text for _, s in slides] == [
            f"{heading} ({i}/{len(slides)})" for i in range(1, len(slides) + 1)
        ]
        seen = []
        source_words = {w for column in columns for cell in column for w in cell.split()}
        for number, slide in slides:
            (frame,) = [shape for shape in slide.shapes if shape.has_table]
            box = shape_boxes(slide)[list(slide.shapes).index(frame)]
            assert inside(box, (0, 0, width, height), tol=0.5), (heading, number, box)
            table = frame.table
            shown = [[row.cells[c].text for row in table.rows] for c in range(len(table.columns))]
            assert shown[0] == columns[0]  # the row labels, on every slide
            for column in shown[1:]:
                assert column in columns[1:], column  # each cell's text whole, in its column
                seen.append(columns.index(column))
            title = slide.shapes.title.text_frame.text
            footer = {*title.split(), *prs.core_properties.title.split(), str(number + 1)}
            drawn = [word for word, _box in pages[number][2]]
            assert [w for w in drawn if w not in source_words | footer] == [], (heading, number)
        assert seen == list(range(1, len(columns)))  # every column once, in order


def test_overflow_deck_really_was_split(rendered) -> None:
    data, _ = rendered["overflow"]
    prs = Presentation(io.BytesIO(data))
    titles = [s.shapes.title.text_frame.text for s in prs.slides]
    assert any(t.startswith("Fourteen Long Bullets (2/") for t in titles)
    assert any(t.startswith("A Table Of Thirty Rows (2/") for t in titles)


def test_libreoffice_impress_plays_the_builds_and_the_answer_reveal(tmp_path: Path) -> None:
    """LibreOffice reads the p:timing trees as its own animations: one on-click step per
    bullet of an incremental list (a sub-bullet with its bullet) and one for the answer (the
    correct option's frame, badge and tick appear together)."""
    source = tmp_path / "builds.md"
    source.write_text(
        "---\ntitle: Builds\nincremental: true\n---\n# S\n\n## List\n\n- one\n  - detail\n"
        "- two\n- three\n\n## Quiz\n\n::: question\nWhich?\n\n- [ ] no\n- [x] yes\n:::\n",
        encoding="utf-8",
    )
    lesson, diags = read_lesson(source)
    assert lesson is not None, diags
    deck = tmp_path / "builds.pptx"
    deck.write_bytes(DeckWriter().render(lesson))
    libreoffice_convert([deck], tmp_path, to="odp")
    import zipfile

    with zipfile.ZipFile(tmp_path / "builds.odp") as odp:
        content = odp.read("content.xml").decode("utf-8")
    pages = content.split("<draw:page ")[1:]
    steps = [re.findall(r'presentation:node-type="(on-click|with-previous)"', p) for p in pages]
    # cover, section, the list (three clicks, the detail with its bullet), the question
    assert steps[2] == ["on-click", "with-previous", "on-click", "on-click"]
    assert steps[3] == ["on-click", "with-previous", "with-previous"]
    assert steps[0] == steps[1] == []


MARKS = """---
title: Marks
lang: {lang}
---
# S

## Quiz

::: question
{which}

- [ ] {words[0]}
- [x] {words[1]}
- [ ] {words[2]}
:::

::: question
{long_prompt}

{long_options}
:::

::: match
{match}
- {words[3]} :: {words[4]}
- {words[5]} :: {words[6]}
- {words[7]} :: {words[8]}
:::

::: order
{order}
1. {words[9]}
2. {words[10]}
3. {words[11]}
4. {words[12]}
:::
"""

WORDS = {
    "en": (
        "Which is right?",
        "Match each person to a role.",
        "Put these in order.",
        "the mission had a mandate that did not allow the use of force to stop killings",
        "Wrong | Right | Also wrong | Roméo Dallaire | Force Commander | Kofi Annan | Head of "
        "UN peacekeeping | Booh-Booh | Head of Mission | UNAMIR established | The Genocide Fax "
        "is sent | President's plane shot down | The RPF takes Kigali",
    ),
    "he": (
        "מה נכון?",
        "התאימו כל אדם לתפקיד.",
        "סדרו לפי הסדר.",
        "למשימה היה מנדט שלא התיר שימוש בכוח כדי לעצור את ההרג בכל מקום",
        "שגוי | נכון | גם שגוי | דאלר | מפקד הכוח | אנאן | ראש שמירת השלום | בו־בו | ראש "
        "המשימה | הקמת המשימה | שליחת הפקס | הפלת המטוס | כיבוש קיגלי",
    ),
}


def _marks_lesson(folder: Path, lang: str) -> Path:
    which, match, order, long, words = WORDS[lang]
    options = "\n".join(f"- [{'x' if i in (2, 6) else ' '}] {i}: {long} {i}" for i in range(8))
    text = MARKS.format(
        lang=lang,
        which=which,
        match=match,
        order=order,
        words=[w.strip() for w in words.split("|")],
        long_prompt=f"{which} {long}.",
        long_options=options,
    )
    path = folder / f"marks-{lang}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_reveal_marks_sit_on_the_lines_they_mark(tmp_path: Path) -> None:
    """Rendered by LibreOffice: each tick sits on a correct option's line with its frame round
    that line's words (also on a question shrunk below the largest size and split onto two
    slides, and right to left); each matching letter on its term's line, each ordering number
    on its item's line, as the notes give them."""
    decks = {}
    for lang in ("en", "he"):
        lesson, diags = read_lesson(_marks_lesson(tmp_path, lang))
        assert lesson is not None, diags
        decks[lang] = tmp_path / f"marks-{lang}.pptx"
        decks[lang].write_bytes(DeckWriter().render(lesson))
    libreoffice_convert(list(decks.values()), tmp_path)
    checked = {"tick": 0, "letter": 0, "number": 0, "shrunk": 0}
    for lang, deck in decks.items():
        prs = Presentation(deck)
        notes = ""
        pages = words_by_page(deck.with_suffix(".pdf"))
        for slide, (_, _, words) in zip(prs.slides, pages, strict=True):
            # a question split over two slides has its answers in the first one's notes
            notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else notes
            frames = [
                tuple(v / EMU_PER_PT for v in (s.left, s.top, s.left + s.width, s.top + s.height))
                for s in slide.shapes
                if s.name.startswith("Answer frame")
            ]
            for shape in (s for s in slide.shapes if s.name.startswith("Answer mark")):
                box = tuple(
                    v / EMU_PER_PT
                    for v in (
                        shape.left,
                        shape.top,
                        shape.left + shape.width,
                        shape.top + shape.height,
                    )
                )
                centre = (box[1] + box[3]) / 2
                line = [
                    (w, b)
                    for w, b in words
                    if abs((b[1] + b[3]) / 2 - centre) < (b[3] - b[1]) * 0.3
                    and not inside(b, box, tol=0)
                ]
                assert line, (lang, slide.shapes.title.text_frame.text, box)
                # "B." as a word; right to left ".ב", or "B" and "." apart
                texts = [w for w, _ in line]
                tokens = []
                for i, word in enumerate(texts):
                    found = re.fullmatch(r"(\w+)\.|\.(\w+)", word)
                    if found:
                        tokens.append(found.group(1) or found.group(2))
                    elif "." in texts[max(0, i - 1) : i] + texts[i + 1 : i + 2]:
                        tokens.append(word)  # "B" next to a "." of its own
                tokens = [t for t in tokens if t.isdigit() or (len(t) == 1 and t.isalpha())]
                letters = [t for t in tokens if t.isalpha()]
                label = shape.text_frame.text
                if not label:  # a tick: a correct option's line, framed
                    [prefix] = letters
                    assert re.search(rf"(?<!\w){prefix} —", notes), (prefix, notes[:80])
                    [frame] = [f for f in frames if f[1] < centre < f[3]]
                    assert all(inside(b, frame) for _, b in line), (lang, line, frame)
                    checked["tick"] += 1
                    size = slide.placeholders[1].text_frame.paragraphs[-1].runs[-1].font.size
                    checked["shrunk"] += size.pt < 28
                elif label.isdigit():  # an item's place: the notes' order
                    order = notes.splitlines()[0].split(": ", 1)[1].split(", ")
                    [prefix] = letters
                    assert order.index(prefix) + 1 == int(label)
                    checked["number"] += 1
                else:  # the letter of a term's definition
                    pairs = dict(re.findall(r"(\d+) — (\w)", notes.splitlines()[0]))
                    term = next(t for t in tokens if t.isdigit())
                    assert pairs[term] == label
                    checked["letter"] += 1
    # two languages: one tick, two on the long question, three letters, four numbers each
    assert checked == {"tick": 6, "letter": 6, "number": 8, "shrunk": 4}


def test_every_sample_lesson_renders_with_nothing_outside_its_slide(tmp_path: Path) -> None:
    """Every fixture lesson that checks clean (and the sample) as LibreOffice renders it:
    every word on its slide and inside a shape, every shape on the slide. (A subscript's box
    reaches below its line, and past the bottom of a table's last row: words set smaller than
    the slide's usual are only held to the slide.)"""
    from coursepack.check import check_lesson

    sources = [*sorted((ROOT / "tests" / "fixtures").rglob("*.md")), UNAMIR]
    decks: list[Path] = []
    for number, source in enumerate(sources):
        lesson, diags = check_lesson(source)
        if lesson is None or any(d.is_error for d in diags):
            continue
        deck = tmp_path / f"{number:02d}-{source.stem}.pptx"
        deck.write_bytes(DeckWriter().render(lesson))
        decks.append(deck)
    assert len(decks) > 20
    libreoffice_convert(list(decks), tmp_path)
    problems = []
    for deck in decks:
        prs = Presentation(deck)
        pages = words_by_page(deck.with_suffix(".pdf"))
        assert len(pages) == len(prs.slides), deck.name
        slide_box = (0, 0, prs.slide_width / EMU_PER_PT, prs.slide_height / EMU_PER_PT)
        for number, (slide, (_, _, words)) in enumerate(zip(prs.slides, pages, strict=True), 1):
            boxes = shape_boxes(slide)
            problems += [
                f"{deck.name} slide {number}: a shape off the slide at {box}"
                for box in boxes
                if not inside(box, slide_box, tol=0.5)
            ]
            heights = sorted(b[3] - b[1] for _, b in words)
            usual = heights[len(heights) // 2] if heights else 0
            for word, box in words:
                if not inside(box, slide_box, tol=0.5):
                    problems.append(f"{deck.name} slide {number}: {word!r} off the slide")
                elif box[3] - box[1] >= 0.7 * usual and not any(
                    inside(box, outer) for outer in boxes
                ):
                    problems.append(f"{deck.name} slide {number}: {word!r} overflows its shape")
    assert not problems, "\n".join(problems[:30])
