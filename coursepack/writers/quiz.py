"""The lesson's questions as an online quiz: what the Moodle and QTI exporters share.

A lesson becomes a list of :class:`QuizItem` (one per graded block, plus one fill-in-the-blanks
item per topic, section introduction or lesson introduction that has ``[[blanks]]``), in source
order. Each exporter turns the items into its own XML; both render the lesson's text to HTML
with :func:`render_inlines` and :func:`render_blocks`, which take a :class:`Dialect` that says
how the format spells a picture, a blank and literal text.

Everything here is pure and deterministic: the same lesson gives the same items, the same HTML
and the same identifiers on every machine (identifiers are digests of the lesson and the item's
content, never random), so the export files are byte-identical from build to build.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from coursepack import formulas
from coursepack.layouts import LayoutSearch
from coursepack.messages import Catalogue, catalogue
from coursepack.model import (
    Block,
    BulletList,
    Callout,
    Cloze,
    Code,
    CodeBlock,
    Columns,
    Div,
    Emph,
    Image,
    Inline,
    Inlines,
    Lesson,
    LineBreak,
    Link,
    ListItem,
    Match,
    Math,
    Order,
    Paragraph,
    Question,
    Quote,
    Strong,
    Subscript,
    Superscript,
    Table,
    Text,
    View,
    link_allowed,
    shows,
)

if TYPE_CHECKING:
    from coursepack.diagnostics import Diagnostic


# --------------------------------------------------------------------------- rendering text


@dataclass
class Dialect:
    """How one export format spells what the lesson's text contains.

    ``html``: render HTML (else plain text). ``blank``: the text of a ``[[blank]]``.
    ``image_src``: the ``src`` of a picture. ``escape``: extra escaping of literal text that
    the format would otherwise read as its own syntax (after HTML escaping). Pictures the text
    refers to are collected in ``images`` (in order, once each). ``words``: the lesson's
    message catalogue (a callout without a title is headed in its language).
    """

    html: bool = True
    blank: Callable[[Cloze], str] = lambda cloze: "_" * max(4, len(cloze.answer))
    image_src: Callable[[Image], str] = lambda image: image.src
    escape: Callable[[str], str] = lambda text: text
    images: list[Image] = field(default_factory=list)
    words: Catalogue | None = None

    def text(self, value: str) -> str:
        """Literal text, escaped for the format."""
        if not self.html:
            return value
        return self.escape(html.escape(value, quote=False))

    def picture(self, image: Image) -> str:
        """An ``<img>`` element, remembering the picture so that the format can pack it."""
        if not any(seen.path == image.path for seen in self.images):
            self.images.append(image)
        src = html.escape(self.image_src(image), quote=True)
        alt = html.escape(image.alt, quote=True)
        return f'<img src="{src}" alt="{alt}">'


def render_inlines(inlines: Inlines, target: Dialect) -> str:
    """Inline content as HTML (or plain text when ``target.html`` is false).

    The one place that turns every inline kind into export text: a new kind of inline (math,
    for one) adds its case here, and ``assert_never`` fails loudly until it does.
    """
    parts: list[str] = []
    for node in inlines:
        parts.append(_inline(node, target))
    return "".join(parts)


def _inline(node: Inline, target: Dialect) -> str:
    match node:
        case Text():
            return target.text(node.text)
        case Code():
            return f"<code>{target.text(node.text)}</code>" if target.html else node.text
        case Strong():
            inner = render_inlines(node.children, target)
            return f"<strong>{inner}</strong>" if target.html else inner
        case Emph():
            inner = render_inlines(node.children, target)
            return f"<em>{inner}</em>" if target.html else inner
        case Link():
            inner = render_inlines(node.children, target)
            if not target.html or not link_allowed(node.href):
                return inner
            return f'<a href="{html.escape(node.href.strip(), quote=True)}">{inner}</a>'
        case Cloze():
            return target.blank(node)
        case Math():
            # TeX in \(…\) (\[…\] for display): Moodle and Canvas draw it with MathJax
            if target.html:
                return target.text(formulas.tex_source(node.tex, node.display))
            return formulas.linear(node.tex.strip(), node.display)
        case Subscript():
            return f"<sub>{target.text(node.text)}</sub>" if target.html else node.text
        case Superscript():
            return f"<sup>{target.text(node.text)}</sup>" if target.html else node.text
        case LineBreak():
            return "<br>" if target.html else " "
        case _:
            assert_never(node)


def render_blocks(blocks: Iterable[Block], target: Dialect, view: View = "handout") -> str:
    """Blocks as HTML, showing what ``view`` shows of audience divs.

    Graded blocks are left out: each is a question of its own (and the reader does not let
    one hold another).
    """
    return "".join(_block(block, target, view) for block in blocks)


def _block(block: Block, target: Dialect, view: View) -> str:
    match block:
        case Paragraph():
            return f"<p>{render_inlines(block.inlines, target)}</p>"
        case BulletList():
            tag = "ol" if block.ordered else "ul"
            start = f' start="{block.start}"' if block.ordered and block.start != 1 else ""
            items = "".join(_item(item, target) for item in block.items)
            return f"<{tag}{start}>{items}</{tag}>"
        case Table():
            head = "".join(
                f"<th{_align(align)}>{render_inlines(cell.inlines, target)}</th>"
                for cell, align in zip(block.header, block.aligns, strict=False)
            )
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td{_align(align)}>{render_inlines(cell.inlines, target)}</td>"
                    for cell, align in zip(row, block.aligns, strict=False)
                )
                + "</tr>"
                for row in block.rows
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        case Quote():
            return f"<blockquote>{render_blocks(block.blocks, target, view)}</blockquote>"
        case Image():
            caption = f"<br><em>{target.text(block.caption)}</em>" if block.caption else ""
            return f"<p>{target.picture(block)}{caption}</p>"
        case CodeBlock():
            return f"<pre><code>{target.text(block.text)}</code></pre>"
        case Div():
            return render_blocks(block.blocks, target, view) if shows(block, view) else ""
        case Columns():
            return render_blocks(block.blocks, target, view)
        case Callout():
            heading = block.title or (target.words or catalogue("en"))(f"callout_{block.style}")
            label = f"<p><strong>{target.text(heading)}</strong></p>"
            return f"<blockquote>{label}{render_blocks(block.blocks, target, view)}</blockquote>"
        case Question() | Match() | Order():
            return ""
        case _:
            assert_never(block)


def _item(item: ListItem, target: Dialect) -> str:
    children = ""
    if item.children:
        tag = "ol" if item.ordered_children else "ul"
        children = f"<{tag}>{''.join(_item(child, target) for child in item.children)}</{tag}>"
    return f"<li>{render_inlines(item.inlines, target)}{children}</li>"


def _align(align: str) -> str:
    return f' style="text-align:{align}"' if align else ""


def typed_answer(cloze: Cloze) -> str:
    """What a student types into a blank's gap: its formulas as one-line text (``x = ±3``),
    sub/superscripts as plain characters (``CO2``); else the answer as written."""
    return plain(cloze.content) if cloze.content else cloze.answer


def plain(inlines: Inlines) -> str:
    """Inline content as plain text, a blank as a gap (for names and plain-text fields)."""
    return " ".join(render_inlines(inlines, Dialect(html=False)).split())


def blocks_plain(blocks: Iterable[Block]) -> str:
    """The first words of some blocks as plain text (for question names)."""
    words: list[str] = []
    for block in blocks:
        match block:
            case Paragraph():
                words.append(plain(block.inlines))
            case BulletList():
                words.extend(plain(item.inlines) for item in block.items)
            case _:
                continue
    return " ".join(" ".join(words).split())


# --------------------------------------------------------------------------- quiz items


@dataclass(frozen=True)
class Blanks:
    """The blanks of one topic (or of a section's or the lesson's introduction).

    ``title`` names the part; ``blocks`` are the part's blocks (graded blocks among them are
    skipped when rendered); ``answers`` are its blanks in reading order, title first.
    """

    title: Inlines
    title_text: str
    blocks: tuple[Block, ...]
    answers: tuple[Cloze, ...]
    line: int


QuizItem = Question | Match | Order | Blanks


def quiz_items(lesson: Lesson) -> tuple[QuizItem, ...]:
    """Every question of the lesson in source order: the graded blocks students see and, for
    each part of the lesson whose handout has blanks, one :class:`Blanks` item."""
    items: list[QuizItem] = []
    parts: list[tuple[Inlines, str, tuple[Block, ...], int]] = [
        ((Text(lesson.meta.title),), lesson.meta.title, lesson.intro, 1)
    ]
    for section in lesson.sections:
        parts.append(
            (section.title, plain(section.title) or lesson.meta.title, section.blocks, section.line)
        )
        for topic in section.topics:
            name = plain(topic.title) or plain(section.title) or lesson.meta.title
            parts.append((topic.title, name, topic.blocks, topic.line))
    for title, title_text, blocks, line in parts:
        answers = tuple(_title_blanks(title, blocks)) + tuple(_handout_blanks(blocks))
        if answers:
            items.append(Blanks(title, title_text, blocks, answers, line))
        items.extend(_student_graded(blocks))
    # Blanks go before the questions of their part: a part's heading line precedes its blocks.
    return tuple(sorted(items, key=lambda item: item.line))


def _student_graded(blocks: Iterable[Block]) -> Iterable[Question | Match | Order]:
    """The graded blocks students see (on paper or on screen): not those inside ``::: notes``
    or ``::: teacher``, which check warns about. They keep the lesson's numbering."""
    for block in blocks:
        match block:
            case Question() | Match() | Order():
                yield block
            case Div():
                if shows(block, "handout") or shows(block, "slide"):
                    yield from _student_graded(block.blocks)
            case Quote() | Callout() | Columns():
                yield from _student_graded(block.blocks)
            case Paragraph() | BulletList() | Table() | Image() | CodeBlock():
                continue
            case _:
                assert_never(block)


