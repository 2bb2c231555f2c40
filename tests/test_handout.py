"""Handout and answer key PDFs: read back with pypdf and checked for what each audience shows.

Each lesson is rendered once per module (fixtures with scope="module"); the lessons are written
as Markdown and read with the real reader, so the tests cover what a teacher would build.
"""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from coursepack.diagnostics import LessonError
from coursepack.layouts import LayoutNotFound, LayoutSearch, default_search_path
from coursepack.model import shuffled_order
from coursepack.reader import read_lesson
from coursepack.writers.handout import HandoutWriter, match_rows, order_rows

ROOT = Path(__file__).resolve().parent.parent
UNAMIR = ROOT / "source" / "unamir.md"

FULL = """\
---
title: Harbours of the Indian Ocean
subtitle: Trade, towns and monsoon winds
course: World History 9
author: Test Teacher
date: 2026-11-20
lang: en-GB
paper: letter
---

The introduction mentions the monsoon.

::: notes
SPEAKERNOTESONLY the deck's notes pane.
:::

::: slides
SLIDESONLYTEXT for the projector.
:::

::: handout
HANDOUTONLYPASSAGE a reading passage for paper.
:::

# Ports

## Zanzibar

- The sultan moved his court to Zanzibar in [[Clozeanswerone]].
  - A second level bullet.
    - A third level bullet.
- Ships sailed with the [[Clozeanswertwo]] winds.

::: teacher
TEACHERNOTESECRET remind students of the map.
:::

![A map of the harbour](map.png "Figure caption: the harbour")

> A quotation from a traveller.

```
code block line
```

::: question points=2
Which winds carried the dhows?

- [ ] Trade winds of the Atlantic
- [x] The monsoon
- [ ] The jet stream
:::

::: question points=3
Which towns were ports? Select every right one.

- [x] Kilwa
- [ ] Timbuktu
- [x] Mombasa
:::

::: question points=4 lines=5
Why did the monsoon matter to traders?

Answer: MODELANSWERTEXT it set the sailing calendar.
:::

::: match points=3
Match each town with its description.

- Kilwa :: Definition of Kilwa coral town
- Mombasa :: Definition of Mombasa island port
- Sofala :: Definition of Sofala gold outlet
- Malindi :: Definition of Malindi pillar site
:::

::: order points=2
Put these in order.

1. Orderitem Alpha first
2. Orderitem Bravo second
3. Orderitem Charlie third
4. Orderitem Delta fourth
:::
"""

TABLE_ROWS = "\n".join(f"| Row{n:02d} | value {n} |" for n in range(1, 31))
LITERAL = f"""\
---
title: Literal Text Lesson
lang: el
---

# Literal

## Markup stays text

Raw HTML <b>notbold</b> and a template {{{{ x }}}} and {{% if y %}}tag{{% endif %}} stay.

Greek Ελληνικά and accents café naïve Ångström, Arabic مرحبا بالعالم here.

| Name | Value |
|------|-------|
{TABLE_ROWS}

## After the table

- A bullet after the long table.
"""


# --------------------------------------------------------------------------- helpers


