"""The deck plan's data: geometry, sizes, text, tables, pictures and one class per slide kind.

Everything here is a frozen dataclass, so a plan can be compared, printed and tested without
python-pptx. As in Pandoc's ``Writers/Powerpoint/Presentation.hs`` (``TitleSlide``,
``ContentSlide``, ``TwoColumnSlide``, …), each kind of slide is its own class holding only the
fields it has; :data:`Slide` is their union, and the emitter in :mod:`coursepack.writers.deck`
has one ``match`` clause per class.

Text contract: every string in a plan is XML-safe. Control characters (other than tab and line
feed), surrogates and U+FFFE/U+FFFF are removed by :func:`clean`; nothing else is changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

EMU_PER_INCH = 914400
EMU_PER_PT = 12700

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` without characters XML 1.0 cannot hold (and DEL); CR becomes a space."""
    return _INVALID.sub("", text.replace("\r\n", "\n").replace("\r", " "))


# --------------------------------------------------------------------------- geometry

LayoutRole = Literal["title", "section", "content", "title_only", "two_content"]


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide, in EMU."""

    left: int
    top: int
    width: int
    height: int

    @property
    def bottom(self) -> int:
        """The bottom edge, in EMU."""
        return self.top + self.height

    @property
    def right(self) -> int:
        """The right edge, in EMU."""
        return self.left + self.width

    def mirrored(self, within: Box) -> Box:
        """This box reflected left to right inside ``within`` (right-to-left slides: the
        first column goes on the right)."""
        return Box(within.left + within.right - self.right, self.top, self.width, self.height)

    def scaled(self, sx: float, sy: float) -> Box:
        """This box with its position and size scaled (a layout fitted to a smaller slide)."""
        if sx == 1 and sy == 1:
            return self
        return Box(
            int(self.left * sx), int(self.top * sy), int(self.width * sx), int(self.height * sy)
        )

    def inside(self, width: int, height: int) -> Box:
        """This box on a slide ``width`` × ``height`` EMU (a template's placeholder may reach
        past the slide: a 4:3 layout saved as 16:10 or portrait). Along each axis a box that
        fits is moved in whole; a longer one keeps its start (its margin) and is cut at the
        edge, or spans the slide when less than half of it would be left."""
        left, w = _inside(self.left, self.width, width)
        top, h = _inside(self.top, self.height, height)
        return Box(left, top, w, h)


def _inside(start: int, size: int, limit: int) -> tuple[int, int]:
    if size <= limit:
        return min(max(start, 0), limit - size), size
    start = min(max(start, 0), limit)
    if limit - start < limit // 2:
        start = 0
    return start, limit - start


@dataclass(frozen=True)
class Insets:
    """A text frame's inner margins, in EMU (OOXML defaults: 0.1 in sides, 0.05 in top/bottom)."""

    left: int = 91440
    top: int = 45720
    right: int = 91440
    bottom: int = 45720


@dataclass(frozen=True)
class SlideGeometry:
    """Where text goes on each kind of slide, read from the template's placeholders.

    ``title``/``body`` come from the content layout (title and body placeholders); the cover
    and section boxes from their layouts (``section_body`` is the section layout's text
    placeholder, None when it has none). ``area`` is where tables and pictures go.
    ``footer_widths`` gives, per layout role, the width (EMU) of the footer placeholder its
    slides get (the layout's, else the master's); a role without one is written unshortened.
    """

    width: int
    height: int
    title: Box
    body: Box
    cover_title: Box
    cover_subtitle: Box | None
    section_title: Box
    section_body: Box | None = None
    insets: Insets = field(default_factory=Insets)
    footer_widths: tuple[tuple[LayoutRole, int], ...] = ()

    @property
    def area(self) -> Box:
        """The content area for tables and pictures (the body placeholder's box)."""
        return self.body

    def footer_width(self, role: LayoutRole) -> int | None:
        """The footer placeholder's width on a ``role`` slide, in EMU (None: no footer box)."""
        return dict(self.footer_widths).get(role)

    @classmethod
    def default(cls) -> SlideGeometry:
        """The geometry of ``layouts/deck.pptx`` (16:9), for tests and as documentation."""
        inch = EMU_PER_INCH
        return cls(
            width=12192000,
            height=6858000,
            title=Box(int(0.6 * inch), int(0.3 * inch), int(12.133 * inch), int(1.25 * inch)),
            body=Box(int(0.6 * inch), int(1.8 * inch), int(12.133 * inch), int(4.95 * inch)),
            cover_title=Box(int(0.8 * inch), int(1.2 * inch), int(11.733 * inch), int(2.9 * inch)),
            cover_subtitle=Box(
                int(0.8 * inch), int(4.4 * inch), int(11.733 * inch), int(1.9 * inch)
            ),
            section_title=Box(
                int(0.8 * inch), int(2.2 * inch), int(11.733 * inch), int(2.3 * inch)
            ),
            footer_widths=tuple(
                (role, int(8.4 * inch))
                for role in ("title", "section", "content", "title_only", "two_content")
            ),
        )


