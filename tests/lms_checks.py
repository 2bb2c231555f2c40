"""Reading quiz exports back as the LMSs do, and checking them against their documented rules.

Moodle has no schema for its XML format and an import that goes wrong often reports nothing
useful, so :func:`moodle_problems` checks a file against the rules Moodle's importer
(``question/format/xml/format.php``) and its question types apply: the grades a multiple-choice
answer may have, what ``single`` demands of them, essay box sizes, matching and ordering
minimums, and the embedded-answers (Cloze) syntax, parsed with Moodle's own regular expression
(``qtype_multianswer``'s ``ANSWER_REGEX``, ported to Python's ``re``).

:func:`qti_problems` checks a Canvas-style QTI 1.2 zip: every file the manifest names is in the
zip, identifiers are unique and agree between the manifest, the assessment and Canvas'
``assessment_meta.xml``, each item's ``question_type`` has the structure Canvas reads, and every
picture an item shows is packed.
"""

from __future__ import annotations

import base64
import html
import io
import re
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

# --------------------------------------------------------------------------- Moodle

#: question_bank::fraction_options_full(), as percentages (the negatives are allowed too).
MOODLE_GRADES = (
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0,
)  # fmt: skip
TEXT_FORMATS = ("html", "moodle_auto_format", "plain_text", "markdown", "wiki_like")
QUESTION_TYPES = (
    "category", "multichoice", "truefalse", "shortanswer", "numerical", "essay", "matching",
    "cloze", "description", "ordering", "ddwtos", "gapselect", "calculated",
)  # fmt: skip

# qtype_multianswer's regular expressions (Moodle 4.x), with PCRE's alternation inside a
# look-behind split into one look-behind per alternative for Python's ``re``.
_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = f"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"
_TYPES = (
    "(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
    "(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|"
    "(MULTICHOICE_HS|MCHS)|(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|"
    "(MULTIRESPONSE_HS|MRHS)"
)
_START = r"\{([0-9]*):(" + _TYPES + "):"
CLOZE_GAP = re.compile(
    _START + "(?P<alternatives>" + _ALTERNATIVE + "(~" + _ALTERNATIVE + ")*)\\}", re.S
)
_ALTERNATIVE_RE = re.compile("~?" + _ALTERNATIVE, re.S)


@dataclass
class ClozeGap:
    """One embedded sub-question as Moodle reads it."""

    weight: int
    qtype: str
    answers: list[tuple[float, str]]  # (fraction, the answer after Moodle's unescaping)


def cloze_gaps(text: str) -> list[ClozeGap]:
    """The sub-questions of a Cloze question text, as ``qtype_multianswer_extract_question``
    finds them (leftmost first, each match taken out of the text before the next search)."""
    gaps: list[ClozeGap] = []
    while True:
        found = CLOZE_GAP.search(text)
        if not found:
            return gaps
        qtype = found.group(2)
        answers: list[tuple[float, str]] = []
        remaining = found.group("alternatives")
        while remaining:
            alt = _ALTERNATIVE_RE.match(remaining)
            if not alt or not alt.group(0):
                break
            marker = alt.group(1) or ""
            fraction = 1.0 if marker == "=" else (float(alt.group(2)) / 100 if marker else 0.0)
            answer = html.unescape(alt.group(3)).replace("\\}", "}").replace("\\#", "#")
            answers.append((fraction, answer))
            remaining = remaining[len(alt.group(0)) :]
        gaps.append(ClozeGap(int(found.group(1) or 1), qtype, answers))
        text = text[: found.start()] + "{#}" + text[found.end() :]


def shortanswer_matches(pattern: str, response: str) -> bool:
    """qtype_shortanswer's comparison: ``*`` is a wildcard, ``\\*`` a literal asterisk,
    case ignored (SHORTANSWER), surrounding spaces trimmed."""
    bits = re.split(r"(?<!\\)\*", pattern.strip())
    regex = ".*".join(re.escape(bit.replace("\\*", "*")) for bit in bits)
    return re.fullmatch(regex, response.strip(), re.I | re.S) is not None


def _grade_ok(percent: float) -> bool:
    return any(abs(abs(percent) - grade) < 0.001 for grade in MOODLE_GRADES)


