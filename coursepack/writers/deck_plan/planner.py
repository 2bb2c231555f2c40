"""The planner: a lesson's sections and topics become a :class:`DeckPlan` of typed slides.

Each topic's blocks are walked into chunks (text, a table, a picture, a graded block); each
chunk becomes one or more slides, fitted with :mod:`.text_fit`, :mod:`.table_fit` and
:mod:`.picture_fit`. Short text and a picture share a slide; a topic split over several
slides is titled "… (2/3)". A graded block's answer reveal is planned here as well: its marks
(ticks, letters, numbers) are placed beside the lines the fitting measured, at the size chosen.
Finally every slide but the cover gets the footer text shortened to its layout's footer box.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from coursepack.messages import Catalogue, catalogue
from coursepack.model import (
    MAX_SLIDE_COLUMNS,
    Block,
    BulletList,
    Callout,
    CodeBlock,
    Columns,
    Div,
    Image,
    Lesson,
    Match,
    Order,
    Paragraph,
    Question,
    Quote,
    Section,
    Table,
    Topic,
    assert_never,
    shows,
)
from coursepack.writers.deck_plan.paras import (
    answer_marks,
    callout_paras,
    code_paras,
    div_notes,
    graded_face_and_notes,
    graded_title,
    list_paras,
    model_answer,
    paragraph_para,
    quote_paras,
    readable,
)
from coursepack.writers.deck_plan.picture_fit import fit_picture, image_size
from coursepack.writers.deck_plan.slides import (
    EMU_PER_INCH,
    EMU_PER_PT,
    Box,
    CalloutSlide,
    ColumnsSlide,
    CoverSlide,
    DeckPlan,
    FitRules,
    LayoutRole,
    Mark,
    Panel,
    Para,
    PicturePlan,
    PictureSlide,
    QuestionSlide,
    Reveal,
    Run,
    SectionSlide,
    Slide,
    SlideGeometry,
    TablePlan,
    TableSlide,
    TextAndPictureSlide,
    TextBlock,
    TextSlide,
    TitleOnlySlide,
    TwoColumnSlide,
    clean,
)
from coursepack.writers.deck_plan.table_fit import fit_table
from coursepack.writers.deck_plan.text_fit import (
    MARK_GUTTER,
    TITLE_MAX_LINES,
    Heights,
    fit_columns,
    fit_footer,
    fit_text,
    fit_title,
    frame_height,
    para_height,
    para_size,
    para_tops,
    shorten_title,
    space_before,
    text_width_pt,
)
from coursepack.writers.text_metrics import TextMetrics

Graded = Question | Match | Order


@dataclass
class _Chunk:
    """A run of a topic's face content: text paragraphs (``block`` None), or one table,
    picture or graded block; with the speaker notes that came with it."""

    block: Table | Image | Callout | Graded | None = None
    paras: list[Para] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    line: int = 0


_LEAD_INS = {"check for understanding", "check your understanding"}
# a picture wider than this (width / height) gets a slide of its own, not half of one
_WIDE_PICTURE = 2.0
# text beside a picture must fit its half of the slide at this size or more
_SIDE_BY_SIDE_MIN = 22
# a column on a slide is at least this wide (EMU), else the columns follow one another
_COLUMN_MIN = 2 * EMU_PER_INCH
# the air (EMU) between a reveal's mark and the text beside it
_MARK_AIR = EMU_PER_INCH // 12


class _Walker:
    """Collects a topic's face content in chunks (text, table, image, graded) and its notes."""

    def __init__(self, t: Catalogue, incremental: bool = False) -> None:
        self.t = t  # the lesson's words (notes)
        self.chunks: list[_Chunk] = []
        self.pending_notes: list[str] = []
        self.incremental = incremental  # lists not marked either way build one item a click

    def text(self, line: int) -> _Chunk:
        if not self.chunks or self.chunks[-1].block is not None:
            self.add(_Chunk(line=line))
        return self.chunks[-1]

    def add(self, chunk: _Chunk) -> None:
        chunk.notes[:0] = self.pending_notes
        self.pending_notes = []
        self.chunks.append(chunk)

    def _drop_lead_in(self) -> None:
        """Drop a bold "Check for understanding" line before a graded block: its slide's title
        already says so, and the line would end the previous slide on a dangling heading."""
        if not self.chunks or self.chunks[-1].block is not None or not self.chunks[-1].paras:
            return
        last = self.chunks[-1].paras[-1]
        words = re.sub(r"[^a-z ]", "", last.text.lower()).strip()
        if last.style == "plain" and all(r.bold for r in last.runs) and words in _LEAD_INS:
            self.chunks[-1].paras.pop()
            if not self.chunks[-1].paras:
                dropped = self.chunks.pop()
                self.pending_notes[:0] = dropped.notes

    def note(self, lines: list[str]) -> None:
        if self.chunks:
            self.chunks[-1].notes.extend(lines)
        else:
            self.pending_notes.extend(lines)

    def walk(self, blocks: Sequence[Block]) -> None:
        for block in blocks:
            match block:
                case Paragraph():
                    self.text(block.line).paras.append(paragraph_para(block))
                case BulletList():
                    builds = self.incremental if block.incremental is None else block.incremental
                    self.text(block.line).paras.extend(
                        list_paras(block.items, 0, block.ordered, block.start, builds)
                    )
                case Quote():
                    self.text(block.line).paras.extend(quote_paras(block.blocks, 0, self.t))
                case CodeBlock():
                    self.text(block.line).paras.extend(code_paras(block))
                case Table() | Image() | Callout() | Columns():
                    self.add(_Chunk(block, line=block.line))
                case Question() | Match() | Order():
                    self._drop_lead_in()
                    self.add(_Chunk(block, line=block.line))
                case Div():
                    if shows(block, "slide"):
                        self.walk(block.blocks)
                    elif shows(block, "notes"):
                        self.note(div_notes(block, self.t))
                case _:
                    assert_never(block)