@dataclass(frozen=True)
class FitRules:
    """Sizes in points: the largest text we write and the floor we never go under."""

    body_max: float = 28
    body_floor: float = 18
    title_max: float = 40
    title_floor: float = 24
    cover_max: float = 44
    table_max: float = 24
    step: float = 1  # sizes tried, largest first
    level_step: float = 2  # each outline level is this much smaller
    caption: float = 18
    footer: float = 14
    reveal_max: float = 24  # a revealed answer
    open_max: float = 36  # an open question's prompt


# --------------------------------------------------------------------------- text

# "formula": a paragraph that is one display formula (centred; a picture with slide-math:
# pictures)
ParaStyle = Literal["bullet", "plain", "quote", "code", "label", "option", "formula"]
Script = Literal["", "sub", "sup"]


@dataclass(frozen=True)
class Run:
    """Text in one style. ``href`` is a link target (http/https/mailto only).

    ``script`` sets the run below or above the baseline (``H~2~O``); ``token`` is the kind of
    a code token (keyword, string…: the theme colours it); a run with ``math`` (its TeX) is a
    formula, written as an equation, and ``text`` is its one-line form (measured, and shown
    where equations are not: the fallback, the notes, picture decks).
    """

    text: str
    bold: bool = False
    italic: bool = False
    mono: bool = False
    href: str = ""
    script: Script = ""
    token: str = ""
    math: str = ""
    display: bool = False


@dataclass(frozen=True)
class Para:
    """One paragraph of a text frame.

    ``level`` is the outline level (0-2, python-pptx ``paragraph.level``); ``prefix`` is a
    number or letter ("1.", "A.") set in the hanging indent; ``continued`` marks the second and
    later pieces of a split bullet (no bullet character). ``builds``: the paragraph appears on
    a click (an incremental list); a sub-bullet or continued piece appears with the bullet
    before it. ``marked``: the paragraph starts a gutter further in, where the answer reveal
    puts its mark (a tick, a letter, a number) beside it.
    """

    runs: tuple[Run, ...]
    level: int = 0
    style: ParaStyle = "bullet"
    prefix: str = ""
    continued: bool = False
    builds: bool = False
    marked: bool = False

    @property
    def text(self) -> str:
        """The paragraph as plain text (prefix included)."""
        body = "".join(r.text for r in self.runs)
        return f"{self.prefix} {body}" if self.prefix else body


@dataclass(frozen=True)
class TextBlock:
    """Paragraphs and the one body size (points) they are written at.

    ``tops`` gives, for each paragraph, where its text starts below the frame's top inset,
    in points (a formula drawn as a picture is placed there).
    """

    paras: tuple[Para, ...]
    size: float
    tops: tuple[float, ...] = ()


Cell = tuple[Run, ...]


@dataclass(frozen=True)
class TablePlan:
    """A native table: header row first, column widths and row heights in EMU."""

    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    aligns: tuple[str, ...]
    col_widths: tuple[int, ...]
    row_heights: tuple[int, ...]
    size: float
    box: Box


@dataclass(frozen=True)
class PicturePlan:
    """A picture scaled into ``box`` (aspect kept), its alt text and caption."""

    path: Path
    alt: str
    box: Box
    caption: str = ""
    caption_box: Box | None = None
    caption_size: float = 18


@dataclass(frozen=True)
class Mark:
    """One thing the answer reveal shows in place, beside a line of the question: a badge
    (``label`` "": a tick for a correct option; else the letter a term matches or an item's
    place in the right order, set at ``size`` points) and, round a correct option, a
    ``frame``. ``alt`` is its alt text. Boxes come from the planner's own measurement of the
    lines they stand beside."""

    badge: Box
    label: str
    size: float
    alt: str
    frame: Box | None = None


@dataclass(frozen=True)
class Reveal:
    """What a graded block's slide shows on one click: the correct options marked, the
    matching letters and the ordering numbers beside their lines (``marks``), or a model
    answer in a box (``text`` in ``box``)."""

    text: TextBlock | None = None
    box: Box | None = None
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class Panel:
    """A callout on a slide: its text in a box tinted by its style (note, tip, warning,
    important)."""

    text: TextBlock
    box: Box
    style: str


# --------------------------------------------------------------------------- slides