def _text_of(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = element.find("text")
    return None if text is None else (text.text or "")


def _files_problems(where: str, element: ET.Element) -> list[str]:
    """Every ``@@PLUGINFILE@@`` reference has a ``<file>`` beside its text, and back."""
    problems: list[str] = []
    text = _text_of(element) or ""
    files: dict[str, bytes] = {}
    for file in element.findall("file"):
        path = file.get("path", "/") + file.get("name", "")
        if file.get("encoding") != "base64":
            problems.append(f"{where}: file {path} is not base64")
        if path in files:
            problems.append(f"{where}: file {path} twice")
        files[path] = base64.b64decode(file.text or "", validate=True)
    refs = {
        "/" + urllib.parse.unquote(ref) for ref in re.findall(r"@@PLUGINFILE@@/([^\"'<>\s]+)", text)
    }
    for ref in sorted(refs - set(files)):
        problems.append(f"{where}: shows {ref} but has no <file> for it")
    for extra in sorted(set(files) - refs):
        problems.append(f"{where}: carries {extra}, which its text never shows")
    return problems


def moodle_problems(data: bytes, *, editable: bool = True) -> list[str]:
    """Every broken Moodle import rule in a Moodle XML file (empty: it imports cleanly).

    ``editable``: also the rules Moodle's editing forms apply (a question that imports but
    cannot be saved again unchanged, such as a matching question with fewer than 3 answers).
    """
    problems: list[str] = []
    root = ET.fromstring(data)
    if root.tag != "quiz":
        return [f"the root element is <{root.tag}>, not <quiz>"]
    seen_category = False
    for index, question in enumerate(root.findall("question"), 1):
        qtype = question.get("type", "")
        where = f"question {index} ({qtype})"
        if qtype not in QUESTION_TYPES:
            problems.append(f"{where}: unknown question type")
            continue
        if qtype == "category":
            path = _text_of(question.find("category")) or ""
            if not path.startswith(("$course$/", "$system$/", "$module$/", "$cat1$/")):
                problems.append(f"{where}: category path {path!r} has no context")
            seen_category = True
            continue
        if not seen_category:
            problems.append(f"{where}: comes before any category")
        name = _text_of(question.find("name"))
        if not (name or "").strip():
            problems.append(f"{where}: no name (Moodle refuses it: xmlimportnoname)")
        elif len(name) > 255:
            problems.append(f"{where}: name longer than 255 characters")
        questiontext = question.find("questiontext")
        if questiontext is None or _text_of(questiontext) is None:
            problems.append(f"{where}: no questiontext/text")
            continue
        for element in question.iter():
            fmt = element.get("format")
            if fmt is not None and fmt not in TEXT_FORMATS:
                problems.append(f"{where}: unknown text format {fmt!r}")
            if element.find("text") is not None:
                problems.extend(_files_problems(f"{where} <{element.tag}>", element))
        if qtype != "cloze":
            grade = question.findtext("defaultgrade", "1")
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", grade) or float(grade) <= 0:
                problems.append(f"{where}: defaultgrade {grade!r} is not a positive number")
        penalty = float(question.findtext("penalty", "0.3333333"))
        if not 0 <= penalty <= 1:
            problems.append(f"{where}: penalty {penalty} outside 0..1")
        problems.extend(f"{where}: {p}" for p in _type_problems(qtype, question, editable))
    return problems


def _type_problems(qtype: str, question: ET.Element, editable: bool) -> list[str]:
    problems: list[str] = []
    if qtype == "multichoice":
        single = question.findtext("single", "true").strip() not in ("false", "0", "")
        if question.findtext("answernumbering", "abc") not in (
            "abc", "ABCD", "123", "iii", "IIII", "none",
        ):  # fmt: skip
            problems.append("unknown answernumbering")
        answers = question.findall("answer")
        if len(answers) < 2:
            problems.append("fewer than 2 answers")
        fractions = [float(a.get("fraction", "0")) for a in answers]
        for fraction in fractions:
            if not _grade_ok(fraction):
                problems.append(f"grade {fraction} is not one Moodle lists (invalidgrade)")
        if single:
            if max(fractions, default=0) != 100:
                problems.append("single choice without a 100% answer (fractionsnomax)")
            if sum(1 for f in fractions if f == 100) != 1:
                problems.append("single choice with more than one right answer")
            if any(f < 0 for f in fractions):
                problems.append("single choice with a negative grade")
        else:
            total = round(sum(f for f in fractions if f > 0) / 100, 2)
            if total != 1:
                problems.append(f"positive grades add up to {total * 100}% (fractionsaddwrong)")
    elif qtype == "essay":
        if question.findtext("responseformat", "editor") not in (
            "editor", "editorfilepicker", "plain", "monospaced", "noinline",
        ):  # fmt: skip
            problems.append("unknown responseformat")
        lines = question.findtext("responsefieldlines", "15")
        if lines not in {str(n) for n in range(5, 45, 5)}:
            problems.append(f"responsefieldlines {lines} is not a size Moodle offers")
        if question.find("graderinfo") is None:
            problems.append("no graderinfo")
        if question.findtext("attachments", "0") not in ("0", "1", "2", "3", "-1"):
            problems.append("attachments not 0..3 or -1")
    elif qtype == "matching":
        subs = question.findall("subquestion")
        stems = [s for s in subs if (_text_of(s) or "").strip()]
        for sub in subs:
            answer = sub.findtext("answer/text", "").strip()
            if (_text_of(sub) or "").strip() and not answer:
                problems.append("a subquestion without an answer (nomatchinganswer)")
            if re.search(r"<[A-Za-z/]", answer):
                problems.append(f"answer {answer!r} has HTML, shown as plain text")
        if len(stems) < 2 or (editable and len(subs) < 3):
            problems.append("fewer than 2 questions and 3 answers (notenoughqsandas)")
    elif qtype == "ordering":
        answers = question.findall("answer")
        texts = [_text_of(a) or "" for a in answers]
        if any(t.strip() in ("", "0") for t in texts):
            problems.append("an answer the importer skips (empty or '0')")
        if len(answers) < 2:
            problems.append("fewer than 2 items")
        if question.findtext("layouttype", "VERTICAL") not in ("VERTICAL", "HORIZONTAL"):
            problems.append("unknown layouttype")
        select = question.findtext("selecttype", "RANDOM")
        if select not in ("ALL", "RANDOM", "CONTIGUOUS"):
            problems.append("unknown selecttype")
        count = question.findtext("selectcount", "6")
        if select == "ALL" and count != str(len(answers)):
            problems.append(f"selectcount {count} is not the number of items")
        if question.findtext("gradingtype", "RELATIVE") not in (
            "ALL_OR_NOTHING", "ABSOLUTE_POSITION", "RELATIVE_NEXT_EXCLUDE_LAST",
            "RELATIVE_NEXT_INCLUDE_LAST", "RELATIVE_ONE_PREVIOUS_AND_NEXT",
            "RELATIVE_ALL_PREVIOUS_AND_NEXT", "LONGEST_ORDERED_SUBSET",
            "LONGEST_CONTIGUOUS_SUBSET", "RELATIVE",
        ):  # fmt: skip
            problems.append("unknown gradingtype")
    elif qtype == "cloze":
        gaps = cloze_gaps(_text_of(question.find("questiontext")) or "")
        if not gaps:
            problems.append("no embedded sub-question (questionsmissing)")
        for number, gap in enumerate(gaps, 1):
            if not gap.answers:
                problems.append(f"gap {number} has no answer (notenoughanswers)")
            if not any(fraction == 1 for fraction, _ in gap.answers):
                problems.append(f"gap {number} has no 100% answer (fractionsnomax)")
    return problems


def moodle_questions(data: bytes) -> list[ET.Element]:
    """The file's ``<question>`` elements, categories included."""
    return ET.fromstring(data).findall("question")


# --------------------------------------------------------------------------- QTI

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CANVAS = "{http://canvas.instructure.com/xsd/cccv1p0}"


@dataclass
class QtiItem:
    """One item as Canvas reads it."""

    ident: str
    title: str
    qtype: str
    points: float
    text: str  # the question's HTML
    element: ET.Element = field(repr=False)


@dataclass
class QtiAssessment:
    """One assessment (one Canvas quiz) of a package."""

    ident: str
    title: str
    points: float
    items: list[QtiItem]
    root: ET.Element = field(repr=False)


def qti_assessments(data: bytes) -> list[QtiAssessment]:
    """The package's assessments in manifest order."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    found = []
    for resource in manifest.iter(f"{CP}resource"):
        if resource.get("type") != "imsqti_xmlv1p2":
            continue
        href = resource.find(f"{CP}file").get("href")
        root = ET.fromstring(archive.read(href))
        assessment = root.find(f"{QTI}assessment")
        meta_href = href.rsplit("/", 1)[0] + "/assessment_meta.xml"
        meta = ET.fromstring(archive.read(meta_href))
        items = [_qti_item(item) for item in assessment.iter(f"{QTI}item")]
        found.append(
            QtiAssessment(
                ident=assessment.get("ident"),
                title=assessment.get("title"),
                points=float(meta.findtext(f"{CANVAS}points_possible")),
                items=items,
                root=root,
            )
        )
    return found


def _qti_item(item: ET.Element) -> QtiItem:
    fields = {
        f.findtext(f"{QTI}fieldlabel"): f.findtext(f"{QTI}fieldentry") or ""
        for f in item.iter(f"{QTI}qtimetadatafield")
    }
    mattext = item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext")
    return QtiItem(
        ident=item.get("ident"),
        title=item.get("title"),
        qtype=fields.get("question_type", ""),
        points=float(fields.get("points_possible", "0")),
        text=(mattext.text or "") if mattext is not None else "",
        element=item,
    )


def qti_problems(data: bytes) -> list[str]:
    """Every broken packaging or Canvas rule in a QTI zip (empty: Canvas can read it all)."""
    problems: list[str] = []
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    if len(names) != len(set(names)):
        problems.append("the zip has an entry twice")
    if "imsmanifest.xml" not in names:
        return problems + ["no imsmanifest.xml"]
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    resources = {r.get("identifier"): r for r in manifest.iter(f"{CP}resource")}
    if len(resources) != len(list(manifest.iter(f"{CP}resource"))):
        problems.append("two manifest resources share an identifier")
    referenced: set[str] = {"imsmanifest.xml"}
    for ident, resource in resources.items():
        for file in resource.iter(f"{CP}file"):
            href = file.get("href")
            referenced.add(href)
            if href not in names:
                problems.append(f"the manifest names {href}, which is not in the zip")
        for dependency in resource.iter(f"{CP}dependency"):
            if dependency.get("identifierref") not in resources:
                problems.append(f"resource {ident} depends on a resource that is not there")
    for name in names:
        if name not in referenced:
            problems.append(f"{name} is in the zip but not in the manifest")
    all_idents: list[str] = []
    for ident, resource in resources.items():
        if resource.get("type") != "imsqti_xmlv1p2":
            continue
        href = resource.find(f"{CP}file").get("href")
        if href != f"{ident}/{ident}.xml":
            problems.append(f"assessment {ident} is at {href}, not {ident}/{ident}.xml")
        root = ET.fromstring(archive.read(href))
        assessment = root.find(f"{QTI}assessment")
        if assessment is None or assessment.get("ident") != ident:
            problems.append(f"the assessment in {href} is not {ident}")
            continue
        dependencies = [d.get("identifierref") for d in resource.iter(f"{CP}dependency")]
        meta_hrefs = [
            f.get("href")
            for d in dependencies
            if d in resources
            for f in resources[d].iter(f"{CP}file")
        ]
        if f"{ident}/assessment_meta.xml" not in meta_hrefs:
            problems.append(f"assessment {ident} does not depend on its assessment_meta.xml")
            continue
        meta = ET.fromstring(archive.read(f"{ident}/assessment_meta.xml"))
        if meta.get("identifier") != ident:
            problems.append(f"assessment_meta.xml of {ident} names quiz {meta.get('identifier')}")
        if meta.findtext(f"{CANVAS}assignment/{CANVAS}quiz_identifierref") != ident:
            problems.append(f"the assignment of {ident} refers to another quiz")
        points = 0.0
        all_idents += [ident, *(s.get("ident") for s in assessment.iter(f"{QTI}section"))]
        for item in assessment.iter(f"{QTI}item"):
            parsed = _qti_item(item)
            all_idents.append(parsed.ident)
            points += parsed.points
            problems.extend(f"item {parsed.title!r}: {p}" for p in _item_problems(parsed, names))
        meta_points = float(meta.findtext(f"{CANVAS}points_possible", "0"))
        if abs(meta_points - points) > 1e-9:
            problems.append(f"assessment_meta says {meta_points} points, the items {points}")
    duplicates = {i for i in all_idents if all_idents.count(i) > 1}
    if duplicates:
        problems.append(f"identifiers used twice: {sorted(duplicates)}")
    return problems


def _item_problems(item: QtiItem, names: list[str]) -> list[str]:
    problems: list[str] = []
    element = item.element
    lids = element.findall(f"{QTI}presentation/{QTI}response_lid")
    varequals = list(element.iter(f"{QTI}varequal"))
    texts = [m.text or "" for m in element.iter(f"{QTI}mattext")]
    for text in texts:
        for src in image_sources(text):
            if not src.startswith("%24IMS-CC-FILEBASE%24/"):
                problems.append(f"picture {src} is not in the package")
            elif urllib.parse.unquote(src.split("/", 1)[1]) not in names:
                problems.append(f"picture {src} is missing from the zip")
    labels = {lab.get("ident") for lab in element.iter(f"{QTI}response_label")}
    respidents = {lid.get("ident") for lid in lids}
    if len(respidents) != len(lids):
        problems.append("two responses share an identifier")
    for choices in element.iter(f"{QTI}render_choice"):
        idents = [lab.get("ident") for lab in choices.iter(f"{QTI}response_label")]
        if len(idents) != len(set(idents)):
            problems.append("two choices of one response share an identifier")
    for varequal in varequals:
        if varequal.get("respident") not in respidents:
            problems.append(f"a condition tests {varequal.get('respident')}, no such response")
        if lids and (varequal.text or "") not in labels:
            problems.append(f"a condition expects {varequal.text}, no such choice")
    if item.qtype == "multiple_choice_question":
        if len(lids) != 1 or lids[0].get("rcardinality") != "Single":
            problems.append("a single choice needs one Single response_lid")
        if len(varequals) != 1 or list(element.iter(f"{QTI}not")):
            problems.append("a single choice needs exactly one right answer")
    elif item.qtype == "multiple_answers_question":
        if len(lids) != 1 or lids[0].get("rcardinality") != "Multiple":
            problems.append("select all needs one Multiple response_lid")
        named = {v.text for v in varequals}
        if named != labels:
            problems.append("select all must name every choice as right or (not) wrong")
        if not any(True for _ in element.iter(f"{QTI}not")):
            problems.append("select all without a wrong choice")
    elif item.qtype == "essay_question":
        if element.find(f"{QTI}presentation/{QTI}response_str/{QTI}render_fib") is None:
            problems.append("an essay needs a response_str with render_fib")
    elif item.qtype == "matching_question":
        if len(lids) < 2:
            problems.append("a matching question needs at least 2 terms")
        if {v.get("respident") for v in varequals} != respidents:
            problems.append("every term needs its right choice")
        choice_sets = {
            tuple(lab.get("ident") for lab in lid.iter(f"{QTI}response_label")) for lid in lids
        }
        if len(choice_sets) != 1:
            problems.append("the terms of a matching question must offer the same choices")
    elif item.qtype == "fill_in_multiple_blanks_question":
        blanks = re.findall(r"\[([A-Za-z0-9_]+)\]", item.text)
        if len(blanks) != len(set(blanks)) or not blanks:
            problems.append("blanks must be named once each")
        if {f"response_{b}" for b in blanks} != respidents:
            problems.append("each [blank] needs its response_lid and back")
        for lid in lids:
            name = lid.findtext(f"{QTI}material/{QTI}mattext")
            if f"response_{name}" != lid.get("ident"):
                problems.append(f"response {lid.get('ident')} is labelled {name}")
    else:
        problems.append(f"unknown question_type {item.qtype!r}")
    if item.points <= 0:
        problems.append("no points")
    return problems


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.extend(value or "" for name, value in attrs if name == "src")


def image_sources(text: str) -> list[str]:
    """The ``src`` of every ``<img>`` in some HTML, as a browser parses it (a literal
    ``&lt;img src=…&gt;`` in the text is no picture)."""
    parser = _Images()
    parser.feed(text)
    parser.close()
    return parser.sources


def strip_namespaces(data: bytes):
    """The XML as an lxml tree without namespaces, as a DTD sees a QTI 1.2 document."""
    from lxml import etree

    root = etree.fromstring(data)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
        for key in list(element.attrib):
            if key.startswith("{"):
                del element.attrib[key]
    etree.cleanup_namespaces(root)
    return root