@functools.cache
def page_texts(data: bytes) -> tuple[str, ...]:
    """The text of each page (cached: pypdf's extraction is the slow part of these tests)."""
    return tuple(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined."""
    return "\n".join(page_texts(data))


def squash(text: str) -> str:
    """Text without whitespace, so words split over lines still match."""
    return re.sub(r"\s+", "", text)


def read(path: Path):
    lesson, diagnostics = read_lesson(path)
    assert lesson is not None, [d.format() for d in diagnostics]
    return lesson


def make_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (120, 60), (40, 90, 140)).save(path)


@pytest.fixture(scope="module")
def writer() -> Iterator[HandoutWriter]:
    made = HandoutWriter(LayoutSearch(default_search_path(ROOT / "no-such-folder")))
    yield made
    made.close()  # WeasyPrint's temporary font folder, before interpreter shutdown


@pytest.fixture(scope="module")
def full(tmp_path_factory, writer):
    folder = tmp_path_factory.mktemp("full")
    make_png(folder / "map.png")
    (folder / "lesson.md").write_text(FULL, encoding="utf-8")
    lesson = read(folder / "lesson.md")
    return {
        "lesson": lesson,
        "handout": writer.render(lesson, "handout"),
        "key": writer.render(lesson, "key"),
    }


@pytest.fixture(scope="module")
def unamir(writer):
    lesson = read(UNAMIR)
    return {
        "lesson": lesson,
        "handout": writer.render(lesson, "handout"),
        "key": writer.render(lesson, "key"),
    }


@pytest.fixture(scope="module")
def literal(tmp_path_factory, writer):
    folder = tmp_path_factory.mktemp("literal")
    (folder / "literal.md").write_text(LITERAL, encoding="utf-8")
    lesson = read(folder / "literal.md")
    return {"lesson": lesson, "handout": writer.render(lesson, "handout")}


# --------------------------------------------------------------------------- audiences


def test_answers_and_teacher_notes_only_in_key(full):
    handout, key = squash(pdf_text(full["handout"])), squash(pdf_text(full["key"]))
    for secret in ("Clozeanswerone", "Clozeanswertwo", "MODELANSWERTEXT", "TEACHERNOTESECRET"):
        assert secret not in handout, secret
        assert secret in key, secret
    assert "Teachernote" in squash(pdf_text(full["key"])).replace("TEACHERNOTE", "Teachernote")
    assert "ANSWERKEY" in key and "ANSWERKEY" not in handout


def test_unamir_answers_only_in_key(unamir):
    lesson = unamir["lesson"]
    handout, key = squash(pdf_text(unamir["handout"])), squash(pdf_text(unamir["key"]))
    from coursepack.writers.handout import lesson_clozes

    answers = {c.answer for c in lesson_clozes(lesson, "handout")}
    assert len(answers) >= 8
    # Numbers such as "10" also occur elsewhere in the text: check the distinctive answers.
    distinctive = [a for a in answers if len(a) > 5]
    assert distinctive
    for answer in distinctive:
        assert squash(answer) in key, answer
    assert "Sensitivitynote" not in handout and "Sensitivitynote" in key


def test_key_lists_every_blank_numbered_in_reading_order(unamir):
    # The fill-in answers are two lists side by side: the second one continues the numbering.
    from coursepack.writers.handout import lesson_clozes

    answers = [c.answer for c in lesson_clozes(unamir["lesson"], "key")]
    summary = pdf_text(unamir["key"])
    summary = summary[summary.index("Fill-in blanks") :]
    # pypdf gives the answers in reading order, then the list markers.
    assert summary.split("\n")[1 : 1 + len(answers)] == answers
    markers = [int(n) for n in re.findall(r"^(\d+)\. $", summary, flags=re.M)]
    assert markers == list(range(1, len(answers) + 1))


def test_notes_and_slides_text_in_neither(full):
    for audience in ("handout", "key"):
        text = pdf_text(full[audience])
        assert "SPEAKERNOTESONLY" not in text
        assert "SLIDESONLYTEXT" not in text


def test_handout_only_text_in_both(full):
    for audience in ("handout", "key"):
        assert "HANDOUTONLYPASSAGE" in pdf_text(full[audience])


def test_question_numbers_points_and_total_on_both(full, unamir):
    for bundle in (full, unamir):
        total = bundle["lesson"].total_points
        for audience in ("handout", "key"):
            text = pdf_text(bundle[audience])
            assert f"Total: {total} points" in text
            for graded in bundle["lesson"].graded():
                label = f"({graded.points} point{'s' if graded.points != 1 else ''})"
                assert label in text
    html = HandoutWriter().render_html(full["lesson"], "handout")
    numbers = re.findall(r'class="q-number"[^>]*>(\d+)<', html)
    assert numbers == ["1", "2", "3", "4", "5"]
    assert "Select all that apply." in pdf_text(full["handout"])
    assert "NAME DATE CLASS" in pdf_text(full["handout"]).upper()


def test_questions_sit_at_the_same_place_in_both(unamir):
    """Each question prompt starts on the same page at the same height in handout and key."""

    def positions(data: bytes) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for number, page in enumerate(PdfReader(io.BytesIO(data)).pages):

            def visit(text, cm, tm, font, size, number=number):
                key = text.strip()[:40]
                if len(key) > 12 and key not in found:
                    found[key] = (number, round(tm[5] + cm[5]))

            page.extract_text(visitor_text=visit)
        return found

    handout, key = positions(unamir["handout"]), positions(unamir["key"])
    prompts = [
        "Put these events in order",
        "Match each person",
        "Why did UN headquarters",
    ]
    checked = 0
    for text, where in handout.items():
        if any(text.startswith(p) for p in prompts) and text in key:
            assert key[text] == where, text
            checked += 1
    assert checked >= 2


# --------------------------------------------------------------------------- matching, ordering


def test_shuffled_order_is_deterministic_and_never_the_identity():
    for n in range(2, 9):
        keys = [f"item {i}" for i in range(n)]
        order = shuffled_order(keys)
        assert order == shuffled_order(list(keys))
        assert sorted(order) == list(range(n))
        assert order != tuple(range(n))
    assert shuffled_order(["only"]) == (0,)


def test_matching_and_ordering_shuffled_in_handout_in_order_in_key(full):
    lesson = full["lesson"]
    match = next(g for g in lesson.graded() if g.kind == "match")
    order = next(g for g in lesson.graded() if g.kind == "order")
    handout = squash(pdf_text(full["handout"]))
    definitions = [f"Definitionof{t}" for t in ("Kilwa", "Mombasa", "Sofala", "Malindi")]
    printed = sorted(definitions, key=handout.index)
    assert printed != definitions  # shuffled ...
    rows = match_rows(match)
    assert [squash(r.definition[0].text) for r in rows] == [
        squash(match.pairs[definitions.index(d)].definition[0].text) for d in printed
    ]  # ... in the order match_rows gives
    items = [f"Orderitem{n}" for n in ("Alpha", "Bravo", "Charlie", "Delta")]
    printed_items = sorted(items, key=handout.index)
    assert printed_items != items
    assert [r.position for r in order_rows(order)] != [1, 2, 3, 4]

    # The key's answer table (its last pages) lists the pairs and the order right.
    key_pages = page_texts(full["key"])
    summary = squash("".join(key_pages[-2:]))
    summary = summary[summary.index("Answersataglance") :]
    assert sorted(definitions, key=summary.index) == definitions
    assert sorted(items, key=summary.index) == items
    for row in rows:
        assert f"{row.number}{row.answer}" in summary  # "1 C": term 1 takes definition C


# --------------------------------------------------------------------------- paper, fonts, tags


def test_page_size_from_front_matter_and_override(full, writer):
    page = PdfReader(io.BytesIO(full["handout"])).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    a4 = writer.render(full["lesson"], "key", paper="a4")
    page = PdfReader(io.BytesIO(a4)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    with pytest.raises(LessonError, match="paper"):
        writer.render(full["lesson"], "key", paper="legal")


def _fonts(data: bytes) -> dict[str, bool]:
    """Every font of the PDF, with whether its file is embedded."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def test_fonts_embedded_and_atkinson_used(full, literal):
    for data in (full["handout"], full["key"], literal["handout"]):
        fonts = _fonts(data)
        assert fonts and all(fonts.values()), fonts
        assert any("Atkinson" in name for name in fonts)
    # Greek and Arabic come from the Noto fallbacks, not a system font.
    names = " ".join(_fonts(literal["handout"]))
    assert "Noto-Sans" in names and "Arabic" in names


def test_tagged_with_lang_and_title(full, literal):
    for audience in ("handout", "key"):
        reader = PdfReader(io.BytesIO(full[audience]))
        root = reader.trailer["/Root"]
        assert root["/MarkInfo"]["/Marked"] in (True, "true")
        assert "/StructTreeRoot" in root
        assert root["/Lang"] == "en-GB"
        assert reader.metadata.title.startswith("Harbours of the Indian Ocean")
        assert reader.metadata.author == "Test Teacher"
    assert PdfReader(io.BytesIO(full["key"])).metadata.title.endswith("Answer key")
    assert PdfReader(io.BytesIO(literal["handout"])).trailer["/Root"]["/Lang"] == "el"


def _struct_alts(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    alts: list[str] = []

    def walk(node, depth=0):
        if depth > 60:
            return
        if isinstance(node, IndirectObject):
            node = node.get_object()
        if isinstance(node, dict):
            if "/Alt" in node:
                alts.append(str(node["/Alt"]))
            kids = node.get("/K")
            if kids is not None:
                for kid in kids if isinstance(kids, list) else [kids]:
                    walk(kid, depth + 1)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return alts


def test_image_alt_text_and_caption(full):
    assert "A map of the harbour" in _struct_alts(full["handout"])
    assert "Figure caption: the harbour" in pdf_text(full["handout"])


def test_two_renders_are_byte_identical(full):
    again = HandoutWriter()  # a fresh writer: new environment, fonts and CSS
    assert again.render(full["lesson"], "handout") == full["handout"]
    assert again.render(full["lesson"], "key") == full["key"]


def test_render_reuses_environment_and_css(full, monkeypatch):
    import weasyprint

    writer = HandoutWriter()
    writer.render(full["lesson"], "handout")
    env, sheets, fonts = writer._env, writer._stylesheets, writer._font_config
    parsed: list[object] = []
    original = weasyprint.CSS.__init__

    def counting(self, *args, **kwargs):
        parsed.append(kwargs.get("filename") or "string")
        original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.CSS, "__init__", counting)
    writer.render(full["lesson"], "key")
    writer.render(full["lesson"], "handout")
    assert parsed == []
    assert writer._env is env and writer._stylesheets is sheets and writer._font_config is fonts


def test_import_is_cheap():
    code = "import sys, coursepack.writers.handout; print('weasyprint' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- literal text


def test_raw_html_templates_and_scripts_print_literally(literal):
    text = pdf_text(literal["handout"])
    assert "<b>notbold</b>" in text
    assert "{{ x }}" in text
    assert "{% if y %}tag{% endif %}" in text
    assert "Ελληνικά" in text
    for word in ("café", "naïve", "Ångström"):
        assert word in text
    squashed = squash(text)
    for n in range(1, 31):
        assert f"Row{n:02d}" in squashed
    html = HandoutWriter().render_html(literal["lesson"], "handout")
    assert "&lt;b&gt;notbold&lt;/b&gt;" in html
    assert "مرحبا" in html


def test_long_table_repeats_its_header(literal):
    pages = page_texts(literal["handout"])
    with_rows = [p for p in pages if "Row" in p]
    if len(with_rows) > 1:  # the table spans pages: every part has the header row
        assert all("Name" in p and "Value" in p for p in with_rows)
    html = HandoutWriter().render_html(literal["lesson"], "handout")
    assert "<thead>" in html


# --------------------------------------------------------------------------- security


def test_image_symlink_outside_the_lesson_folder_is_refused(tmp_path, writer):
    outside = tmp_path / "outside"
    outside.mkdir()
    make_png(outside / "secret.png")
    folder = tmp_path / "lesson"
    folder.mkdir()
    (folder / "pic.png").symlink_to(outside / "secret.png")
    (folder / "l.md").write_text(
        "---\ntitle: Links\n---\n\n# A\n\n## B\n\n![alt text](pic.png)\n", encoding="utf-8"
    )
    lesson = read(folder / "l.md")
    with pytest.raises(LessonError) as caught:
        writer.render(lesson, "handout")
    message = str(caught.value)
    assert "refused" in message and "outside" in message and "secret.png" in message
    assert caught.value.diagnostics[0].line == 9


@pytest.mark.parametrize(
    "css",
    [
        "body { background: url(file:///etc/passwd); }",
        "@import url(http://example.com/x.css);",
        "@font-face { font-family: X; src: url(https://example.com/x.ttf); }",
    ],
)
def test_layout_override_fetching_outside_is_refused(tmp_path, full, css):
    override = tmp_path / "layouts"
    override.mkdir()
    builtin = HandoutWriter().layouts.find("handout.css")
    # @import must come first; other rules go last.
    text = f"{css}\n{builtin.read_text()}" if "@import" in css else f"{builtin.read_text()}\n{css}"
    (override / "handout.css").write_text(text, encoding="utf-8")
    writer = HandoutWriter(LayoutSearch((override, builtin.parent)))
    with pytest.raises(LessonError, match="refused to load"):
        writer.render(full["lesson"], "handout")


def test_file_links_are_dropped_web_links_kept(tmp_path, writer):
    (tmp_path / "l.md").write_text(
        "---\ntitle: Links\n---\n\n# A\n\n## B\n\n"
        "See [the secret](file:///etc/passwd) and [the UN](https://www.un.org/).\n",
        encoding="utf-8",
    )
    data = writer.render(read(tmp_path / "l.md"), "handout")
    uris = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for annot in page.get("/Annots", []) or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                uris.append(str(action["/URI"]))
    assert uris == ["https://www.un.org/"]
    assert "the secret" in pdf_text(data)


def test_missing_template_names_the_folders(tmp_path, full):
    override = tmp_path / "layouts"
    override.mkdir()
    (override / "handout.html.j2").write_text('{% import "nowhere.html.j2" as x %}')
    builtin = HandoutWriter().layouts.find("handout.css").parent
    writer = HandoutWriter(LayoutSearch((override, builtin)))
    with pytest.raises(LayoutNotFound, match="nowhere.html.j2") as caught:
        writer.render(full["lesson"], "handout")
    assert str(override) in str(caught.value)


def test_a_theme_colour_without_a_value_is_a_layout_error(tmp_path, full):
    override = tmp_path / "layouts"
    override.mkdir()
    (override / "theme.yaml").write_text("colours:\n  muted: transparent\n", encoding="utf-8")
    builtin = HandoutWriter().layouts.find("handout.css").parent
    writer = HandoutWriter(LayoutSearch((override, builtin)))
    with pytest.raises(LessonError, match="colour 'muted' must be a hex colour") as caught:
        writer.render(full["lesson"], "handout")
    assert caught.value.diagnostics[0].path == override / "theme.yaml"
    assert caught.value.diagnostics[0].line == 2


def test_an_ordered_list_keeps_its_first_number(tmp_path, writer):
    path = tmp_path / "steps.md"
    path.write_text(
        "---\ntitle: Steps\n---\n# Part\n\n## Steps\n\n3. Third step\n4. Fourth step\n",
        encoding="utf-8",
    )
    text = pdf_text(writer.render(read(path), "handout"))
    # pypdf gives the items, then their markers: WeasyPrint ignores <ol start> on its own.
    assert re.findall(r"^(\d+)\. $", text, flags=re.M) == ["3", "4"]


def test_layout_files_lists_templates_css_and_fonts(writer):
    names = {path.name for path in writer.layout_files()}
    assert {"handout.html.j2", "blocks.html.j2", "handout.css", "theme.yaml"} <= names
    assert any(name.startswith("AtkinsonHyperlegible") for name in names)


# --------------------------------------------------------------------------- course pack


@pytest.fixture(scope="module")
def pack(full, literal, unamir, writer):
    from coursepack.course import Course

    lessons = [unamir["lesson"], full["lesson"], literal["lesson"]]
    course = Course(
        path=full["lesson"].folder / "course.yaml",
        title="Modern World History",
        subtitle="Unit 7",
        author="History department",
        term="Spring 2027",
        paper=None,
        lang="en",
        lessons=tuple(lesson.path for lesson in lessons),
    )
    return {
        "lessons": lessons,
        "handout": writer.render_pack(course, lessons, "handout"),
        "key": writer.render_pack(course, lessons, "key"),
    }


def test_pack_lessons_start_on_odd_pages_named_in_bookmarks_and_contents(pack, unamir):
    for audience in ("handout", "key"):
        reader = PdfReader(io.BytesIO(pack[audience]))
        pages = page_texts(pack[audience])
        assert len(pages) > len(PdfReader(io.BytesIO(unamir[audience])).pages) + 2
        outline = [item for item in reader.outline if not isinstance(item, list)]
        titles = [lesson.meta.title for lesson in pack["lessons"]]
        assert [item.title for item in outline] == titles
        contents = squash(pages[1])
        for item, title in zip(outline, titles, strict=True):
            number = reader.get_destination_page_number(item) + 1
            assert number % 2 == 1, (title, number)  # a right-hand page
            assert squash(title) in squash(pages[number - 1])
            assert re.search(re.escape(squash(title)) + r"\.*" + str(number), contents)
        assert f"Page {len(pages)} of {len(pages)}" in pages[-1] or not pages[-1].strip()
    key = squash(pdf_text(pack["key"]))
    assert "MODELANSWERTEXT" in key and "MODELANSWERTEXT" not in squash(pdf_text(pack["handout"]))
    assert "Pointsperlesson" in key


def test_callouts_print_as_boxes_with_their_labels_in_handout_and_key(tmp_path: Path) -> None:
    from conftest import pdf_text, run_cli

    source = Path(__file__).parent / "fixtures" / "reader" / "callouts.md"
    result = run_cli("build", str(source), "-o", str(tmp_path), "-j", "1", "--only", "handout")
    assert result.exit_code == 0, result.output
    result = run_cli("build", str(source), "-o", str(tmp_path), "-j", "1", "--only", "key")
    assert result.exit_code == 0, result.output
    for name in ("callouts-handout.pdf", "callouts-answer-key.pdf"):
        text = pdf_text(tmp_path / name)
        for label, body in (
            ("Remember", "A peacekeeping mandate is set by the Security Council."),
            ("Warning", "Some sources in this unit describe violence."),
            ("Tip", "Compare two sources before you answer."),
            ("Due Friday", "Hand in your essay."),
        ):
            assert label in text and body in text, (name, label)
            assert text.index(label) < text.index(body)


def test_columns_print_side_by_side(tmp_path: Path) -> None:
    from conftest import run_cli

    source = Path(__file__).parent / "fixtures" / "reader" / "columns.md"
    result = run_cli("build", str(source), "-o", str(tmp_path), "-j", "1", "--only", "handout")
    assert result.exit_code == 0, result.output
    xhtml = subprocess.run(
        ["pdftotext", "-bbox", str(tmp_path / "columns-handout.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    words: dict[str, tuple[float, float]] = {}
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', xhtml):
        words.setdefault(m[3], (float(m[1]), float(m[2])))  # the first time a word prints
    consent, unamir = words["consent"], words["UNAMIR"]
    assert consent[0] < unamir[0]  # the left column is left of the right one
    assert abs(consent[1] - unamir[1]) < 30  # and they start on the same band of the page


def test_renders_collect_garbage_less_often_and_restore_the_thresholds() -> None:
    # WeasyPrint runs with raised collector thresholds (12-15% less CPU on a course pack);
    # the caller's thresholds come back afterwards, also when the render fails.
    import gc

    from coursepack.writers import handout

    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    with handout._fewer_collections():
        seen.append(gc.get_threshold())
    with pytest.raises(RuntimeError), handout._fewer_collections():
        raise RuntimeError("layout failed")
    assert seen == [handout._RENDER_GC_THRESHOLD] != [before]
    assert gc.get_threshold() == before


def test_tables_too_wide_for_the_page_are_split_by_columns(tmp_path: Path) -> None:
    """A 13-column table lost its last column off the page and a 150-column one most of
    them: each is split by columns, the first column (the row labels) repeated and every
    part after the first marked; every word of every cell is on the page, whole."""
    from collections import Counter

    from conftest import run_cli
    from test_deck_render import WIDE, _source_columns, words_by_page

    only = ("--only", "handout", "--only", "key")
    result = run_cli("build", str(WIDE), "-o", str(tmp_path), "-j", "1", *only)
    assert result.exit_code == 0, result.output
    tables = _source_columns(WIDE)
    for name in ("wide-tables-handout.pdf", "wide-tables-answer-key.pdf"):
        drawn: Counter[str] = Counter()
        for width, height, words in words_by_page(tmp_path / name):
            for word, (x0, y0, x1, y1) in words:
                assert min(x0, y0) >= 0 and x1 <= width and y1 <= height, (name, word)
                drawn[word] += 1
        for columns in tables.values():
            for column in columns:
                for cell in column:
                    assert all(drawn[word] for word in cell.split()), (name, cell)
        wide, narrow = drawn["Row1"], drawn["Argentina"]  # a row label, once a part
        assert wide >= 10 and narrow >= 2, name
        assert drawn["continued"] == wide - 1 + narrow - 1, name  # "Table continued"
        # the header on every part (and again where a part goes on over a page)
        assert drawn["Item"] >= wide and drawn["Country"] >= narrow, name
