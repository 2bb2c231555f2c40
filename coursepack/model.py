"""The lesson model: typed, immutable, and every node knows its source line.

The reader builds it from Markdown; checks and writers only read it. Nothing here imports a
writer library (WeasyPrint, python-pptx) or a Markdown parser.

Every node class carries a ``kind`` string so that Jinja2 templates and the deck planner can
dispatch on it without ``isinstance``. Lines are 1-based line numbers in the lesson file
(front matter included), as an editor shows them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, assert_never

# --------------------------------------------------------------------------- inlines


@dataclass(frozen=True)
class Text:
    """Plain text, printed exactly as written (raw HTML and ``{{ }}`` included)."""

    kind: ClassVar[str] = "text"
    text: str
    line: int = 0


@dataclass(frozen=True)
class Strong:
    """Bold text."""

    kind: ClassVar[str] = "strong"
    children: tuple[Inline, ...]
    line: int = 0


@dataclass(frozen=True)
class Emph:
    """Italic text."""

    kind: ClassVar[str] = "emph"
    children: tuple[Inline, ...]
    line: int = 0


@dataclass(frozen=True)
class Code:
    """Inline code."""

    kind: ClassVar[str] = "code"
    text: str
    line: int = 0


@dataclass(frozen=True)
class Link:
    """A hyperlink; ``href`` is as written (writers refuse ``file:``)."""

    kind: ClassVar[str] = "link"
    href: str
    children: tuple[Inline, ...]
    line: int = 0


@dataclass(frozen=True)
class Cloze:
    """A ``[[answer]]`` blank: a gap in the handout, filled in the key, bold on slides.

    ``answer`` is the text as written; ``content`` is set only when that holds formulas or
    sub/superscripts (``[[$x^2$]]``, ``[[H~2~O]]``): the answer as inlines, to print them.
    """

    kind: ClassVar[str] = "cloze"
    answer: str
    line: int = 0
    content: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Math:
    """A formula in LaTeX: ``$…$`` or ``\\(…\\)`` inline, ``$$…$$`` or ``\\[…\\]`` display.

    ``tex`` is the source between the delimiters, exactly as written; coursepack.formulas
    checks it and draws it for each output.
    """

    kind: ClassVar[str] = "math"
    tex: str
    display: bool = False
    line: int = 0


@dataclass(frozen=True)
class Subscript:
    """``~text~`` (Pandoc's notation: ``H~2~O``): text set lower and smaller."""

    kind: ClassVar[str] = "sub"
    text: str
    line: int = 0


@dataclass(frozen=True)
class Superscript:
    """``^text^`` (Pandoc's notation: ``x^2^``, ``SO~4~^2−^``): text set higher and smaller."""

    kind: ClassVar[str] = "sup"
    text: str
    line: int = 0


@dataclass(frozen=True)
class LineBreak:
    """A hard line break."""

    kind: ClassVar[str] = "linebreak"
    line: int = 0


Inline = Text | Strong | Emph | Code | Link | Cloze | Math | Subscript | Superscript | LineBreak
Inlines = tuple[Inline, ...]


def plain_text(inlines: Inlines, *, answers: bool = True) -> str:
    """Flatten inlines to a string; cloze blanks become their answer (or ``____``).

    A formula gives its TeX source (writers draw it; this is for ordering and measuring).
    """
    parts: list[str] = []
    for node in inlines:
        match node:
            case Text() | Code() | Subscript() | Superscript():
                parts.append(node.text)
            case Math():
                parts.append(node.tex)
            case Cloze():
                parts.append(node.answer if answers else "______")  # never the answer's length
            case LineBreak():
                parts.append(" ")
            case Strong() | Emph() | Link():
                parts.append(plain_text(node.children, answers=answers))
            case _:
                assert_never(node)
    return "".join(parts)


def inline_children(node: Inline) -> Inlines:
    """The inlines nested inside ``node``: the content of bold, italics, links and blanks."""
    match node:
        case Strong() | Emph() | Link():
            return node.children
        case Cloze():
            return node.content  # a blank's answer may hold formulas and sub/superscripts
        case Text() | Code() | Math() | Subscript() | Superscript() | LineBreak():
            return ()
        case _:
            assert_never(node)


def iter_inlines(inlines: Inlines) -> Iterator[Inline]:
    """Every inline node, depth-first (a link, then the text inside it)."""
    for node in inlines:
        yield node
        yield from iter_inlines(inline_children(node))


# --------------------------------------------------------------------------- shared rules

#: Link schemes every output keeps as a link; ``check`` refuses any other scheme.
LINK_SCHEMES = ("http", "https", "mailto", "tel")
#: Paper sizes a lesson, a course or ``--paper`` can name.
PAPERS = ("letter", "a4")
#: The option letters of a lesson in a language written in Latin letters (and of any
#: language whose catalogue names none: ``letters:`` in layouts/messages/<lang>.yaml).
LATIN_LETTERS: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def link_allowed(href: str) -> bool:
    """True for a link every output keeps: web, mail and phone links, never ``file:`` or a
    relative address."""
    scheme, colon, _ = href.strip().partition(":")
    return bool(colon) and scheme.lower() in LINK_SCHEMES and scheme.isascii()


def option_letter(index: int, letters: Sequence[str] = LATIN_LETTERS) -> str:
    """The letter of option ``index`` (0-based) in an alphabet (the lesson catalogue's
    ``letters``: A, B, C; أ, ب, ج; א, ב, ג), then two letters (AA, AB …): every output's
    lettering of options, matching definitions and ordering items."""
    count = len(letters) or len(LATIN_LETTERS)
    letters = letters or LATIN_LETTERS
    if index < count:
        return letters[index]
    return option_letter(index // count - 1, letters) + letters[index % count]


def paper_name(text: str | None) -> str | None:
    """``text`` as a known paper name (``A4`` → ``a4``), or None when it names no paper."""
    name = (text or "").strip().lower()
    return name if name in PAPERS else None


_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*")


def iso_date(text: str) -> tuple[int, int, int] | None:
    """``YYYY-MM-DD`` (a real day) as (year, month, day); None for anything else."""
    import datetime as dt

    match = _ISO_DATE.fullmatch(text)
    if not match:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return day.year, day.month, day.day


def impossible_date(text: str) -> bool:
    """True for text written as an ISO date (``2027-02-30``) that is no day of the calendar:
    a typo to report, where "Spring 2027" or "30/02" are just text."""
    return _ISO_DATE.fullmatch(text) is not None and iso_date(text) is None


Shuffle = Literal["derangement", "no-rotation"]

#: How many salted orders are tried before a constructed one is used (a handful suffice:
#: about 37% of random orders are derangements, and rotations are n of n! orders).
_SHUFFLE_TRIES = 64


def shuffled_order(
    texts: Sequence[str], rule: Shuffle = "derangement", salt: str = ""
) -> tuple[int, ...]:
    """A shuffled order of ``range(len(texts))`` that is the same on every build and output.

    Items are sorted by the SHA-256 of their text salted with the whole block (and, when that
    order gives the answer away, with a try number), never by ``random``. The handout, the
    key, the slides and the exports all letter matching and ordering blocks from this one
    order. ``rule`` says what gives the answer away:

    - ``"derangement"`` (matching): no item keeps its place, so no definition is printed
      opposite its own term;
    - ``"no-rotation"`` (ordering): neither the right order nor the right order started
      further on (2, 3, 4, 1), which students would read off. With 2 items the only other
      order is a rotation, and is used.

    ``salt`` gives another order for the same texts, as stable (a test version's own shuffle).
    """
    count = len(texts)
    if count < 2:
        return tuple(range(count))
    salt = "\x1e".join(texts) if not salt else salt + "\x1d" + "\x1e".join(texts)
    for attempt in range(_SHUFFLE_TRIES):
        # Try 0 is the order of earlier versions, so a shuffle that was fine stays as it was.
        tag = "" if attempt == 0 else f"{attempt}\x1f"
        order = tuple(
            sorted(
                range(count),
                key=lambda i: (
                    hashlib.sha256(f"{salt}\x1f{tag}{texts[i]}".encode()).hexdigest(),
                    i,
                ),
            )
        )
        if _gives_nothing_away(order, rule):
            return order
    # Not reached in practice; a constructed order that meets the rule.
    if rule == "derangement" or count == 2:
        return tuple(range(1, count)) + (0,)
    return (1, 0, *range(2, count))


def _gives_nothing_away(order: tuple[int, ...], rule: Shuffle) -> bool:
    count = len(order)
    if rule == "derangement":
        return all(shown != place for place, shown in enumerate(order))
    rotation = all(order[i] == (order[0] + i) % count for i in range(count))
    return not rotation or count == 2 and order != (0, 1)


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of inline content."""

    kind: ClassVar[str] = "paragraph"
    inlines: Inlines
    line: int


@dataclass(frozen=True)
class ListItem:
    """One bullet (or numbered item) with its nested sub-items (at most 3 levels in all)."""

    kind: ClassVar[str] = "item"
    inlines: Inlines
    children: tuple[ListItem, ...]
    line: int
    ordered_children: bool = False


@dataclass(frozen=True)
class BulletList:
    """A bullet list (``ordered`` for ``1.`` lists).

    ``incremental``: shown one item per click on the slides (``::: incremental``), never
    (``::: nonincremental``), or None to follow the front matter's ``incremental:``.
    """

    kind: ClassVar[str] = "list"
    items: tuple[ListItem, ...]
    line: int
    ordered: bool = False
    start: int = 1
    incremental: bool | None = None


@dataclass(frozen=True)
class TableCell:
    """One table cell."""

    inlines: Inlines
    line: int


@dataclass(frozen=True)
class Table:
    """A GFM table: a header row, body rows, and per-column alignment."""

    kind: ClassVar[str] = "table"
    header: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    aligns: tuple[Literal["left", "center", "right", ""], ...]
    line: int


@dataclass(frozen=True)
class Quote:
    """A block quote."""

    kind: ClassVar[str] = "quote"
    blocks: tuple[Block, ...]
    line: int


@dataclass(frozen=True)
class Image:
    """An image ``![alt](src "caption")``; ``path`` is resolved against the lesson's folder."""

    kind: ClassVar[str] = "image"
    src: str
    path: Path
    alt: str
    caption: str
    line: int


@dataclass(frozen=True)
class CodeBlock:
    """A fenced or indented code block, printed verbatim."""

    kind: ClassVar[str] = "codeblock"
    text: str
    info: str
    line: int


Audience = Literal["notes", "teacher", "handout", "slides"]


@dataclass(frozen=True)
class Div:
    """An audience block: ``::: notes``, ``::: teacher``, ``::: handout`` or ``::: slides``.

    - notes: speaker notes only.
    - teacher: answer key and speaker notes.
    - handout: handout and key (not slides).
    - slides: slides only.
    """

    kind: ClassVar[str] = "div"
    audience: Audience
    blocks: tuple[Block, ...]
    line: int


CalloutStyle = Literal["note", "tip", "warning", "important"]


@dataclass(frozen=True)
class Callout:
    """A boxed aside, as Quarto writes it: ``::: {.callout-note title="Remember"}`` (or
    ``-tip``, ``-warning``, ``-important``). It shows in the handout, the key and the slides.
    """

    kind: ClassVar[str] = "callout"
    style: CalloutStyle
    title: str
    blocks: tuple[Block, ...]
    line: int


@dataclass(frozen=True)
class Column:
    """One column of a ``:::: columns`` block: ``width`` is its share of the row (0.4 for
    ``width=40%``), None for an equal share of what the others leave."""

    kind: ClassVar[str] = "column"
    width: float | None
    blocks: tuple[Block, ...]
    line: int


#: The most columns a slide sets side by side (each must also be 2 inches wide or more).
MAX_SLIDE_COLUMNS = 4


@dataclass(frozen=True)
class Columns:
    """Pandoc's ``:::: columns`` with ``::: column`` blocks inside: side by side in the
    handout and the key, and on a two-content slide (up to :data:`MAX_SLIDE_COLUMNS`)."""

    kind: ClassVar[str] = "columns"
    columns: tuple[Column, ...]
    line: int

    @property
    def blocks(self) -> tuple[Block, ...]:
        """Every column's blocks, left to right (for walkers that only read content)."""
        return tuple(b for column in self.columns for b in column.blocks)

    def shares(self) -> tuple[float, ...]:
        """Each column's share of the row; columns without a width split what is left."""
        given = sum(c.width for c in self.columns if c.width is not None)
        free = [c for c in self.columns if c.width is None]
        rest = max(0.0, 1.0 - given) / len(free) if free else 0.0
        shares = [c.width if c.width is not None else rest for c in self.columns]
        total = sum(shares) or 1.0
        return tuple(s / total for s in shares)


@dataclass(frozen=True)
class Option:
    """A multiple-choice option written as a task-list item (``- [x]`` is correct)."""

    inlines: Inlines
    correct: bool
    line: int
    #: ``{.fixed}`` after the option: test versions keep it where it was written.
    fixed: bool = False


@dataclass(frozen=True)
class Question:
    """A graded question: multiple choice when it has options, open otherwise.

    ``number`` is 1..N over all graded blocks of the lesson, in source order.
    ``answer`` holds the model answer (the ``Answer:`` paragraph, prefix removed).
    ``lines`` is the requested number of writing lines (None: the layout's default).
    """

    kind: ClassVar[str] = "question"
    number: int
    points: int
    prompt: tuple[Block, ...]
    options: tuple[Option, ...]
    answer: tuple[Block, ...]
    lines: int | None
    line: int
    #: ``shuffle=false``: test versions keep its options (and its place) as written.
    shuffle: bool = True

    @property
    def is_multiple_choice(self) -> bool:
        """True when the question has options to tick."""
        return bool(self.options)

    @property
    def select_all(self) -> bool:
        """True when more than one option is correct ("select all that apply")."""
        return sum(option.correct for option in self.options) > 1


@dataclass(frozen=True)
class MatchPair:
    """One ``term :: definition`` pair, as the teacher wrote it (the right match)."""

    term: Inlines
    definition: Inlines
    line: int


@dataclass(frozen=True)
class Match:
    """A graded matching block; ``pairs`` are in their correct pairing."""

    kind: ClassVar[str] = "match"
    number: int
    points: int
    prompt: tuple[Block, ...]
    pairs: tuple[MatchPair, ...]
    line: int
    #: ``shuffle=false``: test versions keep its definitions' order (and its place).
    shuffle: bool = True
    #: A test version's order of the definitions (None: the lesson's one shuffle).
    shown: tuple[int, ...] | None = None

    @property
    def definition_order(self) -> tuple[int, ...]:
        """The order the definitions are shown in (indices into ``pairs``), in every output."""
        if self.shown is not None:
            return self.shown
        return shuffled_order([plain_text(pair.definition) for pair in self.pairs], "derangement")


@dataclass(frozen=True)
class OrderItem:
    """One item of an ordering block."""

    inlines: Inlines
    line: int


@dataclass(frozen=True)
class Order:
    """A graded ordering block; ``items`` are in the correct order."""

    kind: ClassVar[str] = "order"
    number: int
    points: int
    prompt: tuple[Block, ...]
    items: tuple[OrderItem, ...]
    line: int
    #: ``shuffle=false``: test versions keep its items' order (and its place).
    shuffle: bool = True
    #: A test version's order of the items (None: the lesson's one shuffle).
    shown: tuple[int, ...] | None = None

    @property
    def shown_order(self) -> tuple[int, ...]:
        """The order the items are shown in (indices into ``items``), in every output."""
        if self.shown is not None:
            return self.shown
        return shuffled_order([plain_text(item.inlines) for item in self.items], "no-rotation")


Graded = Question | Match | Order
Block = (
    Paragraph
    | BulletList
    | Table
    | Quote
    | Image
    | CodeBlock
    | Div
    | Callout
    | Columns
    | Question
    | Match
    | Order
)

GRADED_KINDS = ("question", "match", "order")
AUDIENCE_KINDS = ("notes", "teacher", "handout", "slides")
#: Divs that only mark the lists in them as built one item per click on the slides (or not).
BUILD_KINDS = ("incremental", "nonincremental")
#: Quarto's callout kinds, as ``::: callout-note`` (or ``{.callout-note}``).
CALLOUT_KINDS = ("callout-note", "callout-tip", "callout-warning", "callout-important")
#: Pandoc's columns: ``:::: columns`` holding ``::: column`` blocks.
COLUMN_KINDS = ("columns", "column")
DIV_KINDS = GRADED_KINDS + AUDIENCE_KINDS + BUILD_KINDS + CALLOUT_KINDS + COLUMN_KINDS

# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Topic:
    """A ``##`` heading and its blocks: one slide (split when too long)."""

    kind: ClassVar[str] = "topic"
    title: Inlines
    blocks: tuple[Block, ...]
    line: int

    @property
    def title_text(self) -> str:
        """The title as plain text (cloze answers filled in)."""
        return plain_text(self.title)


@dataclass(frozen=True)
class Section:
    """A ``#`` heading: blocks before its first topic, then its topics."""

    kind: ClassVar[str] = "section"
    title: Inlines
    blocks: tuple[Block, ...]
    topics: tuple[Topic, ...]
    line: int

    @property
    def title_text(self) -> str:
        """The title as plain text (cloze answers filled in)."""
        return plain_text(self.title)


Paper = Literal["letter", "a4"]
#: How the deck shows formulas: editable PowerPoint equations, or pictures (for LibreOffice
#: and Google Slides, which do not draw PowerPoint equations); "" means the theme's choice.
SlideMath = Literal["", "equations", "pictures"]
Blanks = Literal["fixed", "answer"]


@dataclass(frozen=True)
class Meta:
    """Front matter. ``line`` of each key is kept in ``key_lines`` for diagnostics."""

    title: str
    subtitle: str = ""
    course: str = ""
    author: str = ""
    date: str = ""
    lang: str = "en"
    paper: Paper = "letter"
    pptx_template: str = ""
    slide_math: SlideMath = ""
    #: How Moodle exports write ordering blocks: "ordering" (Moodle 4.4+), "matching" (older
    #: sites, items matched to positions), "" for the course's or the default (ordering).
    moodle_ordering: str = ""
    incremental: bool = False
    reveal_answers: bool = True
    #: Optional outputs this lesson also gets (``exports: [moodle, qti]``), as written.
    exports: tuple[str, ...] = ()
    #: ``versions: 3``: test versions A, B, C besides the ordinary handout and key (0: none).
    versions: int = 0
    #: How wide the handout's blanks are: "fixed" (a few set widths, so a gap does not tell
    #: how long its answer is) or "answer" (each as wide as its own answer).
    blanks: Blanks = "fixed"
    key_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str, default: int = 1) -> int:
        """The source line of a front-matter key (``default`` when absent)."""
        return dict(self.key_lines).get(key, default)


@dataclass(frozen=True)
class Lesson:
    """One lesson file: front matter, an introduction, and sections."""

    path: Path
    meta: Meta
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    source_hash: str = ""
    images: tuple[Path, ...] = field(default=())

    @property
    def folder(self) -> Path:
        """The folder the lesson lives in (images resolve against it)."""
        return self.path.parent

    @property
    def stem(self) -> str:
        """The file name without ``.md``: outputs are named after it."""
        return self.path.stem

    def graded(self) -> tuple[Graded, ...]:
        """Every graded block in source order (numbered 1..N)."""
        return tuple(iter_graded(self))

    @property
    def total_points(self) -> int:
        """The sum of the points of every graded block."""
        return sum(block.points for block in self.graded())


def child_blocks(block: Block) -> tuple[Block, ...]:
    """The blocks nested inside ``block``: a div's or quote's content, a question's prompt and
    model answer, a match's or order's prompt."""
    match block:
        case Div() | Quote() | Callout() | Columns():
            return block.blocks
        case Question():
            return block.prompt + block.answer
        case Match() | Order():
            return block.prompt
        case Paragraph() | BulletList() | Table() | Image() | CodeBlock():
            return ()
        case _:
            assert_never(block)


def block_inlines(block: Block) -> Iterator[Inlines]:
    """The runs of inline text that ``block`` holds itself (not those of its child blocks):
    a paragraph, every list item, every table cell, options, match sides, order items."""
    match block:
        case Paragraph():
            yield block.inlines
        case BulletList():
            stack = list(reversed(block.items))
            while stack:
                item = stack.pop()
                yield item.inlines
                stack.extend(reversed(item.children))
        case Table():
            for cell in block.header:
                yield cell.inlines
            for row in block.rows:
                for cell in row:
                    yield cell.inlines
        case Question():
            for option in block.options:
                yield option.inlines
        case Match():
            for pair in block.pairs:
                yield pair.term
                yield pair.definition
        case Order():
            for item in block.items:
                yield item.inlines
        case Div() | Quote() | Callout() | Columns() | Image() | CodeBlock():
            return
        case _:
            assert_never(block)


def iter_blocks(blocks: tuple[Block, ...]) -> Iterator[Block]:
    """Yield blocks depth-first, descending into divs, quotes and graded blocks' prompts/answers."""
    for block in blocks:
        yield block
        yield from iter_blocks(child_blocks(block))


def iter_all_blocks(lesson: Lesson):
    """Yield every block of the lesson in source order."""
    yield from iter_blocks(lesson.intro)
    for section in lesson.sections:
        yield from iter_blocks(section.blocks)
        for topic in section.topics:
            yield from iter_blocks(topic.blocks)


def iter_graded(lesson: Lesson):
    """Yield the graded blocks of a lesson in source order."""
    for block in iter_all_blocks(lesson):
        if isinstance(block, (Question, Match, Order)):
            yield block


# --------------------------------------------------------------------------- audiences

View = Literal["handout", "key", "slide", "notes"]

# Which views show the content of each audience div. One table, used by every writer.
_DIV_VIEWS: dict[str, frozenset[str]] = {
    "notes": frozenset({"notes"}),
    "teacher": frozenset({"key", "notes"}),
    "handout": frozenset({"handout", "key"}),
    "slides": frozenset({"slide"}),
}


def shows(div: Div, view: View) -> bool:
    """True when ``view`` (handout, key, slide face or speaker notes) shows ``div``."""
    return view in _DIV_VIEWS[div.audience]