def _title_blanks(title: Inlines, blocks: tuple[Block, ...]) -> list[Cloze]:
    # A heading's blanks are gaps in the handout too; they are part of the item only when the
    # part has text to show them with (a title alone is no question).
    return list(_inline_blanks(title)) if blocks else []


def _handout_blanks(blocks: Iterable[Block]) -> Iterable[Cloze]:
    """The blanks the handout shows as gaps, outside graded blocks, in reading order."""
    for block in blocks:
        match block:
            case Paragraph():
                yield from _inline_blanks(block.inlines)
            case BulletList():
                yield from _item_blanks(block.items)
            case Table():
                for cell in block.header:
                    yield from _inline_blanks(cell.inlines)
                for row in block.rows:
                    for cell in row:
                        yield from _inline_blanks(cell.inlines)
            case Quote() | Callout() | Columns():
                yield from _handout_blanks(block.blocks)
            case Div():
                if shows(block, "handout"):
                    yield from _handout_blanks(block.blocks)
            case Image() | CodeBlock() | Question() | Match() | Order():
                continue
            case _:
                assert_never(block)


def _item_blanks(items: Sequence[ListItem]) -> Iterable[Cloze]:
    for item in items:
        yield from _inline_blanks(item.inlines)
        yield from _item_blanks(item.children)


