"""The Moodle XML and QTI exports, read back as Moodle and Canvas read them.

``tests/fixtures/quiz/export.md`` holds every graded kind, blanks whose answers need every
escape, literal text that looks like Cloze or Canvas syntax, and a picture in a subfolder with
a space in its name. The checkers in ``lms_checks.py`` apply the importers' rules.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, UNAMIR, run_cli, write_lesson
from lms_checks import (
    CANVAS,
    CP,
    QTI,
    cloze_gaps,
    image_sources,
    moodle_problems,
    moodle_questions,
    qti_assessments,
    qti_problems,
    shortanswer_matches,
    strip_namespaces,
)

from coursepack.check import check_lesson
from coursepack.course import read_course
from coursepack.model import Lesson, Match, Order
from coursepack.writers import moodle, qti
from coursepack.writers.quiz import MOODLE_GRADES, select_all_grades, wrong_grade

EXPORT = ROOT / "tests" / "fixtures" / "quiz" / "export.md"
PICTURE = EXPORT.parent / "maps" / "rwanda 1994.png"
BLANKS = ["{x}", "C#", "~/home", "2*3", "AT&T <b>", "a\\b", '"it\'s"', "x = ±3", "H2O"]


def load(path: Path) -> Lesson:
    lesson, diagnostics = check_lesson(path)
    assert lesson is not None, diagnostics
    return lesson


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    lesson, diagnostics = check_lesson(EXPORT)
    assert lesson is not None and diagnostics == []
    return lesson


@pytest.fixture(scope="module")
def moodle_xml(lesson: Lesson) -> bytes:
    return moodle.lesson_xml(lesson)


@pytest.fixture(scope="module")
def qti_zip(lesson: Lesson) -> bytes:
    return qti.lesson_package(lesson)


def _questions(data: bytes, qtype: str) -> list[ET.Element]:
    return [q for q in moodle_questions(data) if q.get("type") == qtype]


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    assert found is not None, path
    return found.text or ""


# --------------------------------------------------------------------------- Moodle


def test_moodle_export_follows_every_import_rule(moodle_xml: bytes) -> None:
    assert moodle_problems(moodle_xml) == []


def test_moodle_has_a_category_then_one_question_per_graded_block_and_blanks_part(
    moodle_xml: bytes,
) -> None:
    questions = moodle_questions(moodle_xml)
    assert [q.get("type") for q in questions] == [
        "category",
        "cloze",  # the lesson's introduction has a blank
        "cloze",  # so has the first topic
        "multichoice",
        "multichoice",
        "essay",
        "matching",
        "ordering",
    ]
    category = _text(questions[0], "category/text")
    assert category == "$course$/top/Exports: every question kind & its escapes"
    grades = [q.findtext("defaultgrade") for q in questions if q.get("type") != "category"]
    assert grades == [None, None, "2", "3", "4", "3", "2"]  # Cloze: one mark per gap


def test_single_choice_has_exactly_one_right_answer(moodle_xml: bytes) -> None:
    single = _questions(moodle_xml, "multichoice")[0]
    assert single.findtext("single") == "true"
    fractions = [a.get("fraction") for a in single.findall("answer")]
    assert fractions == ["0", "100", "0"]
    # The option text is HTML: a literal "<Annan> & co" is escaped, not markup.
    assert _text(single.findall("answer")[2], "text") == "Kofi &lt;Annan&gt; &amp; co"


def test_select_all_shares_the_mark_and_wrong_options_take_it_back(moodle_xml: bytes) -> None:
    select_all = _questions(moodle_xml, "multichoice")[1]
    assert select_all.findtext("single") == "false"
    fractions = [a.get("fraction") for a in select_all.findall("answer")]
    assert fractions == ["33.33333", "33.33333", "-33.33333", "33.33333", "-33.33333"]


@pytest.mark.parametrize("correct", range(1, 26))
def test_select_all_grades_are_moodle_grades_adding_up_to_100(correct: int) -> None:
    grades = select_all_grades(correct)
    assert len(grades) == correct
    assert all(g in (*MOODLE_GRADES, "0") for g in grades)
    if correct <= 20:  # beyond 20 right options Moodle has no grade small enough
        assert round(sum(float(g) for g in grades) / 100, 2) == 1
    wrong = wrong_grade(correct)
    assert wrong.startswith("-") and wrong[1:] in MOODLE_GRADES


def test_essay_has_the_model_answer_for_graders_and_the_lines_as_box_size(
    moodle_xml: bytes,
) -> None:
    essay = _questions(moodle_xml, "essay")[0]
    grader = _text(essay, "graderinfo/text")
    assert "<strong>Chapter VI</strong>" in grader and "<p>HQ wanted to stay neutral.</p>" in grader
    assert "Chapter VI" not in _text(essay, "questiontext/text")
    assert essay.findtext("responsefieldlines") == "10"  # lines=7, rounded up to a Moodle size
    assert [moodle.essay_lines(n) for n in (None, 1, 5, 6, 40, 100)] == [5, 5, 5, 10, 40, 40]


def test_matching_keeps_the_pairs(moodle_xml: bytes, lesson: Lesson) -> None:
    matching = _questions(moodle_xml, "matching")[0]
    pairs = [
        (_text(sub, "text"), sub.findtext("answer/text")) for sub in matching.findall("subquestion")
    ]
    assert pairs == [
        ("Roméo Dallaire", "UNAMIR Force Commander"),
        ("Kofi Annan", "Head of UN peacekeeping"),
        ("Iqbal Riza", "Deputy head of UN peacekeeping"),
    ]


def test_ordering_lists_the_items_in_their_right_order(moodle_xml: bytes) -> None:
    ordering = _questions(moodle_xml, "ordering")[0]
    items = [_text(answer, "text") for answer in ordering.findall("answer")]
    assert items == [
        "UNAMIR established",
        'The "Genocide Fax" is sent',
        "Belgium withdraws its troops",
        "The RPF takes Kigali",
    ]
    assert ordering.findtext("selecttype") == "ALL" and ordering.findtext("selectcount") == "4"


def test_ordering_without_the_ordering_type_matches_items_to_positions(lesson: Lesson) -> None:
    data = moodle.lesson_xml(lesson, ordering=False)
    assert moodle_problems(data) == []
    assert not _questions(data, "ordering")
    order = next(block for block in lesson.graded() if isinstance(block, Order))
    fallback = _questions(data, "matching")[1]
    subs = [(_text(s, "text"), s.findtext("answer/text")) for s in fallback.findall("subquestion")]
    # The items in the order the handout prints them, each with its right position.
    assert subs == [
        (order.items[i].inlines[0].text, str(i + 1))  # type: ignore[union-attr]
        for i in order.shown_order
    ]
    assert [s[0] for s in subs] != [item.inlines[0].text for item in order.items]  # type: ignore[union-attr]


def test_cloze_gaps_give_back_every_answer_exactly(moodle_xml: bytes) -> None:
    topic = _questions(moodle_xml, "cloze")[1]
    assert topic.findtext("name/text") == "Blanks that need escaping"
    text = _text(topic, "questiontext/text")
    gaps = cloze_gaps(text)
    assert [gap.qtype for gap in gaps] == ["SHORTANSWER"] * len(BLANKS)
    assert [len(gap.answers) for gap in gaps] == [1] * len(BLANKS)
    for gap, answer in zip(gaps, BLANKS, strict=True):
        fraction, pattern = gap.answers[0]
        assert fraction == 1
        assert shortanswer_matches(pattern, answer), (pattern, answer)
    # "2*3" is a literal star, not Moodle's wildcard.
    assert not shortanswer_matches(gaps[3].answers[0][1], "2 times 3")
    # Literal text that looks like a gap stays text; a teacher-only blank is no gap.
    assert "{1:SHORTANSWER:=no}" in html.unescape(text)
    assert "hidden" not in text
    # A formula is TeX for MathJax; a blank's formula is typed as one-line text.
    assert "\\(E = mc^2\\)" in text and "$" not in text


def test_cloze_without_our_escapes_would_break(moodle_xml: bytes) -> None:
    """The checker is strict enough to see the mistakes the escapes prevent."""
    naive = "<p>{1:SHORTANSWER:=a}b} and {1:SHORTANSWER:=C#} and {1:SHORTANSWER:=2*3}</p>"
    answers = [gap.answers[0][1] for gap in cloze_gaps(naive)]
    assert answers[0] == "a"  # the answer ends at the first brace
    assert answers[1] == "C"  # "#" starts the feedback
    assert shortanswer_matches(answers[2], "2 times 3")  # a wildcard


def test_pictures_travel_inside_the_moodle_file(moodle_xml: bytes) -> None:
    picture = PICTURE.read_bytes()
    topic = _questions(moodle_xml, "cloze")[1]
    questiontext = topic.find("questiontext")
    assert questiontext is not None
    assert '<img src="@@PLUGINFILE@@/maps/rwanda%201994.png" alt="A map of Rwanda in 1994">' in (
        _text(questiontext, "text")
    )
    (file,) = questiontext.findall("file")
    assert (file.get("path"), file.get("name")) == ("/maps/", "rwanda 1994.png")
    import base64

    assert base64.b64decode(file.text or "") == picture
    single = _questions(moodle_xml, "multichoice")[0]
    assert len(single.findall("questiontext/file")) == 1


def test_category_paths_double_a_slash_in_a_name() -> None:
    assert moodle.category_path(["Unit 7 / Rwanda", "Day  1"]) == (
        "$course$/top/Unit 7 // Rwanda/Day 1"
    )


def test_the_moodle_checker_sees_broken_rules() -> None:
    broken = b"""<quiz>
      <question type="category"><category><text>$course$/top/X</text></category></question>
      <question type="multichoice"><name><text>q</text></name>
        <questiontext format="html"><text>&lt;img src="@@PLUGINFILE@@/a.png"&gt;</text>
        </questiontext>
        <single>true</single>
        <answer fraction="100"><text>a</text></answer><answer fraction="100"><text>b</text></answer>
      </question>
      <question type="multichoice"><name><text>q</text></name>
        <questiontext format="html"><text>x</text></questiontext><single>false</single>
        <answer fraction="33"><text>a</text></answer><answer fraction="50"><text>b</text></answer>
      </question>
      <question type="essay"><name><text>e</text></name>
        <questiontext format="html"><text>x</text></questiontext>
        <responsefieldlines>7</responsefieldlines></question>
      <question type="cloze"><name><text>c</text></name>
        <questiontext format="html"><text>no gaps</text></questiontext></question>
    </quiz>"""
    problems = "\n".join(moodle_problems(broken))
    for expected in (
        "has no <file> for it",
        "more than one right answer",
        "invalidgrade",
        "fractionsaddwrong",
        "not a size Moodle offers",
        "no graderinfo",
        "questionsmissing",
    ):
        assert expected in problems


# --------------------------------------------------------------------------- QTI


def test_qti_package_is_complete_and_consistent(qti_zip: bytes) -> None:
    assert qti_problems(qti_zip) == []


def test_qti_item_types(qti_zip: bytes) -> None:
    (assessment,) = qti_assessments(qti_zip)
    assert [item.qtype for item in assessment.items] == [
        "fill_in_multiple_blanks_question",
        "fill_in_multiple_blanks_question",
        "multiple_choice_question",
        "multiple_answers_question",
        "essay_question",
        "matching_question",
        "matching_question",  # the ordering block, as items matched to positions
    ]
    assert [item.points for item in assessment.items] == [1, 9, 2, 3, 4, 3, 2]
    assert assessment.points == 24


def test_qti_identifiers_agree_between_manifest_assessment_and_meta(qti_zip: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti_zip))
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    (quiz,) = [r for r in manifest.iter(f"{CP}resource") if r.get("type") == "imsqti_xmlv1p2"]
    ident = quiz.get("identifier")
    assert ident and re.fullmatch(r"g[0-9a-f]{32}", ident)
    meta = ET.fromstring(archive.read(f"{ident}/assessment_meta.xml"))
    assert meta.get("identifier") == ident
    assert meta.findtext(f"{CANVAS}assignment/{CANVAS}quiz_identifierref") == ident
    assert meta.findtext(f"{CANVAS}title") == "Exports: every question kind & its escapes"
    (assessment,) = qti_assessments(qti_zip)
    assert assessment.ident == ident
    items = [item.ident for item in assessment.items]
    assert len(set(items)) == len(items)


def test_qti_choices_and_their_right_answers(qti_zip: bytes) -> None:
    (assessment,) = qti_assessments(qti_zip)
    single, select_all = assessment.items[2], assessment.items[3]

    def labels(item) -> dict[str, str]:
        return {
            label.get("ident"): label.findtext(f"{QTI}material/{QTI}mattext")
            for label in item.element.iter(f"{QTI}response_label")
        }

    (right,) = [v.text for v in single.element.iter(f"{QTI}varequal")]
    assert labels(single)[right] == "Roméo Dallaire"
    names = labels(select_all)
    condition = select_all.element.find(f"{QTI}resprocessing/{QTI}respcondition/{QTI}conditionvar")
    assert condition is not None
    both = condition.find(f"{QTI}and")
    assert both is not None
    right_ones = [names[v.text] for v in both.findall(f"{QTI}varequal")]
    wrong_ones = [names[v.text] for v in both.findall(f"{QTI}not/{QTI}varequal")]
    assert right_ones == [
        "Support the transitional government",
        "Ensure the security of Kigali",
        "Oversee the demobilization of forces",
    ]
    assert wrong_ones == ["Defeat the RPF", "Replace the government"]


def _matching_pairs(item) -> list[tuple[str, str]]:
    """(term, the text of its right choice) in the order Canvas shows the terms."""
    rights = {v.get("respident"): v.text for v in item.element.iter(f"{QTI}varequal")}
    pairs = []
    for lid in item.element.iter(f"{QTI}response_lid"):
        choices = {
            label.get("ident"): label.findtext(f"{QTI}material/{QTI}mattext")
            for label in lid.iter(f"{QTI}response_label")
        }
        pairs.append(
            (lid.findtext(f"{QTI}material/{QTI}mattext"), choices[rights[lid.get("ident")]])
        )
    return pairs


def test_qti_matching_agrees_with_the_handout(qti_zip: bytes, lesson: Lesson) -> None:
    (assessment,) = qti_assessments(qti_zip)
    matching, ordering = assessment.items[5], assessment.items[6]
    assert _matching_pairs(matching) == [
        ("Roméo Dallaire", "UNAMIR Force Commander"),
        ("Kofi Annan", "Head of UN peacekeeping"),
        ("Iqbal Riza", "Deputy head of UN peacekeeping"),
    ]
    match = next(block for block in lesson.graded() if isinstance(block, Match))
    first = next(matching.element.iter(f"{QTI}response_lid"))
    shown = [
        label.findtext(f"{QTI}material/{QTI}mattext")
        for label in first.iter(f"{QTI}response_label")
    ]
    # The definitions in the handout's (shuffled) order.
    assert shown == [match.pairs[i].definition[0].text for i in match.definition_order]  # type: ignore[union-attr]
    order = next(block for block in lesson.graded() if isinstance(block, Order))
    assert _matching_pairs(ordering) == [
        (order.items[i].inlines[0].text, str(i + 1))  # type: ignore[union-attr]
        for i in order.shown_order
    ]


def test_qti_blanks_are_named_gaps_with_their_answers(qti_zip: bytes) -> None:
    (assessment,) = qti_assessments(qti_zip)
    blanks = assessment.items[1]
    assert re.findall(r"\[([A-Za-z0-9_]+)\]", blanks.text) == [f"blank{n}" for n in range(1, 10)]
    # The literal "[blank1]" of the lesson is text: its bracket is an entity.
    assert "&#91;blank1]" in blanks.text and "{1:SHORTANSWER:=no}" in html.unescape(blanks.text)
    answers = {
        lid.get("ident"): lid.findtext(
            f"{QTI}render_choice/{QTI}response_label/{QTI}material/{QTI}mattext"
        )
        for lid in blanks.element.iter(f"{QTI}response_lid")
    }
    assert answers == {f"response_blank{n}": answer for n, answer in enumerate(BLANKS, 1)}


def test_qti_pictures_are_packed_and_referenced(qti_zip: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti_zip))
    assert archive.read("images/export/maps/rwanda 1994.png") == PICTURE.read_bytes()
    (assessment,) = qti_assessments(qti_zip)
    src = '<img src="%24IMS-CC-FILEBASE%24/images/export/maps/rwanda%201994.png"'
    assert src in assessment.items[1].text and src in assessment.items[2].text


def test_qti_essay_carries_the_model_answer_as_its_comment(qti_zip: bytes) -> None:
    (assessment,) = qti_assessments(qti_zip)
    essay = assessment.items[4]
    feedback = essay.element.find(f"{QTI}itemfeedback")
    assert feedback is not None and feedback.get("ident") == "general_fb"
    assert "Chapter VI" in (feedback.findtext(f"{QTI}flow_mat/{QTI}material/{QTI}mattext") or "")
    assert "Chapter VI" not in essay.text


def test_qti_zip_entries_have_fixed_timestamps(qti_zip: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti_zip))
    assert archive.namelist()[0] == "imsmanifest.xml"
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_qti_checker_sees_a_missing_file_and_a_wrong_meta(qti_zip: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti_zip))
    entries = {name: archive.read(name) for name in archive.namelist()}
    picture = next(name for name in entries if name.startswith("images/"))
    meta = next(name for name in entries if name.endswith("assessment_meta.xml"))
    del entries[picture]
    entries[meta] = re.sub(
        rb'identifier="g[0-9a-f]+"', b'identifier="gother"', entries[meta], count=1
    )
    problems = "\n".join(qti_problems(qti.deterministic_zip(list(entries.items()))))
    assert f"the manifest names {picture}, which is not in the zip" in problems
    assert "is missing from the zip" in problems
    assert "names quiz gother" in problems


DTD = os.environ.get("COURSEPACK_QTI_DTD", "")


@pytest.mark.skipif(
    not Path(DTD).is_file(),
    reason="set COURSEPACK_QTI_DTD to a copy of IMS' ims_qtiasiv1p2.dtd (docs/quiz-export.md)",
)
@pytest.mark.parametrize("source", [EXPORT, UNAMIR])
def test_qti_assessments_validate_against_the_qti_1_2_dtd(source: Path) -> None:
    from lxml import etree

    dtd = etree.DTD(DTD)
    archive = zipfile.ZipFile(io.BytesIO(qti.lesson_package(load(source))))
    (name,) = [n for n in archive.namelist() if n.count("/") == 1 and "meta" not in n]
    root = strip_namespaces(archive.read(name))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()


TOOL = os.environ.get("COURSEPACK_QTI_MIGRATION_TOOL", "")


@pytest.mark.skipif(
    not Path(TOOL).is_file(),
    reason="set COURSEPACK_QTI_MIGRATION_TOOL to Canvas' QTIMigrationTool migrate.py",
)
def test_canvas_qti_converter_reads_every_item(qti_zip: bytes, tmp_path: Path) -> None:
    """Canvas runs QTIMigrationTool on an uploaded QTI 1.2 zip, then imports its QTI 2 items."""
    package = tmp_path / "package"
    zipfile.ZipFile(io.BytesIO(qti_zip)).extractall(package)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, TOOL, "--ucvars", "--nogui", "--overwrite", f"--cpout={out}", package],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rror" not in run.stdout, run.stdout
    (assessment,) = qti_assessments(qti_zip)
    converted = {path.stem: path.read_text("utf-8") for path in (out / "assessmentItems").iterdir()}
    assert sorted(converted) == sorted(item.ident for item in assessment.items)
    for item in assessment.items:
        assert f'name="question_type" value="{item.qtype}"' in converted[item.ident]
    assert (out / "images" / "export" / "maps" / "rwanda 1994.png").is_file()


# --------------------------------------------------------------------------- both formats


def test_exports_are_byte_identical_and_do_not_depend_on_the_folder(
    lesson: Lesson, moodle_xml: bytes, qti_zip: bytes, tmp_path: Path
) -> None:
    assert moodle.lesson_xml(lesson) == moodle_xml
    assert qti.lesson_package(lesson) == qti_zip
    copy = tmp_path / "elsewhere"
    shutil.copytree(EXPORT.parent, copy)
    moved = load(copy / EXPORT.name)
    assert moodle.lesson_xml(moved) == moodle_xml
    assert qti.lesson_package(moved) == qti_zip


def test_identifiers_change_with_their_question_only(tmp_path: Path) -> None:
    body = (
        "# Part\n\n## Topic\n\n"
        "::: question\nFirst?\n- [x] yes\n- [ ] no\n:::\n\n"
        "::: question\nSecond?\n- [x] yes\n- [ ] no\n:::\n"
    )
    before = qti_assessments(qti.lesson_package(load(write_lesson(tmp_path, "a.md", body))))
    edited = body.replace("Second?", "Second, edited?")
    after = qti_assessments(qti.lesson_package(load(write_lesson(tmp_path, "a.md", edited))))
    assert before[0].ident == after[0].ident  # the same quiz: Canvas updates it on re-import
    assert before[0].items[0].ident == after[0].items[0].ident
    assert before[0].items[1].ident != after[0].items[1].ident


def test_a_question_only_teachers_see_is_not_exported(tmp_path: Path) -> None:
    body = (
        "# Part\n\n## Topic\n\n"
        "::: teacher\n::: question\nFor the teacher?\n- [x] yes\n- [ ] no\n:::\n:::\n\n"
        "::: slides\n::: question\nOn screen?\n- [x] yes\n- [ ] no\n:::\n:::\n"
    )
    lesson = load(write_lesson(tmp_path, "teacher.md", body))
    names = [q.findtext("name/text") for q in _questions(moodle.lesson_xml(lesson), "multichoice")]
    assert names == ["02 On screen?"]  # the lesson's numbering is kept
    assert [item.title for item in qti_assessments(qti.lesson_package(lesson))[0].items] == names


def test_blanks_under_an_empty_heading_are_named_after_the_section(tmp_path: Path) -> None:
    lesson = load(write_lesson(tmp_path, "empty.md", "# The Part\n\n##\n\n- The year [[1994]].\n"))
    data = moodle.lesson_xml(lesson)
    assert moodle_problems(data) == []
    assert [q.findtext("name/text") for q in _questions(data, "cloze")] == ["The Part"]


def test_identical_questions_get_distinct_identifiers(tmp_path: Path) -> None:
    body = "# Part\n\n## Topic\n\n" + "::: question\nSame?\n- [x] yes\n- [ ] no\n:::\n\n" * 2
    data = qti.lesson_package(load(write_lesson(tmp_path, "twice.md", body)))
    assert qti_problems(data) == []
    items = qti_assessments(data)[0].items
    assert len({item.ident for item in items}) == 2


@pytest.mark.parametrize("source", [UNAMIR, ROOT / "tests/fixtures/lessons/every-construct.md"])
def test_sample_lessons_export_cleanly(source: Path) -> None:
    lesson = load(source)
    # every-construct's two-pair match imports, but Moodle's form asks for a third answer.
    assert moodle_problems(moodle.lesson_xml(lesson), editable=False) == []
    assert qti_problems(qti.lesson_package(lesson)) == []


def test_raw_html_in_a_lesson_stays_text_in_both_exports() -> None:
    lesson = load(ROOT / "tests" / "fixtures" / "hostile" / "raw-html.md")
    data = moodle.lesson_xml(lesson)
    assert moodle_problems(data, editable=False) == []
    texts = [
        element.findtext("text") or ""
        for element in ET.fromstring(data).iter()
        if element.get("format") == "html"  # names and category paths are plain text
    ]
    assert any("&lt;img src=" in text for text in texts)  # printed as written
    assert not [src for text in texts for src in image_sources(text)]  # and never loaded
    assert not [t for t in texts if re.search(r"<(script|iframe|object|embed|link|style)", t)]
    package = qti.lesson_package(lesson)
    assert qti_problems(package) == []
    for item in qti_assessments(package)[0].items:
        assert not image_sources(item.text) and "<script" not in item.text
    archive = zipfile.ZipFile(io.BytesIO(package))
    (meta,) = [n for n in archive.namelist() if n.endswith("assessment_meta.xml")]
    description = ET.fromstring(archive.read(meta)).findtext(f"{CANVAS}description") or ""
    assert description.startswith("<p>&lt;img src=") and not image_sources(description)


def test_course_bank_has_a_category_or_an_assessment_per_lesson(tmp_path: Path) -> None:
    folder = tmp_path / "course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", folder)
    shutil.copyfile(UNAMIR, folder / "unamir.md")
    course, problems = read_course(folder / "course.yaml")
    assert course is not None, problems
    lessons = [load(path) for path in course.lessons]
    bank = moodle.course_xml(course, lessons)
    assert moodle_problems(bank) == []
    categories = [
        q.findtext("category/text") for q in moodle_questions(bank) if q.get("type") == "category"
    ]
    assert categories == ["$course$/top/Modern World History"] + [
        f"$course$/top/Modern World History/{lesson.meta.title}" for lesson in lessons
    ]
    package = qti.course_package(course, lessons)
    assert qti_problems(package) == []
    assessments = qti_assessments(package)
    assert [a.title for a in assessments] == [lesson.meta.title for lesson in lessons]
    assert [len(a.items) for a in assessments] == [
        len(qti_assessments(qti.lesson_package(lesson))[0].items) for lesson in lessons
    ]


# --------------------------------------------------------------------------- as outputs


def test_only_moodle_and_qti_write_the_exports_and_rebuild_them_only_when_needed(
    lesson: Lesson, tmp_path: Path
) -> None:
    folder = tmp_path / "lesson"
    shutil.copytree(EXPORT.parent, folder)
    out = tmp_path / "out"
    args = ("build", str(folder / EXPORT.name), "-o", str(out), "--only", "moodle", "--only", "qti")
    first = run_cli(*args)
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "export-moodle.xml",
        "export-qti.zip",
    ]
    # What the build writes is what the modules make, from a copy anywhere.
    assert (out / "export-moodle.xml").read_bytes() == moodle.lesson_xml(lesson)
    assert (out / "export-qti.zip").read_bytes() == qti.lesson_package(lesson)
    assert "2 up to date" in run_cli(*args).output
    (folder / "maps" / "rwanda 1994.png").write_bytes(PICTURE.read_bytes() + b"\0")
    again = run_cli(*args)
    assert "2 written" in again.output, again.output
    assert (out / "export-moodle.xml").read_bytes() != moodle.lesson_xml(lesson)


def test_a_plain_build_writes_exports_only_where_the_lesson_names_them(tmp_path: Path) -> None:
    body = "# Part\n\n## Topic\n\n- The year [[1994]].\n"
    write_lesson(tmp_path / "src", "plain.md", body)
    (tmp_path / "src" / "quiz.md").write_text(
        f"---\ntitle: Quiz\nexports: [moodle, qti]\n---\n\n{body}", encoding="utf-8"
    )
    result = run_cli("build", str(tmp_path / "src"), "-o", str(tmp_path / "out"), "-j", "1")
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix in (".xml", ".zip"))
    assert written == ["quiz-moodle.xml", "quiz-qti.zip"]


def test_a_course_that_exports_gets_its_lessons_and_its_bank(tmp_path: Path) -> None:
    folder = tmp_path / "course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", folder)
    shutil.copyfile(UNAMIR, folder / "unamir.md")
    with (folder / "course.yaml").open("a", encoding="utf-8") as handle:
        handle.write("exports: [moodle, qti]\n")
    out = tmp_path / "out"
    result = run_cli("build", str(folder), "-o", str(out), "--only", "moodle", "--only", "qti")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    stems = ["genocide-convention", "justice-after-rwanda", "modern-world-history", "unamir"]
    assert names == sorted(f"{stem}-{kind}" for stem in stems for kind in ("moodle.xml", "qti.zip"))
    assert moodle_problems((out / "modern-world-history-moodle.xml").read_bytes()) == []
    assert qti_problems((out / "modern-world-history-qti.zip").read_bytes()) == []


def test_course_yaml_exports_alone_select_them(tmp_path: Path) -> None:
    folder = tmp_path / "course"
    write_lesson(folder, "one.md", "# Part\n\n## Topic\n\n- The year [[1994]].\n")
    (folder / "course.yaml").write_text("title: Tiny Course\nexports: [qti]\n", encoding="utf-8")
    result = run_cli("build", str(folder), "-o", str(tmp_path / "out"), "-j", "1", "-q")
    assert result.exit_code == 0, result.output
    exports = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix in (".xml", ".zip"))
    assert exports == ["one-qti.zip", "tiny-course-qti.zip"]


def test_moodle_ordering_matching_for_an_older_moodle(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from conftest import run_cli

    lesson = tmp_path / "old.md"
    body = "# S\n\n## T\n\n::: order\nPut them in order.\n1. first\n2. second\n3. third\n:::\n"
    lesson.write_text(f"---\ntitle: Old\nmoodle-ordering: matching\n---\n{body}", encoding="utf-8")
    result = run_cli("build", str(lesson), "-o", str(tmp_path / "out"), "--only", "moodle")
    assert result.exit_code == 0, result.output
    types = [q.get("type") for q in ET.parse(tmp_path / "out" / "old-moodle.xml").iter("question")]
    assert "matching" in types and "ordering" not in types
    lesson.write_text(f"---\ntitle: Old\nmoodle-ordering: matchin\n---\n{body}", encoding="utf-8")
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert "old.md:3: error: moodle-ordering 'matchin' is not known" in result.output
