"""An IMS QTI 1.2 package in the form Canvas imports (Brightspace and Schoology read it too).

The zip holds ``imsmanifest.xml``, then per lesson a folder named after its assessment's
identifier with the assessment (``<id>/<id>.xml``) and Canvas' ``assessment_meta.xml``, and
the pictures under ``images/``. Items carry Canvas' ``question_type`` metadata:

- single choice → ``multiple_choice_question``; select all → ``multiple_answers_question``;
- open question → ``essay_question`` (the model answer as the question's general comment);
- match → ``matching_question``; order → ``matching_question`` of each item to its position
  (Canvas' classic quizzes have no ordering type);
- the blanks of a topic → ``fill_in_multiple_blanks_question`` with ``[blank1]``… gaps.

Identifiers are digests of the lesson and of each item's content, zip entries carry a fixed
timestamp, so the same lesson always gives the same bytes.
"""

from __future__ import annotations

import html
import io
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coursepack.messages import Catalogue
from coursepack.model import Image, Inlines, Lesson, Match, Order, Question
from coursepack.outputs import Output, Target
from coursepack.writers.quiz import (
    EXPORT_PACKAGES,
    Blanks,
    Dialect,
    ExportWriter,
    Identifiers,
    QuizItem,
    assert_never,
    image_bytes,
    image_name,
    item_name,
    item_points,
    lesson_key,
    lesson_words,
    may_shuffle,
    plain,
    quiz_items,
    render_blocks,
    render_inlines,
    typed_answer,
)

if TYPE_CHECKING:
    from coursepack.course import Course

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI_SCHEMA = f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CC_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CC_SCHEMA = f"{CC_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
CANVAS_SCHEMA = f"{CANVAS_NS} https://canvas.instructure.com/xsd/cccv1p0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Where the LMS puts the package's files; Canvas replaces the token with the course's files.
FILEBASE = "%24IMS-CC-FILEBASE%24/"
#: Every zip entry gets this timestamp (the earliest a zip can hold), so builds are identical.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def lesson_package(lesson: Lesson) -> bytes:
    """A lesson's questions as one QTI assessment in a Canvas-style zip."""
    package = _Package(title=lesson.meta.title)
    package.add(lesson)
    return package.zip()


def course_package(course: Course, lessons: Sequence[Lesson]) -> bytes:
    """A course's quiz bank: one assessment per lesson in one zip."""
    package = _Package(title=course.title)
    for lesson in lessons:
        package.add(lesson)
    return package.zip()


@dataclass
class _Assessment:
    ident: str
    meta_ident: str
    title: str
    xml: bytes
    meta: bytes