def _inline_blanks(inlines: Inlines) -> Iterable[Cloze]:
    for node in inlines:
        match node:
            case Cloze():
                yield node
            case Strong() | Emph() | Link():
                yield from _inline_blanks(node.children)
            case Text() | Code() | LineBreak() | Math() | Subscript() | Superscript():
                continue
            case _:
                assert_never(node)


def lesson_words(lesson: Lesson) -> Catalogue:
    """The message catalogue of the lesson's language (the words an export writes itself)."""
    return catalogue(lesson.meta.lang)


def item_name(item: QuizItem, t: Catalogue | None = None, limit: int = 80) -> str:
    """A question's name in the LMS question bank: its number and the start of its text (a
    word for its kind, in the lesson's language ``t``, when the prompt has no text)."""
    match item:
        case Question() | Match() | Order():
            kind = {"match": "bank_matching", "order": "bank_ordering"}.get(
                item.kind, "bank_question"
            )
            text = blocks_plain(item.prompt) or (t or catalogue("en"))(kind)
            name = f"{item.number:02d} {text}"
        case Blanks():
            name = item.title_text
        case _:
            assert_never(item)
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def may_shuffle(item: Question) -> bool:
    """Whether the LMS may shuffle a choice question's options for each student, as the test
    versions do: not for ``shuffle=false``, nor when an option is pinned (``{.fixed}``; no LMS
    can keep one option in place while shuffling the others)."""
    return item.shuffle and not any(option.fixed for option in item.options)


