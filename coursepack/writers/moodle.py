"""Moodle XML: a lesson's questions (or a whole course's) as a file Moodle's question bank imports.

One ``<question>`` per graded block, after a category named after the lesson:

- single choice → ``multichoice``, ``single`` true, the right option at 100 %;
- select all → ``multichoice``, ``single`` false, right options sharing 100 %, wrong ones
  negative (each cancels one right one);
- open question → ``essay``, the model answer as ``graderinfo`` (graders only);
- match → ``matching`` (terms in written order; Moodle shuffles the definitions itself);
- order → ``ordering`` (standard from Moodle 4.4, a plugin before), or with
  ``ordering=False`` a ``matching`` of each item (in the handout's order) to its position;
- the blanks of a topic → one ``cloze`` question, ``{1:SHORTANSWER:=answer}`` in each gap.

Pictures travel inside the file (base64 ``<file>`` elements, referred to as ``@@PLUGINFILE@@``).
The output is deterministic: no dates, no random identifiers, one fixed serialisation.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from coursepack.messages import catalogue
from coursepack.model import LATIN_LETTERS, Image, Inlines, Lesson, Match, Order, Question
from coursepack.outputs import Output, PlanContext, Target
from coursepack.writers.quiz import (
    EXPORT_PACKAGES,
    Blanks,
    Dialect,
    ExportWriter,
    QuizItem,
    assert_never,
    image_bytes,
    image_name,
    item_name,
    item_points,
    lesson_words,
    may_shuffle,
    plain,
    quiz_items,
    render_blocks,
    render_inlines,
    select_all_grades,
    typed_answer,
    wrong_grade,
)

if TYPE_CHECKING:
    from coursepack.course import Course

#: The essay response box sizes Moodle's editing form offers (lines).
ESSAY_SIZES = (5, 10, 15, 20, 25, 30, 35, 40)
#: The handout's default number of writing lines (``lines=`` left out).
DEFAULT_LINES = 4
#: Moodle's default penalty for a wrong try in interactive quizzes.
PENALTY = "0.3333333"


def lesson_xml(lesson: Lesson, *, ordering: bool = True) -> bytes:
    """A lesson's questions as Moodle XML, under a category named after the lesson."""
    quiz = ET.Element("quiz")
    _category(quiz, [lesson.meta.title], lesson.meta.lang)
    for item in quiz_items(lesson):
        quiz.append(question_element(lesson, item, ordering=ordering))
    return _serialise(quiz)


def course_xml(course: Course, lessons: Sequence[Lesson], *, ordering: bool = True) -> bytes:
    """A course's quiz bank: a category for the course and one inside it per lesson."""
    quiz = ET.Element("quiz")
    _category(quiz, [course.title], course.lang)
    for lesson in lessons:
        _category(quiz, [course.title, lesson.meta.title], lesson.meta.lang or course.lang)
        for item in quiz_items(lesson):
            quiz.append(question_element(lesson, item, ordering=ordering))
    return _serialise(quiz)


def lang_words(lang: str) -> str:
    """The name of an untitled category in ``lang``."""
    return catalogue(lang)("bank_category")