@dataclass(frozen=True, kw_only=True)
class _SlideBase:
    """What every slide has: a title (sized, and its box when it differs from the layout's),
    speaker notes, the footer text fitted to its layout (None: no footer or slide number) and
    the lesson line it comes from. ``layout`` names the template layout role it is written on.
    """

    layout: ClassVar[LayoutRole]
    title: str
    title_size: float
    title_box: Box | None = None
    notes: tuple[str, ...] = ()
    footer: str | None = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class CoverSlide(_SlideBase):
    """The lesson's title slide: title, subtitle lines (subtitle, course, author · date)."""

    layout: ClassVar[LayoutRole] = "title"
    subtitle: TextBlock | None = None
    subtitle_box: Box | None = None


@dataclass(frozen=True, kw_only=True)
class SectionSlide(_SlideBase):
    """A section header slide: the section's title, and its short introduction (when the
    section layout has a text placeholder it fits in)."""

    layout: ClassVar[LayoutRole] = "section"
    body: TextBlock | None = None


@dataclass(frozen=True, kw_only=True)
class TitleOnlySlide(_SlideBase):
    """A slide with only a title: a topic with nothing for the face, or one that opens with a
    question (its name is shown before the question slides)."""

    layout: ClassVar[LayoutRole] = "title_only"


@dataclass(frozen=True, kw_only=True)
class TextSlide(_SlideBase):
    """Title and body text (bullets, paragraphs, quotes, code) in the content placeholder."""

    layout: ClassVar[LayoutRole] = "content"
    body: TextBlock
    body_box: Box | None = None


@dataclass(frozen=True, kw_only=True)
class TextAndPictureSlide(_SlideBase):
    """Short text on the left half, a picture on the right."""

    layout: ClassVar[LayoutRole] = "content"
    body: TextBlock
    body_box: Box
    picture: PicturePlan


@dataclass(frozen=True, kw_only=True)
class PictureSlide(_SlideBase):
    """A picture (and its caption) alone under the title."""

    layout: ClassVar[LayoutRole] = "title_only"
    picture: PicturePlan


@dataclass(frozen=True, kw_only=True)
class TableSlide(_SlideBase):
    """A native table under the title (one page of a table split by rows)."""

    layout: ClassVar[LayoutRole] = "title_only"
    table: TablePlan


@dataclass(frozen=True, kw_only=True)
class QuestionSlide(_SlideBase):
    """A graded block's face: prompt and options; the answers are in the notes and, unless
    the lesson turns it off, in ``reveal`` (shown on a click). An open question's slide may
    have ruled ``lines`` under its prompt, or be a continuation holding its model answer."""

    layout: ClassVar[LayoutRole] = "content"
    body: TextBlock
    body_box: Box | None = None
    reveal: Reveal | None = None
    lines: tuple[Box, ...] = ()  # ruled lines for the class's answers (each box's top edge)


@dataclass(frozen=True, kw_only=True)
class TwoColumnSlide(_SlideBase):
    """Text across the top (optional) and two columns under it: a matching block's terms
    first, then its definitions. The first column is on the left, or on the right in a
    right-to-left lesson (the boxes say where)."""

    layout: ClassVar[LayoutRole] = "content"
    top: TextBlock | None
    top_box: Box | None
    first: TextBlock
    first_box: Box
    second: TextBlock
    second_box: Box
    reveal: Reveal | None = None


@dataclass(frozen=True, kw_only=True)
class ColumnsSlide(_SlideBase):
    """Pandoc's ``:::: columns``: the columns side by side, each text, a picture, a table or
    a callout, on the template's two-content layout when it has one (its two placeholders
    hold the first two text columns; others are text boxes)."""

    layout: ClassVar[LayoutRole] = "two_content"
    cells: tuple[TextBlock | PicturePlan | TablePlan | Panel, ...]
    boxes: tuple[Box, ...]


@dataclass(frozen=True, kw_only=True)
class CalloutSlide(_SlideBase):
    """A callout's box, under the text before it when both fit (else the box alone)."""

    layout: ClassVar[LayoutRole] = "content"
    body: TextBlock | None = None
    body_box: Box | None = None
    callouts: tuple[Panel, ...]


Slide = (
    CoverSlide
    | SectionSlide
    | TitleOnlySlide
    | TextSlide
    | TextAndPictureSlide
    | PictureSlide
    | TableSlide
    | QuestionSlide
    | TwoColumnSlide
    | CalloutSlide
    | ColumnsSlide
)


@dataclass(frozen=True)
class DeckPlan:
    """The whole deck and the document properties (``footer`` is the footer's whole text;
    each slide carries the text fitted to its own footer box)."""

    slides: tuple[Slide, ...]
    title: str
    author: str
    course: str
    date: str
    footer: str
    lang: str
    math_pictures: bool = False  # slide-math: pictures (else formulas are equations)