_LONGEST_SUFFIX = " (00/00)"  # the widest continuation suffix a title is measured with
_WIDEST_PART = ("00", "00")  # the widest "slide n of m" of a split question's title

# (slide, counts toward the topic's "(i/n)" numbering)
_Planned = tuple[Slide, bool]


class _Planner:
    def __init__(
        self,
        lesson: Lesson,
        geometry: SlideGeometry,
        metrics: TextMetrics,
        rules: FitRules,
        pixel_size: Callable[[Image], tuple[int, int]],
        math_pictures: bool = False,
        t: Catalogue | None = None,
    ) -> None:
        self.lesson = lesson
        self.math_pictures = math_pictures
        self.t = t if t is not None else catalogue(lesson.meta.lang)  # titles, labels, notes
        self.g = geometry
        self.m = metrics
        self.r = rules
        self.pixel_size = pixel_size
        self.slides: list[Slide] = []

    # -- titles
    def _title(self, text: str) -> tuple[float, Box | None, Box | None]:
        size, need = fit_title(
            text, self.g.title, self.g.insets, self.m, self.r.title_max, self.r.title_floor
        )
        if need <= self.g.title.height:
            return size, None, None
        grow = need - self.g.title.height
        t = self.g.title
        b = self.g.body
        title_box = Box(t.left, t.top, t.width, need)
        body_top = max(b.top, t.top + need)
        body_box = Box(b.left, body_top, b.width, b.bottom - body_top) if grow else None
        return size, title_box, body_box

    # -- slides
    def cover(self) -> None:
        meta = self.lesson.meta
        full = clean(meta.title)
        box = self.g.cover_title
        # the cover title grows upwards, at most to a fifth of an inch under the slide's top
        title = shorten_title(
            full,
            box,
            self.g.insets,
            self.m,
            self.r.cover_max,
            self.r.title_floor,
            box.bottom - EMU_PER_INCH // 5,
        )
        size, need = fit_title(
            title, box, self.g.insets, self.m, self.r.cover_max, self.r.title_floor
        )
        title_box = None
        if need > box.height:  # grow upwards: the cover title sits on its bottom edge
            top = max(EMU_PER_INCH // 5, box.bottom - need)
            title_box = Box(box.left, top, box.width, box.bottom - top)
        sub, sub_box = None, None
        if self.g.cover_subtitle is not None:
            paras = []
            if meta.subtitle:
                paras.append(Para((Run(clean(meta.subtitle)),), 0, "plain"))
            if meta.course:
                paras.append(Para((Run(clean(meta.course)),), 0, "plain"))
            details = " · ".join(clean(x) for x in (meta.author, meta.date) if x)
            if details:
                paras.append(Para((Run(details),), 0, "plain"))
            if paras:
                sub, sub_box = self._cover_subtitle(paras)
        self.slides.append(
            CoverSlide(
                title=title,
                title_size=size,
                subtitle=sub,
                subtitle_box=sub_box,
                title_box=title_box,
                notes=self._full_title(full, title),
                line=1,
            )
        )

    def _cover_subtitle(self, paras: list[Para]) -> tuple[TextBlock, Box | None]:
        """The cover's subtitle lines: in their box, else a box reaching down the slide, else
        as many lines as fit (the last ones are dropped rather than overflow)."""
        box = self.g.cover_subtitle
        assert box is not None
        tall = Box(
            box.left,
            box.top,
            box.width,
            max(box.height, self.g.height - box.top - EMU_PER_INCH // 4),
        )
        for candidate, override in ((box, None), (tall, tall)):
            blocks = fit_text(paras, candidate, self.g.insets, self.m, self.r, high=28)
            if len(blocks) == 1:
                return blocks[0], override
        first = fit_text(paras, tall, self.g.insets, self.m, self.r, high=28)[0]
        return first, tall

    def section(self, section: Section) -> None:
        """The section's header slide, and where its introduction goes: on the header slide
        when it is text that fits the layout's text placeholder, else at the start of its first
        topic; a section with no topic gets the introduction's own slides instead of a header
        (two slides in a row with one title would waste one)."""
        title = clean(readable(section.title))
        box, insets = self.g.section_title, self.g.insets
        high, low = self.r.title_max, self.r.title_floor
        shown = shorten_title(title, box, insets, self.m, high, low, box.height)
        size, _ = fit_title(shown, box, insets, self.m, high, low)
        header = SectionSlide(
            title=shown, title_size=size, notes=self._full_title(title, shown), line=section.line
        )
        walker = _Walker(self.t, self.lesson.meta.incremental)
        walker.walk(section.blocks)
        notes = [n for chunk in walker.chunks for n in chunk.notes] + walker.pending_notes
        body = self._section_body(walker.chunks)
        topics = list(section.topics)
        if self._repeats(shown, topics):
            # the slide before, or the first topic's, already shows this title: no header
            # slide (two in a row with one title would waste one); the introduction goes with
            # the section's first topic, or makes its own slides
            if topics:
                first = topics[0]
                topics[0] = replace(first, blocks=(*section.blocks, *first.blocks))
            else:
                self.topic(title, section.blocks, section.line)
        elif body is not None or not any(chunk.paras or chunk.block for chunk in walker.chunks):
            self.slides.append(replace(header, body=body, notes=header.notes + tuple(notes)))
        elif topics:
            self.slides.append(header)
            first = topics[0]
            topics[0] = replace(first, blocks=(*section.blocks, *first.blocks))
        else:
            self.topic(title, section.blocks, section.line)
        for topic in topics:
            self.topic(clean(readable(topic.title)), topic.blocks, topic.line)

    def _repeats(self, shown: str, topics: Sequence[Topic]) -> bool:
        """True when a section header showing ``shown`` would repeat the slide before it (the
        overview, a section of the same name) or its first topic's title."""
        if self.slides and self.slides[-1].title == shown:
            return True
        return bool(topics) and self._topic_title(clean(readable(topics[0].title))) == shown

    def _section_body(self, chunks: Sequence[_Chunk]) -> TextBlock | None:
        """A section introduction of text only, fitted to the section layout's text box."""
        box = self.g.section_body
        paras = [p for chunk in chunks for p in chunk.paras]
        if box is None or not paras or any(chunk.block is not None for chunk in chunks):
            return None
        blocks = fit_text(paras, box, self.g.insets, self.m, self.r)
        return blocks[0] if len(blocks) == 1 else None

    def topic(
        self, title: str, blocks: Sequence[Block], line: int, empty_slide: bool = True
    ) -> list[str]:
        """Slides for a topic; returns notes left over when the topic made no slide."""
        full, title = title, self._topic_title(title)
        walker = _Walker(self.t, self.lesson.meta.incremental)
        walker.walk(blocks)
        planned: list[_Planned] = []
        chunks = list(walker.chunks)
        while chunks:
            chunk = chunks.pop(0)
            pair = self._side_by_side(chunk, chunks[0], title) if chunks else None
            if isinstance(chunk.block, Callout) and chunks and isinstance(chunks[0].block, Callout):
                run = [chunk]
                while chunks and isinstance(chunks[0].block, Callout):
                    run.append(chunks.pop(0))
                stacked = self._stacked_callouts([c.block for c in run], title)  # type: ignore[misc]
                if stacked is None:
                    chunks[:0] = run[1:]
                else:
                    slide, counts = stacked[0]
                    notes = tuple(n for c in run for n in c.notes)
                    planned.append((replace(slide, notes=notes), counts))
                    planned.extend(stacked[1:])
                    continue
            if chunks and chunk.block is None and isinstance(chunks[0].block, Callout):
                # short text and the callout after it share a slide when both fit
                together = self._callout(chunks[0].block, title, chunk.paras)
                if together is not None:
                    other = chunks.pop(0)
                    slide, counts = together[0]
                    notes = tuple(chunk.notes + other.notes)
                    planned.append((replace(slide, notes=notes), counts))
                    continue
            if pair is not None:
                other = chunks.pop(0)
                notes = tuple(chunk.notes + other.notes)
                planned.append((replace(pair, notes=notes), True))
                continue
            # a topic that opens with questions has no slide of its own: each question's
            # slide shows the topic's name until some other slide has shown it (only graded
            # slides are planned with counts=False)
            shown = any(counts for _, counts in planned)
            made = self._chunk(chunk, title, lead=title if empty_slide and not shown else "")
            if made and chunk.notes:
                first, counts = made[0]
                made[0] = (replace(first, notes=first.notes + tuple(chunk.notes)), counts)
            planned.extend(made)
        if not planned:
            if not empty_slide:
                return walker.pending_notes
            planned.append((self._title_slide(title, line, walker.pending_notes), True))
        if title != full:  # the slide shows a shortened title: the notes keep the whole one
            first, counts = planned[0]
            planned[0] = (replace(first, notes=self._full_title(full, title) + first.notes), counts)
        self._number(planned, title)
        return []

    def _title_slide(self, title: str, line: int, notes: list[str]) -> TitleOnlySlide:
        """A slide with only the topic's title (and any speaker notes)."""
        size, tbox, _ = self._title(title)
        return TitleOnlySlide(
            title=title, title_size=size, notes=tuple(notes), title_box=tbox, line=line
        )

    def _number(self, planned: list[_Planned], title: str) -> None:
        """Title continuation slides "… (2/3)" and size every title for its final text."""
        total = sum(counts for _, counts in planned)
        i = 0
        for slide, counts in planned:
            if counts:
                i += 1
                text = f"{title} ({i}/{total})" if total > 1 else title
                size, tbox, _ = self._title(text)
                # the body was placed for the worst-case title; keep a grown box if it had one
                slide = replace(
                    slide, title=text, title_size=size, title_box=tbox or slide.title_box
                )
            self.slides.append(slide)

    def _body_box(self, title: str) -> tuple[float, Box | None, Box]:
        size, tbox, bbox = self._title(title)
        return size, tbox, bbox or self.g.body

    def _longest_title(self, title: str) -> str:
        # measure with a worst-case continuation suffix so "(2/3)" never needs more room
        return f"{title}{_LONGEST_SUFFIX}"

    def _title_limit(self) -> int:
        """The tallest a content slide's title box may grow, in EMU: ``TITLE_MAX_LINES`` lines
        at the floor size, and never so tall that the body keeps less than half its height."""
        t, b, ins = self.g.title, self.g.body, self.g.insets
        # the same sum as fit_title's, so a title of exactly TITLE_MAX_LINES lines is allowed
        lines = TITLE_MAX_LINES * self.m.line_height(self.r.title_floor) * EMU_PER_PT
        most = int(math.ceil(lines + ins.top + ins.bottom))
        return max(t.height, min(most, b.bottom - b.height // 2 - t.top))

    def _topic_title(self, title: str) -> str:
        """The title a topic's slides show: whole, or shortened to fit ``_title_limit``."""
        return shorten_title(
            title,
            self.g.title,
            self.g.insets,
            self.m,
            self.r.title_max,
            self.r.title_floor,
            self._title_limit(),
            suffix=_LONGEST_SUFFIX,
        )

    def _full_title(self, full: str, shown: str) -> tuple[str, ...]:
        """Speaker notes giving the whole title when the slide shows it shortened."""
        return (self.t("full_title", title=full),) if shown != full else ()

    def _side_by_side(
        self, first: _Chunk, second: _Chunk, title: str
    ) -> TextAndPictureSlide | None:
        """Short text and a picture next to each other on one slide, when the text fits its
        half at a comfortable size (else None: they get a slide each)."""
        if first.block is None and isinstance(second.block, Image):
            text, image = first, second.block
        elif second.block is None and isinstance(first.block, Image):
            text, image = second, first.block
        else:
            return None
        if not text.paras:
            return None
        px_w, px_h = self.pixel_size(image)
        if px_w > _WIDE_PICTURE * max(px_h, 1):  # a wide picture reads better full width
            return None
        size, tbox, body = self._body_box(self._longest_title(title))
        gap = EMU_PER_INCH // 3
        half = (body.width - gap) // 2
        left = Box(body.left, body.top, half, body.height)
        right = Box(body.left + half + gap, body.top, body.width - half - gap, body.height)
        blocks = fit_text(text.paras, left, self.g.insets, self.m, self.r)
        if len(blocks) != 1 or blocks[0].size < _SIDE_BY_SIDE_MIN:
            return None
        pic = fit_picture(image, right, self.g.insets, self.m, self.r, self.pixel_size(image))
        return TextAndPictureSlide(
            title=title,
            title_size=size,
            body=blocks[0],
            body_box=left,
            picture=pic,
            title_box=tbox,
            line=min(first.line, second.line),
        )

    def _chunk(self, chunk: _Chunk, title: str, lead: str = "") -> list[_Planned]:
        """The slides of one chunk (``lead``: the topic name a question slide shows)."""
        block = chunk.block
        match block:
            case None:
                if not chunk.paras:
                    return []
                size, tbox, body = self._body_box(self._longest_title(title))
                return [
                    (
                        TextSlide(
                            title=title,
                            title_size=size,
                            body=text,
                            title_box=tbox,
                            body_box=body if body != self.g.body else None,
                            line=chunk.line,
                        ),
                        True,
                    )
                    for text in fit_text(chunk.paras, body, self.g.insets, self.m, self.r)
                ]
            case Table():
                size, tbox, area = self._body_box(self._longest_title(title))
                return [
                    (
                        TableSlide(
                            title=title,
                            title_size=size,
                            table=table,
                            title_box=tbox,
                            line=chunk.line,
                        ),
                        True,
                    )
                    for table in fit_table(block, area, self.m, self.r)
                ]
            case Image():
                size, tbox, area = self._body_box(self._longest_title(title))
                pic = fit_picture(
                    block, area, self.g.insets, self.m, self.r, self.pixel_size(block)
                )
                slide = PictureSlide(
                    title=title, title_size=size, picture=pic, title_box=tbox, line=chunk.line
                )
                return [(slide, True)]
            case Callout():
                return self._callout(block, title, []) or []
            case Columns():
                made = self._columns(block, title)
                if made is not None:
                    return made
                # columns that cannot stand side by side: one after the other
                walker = _Walker(self.t, self.lesson.meta.incremental)
                walker.walk(block.blocks)
                return [s for inner in walker.chunks for s in self._chunk(inner, title)]
            case Question() | Match() | Order():
                return self._graded(block, lead)
            case _:
                assert_never(block)

    def _columns(self, block: Columns, title: str) -> list[_Planned] | None:
        """The columns side by side, as many as there are: each text (the text columns at one
        size), or one picture, table or callout fitted to its column. None (the columns follow
        one another instead) when a column would be narrower than ``_COLUMN_MIN``, holds
        anything else (a question needs a slide of its own: its numbered title, its reveal) or
        more than one such block, or when something does not fit its column on one slide."""
        if not 2 <= len(block.columns) <= MAX_SLIDE_COLUMNS:
            return None
        contents: list[list[Para] | Image | Table | Callout] = []
        for column in block.columns:
            walker = _Walker(self.t, self.lesson.meta.incremental)
            walker.walk(column.blocks)
            chunks = [c for c in walker.chunks if c.paras or c.block is not None]
            if len(chunks) == 1 and isinstance(chunks[0].block, Image | Table | Callout):
                contents.append(chunks[0].block)
            elif chunks and all(c.block is None for c in chunks):
                contents.append([p for c in chunks for p in c.paras])
            else:
                return None
        size, tbox, body = self._body_box(self._longest_title(title))
        gap = EMU_PER_INCH // 3
        room = body.width - gap * (len(contents) - 1)
        widths = [int(room * share) for share in block.shares()]
        widths[-1] = room - sum(widths[:-1])
        if min(widths) < _COLUMN_MIN:
            return None
        boxes, left = [], body.left
        for width in widths:
            boxes.append(Box(left, body.top, width, body.height))
            left += width + gap
        if self.t.rtl:  # right to left, the first column is on the right
            boxes = [box.mirrored(body) for box in boxes]
        ins = self.g.insets
        texts = [
            fit_text(c, box, ins, self.m, self.r)
            for c, box in zip(contents, boxes, strict=True)
            if isinstance(c, list)
        ]
        if any(len(t) != 1 for t in texts):
            return None
        common = min((t[0].size for t in texts), default=self.r.body_max)
        cells: list[TextBlock | PicturePlan | TablePlan | Panel] = []
        for content, box in zip(contents, boxes, strict=True):
            match content:
                case Image():
                    pixels = self.pixel_size(content)
                    cells.append(fit_picture(content, box, ins, self.m, self.r, pixels))
                case Table():
                    tables = fit_table(content, box, self.m, self.r)
                    if len(tables) != 1:
                        return None
                    cells.append(tables[0])
                case Callout():
                    paras, _ = callout_paras(content, self.t)
                    fitted = fit_text(paras, box, ins, self.m, self.r)
                    if len(fitted) != 1:
                        return None
                    cells.append(Panel(fitted[0], self._snug(fitted[0], box), content.style))
                case _:
                    cells.append(fit_text(content, box, ins, self.m, self.r, common)[0])
        slide = ColumnsSlide(
            title=title,
            title_size=size,
            title_box=tbox,
            cells=tuple(cells),
            boxes=tuple(boxes),
            line=block.line,
        )
        return [(slide, True)]

    def _graded(self, block: Graded, lead: str = "") -> list[_Planned]:
        """A graded block's slides, titled "Check for understanding: Question n (…)" (or
        "<lead>: Question n (…)").

        Unless the lesson says ``reveal-answers: false``, one click shows the answer on the
        slide itself: a tick and a frame on each correct option, the letter each term matches
        beside it, each item's place in the right order beside it (marks placed on the lines
        the plan measured), or an open question's model answer in a box (see
        :meth:`_open_question`).
        """
        gtitle = graded_title(block, self.t, lead)
        paras, notes = graded_face_and_notes(block, self.t)
        # measured with the widest "slide n of m" a split question's title may get
        longest = graded_title(block, self.t, lead, part=_WIDEST_PART)
        size, tbox, body = self._body_box(longest)
        if isinstance(block, Question) and not block.options:
            return self._open_question(block, lead, paras, notes, tbox, body)
        marks = answer_marks(block, self.t) if self.lesson.meta.reveal_answers else {}
        if isinstance(block, Match):
            two = self._match_slide(block, paras, gtitle, size, tbox, body, notes, marks)
            if two is not None:
                return [(two, False)]
        if marks and self.t.rtl:
            # right to left, the marks go after the text's right edge: renderers do not agree
            # on which side a right-to-left paragraph's indent is
            body = Box(body.left, body.top, body.width - MARK_GUTTER, body.height)
        elif marks:
            paras = [
                replace(p, marked=True) if p.style == "option" and p.prefix in marks else p
                for p in paras
            ]
        pages = fit_text(paras, body, self.g.insets, self.m, self.r) if paras else []
        box = body if body != self.g.body else None
        slides: list[QuestionSlide | TitleOnlySlide] = [
            QuestionSlide(
                title=gtitle,
                title_size=size,
                body=page,
                title_box=tbox,
                body_box=box,
                reveal=self._marks(page, body, marks),
                line=block.line,
            )
            for page in pages
        ] or [TitleOnlySlide(title=gtitle, title_size=size, title_box=tbox, line=block.line)]
        return self._number_graded(slides, block, lead, notes)

    def _number_graded(
        self,
        slides: Sequence[QuestionSlide | TitleOnlySlide],
        block: Graded,
        lead: str,
        notes: list[str],
    ) -> list[_Planned]:
        """A graded block's slides titled "… Question 3, slide 2 of 3 (2 points)" when there
        are several; the notes (the answers in full) on the first."""
        slides = list(slides)
        slides[0] = replace(slides[0], notes=tuple(notes))
        out: list[_Planned] = []
        n = len(slides)
        for i, s in enumerate(slides):
            t = graded_title(block, self.t, lead, part=(i + 1, n) if n > 1 else None)
            sz, tb, _ = self._title(t)
            out.append((replace(s, title=t, title_size=sz, title_box=tb or s.title_box), False))
        return out

    def _marks(self, text: TextBlock, box: Box, marks: dict[str, str | None]) -> Reveal | None:
        """The reveal's marks beside the lines of ``text`` (written in ``box``) that ``marks``
        names: in the gutter a marked paragraph leaves before its letter, or (right to left)
        just after the box's right edge, which the planner kept free."""
        ins, rtl = self.g.insets, self.t.rtl
        found: list[Mark] = []
        left, right = box.left + ins.left, box.right - ins.right
        for para, top in zip(text.paras, text.tops, strict=True):
            label = marks.get(para.prefix) if para.style == "option" else None
            if label is None or para.continued:
                continue
            size = para_size(para, text.size, self.r)
            y = box.top + ins.top + int(top * EMU_PER_PT)
            frame = None
            if label == "":  # a correct option: framed from its letter to the text's edge
                pad = int(size * 0.15 * EMU_PER_PT)
                lines = para_height(para, size, text_width_pt(box, ins), self.m, self.r)
                height = int((lines - space_before(para, size)) * EMU_PER_PT) + 2 * pad
                if rtl:
                    x0, x1 = box.left + ins.left // 2, right + _MARK_AIR // 2
                else:
                    x0, x1 = left + MARK_GUTTER - _MARK_AIR // 2, box.right - ins.right // 2
                frame = Box(x0, y - pad, x1 - x0, height)
            if rtl:
                found.append(self._badge(label, size, right - _MARK_AIR, y, frame, far=False))
            else:
                found.append(self._badge(label, size, left, y, frame, far=True))
        return Reveal(marks=tuple(found)) if found else None

    def _badge(
        self, label: str, size: float, gutter: int, y: int, frame: Box | None, far: bool
    ) -> Mark:
        """A mark's badge in the gutter starting at ``gutter`` (EMU), on the line whose top is
        ``y``: against the gutter's far end (``far``: next to the text after it) or its near
        one, centred on the line."""
        line = int(self.m.line_height(size) * EMU_PER_PT)
        label_size = max(self.r.body_floor, round(size * 0.8))  # never under the floor
        side = int(max(size * 1.1, self.m.line_height(label_size)) * EMU_PER_PT)
        width = side
        if label:
            wide = (self.m.width(label, label_size) + size * 0.35) * EMU_PER_PT
            width = max(side, min(int(wide), MARK_GUTTER - 2 * _MARK_AIR))
        x = gutter + MARK_GUTTER - 2 * _MARK_AIR - width if far else gutter + 2 * _MARK_AIR
        badge = Box(x, y + (line - side) // 2, width, side)
        if not label:
            alt = self.t("mark_correct")
        elif frame is None and label.isdigit():
            alt = self.t("mark_place", n=int(label))
        else:
            alt = self.t("mark_match", letter=label)
        return Mark(badge, label, label_size, alt, frame)

    def _open_question(
        self,
        block: Question,
        lead: str,
        paras: list[Para],
        notes: list[str],
        tbox: Box | None,
        body: Box,
    ) -> list[_Planned]:
        """An open question: its prompt set large (up to ``open_max``) at the top, over room
        for the class's answers: ruled lines (``reveal-answers: false``), or the model answer's
        box, which appears on a click. An answer too long for the room the prompt leaves, even
        at the floor, follows on slides of its own (continuations of the question's, "…, slide
        2 of 3"), never cut; the speaker notes have it all."""
        gtitle = graded_title(block, self.t, lead)
        size, _, _ = self._title(gtitle)
        box = body if body != self.g.body else None
        high = self.r.open_max
        base = {"title": gtitle, "title_size": size, "title_box": tbox, "line": block.line}
        answer = model_answer(block, self.t) if self.lesson.meta.reveal_answers else []
        if not paras:
            paras = [Para((Run(""),), 0, "plain")]
        if answer:
            for share in (0.55, 0.65, 0.75):
                reveal, above, whole = self._reveal(answer, body, share)
                pages = fit_text(paras, above, self.g.insets, self.m, self.r, high=high)
                if whole and len(pages) == 1:
                    slide = QuestionSlide(body=pages[0], body_box=above, reveal=reveal, **base)
                    return self._number_graded([slide], block, lead, notes)
        # the prompt over ruled lines; a model answer that did not fit follows on its own
        upper = Box(body.left, body.top, body.width, body.height // 2)
        pages = fit_text(paras, upper, self.g.insets, self.m, self.r, high=high)
        if len(pages) > 1:  # a long prompt: all of the body, and no room for lines
            pages = fit_text(paras, body, self.g.insets, self.m, self.r, high=high)
        slides: list[QuestionSlide | TitleOnlySlide] = [
            QuestionSlide(body=page, body_box=box, **base) for page in pages
        ]
        last = slides[-1]
        assert isinstance(last, QuestionSlide)
        slides[-1] = replace(last, lines=self._answer_lines(last.body, body, block.lines))
        slides += (
            [
                QuestionSlide(body=page, body_box=box, **base)
                for page in fit_text(answer, body, self.g.insets, self.m, self.r, self.r.reveal_max)
            ]
            if answer
            else []
        )
        return self._number_graded(slides, block, lead, notes)

    def _answer_lines(self, text: TextBlock, body: Box, wanted: int | None) -> tuple[Box, ...]:
        """Ruled lines for the class's answers under ``text`` (written at the top of
        ``body``): as many as the question asks for (``lines``), else as many as fit, about
        two-thirds of an inch apart; none when the prompt leaves no room."""
        ins = self.g.insets
        used = frame_height(text.paras, text.size, text_width_pt(body, ins), self.m, self.r)
        top = body.top + ins.top + int(used * EMU_PER_PT) + EMU_PER_INCH // 4
        room = body.bottom - ins.bottom - top
        step = EMU_PER_INCH * 2 // 3
        count = room // step if wanted is None else min(wanted, room // (EMU_PER_INCH // 2))
        if count < 1:
            return ()
        step = min(room // count, EMU_PER_INCH)
        left, width = body.left + ins.left, body.width - ins.left - ins.right
        return tuple(Box(left, top + step * (i + 1), width, 0) for i in range(count))

    def _reveal(self, answer: list[Para], body: Box, share: float) -> tuple[Reveal, Box, bool]:
        """The answer's box at the bottom of ``body`` (at most ``share`` of its height, as
        tall as the answer needs), the box left above it for the question, and whether all of
        the answer fits the box at the floor or more."""
        text, box, above, whole = self._bottom_box(answer, body, share)
        return Reveal(text, box), above, whole

    def _bottom_box(
        self, paras: list[Para], body: Box, share: float
    ) -> tuple[TextBlock, Box, Box, bool]:
        """(text, its box at the bottom of ``body``, the box above it, whether all the text
        fits): the box is at most ``share`` of ``body``'s height, as tall as the text needs."""
        ins = self.g.insets
        most = int(body.height * share)
        blocks = fit_text(
            paras, Box(body.left, 0, body.width, most), ins, self.m, self.r, self.r.reveal_max
        )
        text = blocks[0]
        width = text_width_pt(body, ins)
        used = frame_height(text.paras, text.size, width, self.m, self.r) * EMU_PER_PT
        need = min(most, int(math.ceil(used + ins.top + ins.bottom)) + EMU_PER_PT * 6)
        box = Box(body.left, body.bottom - need, body.width, need)
        gap = EMU_PER_INCH // 8
        above = Box(body.left, body.top, body.width, max(body.height - need - gap, 1))
        return text, box, above, len(blocks) == 1

    def _callout(self, block: Callout, title: str, above: list[Para]) -> list[_Planned] | None:
        """A callout's slides. With ``above`` (the text before it), one slide with the text
        over the box, or None when the two do not fit together."""
        paras, _ = callout_paras(block, self.t)
        size, tbox, body = self._body_box(self._longest_title(title))
        base = {"title": title, "title_size": size, "title_box": tbox, "line": block.line}
        if above:
            text, box, rest, whole = self._bottom_box(paras, body, 0.6)
            upper = fit_text(above, rest, self.g.insets, self.m, self.r)
            if not whole or len(upper) != 1 or upper[0].size < self.r.body_floor + 2:
                return None
            panel = Panel(text, box, block.style)
            slide = CalloutSlide(body=upper[0], body_box=rest, callouts=(panel,), **base)
            return [(slide, True)]
        out: list[_Planned] = []
        for text in fit_text(paras, body, self.g.insets, self.m, self.r):
            panel = Panel(text, self._snug(text, body), block.style)
            out.append((CalloutSlide(callouts=(panel,), **base), True))
        return out

    def _snug(self, text: TextBlock, box: Box) -> Box:
        """``box`` from its top, only as tall as ``text`` needs (and a little air)."""
        width = text_width_pt(box, self.g.insets)
        used = frame_height(text.paras, text.size, width, self.m, self.r) * EMU_PER_PT
        pad = self.g.insets.top + self.g.insets.bottom + EMU_PER_PT * 6
        return Box(box.left, box.top, box.width, min(box.height, int(math.ceil(used)) + pad))

    def _stacked_callouts(self, blocks: list[Callout], title: str) -> list[_Planned] | None:
        """Callouts in a row stacked on as few slides as hold them whole (None when one alone
        is taller than a slide: it gets slides of its own)."""
        size, tbox, body = self._body_box(self._longest_title(title))
        gap = EMU_PER_INCH // 8
        slides: list[list[Panel]] = [[]]
        top = body.top
        for block in blocks:
            paras, _ = callout_paras(block, self.t)
            for attempt in range(2):
                room = Box(body.left, top, body.width, body.bottom - top)
                fitted = fit_text(paras, room, self.g.insets, self.m, self.r)
                if len(fitted) == 1:
                    break
                if attempt or not slides[-1]:
                    return None
                slides.append([])  # start a new slide and try there
                top = body.top
            box = self._snug(fitted[0], room)
            slides[-1].append(Panel(fitted[0], box, block.style))
            top = box.bottom + gap
        base = {"title": title, "title_size": size, "title_box": tbox, "line": blocks[0].line}
        return [(CalloutSlide(callouts=tuple(panels), **base), True) for panels in slides]

    def _match_slide(
        self,
        block: Match,
        paras: list[Para],
        title: str,
        size: float,
        tbox: Box | None,
        body: Box,
        notes: list[str],
        marks: dict[str, str | None],
    ) -> TwoColumnSlide | None:
        """A matching block on one slide: prompt on top, terms left, definitions right (right
        to left: terms right, definitions left); with ``marks``, room between the columns for
        the letter each term matches (the reveal), beside the terms."""
        labels = [i for i, p in enumerate(paras) if p.style == "label"]
        if len(labels) != 2:
            return None
        top, terms, definitions = (
            paras[: labels[0]],
            paras[labels[0] : labels[1]],
            paras[labels[1] :],
        )
        reserve = MARK_GUTTER if marks else 0
        ins = self.g.insets
        fitted = fit_columns(top, terms, definitions, body, ins, self.m, self.r, reserve=reserve)
        if fitted is None:
            return None
        text_size, top_box, terms_box, definitions_box = fitted
        rtl = self.t.rtl
        if rtl:  # the terms' column (and the marks' gutter beside it) on the right
            terms_box, definitions_box = terms_box.mirrored(body), definitions_box.mirrored(body)
        sz, tb, _ = self._title(title)
        measure = Heights(text_width_pt(terms_box, ins), self.m, self.r)
        column = TextBlock(tuple(terms), text_size, para_tops(terms, text_size, measure, self.r))
        reveal = None
        if marks:
            found = []
            gutter = terms_box.left - MARK_GUTTER if rtl else terms_box.right
            for para, top_pt in zip(column.paras, column.tops, strict=True):
                label = marks.get(para.prefix) if para.style == "option" else None
                if label:
                    y = terms_box.top + ins.top + int(top_pt * EMU_PER_PT)
                    found.append(self._badge(label, text_size, gutter, y, None, far=rtl))
            reveal = Reveal(marks=tuple(found)) if found else None
        return TwoColumnSlide(
            title=title,
            title_size=sz,
            top=TextBlock(tuple(top), text_size) if top else None,
            top_box=top_box if top else None,
            first=column,
            first_box=terms_box,
            second=TextBlock(tuple(definitions), text_size),
            second_box=definitions_box,
            notes=tuple(notes),
            title_box=tb or tbox,
            line=block.line,
            reveal=reveal,
        )

    def _footers(self, text: str) -> None:
        """Every slide but the cover gets ``text``, shortened to its layout's footer box."""
        fitted: dict[LayoutRole, str] = {}
        for i, slide in enumerate(self.slides):
            if isinstance(slide, CoverSlide):
                continue
            role = slide.layout
            if role not in fitted:
                width = self.g.footer_width(role)
                fitted[role] = (
                    text if width is None else fit_footer(text, width, self.m, self.r.footer)
                )
            self.slides[i] = replace(slide, footer=fitted[role])

    def plan(self) -> DeckPlan:
        lesson = self.lesson
        meta = lesson.meta
        self.cover()
        leftover = self.topic(self.t("overview"), lesson.intro, 1, empty_slide=False)
        if leftover:
            self.slides[0] = replace(self.slides[0], notes=self.slides[0].notes + tuple(leftover))
        for section in lesson.sections:
            self.section(section)
        self._footers(clean(meta.title))
        return DeckPlan(
            slides=tuple(self.slides),
            title=clean(meta.title),
            author=clean(meta.author),
            course=clean(meta.course),
            date=clean(meta.date),
            footer=clean(meta.title),
            lang=clean(meta.lang) or "en",
            math_pictures=self.math_pictures,
        )


def plan_deck(
    lesson: Lesson,
    geometry: SlideGeometry,
    metrics: TextMetrics,
    rules: FitRules | None = None,
    pixel_size: Callable[[Image], tuple[int, int]] | None = None,
    math_pictures: bool = False,
    messages: Catalogue | None = None,
) -> DeckPlan:
    """Plan the deck for a lesson: pure data, no python-pptx.

    ``pixel_size(image)`` gives an image's (width, height) in pixels; the default reads the file
    header with Pillow (tests may pass a stub). ``math_pictures``: formulas are to be drawn as
    pictures (slide-math: pictures), not written as equations. ``messages`` is the lesson's
    catalogue (default: the one for its ``lang`` on the default layout search path).
    """

    def sizer(image: Image) -> tuple[int, int]:
        return image_size(image.path) if pixel_size is None else pixel_size(image)

    return _Planner(
        lesson, geometry, metrics, rules or FitRules(), sizer, math_pictures, messages
    ).plan()