def _serialise(quiz: ET.Element) -> bytes:
    ET.indent(quiz, space="  ")
    body = ET.tostring(quiz, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def category_path(names: Sequence[str], untitled: str = "") -> str:
    """A category path for the course's question bank: ``$course$/top/A/B``; an empty name is
    ``untitled`` (the catalogue's "Questions" by default).

    Moodle splits the path at ``/``; a ``/`` inside a name is written twice.
    """
    untitled = untitled or catalogue("en")("bank_category")
    parts = [" ".join(name.split()).replace("/", "//") or untitled for name in names]
    return "/".join(["$course$", "top", *parts])


def _category(quiz: ET.Element, names: Sequence[str], lang: str) -> None:
    question = ET.SubElement(quiz, "question", type="category")
    _text(ET.SubElement(question, "category"), category_path(names, lang_words(lang)))
    _text(ET.SubElement(question, "info", format="html"), "")


# --------------------------------------------------------------------------- questions


class _Html(Dialect):
    """Moodle's question HTML: pictures as ``@@PLUGINFILE@@/…``; literal text that would open
    a Cloze gap (``{1:``) has its brace written as an entity, so it stays text."""

    def __init__(self, lesson: Lesson) -> None:
        super().__init__(
            image_src=lambda image: "@@PLUGINFILE@@/" + _quote(image_name(lesson, image)),
            escape=lambda text: _GAP_START.sub("&#123;", text),
            words=lesson_words(lesson),
        )


_GAP_START = re.compile(r"\{(?=[0-9]*:)")


def _quote(name: str) -> str:
    return "/".join(urllib.parse.quote(part) for part in name.split("/"))


def question_element(lesson: Lesson, item: QuizItem, *, ordering: bool = True) -> ET.Element:
    """One ``<question>`` element for one quiz item."""
    match item:
        case Question() if item.is_multiple_choice:
            return _multichoice(lesson, item)
        case Question():
            return _essay(lesson, item)
        case Match():
            return _matching(lesson, item)
        case Order() if ordering:
            return _ordering(lesson, item)
        case Order():
            return _order_as_matching(lesson, item)
        case Blanks():
            return _cloze(lesson, item)
        case _:
            assert_never(item)


def _head(lesson: Lesson, item: QuizItem, qtype: str, text: str, target: Dialect) -> ET.Element:
    question = ET.Element("question", type=qtype)
    _text(ET.SubElement(question, "name"), item_name(item, lesson_words(lesson)))
    _html(ET.SubElement(question, "questiontext", format="html"), text, lesson, target)
    _text(ET.SubElement(question, "generalfeedback", format="html"), "")
    ET.SubElement(question, "defaultgrade").text = str(item_points(item))
    ET.SubElement(question, "penalty").text = PENALTY
    ET.SubElement(question, "hidden").text = "0"
    return question


def _multichoice(lesson: Lesson, item: Question) -> ET.Element:
    target = _Html(lesson)
    question = _head(lesson, item, "multichoice", render_blocks(item.prompt, target), target)
    single = not item.select_all
    # The options are written in the order the handout prints them; Moodle shuffles them for
    # each student as the test versions do, unless the block says shuffle=false or pins one.
    _settings(
        question,
        single="true" if single else "false",
        shuffleanswers="true" if may_shuffle(item) else "false",
        # Moodle letters options only in Latin letters (ABCD): a lesson lettered in another
        # alphabet (أ ب ج, א ב ג) gets none rather than letters its handout does not use.
        answernumbering="ABCD" if lesson_words(lesson).letters == LATIN_LETTERS else "none",
        showstandardinstruction="1",
    )
    correct = sum(option.correct for option in item.options)
    grades = iter(["100"] if single else select_all_grades(correct))
    wrong = "0" if single else wrong_grade(correct)
    for option in item.options:
        fraction = next(grades) if option.correct else wrong
        answer = ET.SubElement(question, "answer", fraction=fraction, format="html")
        option_target = _Html(lesson)
        _html(answer, render_inlines(option.inlines, option_target), lesson, option_target)
        _text(ET.SubElement(answer, "feedback", format="html"), "")
    _combined_feedback(question)
    return question


def _essay(lesson: Lesson, item: Question) -> ET.Element:
    target = _Html(lesson)
    question = _head(lesson, item, "essay", render_blocks(item.prompt, target), target)
    _settings(
        question,
        responseformat="editor",
        responserequired="1",
        responsefieldlines=str(essay_lines(item.lines)),
        attachments="0",
        attachmentsrequired="0",
    )
    key = _Html(lesson)
    _html(
        ET.SubElement(question, "graderinfo", format="html"),
        render_blocks(item.answer, key, view="key"),
        lesson,
        key,
    )
    _text(ET.SubElement(question, "responsetemplate", format="html"), "")
    return question


def essay_lines(lines: int | None) -> int:
    """``lines=N`` as the nearest response box size Moodle offers, not smaller than asked."""
    wanted = DEFAULT_LINES if lines is None else lines
    return next((size for size in ESSAY_SIZES if size >= wanted), ESSAY_SIZES[-1])


def _matching(lesson: Lesson, item: Match) -> ET.Element:
    # Terms stay in written order as on the handout; Moodle always shuffles the choices, which
    # are plain text in a drop-down menu.
    pairs = [(pair.term, plain(pair.definition)) for pair in item.pairs]
    return _matching_question(lesson, item, pairs)


def _order_as_matching(lesson: Lesson, item: Order) -> ET.Element:
    # Each item, in the order the handout prints it, is matched to its right position.
    pairs = [(item.items[index].inlines, str(index + 1)) for index in item.shown_order]
    return _matching_question(lesson, item, pairs)


def _matching_question(
    lesson: Lesson, item: Match | Order, pairs: Sequence[tuple[Inlines, str]]
) -> ET.Element:
    target = _Html(lesson)
    question = _head(lesson, item, "matching", render_blocks(item.prompt, target), target)
    ET.SubElement(question, "shuffleanswers").text = "false"
    _combined_feedback(question)
    for term, answer in pairs:
        sub = ET.SubElement(question, "subquestion", format="html")
        term_target = _Html(lesson)
        _html(sub, render_inlines(term, term_target), lesson, term_target)
        _text(ET.SubElement(sub, "answer"), answer)
    return question


def _ordering(lesson: Lesson, item: Order) -> ET.Element:
    target = _Html(lesson)
    question = _head(lesson, item, "ordering", render_blocks(item.prompt, target), target)
    # ABSOLUTE_POSITION: a share for each item in its right place, as the matching fallback
    # and the QTI export score it.
    _settings(
        question,
        layouttype="VERTICAL",
        selecttype="ALL",
        selectcount=str(len(item.items)),
        gradingtype="ABSOLUTE_POSITION",
        showgrading="SHOW",
        numberingstyle="none",
    )
    _combined_feedback(question)
    # The answers in their right order (Moodle shows them shuffled).
    for position, order_item in enumerate(item.items, 1):
        answer = ET.SubElement(question, "answer", fraction=str(position), format="html")
        item_target = _Html(lesson)
        text = render_inlines(order_item.inlines, item_target)
        # The ordering importer skips an answer whose text is falsy in PHP ("0").
        _html(answer, f"<span>{text}</span>" if text == "0" else text, lesson, item_target)
    return question


def _cloze(lesson: Lesson, item: Blanks) -> ET.Element:
    target = _Html(lesson)
    target.blank = lambda cloze: cloze_gap(typed_answer(cloze))
    title = render_inlines(item.title, target) if item.blocks else ""
    text = (f"<p><strong>{title}</strong></p>" if title else "") + render_blocks(
        item.blocks, target
    )
    question = ET.Element("question", type="cloze")
    _text(ET.SubElement(question, "name"), item_name(item, lesson_words(lesson)))
    _html(ET.SubElement(question, "questiontext", format="html"), text, lesson, target)
    _text(ET.SubElement(question, "generalfeedback", format="html"), "")
    ET.SubElement(question, "penalty").text = PENALTY
    ET.SubElement(question, "hidden").text = "0"
    return question


def cloze_gap(answer: str) -> str:
    """A short-answer gap whose only right answer is ``answer``, escaped for Moodle's parser.

    Moodle ends an answer at the first ``}``, ``#`` or ``~`` not preceded by ``\\`` or ``&``,
    then decodes HTML entities in it: so every character the parser or the HTML could take
    for syntax is written as a numeric entity (which ends in ``;``, never at a gap's end).
    A ``*`` would be a wildcard in a short answer: ``\\*`` matches a literal asterisk.
    """
    escaped = "".join(_CLOZE_ENTITY.get(char, char) for char in answer.strip())
    return "{1:SHORTANSWER:=" + escaped + "}"


_CLOZE_ENTITY = {char: f"&#{ord(char)};" for char in "}{#~\\&<>\"'=%:"} | {"*": "\\*"}


def _settings(question: ET.Element, **values: str) -> None:
    """One element per setting of the question type, in the order given."""
    for name, value in values.items():
        ET.SubElement(question, name).text = value


def _combined_feedback(question: ET.Element) -> None:
    for name in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        _text(ET.SubElement(question, name, format="html"), "")


# --------------------------------------------------------------------------- text and files


def _text(parent: ET.Element, value: str) -> None:
    ET.SubElement(parent, "text").text = value


def _html(parent: ET.Element, text: str, lesson: Lesson, target: Dialect) -> None:
    """``<text>`` with HTML, then one base64 ``<file>`` per picture the HTML shows."""
    _text(parent, text)
    for image in target.images:
        _file(parent, lesson, image)


def _file(parent: ET.Element, lesson: Lesson, image: Image) -> None:
    name = image_name(lesson, image)
    folder, _, filename = name.rpartition("/")
    element = ET.SubElement(
        parent,
        "file",
        name=filename,
        path=f"/{folder}/" if folder else "/",
        encoding="base64",
    )
    element.text = base64.b64encode(image_bytes(image)).decode("ascii")


# --------------------------------------------------------------------------- registered outputs


class MoodleOutput(Output):
    """``x-moodle.xml``: a lesson's questions (``--only moodle``, ``exports: [moodle]``)."""

    name = "moodle"
    suffix = "-moodle.xml"
    default = False
    packages = EXPORT_PACKAGES
    writer = ExportWriter

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """Ordering blocks as Moodle's ordering type, or (``moodle-ordering: matching``, in
        the lesson or its course.yaml) as matching for a Moodle older than 4.4."""
        course = context.course_of(target.lesson)
        chosen = target.lesson.meta.moodle_ordering or (course.moodle_ordering if course else "")
        return {"ordering": chosen != "matching"}

    def render(self, writer: ExportWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The Moodle XML file."""
        return lesson_xml(target.lesson, ordering=settings["ordering"])


class MoodleBankOutput(Output):
    """``<course>-moodle.xml``: the course's quiz bank, a category per lesson."""

    name = "moodle-bank"
    suffix = "-moodle.xml"
    scope = "course"
    selected_by = "moodle"
    default = False
    packages = EXPORT_PACKAGES
    writer = ExportWriter

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """Ordering blocks as ordering, or as matching with the course's
        ``moodle-ordering: matching``."""
        assert target.course is not None
        return {"ordering": target.course.moodle_ordering != "matching"}

    def render(self, writer: ExportWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The course's Moodle XML file."""
        assert target.course is not None
        return course_xml(target.course, target.lessons, ordering=settings["ordering"])


MOODLE = MoodleOutput()
MOODLE_BANK = MoodleBankOutput()

__all__ = [
    "category_path",
    "cloze_gap",
    "course_xml",
    "essay_lines",
    "lesson_xml",
    "question_element",
    "MOODLE",
    "MOODLE_BANK",
]