@dataclass
class _Package:
    title: str
    ids: Identifiers = field(default_factory=Identifiers)
    assessments: list[_Assessment] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    words: Catalogue | None = None  # the lesson being added's language

    def add(self, lesson: Lesson) -> None:
        self.words = lesson_words(lesson)
        key = lesson_key(lesson)
        ident = self.ids.make(key, "assessment")
        meta_ident = self.ids.make(key, "assessment_meta")
        items = quiz_items(lesson)
        root = ET.Element(
            "questestinterop",
            {"xmlns": QTI_NS, "xmlns:xsi": XSI, "xsi:schemaLocation": QTI_SCHEMA},
        )
        assessment = ET.SubElement(root, "assessment", ident=ident, title=lesson.meta.title)
        metadata = ET.SubElement(assessment, "qtimetadata")
        _field(metadata, "cc_maxattempts", "1")
        section = ET.SubElement(assessment, "section", ident=self.ids.make(key, "root_section"))
        for item in items:
            section.append(self._item(lesson, key, item))
        points = sum(item_points(item) for item in items)
        self.assessments.append(
            _Assessment(
                ident=ident,
                meta_ident=meta_ident,
                title=lesson.meta.title,
                xml=_serialise(root),
                meta=_assessment_meta(self.ids, key, ident, lesson, points),
            )
        )

    # -- items ---------------------------------------------------------------------------

    def _target(self, lesson: Lesson) -> Dialect:
        def src(image: Image) -> str:
            path = self._pack_image(lesson, image)
            return FILEBASE + "/".join(urllib.parse.quote(p) for p in path.split("/"))

        # A literal "[word]" would be read as a blank by Canvas: its bracket becomes an entity.
        return Dialect(
            image_src=src,
            escape=lambda text: text.replace("[", "&#91;"),
            words=lesson_words(lesson),
        )

    def _pack_image(self, lesson: Lesson, image: Image) -> str:
        path = f"images/{lesson.stem}/{image_name(lesson, image)}"
        self.files.setdefault(path, image_bytes(image))
        return path

    def _item(self, lesson: Lesson, key: str, item: QuizItem) -> ET.Element:
        match item:
            case Question() if item.is_multiple_choice:
                return self._choice(lesson, key, item)
            case Question():
                return self._essay(lesson, key, item)
            case Match():
                terms = [pair.term for pair in item.pairs]
                choices = [plain(item.pairs[i].definition) for i in item.definition_order]
                right = [item.definition_order.index(i) for i in range(len(item.pairs))]
                return self._matching(lesson, key, item, terms, choices, right)
            case Order():
                # Each item, in the handout's order, is matched to its right position.
                terms = [item.items[i].inlines for i in item.shown_order]
                positions = [str(n) for n in range(1, len(item.items) + 1)]
                return self._matching(lesson, key, item, terms, positions, list(item.shown_order))
            case Blanks():
                return self._blanks(lesson, key, item)
            case _:
                assert_never(item)

    def _start(
        self, key: str, item: QuizItem, qtype: str, content: str, answer_ids: Sequence[str]
    ) -> tuple[ET.Element, ET.Element]:
        ident = self.ids.make(key, "item", qtype, content)
        element = ET.Element("item", ident=ident, title=item_name(item, self.words))
        metadata = ET.SubElement(ET.SubElement(element, "itemmetadata"), "qtimetadata")
        _field(metadata, "question_type", qtype)
        _field(metadata, "points_possible", f"{item_points(item):.1f}")
        _field(metadata, "original_answer_ids", ",".join(answer_ids))
        _field(metadata, "assessment_question_identifierref", self.ids.make(ident, "ref"))
        presentation = ET.SubElement(element, "presentation")
        return element, presentation

    def _choice(self, lesson: Lesson, key: str, item: Question) -> ET.Element:
        target = self._target(lesson)
        prompt = render_blocks(item.prompt, target)
        options = [render_inlines(option.inlines, target) for option in item.options]
        content = "\x1e".join([prompt, *options, *(str(o.correct) for o in item.options)])
        qtype = "multiple_answers_question" if item.select_all else "multiple_choice_question"
        ids = [self.ids.make(key, "choice", content, str(n)) for n in range(len(options))]
        element, presentation = self._start(key, item, qtype, content, ids)
        _material(presentation, prompt)
        response = ET.SubElement(
            presentation,
            "response_lid",
            ident="response1",
            rcardinality="Multiple" if item.select_all else "Single",
        )
        # Canvas shuffles a question's options for each student where the lesson allows it
        # (as the test versions do); not for shuffle=false or a pinned option.
        choices = ET.SubElement(
            response, "render_choice", shuffle="Yes" if may_shuffle(item) else "No"
        )
        for ident, text in zip(ids, options, strict=True):
            _material(ET.SubElement(choices, "response_label", ident=ident), text)
        processing = _resprocessing(element)
        condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
        test = ET.SubElement(condition, "conditionvar")
        if item.select_all:
            # All the right options and none of the wrong ones (Canvas scores partial credit
            # itself from which options this names as right).
            both = ET.SubElement(test, "and")
            for ident, option in zip(ids, item.options, strict=True):
                parent = both if option.correct else ET.SubElement(both, "not")
                ET.SubElement(parent, "varequal", respident="response1").text = ident
        else:
            right = next(i for i, o in zip(ids, item.options, strict=True) if o.correct)
            ET.SubElement(test, "varequal", respident="response1").text = right
        _setvar(condition, "Set", "100")
        return element

    def _essay(self, lesson: Lesson, key: str, item: Question) -> ET.Element:
        target = self._target(lesson)
        prompt = render_blocks(item.prompt, target)
        answer = render_blocks(item.answer, target, view="key")
        element, presentation = self._start(
            key, item, "essay_question", prompt + "\x1e" + answer, ()
        )
        _material(presentation, prompt)
        response = ET.SubElement(presentation, "response_str", ident="response1")
        response.set("rcardinality", "Single")
        fib = ET.SubElement(response, "render_fib")
        ET.SubElement(fib, "response_label", ident="answer1", rshuffle="No")
        processing = _resprocessing(element)
        general = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
        ET.SubElement(ET.SubElement(general, "conditionvar"), "other")
        ET.SubElement(general, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
        condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
        ET.SubElement(ET.SubElement(condition, "conditionvar"), "other")
        feedback = ET.SubElement(element, "itemfeedback", ident="general_fb")
        _material(ET.SubElement(feedback, "flow_mat"), answer)
        return element

    def _matching(
        self,
        lesson: Lesson,
        key: str,
        item: Match | Order,
        terms: Sequence[Inlines],
        choices: Sequence[str],
        right: Sequence[int],
    ) -> ET.Element:
        """A matching question: each term picks one of ``choices``; ``right[k]`` is the index
        of term ``k``'s choice. Canvas shows both sides as plain text."""
        target = self._target(lesson)
        prompt = render_blocks(item.prompt, target)
        term_texts = [plain(term) for term in terms]
        content = "\x1e".join([prompt, *term_texts, "\x1d", *choices, *map(str, right)])
        term_ids = [self.ids.make(key, "term", content, str(n)) for n in range(len(terms))]
        choice_ids = [self.ids.make(key, "match", content, str(n)) for n in range(len(choices))]
        element, presentation = self._start(key, item, "matching_question", content, term_ids)
        _material(presentation, prompt)
        for term_id, text in zip(term_ids, term_texts, strict=True):
            response = ET.SubElement(presentation, "response_lid", ident=f"response_{term_id}")
            _material(response, text, html=False)
            options = ET.SubElement(response, "render_choice")
            for choice_id, choice in zip(choice_ids, choices, strict=True):
                label = ET.SubElement(options, "response_label", ident=choice_id)
                _material(label, choice, html=False)
        processing = _resprocessing(element)
        share = f"{100 / len(terms):.2f}"
        for term_id, index in zip(term_ids, right, strict=True):
            # continue="Yes": a player that runs the rules adds every right pair's share.
            condition = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
            test = ET.SubElement(condition, "conditionvar")
            ET.SubElement(test, "varequal", respident=f"response_{term_id}").text = choice_ids[
                index
            ]
            _setvar(condition, "Add", share)
        return element

    def _blanks(self, lesson: Lesson, key: str, item: Blanks) -> ET.Element:
        target = self._target(lesson)
        names = iter(f"blank{n}" for n in range(1, len(item.answers) + 1))
        target.blank = lambda cloze: f"[{next(names)}]"
        title = render_inlines(item.title, target) if item.blocks else ""
        text = (f"<p><strong>{title}</strong></p>" if title else "") + render_blocks(
            item.blocks, target
        )
        answers = [" ".join(typed_answer(cloze).split()) for cloze in item.answers]
        content = "\x1e".join([text, *answers])
        blank_names = [f"blank{n}" for n in range(1, len(answers) + 1)]
        answer_ids = [self.ids.make(key, "blank", content, name) for name in blank_names]
        element, presentation = self._start(
            key, item, "fill_in_multiple_blanks_question", content, answer_ids
        )
        _material(presentation, text)
        for name, answer_id, answer in zip(blank_names, answer_ids, answers, strict=True):
            response = ET.SubElement(presentation, "response_lid", ident=f"response_{name}")
            _material(response, name, html=False, texttype=None)
            options = ET.SubElement(response, "render_choice")
            _material(ET.SubElement(options, "response_label", ident=answer_id), answer, html=False)
        processing = _resprocessing(element)
        share = f"{100 / len(answers):.2f}"
        for name, answer_id in zip(blank_names, answer_ids, strict=True):
            # continue="Yes": a player that runs the rules adds every right pair's share.
            condition = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
            test = ET.SubElement(condition, "conditionvar")
            ET.SubElement(test, "varequal", respident=f"response_{name}").text = answer_id
            _setvar(condition, "Add", share)
        return element

    # -- the package ---------------------------------------------------------------------

    def zip(self) -> bytes:
        entries: list[tuple[str, bytes]] = [("imsmanifest.xml", self._manifest())]
        for assessment in self.assessments:
            entries.append((f"{assessment.ident}/{assessment.ident}.xml", assessment.xml))
            entries.append((f"{assessment.ident}/assessment_meta.xml", assessment.meta))
        entries.extend(sorted(self.files.items()))
        return deterministic_zip(entries)

    def _manifest(self) -> bytes:
        manifest = ET.Element(
            "manifest",
            {
                "identifier": self.ids.make("manifest", *(a.ident for a in self.assessments)),
                "xmlns": CC_NS,
                "xmlns:xsi": XSI,
                "xsi:schemaLocation": CC_SCHEMA,
            },
        )
        metadata = ET.SubElement(manifest, "metadata")
        ET.SubElement(metadata, "schema").text = "IMS Content"
        ET.SubElement(metadata, "schemaversion").text = "1.1.3"
        ET.SubElement(manifest, "organizations")
        resources = ET.SubElement(manifest, "resources")
        for assessment in self.assessments:
            quiz = ET.SubElement(
                resources, "resource", identifier=assessment.ident, type="imsqti_xmlv1p2"
            )
            ET.SubElement(quiz, "file", href=f"{assessment.ident}/{assessment.ident}.xml")
            ET.SubElement(quiz, "dependency", identifierref=assessment.meta_ident)
            meta_href = f"{assessment.ident}/assessment_meta.xml"
            meta = ET.SubElement(
                resources,
                "resource",
                identifier=assessment.meta_ident,
                type="associatedcontent/imscc_xmlv1p1/learning-application-resource",
                href=meta_href,
            )
            ET.SubElement(meta, "file", href=meta_href)
        for path in sorted(self.files):
            image = ET.SubElement(
                resources,
                "resource",
                identifier=self.ids.make("file", path),
                type="webcontent",
                href=path,
            )
            ET.SubElement(image, "file", href=path)
        return _serialise(manifest)


def _assessment_meta(ids: Identifiers, key: str, ident: str, lesson: Lesson, points: int) -> bytes:
    """Canvas' quiz settings; its ``identifier`` must be the assessment's, or Canvas drops the
    title and description (text2qti's issue 18)."""
    quiz = ET.Element(
        "quiz",
        {
            "identifier": ident,
            "xmlns": CANVAS_NS,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": CANVAS_SCHEMA,
        },
    )
    ET.SubElement(quiz, "title").text = lesson.meta.title
    # Canvas reads the description as HTML: the subtitle is text.
    subtitle = html.escape(lesson.meta.subtitle, quote=False)
    ET.SubElement(quiz, "description").text = f"<p>{subtitle}</p>" if subtitle else ""
    # Canvas shuffles the options of every choice question of a quiz or of none: only when
    # every one of them may be shuffled (no shuffle=false, no pinned option).
    choices = [item for item in quiz_items(lesson) if isinstance(item, Question) and item.options]
    shuffle = bool(choices) and all(may_shuffle(item) for item in choices)
    for name, value in (
        ("shuffle_answers", "true" if shuffle else "false"),
        ("scoring_policy", "keep_highest"),
        ("quiz_type", "assignment"),
        ("points_possible", f"{points:.1f}"),
        ("show_correct_answers", "true"),
        ("allowed_attempts", "1"),
        ("one_question_at_a_time", "false"),
        ("cant_go_back", "false"),
        ("available", "false"),
    ):
        ET.SubElement(quiz, name).text = value
    assignment = ET.SubElement(quiz, "assignment", identifier=ids.make(key, "assignment"))
    ET.SubElement(assignment, "title").text = lesson.meta.title
    ET.SubElement(assignment, "workflow_state").text = "unpublished"
    ET.SubElement(assignment, "quiz_identifierref").text = ident
    ET.SubElement(assignment, "points_possible").text = f"{points:.1f}"
    ET.SubElement(assignment, "grading_type").text = "points"
    ET.SubElement(assignment, "submission_types").text = "online_quiz"
    ET.SubElement(quiz, "assignment_group_identifierref").text = ids.make(key, "assignment_group")
    return _serialise(quiz)


# --------------------------------------------------------------------------- XML helpers


def _field(metadata: ET.Element, label: str, entry: str) -> None:
    field_element = ET.SubElement(metadata, "qtimetadatafield")
    ET.SubElement(field_element, "fieldlabel").text = label
    ET.SubElement(field_element, "fieldentry").text = entry


def _material(
    parent: ET.Element, text: str, *, html: bool = True, texttype: str | None = "text/plain"
) -> None:
    material = ET.SubElement(parent, "material")
    mattext = ET.SubElement(material, "mattext")
    if html:
        mattext.set("texttype", "text/html")
    elif texttype:
        mattext.set("texttype", texttype)
    mattext.text = text


def _resprocessing(item: ET.Element) -> ET.Element:
    processing = ET.SubElement(item, "resprocessing")
    outcomes = ET.SubElement(processing, "outcomes")
    ET.SubElement(
        outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal"
    )
    return processing


def _setvar(condition: ET.Element, action: str, value: str) -> None:
    ET.SubElement(condition, "setvar", action=action, varname="SCORE").text = value


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def deterministic_zip(entries: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of ``(name, bytes)`` entries, in that order, with fixed timestamps and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine builds it
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


# --------------------------------------------------------------------------- registered outputs


class QtiOutput(Output):
    """``x-qti.zip``: a lesson's questions as one quiz (``--only qti``, ``exports: [qti]``)."""

    name = "qti"
    suffix = "-qti.zip"
    default = False
    packages = EXPORT_PACKAGES
    writer = ExportWriter

    def digest_parts(self, target: Target) -> list[str]:
        """The zlib that compresses the zip (another version may give other bytes)."""
        return [f"zlib={zlib.ZLIB_RUNTIME_VERSION}"]

    def render(self, writer: ExportWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The QTI package."""
        return lesson_package(target.lesson)


class QtiBankOutput(QtiOutput):
    """``<course>-qti.zip``: the course's quiz bank, one quiz per lesson."""

    name = "qti-bank"
    scope = "course"
    selected_by = "qti"

    def render(self, writer: ExportWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The course's QTI package."""
        assert target.course is not None
        return course_package(target.course, target.lessons)


QTI = QtiOutput()
QTI_BANK = QtiBankOutput()