def item_points(item: QuizItem) -> int:
    """The points of a question; a blanks item scores one point per blank."""
    match item:
        case Question() | Match() | Order():
            return item.points
        case Blanks():
            return len(item.answers)
        case _:
            assert_never(item)


# --------------------------------------------------------------------------- grading rules

#: Moodle accepts only these answer grades (percent) on import, unless told to round.
MOODLE_GRADES = (
    "100",
    "90",
    "83.33333",
    "80",
    "75",
    "70",
    "66.66667",
    "60",
    "50",
    "40",
    "33.33333",
    "30",
    "25",
    "20",
    "16.66667",
    "14.28571",
    "12.5",
    "11.11111",
    "10",
    "5",
)


def select_all_grades(correct: int) -> list[str]:
    """Percent grades for ``correct`` right options that add up to 100, each one Moodle lists.

    One to ten right options share the mark equally (3 → 33.33333 each); 11 to 20 mix 10 and
    5 percent; beyond 20 the first 20 get 5 percent and the rest nothing (Moodle has no
    smaller grade).
    """
    if correct <= 0:
        return []
    for value in MOODLE_GRADES:
        if abs(float(value) * correct - 100) < 0.001:
            return [value] * correct
    tens = max(0, 20 - correct)
    fives = min(correct - tens, 20 - 2 * tens)
    grades = ["10"] * tens + ["5"] * fives
    return grades + ["0"] * (correct - len(grades))


def wrong_grade(correct: int) -> str:
    """The (negative) grade of a wrong option of a select-all question: minus one right
    option's share, so ticking everything scores nothing."""
    smallest = min(float(g) for g in select_all_grades(correct) if float(g) > 0)
    for value in MOODLE_GRADES:
        if abs(float(value) - smallest) < 0.001:
            return f"-{value}"
    return "-5"


# --------------------------------------------------------------------------- identifiers


def digest_id(*parts: str, prefix: str = "g") -> str:
    """A stable identifier from text parts: ``g`` and 32 hex digits, as Canvas writes them."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return prefix + digest.hexdigest()[:32]


class Identifiers:
    """Identifiers unique within one package: a repeat of the same parts gets a counter."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def make(self, *parts: str) -> str:
        """A new identifier for these parts, never one already given."""
        ident = digest_id(*parts)
        counter = 1
        while ident in self._seen:
            counter += 1
            ident = digest_id(*parts, str(counter))
        self._seen.add(ident)
        return ident


def lesson_key(lesson: Lesson) -> str:
    """What identifies a lesson in identifiers: its file name and its title."""
    return f"{lesson.stem}\x1e{lesson.meta.title}"


# --------------------------------------------------------------------------- pictures


def image_name(lesson: Lesson, image: Image) -> str:
    """The picture's path inside the lesson's folder, with ``/`` (as written, normalised)."""
    try:
        return image.path.resolve().relative_to(lesson.folder.resolve()).as_posix()
    except ValueError:  # check refuses pictures outside the folder; keep a safe name anyway
        return image.path.name


def image_bytes(image: Image) -> bytes:
    """The picture file's bytes (check has made sure it exists and is a picture)."""
    return Path(image.path).read_bytes()


# --------------------------------------------------------------------------- the writer


#: Libraries whose upgrade can change an export's bytes: formulas in plain-text fields (names,
#: matching choices, a blank's typed answer) are written out from their MathML.
EXPORT_PACKAGES = ("latex2mathml", "ziamath")


class ExportWriter:
    """The engine of the quiz exports: there is nothing to load or keep warm (no layout files,
    no fonts); it exists so the exports are outputs like the others."""

    def __init__(self, layouts: LayoutSearch | None = None) -> None:
        self.layouts = layouts

    def layout_files(self) -> list[Path]:
        """The message catalogues (an export names an untitled question in its lesson's
        language)."""
        return (self.layouts or LayoutSearch()).message_files()

    def layout_problems(self) -> list[Diagnostic]:
        """None: exports do not read layouts."""
        return []

    def keep_between_builds(self, folder: Path) -> None:
        """Nothing is kept between builds."""

    def prepare(self) -> None:
        """Nothing to load."""

    def prepare_lessons(self, lessons: Sequence[Lesson]) -> None:
        """Nothing shared between the exports."""

    def close(self) -> None:
        """Nothing to free."""
