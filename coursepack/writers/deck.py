"""The deck writer: a :class:`~coursepack.writers.deck_plan.DeckPlan` written with python-pptx.

The second of two stages (see :mod:`coursepack.writers.deck_plan`). This module opens the
template (the default ``layouts/deck.pptx`` or a school's ``.pptx``/``.potx``), removes its own
slides, finds its layouts by placeholder types (names only as a fallback, since real templates
are localised), reads the geometry for measuring from its placeholders, plans the deck and
writes it. Output is byte-identical for the same inputs.

python-pptx is imported inside functions only: importing this module stays cheap.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from coursepack import code, formulas
from coursepack.diagnostics import BuildFailed, Diagnostic, LessonError, error, warning
from coursepack.fonts import FontStack, deck_typefaces, font_stack
from coursepack.layouts import LayoutSearch
from coursepack.messages import Catalogue, catalogue
from coursepack.model import Lesson, assert_never, iso_date
from coursepack.outputs import Output, PlanContext, Target
from coursepack.writers import pptx_math
from coursepack.writers import pptx_xml as X
from coursepack.writers.deck_plan import (
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
    indent_of,
    para_size,
    plan_deck,
    space_before,
)
from coursepack.writers.deck_plan.text_fit import FORMULA_LEADING, formula_height
from coursepack.writers.text_metrics import TextMetrics, default_metrics

_CONTENT_TYPES = {"body", "obj"}
# a callout's box takes a theme colour by its style (layouts/deck.pptx: blue, green, amber, red;
# a school template's accents keep its own look)
_CALLOUT_COLOURS = {
    "note": "ACCENT_1",
    "tip": "ACCENT_2",
    "warning": "ACCENT_4",
    "important": "ACCENT_6",
}
_FOOTER_TYPES = {"dt", "ftr", "sldNum", "hdr"}


@dataclass
class _Layouts:
    """The template's layouts chosen for each role."""

    title: object
    section: object
    content: object
    title_only: object
    two_content: object  # two body placeholders side by side (else the content layout)


class _Holder:
    """A layout's or master's placeholder, its position looked up once.

    python-pptx looks an inherited position up in the master for each of left, top, width and
    height, on every access (a search of the master's shapes each time): choosing layouts and
    measuring them asked for them thousands of times per deck. ``left``, ``top``, ``width``
    and ``height`` are python-pptx's effective values, found with one lookup of the base
    placeholder; ``_element`` is the ``p:sp``.
    """

    __slots__ = ("_element", "left", "top", "width", "height")

    def __init__(self, ph) -> None:
        self._element = ph._element
        self.left, self.top, self.width, self.height = _dimensions(ph)


def _dimensions(ph) -> tuple:
    """(left, top, width, height) of a placeholder as python-pptx gives them: its own, else
    (each one that is missing) its base placeholder's, for a placeholder that inherits."""
    el = ph._element
    own = (el.x, el.y, el.cx, el.cy)
    if None in own and hasattr(type(ph), "_base_placeholder"):
        base = ph._base_placeholder
        if base is not None:
            inherited = _dimensions(base)
            own = tuple(i if o is None else o for o, i in zip(own, inherited, strict=True))
    return own


# (type, placeholder) pairs of each layout and master, by its part (new for each deck)
_HOLDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ph_types(layout) -> list[tuple[str, _Holder]]:
    """(type, placeholder) pairs of a layout or master, ``obj`` for an untyped placeholder;
    worked out once per layout (a template's layouts do not change while a deck is made)."""
    out = _HOLDERS.get(layout.part)
    if out is None:
        out = []
        for ph in layout.placeholders:
            el = ph._element.ph
            out.append((el.get("type", "obj"), _Holder(ph)))
        _HOLDERS[layout.part] = out
    return out


def _is_vertical(ph) -> bool:
    bp = ph._element.find(".//" + X.qn("a:bodyPr"))
    ph_el = ph._element.ph
    return ph_el.get("orient") == "vert" or (
        bp is not None and "vert" in (bp.get("vert") or "") and bp.get("vert") != "horz"
    )


def _area(ph) -> int:
    return int(ph.width or 0) * int(ph.height or 0)


def _placed(ph) -> bool:
    """True when a placeholder has a position (its own, or inherited from the master)."""
    return None not in (ph.left, ph.top, ph.width, ph.height) and _area(ph) > 0


def _has_title(layout) -> bool:
    return any(t in ("title", "ctrTitle") and _placed(ph) for t, ph in _ph_types(layout))


def find_layouts(prs, name: str) -> tuple[_Layouts | None, str]:
    """Pick layouts by placeholder types; returns (layouts, what is missing)."""
    layouts = list(prs.slide_layouts)
    content_candidates = []
    two_candidates = []
    title_only = None
    cover = None
    cover_title_only = None
    section = None
    for layout in layouts:
        kind = layout._element.get("type", "")
        types = _ph_types(layout)
        main = [(t, ph) for t, ph in types if t not in _FOOTER_TYPES]
        titles = [ph for t, ph in main if t == "title" and _placed(ph)]
        ctr = [ph for t, ph in main if t == "ctrTitle" and _placed(ph)]
        bodies = [ph for t, ph in main if t in _CONTENT_TYPES and _placed(ph)]
        others = [ph for t, ph in main if t not in _CONTENT_TYPES | {"title", "ctrTitle"}]
        if kind in ("vertTx", "vertTitleAndTx") or any(_is_vertical(ph) for _, ph in main):
            continue
        if titles and len(bodies) == 2 and not others and _side_by_side(*bodies):
            two_candidates.append((kind == "twoObj", layout))
        if titles and len(bodies) == 1 and not others:
            # prefer the layout declared as title-and-content, then the biggest body
            content_candidates.append(((kind in ("obj", "tx")), _area(bodies[0]), layout))
        if titles and not bodies and not others and title_only is None:
            title_only = layout
        subtitle = [ph for t, ph in main if t == "subTitle"]
        if ctr and subtitle and cover is None:
            cover = layout
        if ctr and not subtitle and cover_title_only is None:
            cover_title_only = layout
        if kind == "secHead" and titles and section is None:
            section = layout
    content = None
    if content_candidates:
        best = max(content_candidates, key=lambda c: (c[0], c[1]))
        content = best[2]
    # names are only a fallback, and only for layouts that have a title to fill
    by_name = {layout.name.strip().lower(): layout for layout in layouts if _has_title(layout)}
    if content is None:
        return None, f"template {name} has no layout with a title and a body placeholder"
    if title_only is None:
        title_only = by_name.get("title only") or content
    if cover is None:
        cover = by_name.get("title slide") or cover_title_only or content
    if section is None:
        section = by_name.get("section header") or cover_title_only or title_only
    two = max(two_candidates, key=lambda c: c[0])[1] if two_candidates else content
    return _Layouts(cover, section, content, title_only, two), ""


def template_problem(path: Path) -> str | None:
    """Why the template at ``path`` cannot make a deck, or None when it can: read safely
    (:func:`coursepack.templates.read_template`), opened, and a layout found for every slide
    kind. ``check`` and the build ask before anything is written."""
    stat = path.stat()
    return _template_problem(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _template_problem(name: str, _mtime: int, _size: int) -> str | None:
    from pptx import Presentation

    from coursepack.templates import TemplateProblem, read_template

    path = Path(name)
    try:
        prs = Presentation(io.BytesIO(read_template(path).data))
    except TemplateProblem as exc:
        return f"cannot be used: {exc}"
    except Exception as exc:  # python-pptx raises many kinds for a bad package
        return f"is not a PowerPoint .pptx or .potx file ({type(exc).__name__})"
    roles, missing = find_layouts(prs, path.name)
    if roles is None:
        return "cannot be used: " + missing.replace(f"template {path.name} ", "it ", 1)
    return None


def template_notes(path: Path) -> list[str]:
    """Warnings about a usable template: what reading it left out (macros…) and layouts whose
    placeholders reach past the slide (the deck scales them to fit it)."""
    stat = path.stat()
    return list(_template_notes(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=8)
def _template_notes(name: str, _mtime: int, _size: int) -> tuple[str, ...]:
    from pptx import Presentation

    from coursepack.templates import read_template

    package = read_template(Path(name))
    prs = Presentation(io.BytesIO(package.data))
    roles, _ = find_layouts(prs, Path(name).name)
    overhanging = overhanging_layouts(prs, roles) if roles is not None else []
    return (
        *package.notes,
        *(
            f"layout '{layout}' reaches past the edge of the slide; the deck scales it to fit"
            for layout in overhanging
        ),
    )


def _side_by_side(a, b) -> bool:
    """Two placeholders next to each other (one's right edge left of the other's left)."""
    first, second = sorted((a, b), key=lambda ph: int(ph.left))
    return int(first.left) + int(first.width) <= int(second.left)


def _placeholder(layout, types: set[str]):
    """The layout's first positioned placeholder of one of ``types``, or None."""
    for t, ph in _ph_types(layout):
        if t in types and _placed(ph):
            return ph
    return None


def _box(ph) -> Box:
    return Box(int(ph.left), int(ph.top), int(ph.width), int(ph.height))


def _placed_box(ph) -> Box | None:
    """The box of a placeholder with a position (see :func:`_placed`), else None: each of its
    inherited values looked up once (python-pptx searches the master for every one)."""
    left, top, width, height = ph.left, ph.top, ph.width, ph.height
    if None in (left, top, width, height) or int(width or 0) * int(height or 0) <= 0:
        return None
    return Box(int(left), int(top), int(width), int(height))


def _role_boxes(roles: _Layouts) -> list[Box]:
    """The box of every positioned placeholder of the chosen layouts and of the masters'
    footers (which the slides may get), worked out once per choice of layouts: the geometry
    and the emitter both need them, and python-pptx's lookups of inherited positions were a
    quarter of writing a deck."""
    boxes: list[Box] | None = getattr(roles, "_boxes", None)
    if boxes is None:
        boxes = []
        for role in fields(roles):
            layout = getattr(roles, role.name)
            boxes += [b for _, ph in _ph_types(layout) if (b := _placed_box(ph)) is not None]
            boxes += [
                b
                for t, ph in _ph_types(layout.slide_master)
                if t in _FOOTER_TYPES and (b := _placed_box(ph)) is not None
            ]
        roles._boxes = boxes  # type: ignore[attr-defined]  # not a field: compare, replace
    return boxes


def layout_scale(prs, roles: _Layouts) -> tuple[float, float]:
    """How much to shrink the template's layouts to fit its slide, across and down: 1 for a
    template whose placeholders are on the slide; for a 4:3 layout saved as 16:10 (or as
    portrait) the placeholders are scaled down so the layout keeps its proportions and margins
    inside the slide, instead of text running off it."""
    return _scale_of(prs, _role_boxes(roles))


def _scale_of(prs, boxes: list[Box]) -> tuple[float, float]:
    """:func:`layout_scale` from the boxes of the placeholders."""
    width, height = int(prs.slide_width), int(prs.slide_height)
    if not boxes:
        return 1.0, 1.0
    right = max(b.left + b.width for b in boxes)
    bottom = max(b.bottom for b in boxes)
    # the design's size: its furthest edge plus the margin its nearest edge leaves
    sx = width / (right + max(0, min(b.left for b in boxes))) if right > width else 1.0
    sy = height / (bottom + max(0, min(b.top for b in boxes))) if bottom > height else 1.0
    return min(sx, 1.0), min(sy, 1.0)


def overhanging_layouts(prs, roles: _Layouts) -> list[str]:
    """The names of the chosen layouts with a placeholder that reaches past the slide."""
    width, height = int(prs.slide_width), int(prs.slide_height)
    names = []
    for role in fields(roles):
        layout = getattr(roles, role.name)
        for _, ph in _ph_types(layout):
            if _placed(ph) and _box(ph).inside(width, height) != _box(ph):
                if layout.name not in names:
                    names.append(layout.name)
                break
    return names


def geometry_of(prs, roles: _Layouts) -> SlideGeometry:
    """Where text goes, from the chosen layouts' placeholders (inherited from the master),
    each cut to the slide (see :meth:`Box.inside`)."""
    width, height = int(prs.slide_width), int(prs.slide_height)
    sx, sy = layout_scale(prs, roles)

    def _box(ph) -> Box:
        box = Box(int(ph.left), int(ph.top), int(ph.width), int(ph.height))
        return box.scaled(sx, sy).inside(width, height)

    content_title = _box(_placeholder(roles.content, {"title"}))
    body = _box(_placeholder(roles.content, _CONTENT_TYPES))
    only = _placeholder(roles.title_only, {"title"})
    title = content_title
    if only is not None:  # measure against the narrower and shorter of the two title boxes
        o = _box(only)
        title = Box(title.left, title.top, min(title.width, o.width), min(title.height, o.height))
    cover_t = _placeholder(roles.title, {"ctrTitle", "title"})
    cover_s = _placeholder(roles.title, {"subTitle"} | _CONTENT_TYPES)
    sec_t = _placeholder(roles.section, {"title", "ctrTitle"})
    sec_b = _placeholder(roles.section, _CONTENT_TYPES)
    footer_widths: list[tuple[LayoutRole, int]] = []
    for role in fields(roles):
        layout = getattr(roles, role.name)
        ftr = _placeholder(layout, {"ftr"}) or _placeholder(layout.slide_master, {"ftr"})
        if ftr is not None:
            footer_widths.append((role.name, _box(ftr).width))
    return SlideGeometry(
        width=int(prs.slide_width),
        height=int(prs.slide_height),
        title=title,
        body=body,
        cover_title=_box(cover_t) if cover_t is not None else content_title,
        cover_subtitle=_box(cover_s) if cover_s is not None else None,
        section_title=_box(sec_t) if sec_t is not None else content_title,
        section_body=_box(sec_b) if sec_b is not None else None,
        footer_widths=tuple(footer_widths),
    )


def _theme_fonts(prs) -> tuple[str, str]:
    """(major, minor) latin typefaces of the master's theme."""
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme = etree.fromstring(prs.slide_master.part.part_related_by(RT.THEME).blob)
    major = theme.find(f".//{X.qn('a:majorFont')}/{X.qn('a:latin')}")
    minor = theme.find(f".//{X.qn('a:minorFont')}/{X.qn('a:latin')}")
    return (
        major.get("typeface", "") if major is not None else "",
        minor.get("typeface", "") if minor is not None else "",
    )


def choose_metrics(prs) -> tuple[TextMetrics, str, str]:
    """Metrics for the theme's fonts, and the typefaces to force on titles and body ("" = none).

    A theme font with a metric twin here (Arial, Calibri, ...) is kept and measured with the
    twin. Any other font is replaced on the runs by one we can measure, so that the deck fits.
    """
    major, minor = _theme_fonts(prs)
    metrics = TextMetrics.for_font(minor)
    body_font = ""
    if metrics is None:
        metrics, body_font = default_metrics(), "Arial"
    real = {"Arimo": "Arial", "Carlito": "Calibri"}[metrics.family]
    title_metrics = TextMetrics.for_font(major)
    title_font = "" if title_metrics and title_metrics.family == metrics.family else real
    return metrics, title_font, body_font


class DeckWriter:
    """Writes a lesson's PowerPoint deck (``x-slides.pptx``)."""

    def __init__(self, layouts: LayoutSearch | None = None) -> None:
        self.layouts = layouts or LayoutSearch()
        self.rules = FitRules()

    def layout_files(self) -> list[Path]:
        """The layout files a default deck depends on (for incremental-build stamps)."""
        return [
            self.layouts.find("deck.pptx"),
            *self.layouts.theme_files(),
            *self.layouts.message_files(),
        ]

    def layout_problems(self) -> list:
        """None to find early: the deck template is opened (and reported) per lesson."""
        return []

    def keep_between_builds(self, folder: Path) -> None:
        """Nothing is kept between builds."""

    def prepare(self) -> None:
        """Import python-pptx now (before worker processes fork, so they share it)."""
        import pptx  # noqa: F401

    def prepare_lessons(self, lessons: Sequence[Lesson]) -> None:
        """Nothing shared: a lesson has one deck."""

    def close(self) -> None:
        """Nothing to free: python-pptx keeps no files open between decks."""

    def render(self, lesson: Lesson, template: Path | None = None) -> bytes:
        """The deck's bytes; ``template`` is a school's ``.pptx``/``.potx`` (default: ours).

        Raises :class:`~coursepack.diagnostics.LessonError` for a template that cannot be
        read or has no usable layout, and for an image that cannot be placed on a slide.
        """
        prs, roles, plan, (metrics, title_font, body_font) = self._prepare(lesson, template)
        theme = self.layouts.theme
        emitter = _Emitter(prs, roles, plan, title_font, body_font, metrics, self.rules, theme)
        # The slides name the fonts the handout prints CJK, Arabic, Hebrew... in, and a
        # right-to-left lesson's paragraphs read from the right.
        emitter.fonts = font_stack(theme)
        emitter.words = catalogue(lesson.meta.lang, self.layouts)  # alt texts
        emitter.rtl = emitter.words.rtl
        emitter.emit(lesson)
        _core_properties(prs, plan)
        return X.save_stable(prs)

    def slide_math(self, lesson: Lesson) -> str:
        """How formulas are drawn: the lesson's ``slide-math``, else the theme's choice."""
        chosen = lesson.meta.slide_math or str(self.layouts.theme.get("slide_math", ""))
        return "pictures" if chosen == "pictures" else "equations"

    def plan(self, lesson: Lesson, template: Path | None = None) -> DeckPlan:
        """The plan the deck would be written from (for tests and debugging)."""
        return self._prepare(lesson, template)[2]

    def _prepare(self, lesson: Lesson, template: Path | None):
        """Open the template without its slides, choose layouts and metrics, plan the deck."""
        path = Path(template) if template is not None else self.layouts.find("deck.pptx")
        prs = self._open(lesson, path)
        if template is None:
            # Our own template follows theme.yaml, so a teacher's colour override reaches the
            # deck too; a school's template keeps its own look.
            X.apply_theme(prs, self.layouts.theme)
        X.remove_all_slides(prs)
        X.fast_partnames(prs)
        roles, missing = find_layouts(prs, path.name)
        if roles is None:
            raise LessonError([self._where(lesson, path, missing)])
        fonts = choose_metrics(prs)
        plan = plan_deck(
            lesson,
            geometry_of(prs, roles),
            fonts[0],
            self.rules,
            pixel_size=lambda image: self._pixels(lesson, image),
            math_pictures=self.slide_math(lesson) == "pictures",
            messages=catalogue(lesson.meta.lang, self.layouts),
        )
        return prs, roles, plan, fonts

    # -- helpers
    @staticmethod
    def _where(lesson: Lesson, path: Path, message: str):
        if lesson.meta.pptx_template and Path(lesson.meta.pptx_template).name == path.name:
            return error(lesson.path, lesson.meta.line_of("pptx-template"), message)
        return error(path, 0, message)

    def _open(self, lesson: Lesson, path: Path):
        from pptx import Presentation

        from coursepack.templates import TemplateProblem, read_template

        try:
            package = read_template(path)  # bounded, no DTDs, no macros, whole
            return Presentation(io.BytesIO(package.data))
        except TemplateProblem as exc:
            message = f"template {path.name} cannot be used: {exc}"
            raise LessonError([self._where(lesson, path, message)]) from None
        except Exception as exc:  # python-pptx raises many kinds for a bad package
            message = (
                f"template {path.name} is not a PowerPoint .pptx or .potx file "
                f"({type(exc).__name__})"
            )
            raise LessonError([self._where(lesson, path, message)]) from None

    @staticmethod
    def _pixels(lesson: Lesson, image) -> tuple[int, int]:
        from coursepack.writers.deck_plan import image_size

        try:
            return image_size(image.path)
        except Exception as exc:  # missing, unreadable or not an image at all
            raise LessonError(
                [
                    error(
                        lesson.path,
                        image.line,
                        f"image {image.src} cannot be read for the slides ({type(exc).__name__})",
                    )
                ]
            ) from None


def _core_properties(prs, plan: DeckPlan) -> None:
    """Fixed document properties: the same inputs give the same bytes."""
    X.set_core_properties(
        prs,
        title=plan.title,
        author=plan.author,
        subject=plan.course,
        language=plan.lang,
        when=_date(plan.date),
    )


def _date(text: str) -> dt.datetime:
    """The lesson's date (ISO ``YYYY-MM-DD``), else a fixed epoch."""
    return dt.datetime(*(iso_date(text) or (2000, 1, 1)))


class _Emitter:
    """Writes each planned slide into the presentation."""

    def __init__(
        self,
        prs,
        roles: _Layouts,
        plan: DeckPlan,
        title_font: str,
        body_font: str,
        metrics: TextMetrics,
        rules: FitRules,
        theme: dict | None = None,
    ) -> None:
        self.prs = prs
        theme = theme or {}
        self.code_styles = code.code_styles(theme)
        self.ink = str((theme.get("colours") or {}).get("ink", "#000000"))
        self.rules = rules
        self.roles = roles
        self.plan = plan
        self.title_font = title_font
        self.body_font = body_font
        self.metrics = metrics
        boxes = _role_boxes(roles)
        self.scale = _scale_of(prs, boxes)
        # With every placeholder of the chosen layouts (and the masters' footers) on the slide
        # and nothing to scale, no slide has a box to fit (see _inside): python-pptx's lookups
        # of inherited positions were about half of writing a deck.
        width, height = int(prs.slide_width), int(prs.slide_height)
        self._all_inside = self.scale == (1.0, 1.0) and all(
            box.inside(width, height) == box for box in boxes
        )
        self.lang = (
            plan.lang if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", plan.lang) else ""
        )
        self.fonts: FontStack | None = None  # the handout's fonts, named for CJK/complex text
        self.rtl = False
        self.words: Catalogue = catalogue("en")
        self._slides = X.NewSlides(prs)
        self._notes = X.NotesSlides()
        self._footers: dict = {}  # (layout part, type) → its footer placeholder's copy
        self._typefaces: dict[frozenset[str], tuple[str, str]] = {}

    def emit(self, lesson: Lesson) -> None:
        for number, slide_plan in enumerate(self.plan.slides, 1):
            self.slide(slide_plan, number, lesson)

    def slide(self, sp: Slide, number: int, lesson: Lesson) -> None:
        """Write one planned slide: one clause per slide kind."""
        layout = getattr(self.roles, sp.layout)
        slide = self._slides.add_slide(layout)
        title_ph = slide.shapes.title
        if title_ph is None:  # a cover layout with only ctrTitle is found by shapes.title too
            raise AssertionError("layouts are chosen with a title placeholder")
        # the slide's placeholders with their types, found once (python-pptx searches for them)
        self._slide_phs = [(ph._element.ph.get("type", "obj"), ph) for ph in slide.placeholders]
        self.title(title_ph, sp)
        # the elements we filled (kept alive: lxml may reuse a dead proxy's id)
        used = [title_ph._element]
        self._clicks: list[list[X.ClickTarget]] = []  # what each click shows, in order
        match sp:
            case CoverSlide():
                sub = self._ph(slide, {"subTitle"} | _CONTENT_TYPES)
                if sub is not None and sp.subtitle is not None:
                    if sp.subtitle_box is not None:
                        self._place(sub, sp.subtitle_box)
                    self.text(sub.text_frame, sp.subtitle, anchor=None, align=None)
                    used.append(sub._element)
            case SectionSlide():
                if sp.body is not None:
                    self._body(slide, sp.body, None, used)
            case TitleOnlySlide():
                pass
            case TextSlide():
                self._body(slide, sp.body, sp.body_box, used)
            case QuestionSlide():
                self._body(slide, sp.body, sp.body_box, used)
                self.answer_lines(slide, sp.lines)
                if sp.reveal is not None:
                    self.reveal(slide, sp.reveal)
            case TextAndPictureSlide():
                self._body(slide, sp.body, sp.body_box, used)
                self.picture(slide, sp.picture, sp.line, lesson)
            case TwoColumnSlide():
                # the first frame fills the body placeholder, the others are text boxes
                frames = [(sp.first_box, sp.first), (sp.second_box, sp.second)]
                if sp.top is not None:
                    frames.insert(0, (sp.top_box, sp.top))
                (first_box, first), *rest = frames
                self._body(slide, first, first_box, used)
                for box, block in rest:
                    frame = self._textbox(slide, box)
                    self.text(frame.text_frame, block, anchor="t")
                    self._formula_pictures(slide, frame, block)
                    self._builds(frame, block)
                if sp.reveal is not None:
                    self.reveal(slide, sp.reveal)
            case ColumnsSlide():
                # the layout's content placeholders, left to right, hold the text columns
                holders = sorted(
                    (ph for kind, ph in self._slide_phs if kind in _CONTENT_TYPES),
                    key=lambda ph: int(ph.left or 0),
                )
                for i, (cell, box) in enumerate(zip(sp.cells, sp.boxes, strict=True)):
                    if isinstance(cell, PicturePlan):
                        self.picture(slide, cell, sp.line, lesson)
                        continue
                    if isinstance(cell, TablePlan):
                        self.table(slide, cell)
                        continue
                    if isinstance(cell, Panel):
                        self.panel(slide, cell)
                        continue
                    if i < len(holders):
                        shape = holders[i]
                        self._place(shape, box)
                        used.append(shape._element)
                    else:  # a third column, or a layout with one body: a text box
                        shape = self._textbox(slide, box)
                    self.text(shape.text_frame, cell, anchor="t")
                    self._formula_pictures(slide, shape, cell)
                    self._builds(shape, cell)
            case CalloutSlide():
                if sp.body is not None:
                    self._body(slide, sp.body, sp.body_box, used)
                for panel in sp.callouts:
                    self.panel(slide, panel)
            case TableSlide():
                self.table(slide, sp.table)
            case PictureSlide():
                self.picture(slide, sp.picture, sp.line, lesson)
            case _:
                assert_never(sp)
        # remove placeholders we did not fill (they would show "Click to add text")
        for _, shape in self._slide_phs:
            if not any(shape._element is element for element in used):
                X.remove_shape(shape)
        if sp.footer is not None:
            self.footers(slide, layout, number, sp.footer)
        self._inside(slide)
        if sp.notes:
            notes = self._notes.notes_slide(slide).notes_text_frame
            notes.text = "\n".join(sp.notes)
        X.set_click_builds(slide, self._clicks)

    def _inside(self, slide) -> None:
        """Placeholders whose layout reaches past the slide get the layout's box fitted to the
        slide (see :func:`layout_scale`), as the plan measured them."""
        if self._all_inside:
            return
        width, height = int(self.prs.slide_width), int(self.prs.slide_height)
        sx, sy = self.scale
        for ph in slide.placeholders:
            ours = ph._element.spPr.find(X.qn("a:xfrm")) is not None  # placed from the plan
            if _placed(ph) and (not ours or ph._element.ph.get("type") in _FOOTER_TYPES):
                box = _box(ph)
                fitted = box.scaled(sx, sy).inside(width, height)
                if fitted != box:
                    self._place(ph, fitted)

    def _body(self, slide, block: TextBlock, box: Box | None, used: list) -> None:
        """``block`` in the slide's body placeholder (moved to ``box`` when given)."""
        body = self._ph(slide, _CONTENT_TYPES)
        if body is None:  # title-only layout standing in: draw the body as a text box
            body = self._textbox(slide, box or self._layout_box(_CONTENT_TYPES))
        elif box is not None:
            self._place(body, box)
        used.append(body._element)
        self.text(body.text_frame, block, anchor="t")
        self._formula_pictures(slide, body, block)
        self._builds(body, block)

    def _builds(self, shape, block: TextBlock) -> None:
        """One click for each building paragraph; its sub-bullets and continued pieces come
        with it."""
        current: list[X.ClickTarget] | None = None
        for i, para in enumerate(block.paras):
            if not para.builds:
                current = None
            elif current is None or (para.level == 0 and not para.continued):
                current = [(shape.shape_id, i)]
                self._clicks.append(current)
            else:
                current.append((shape.shape_id, i))

    def _tinted_box(self, slide, box: Box, colour: str, name: str):
        """A text box filled with a light tint of a theme colour and framed in it."""
        from pptx.enum.dml import MSO_THEME_COLOR
        from pptx.util import Pt

        shape = self._textbox(slide, box)
        shape.name = f"{name} {len(slide.shapes)}"
        theme = getattr(MSO_THEME_COLOR, colour)
        shape.fill.solid()
        shape.fill.fore_color.theme_color = theme
        shape.fill.fore_color.brightness = 0.85
        shape.line.color.theme_color = theme
        shape.line.width = Pt(1.5)
        return shape

    def panel(self, slide, panel: Panel) -> None:
        """A callout: its text in a box tinted by its style's theme colour (the template's
        accents, so a school's look is kept)."""
        colour = _CALLOUT_COLOURS.get(panel.style, "ACCENT_1")
        shape = self._tinted_box(slide, panel.box, colour, "Callout")
        self.text(shape.text_frame, panel.text, anchor="t")
        self._formula_pictures(slide, shape, panel.text)

    def reveal(self, slide, reveal: Reveal) -> None:
        """What the next click shows: the marks beside the question's lines, and a model
        answer in a tinted box of the theme's accent colour."""
        shown: list[X.ClickTarget] = []
        for mark in reveal.marks:
            shown.extend((spid, None) for spid in self.mark(slide, mark))
        if reveal.text is not None and reveal.box is not None:
            shape = self._tinted_box(slide, reveal.box, "ACCENT_1", "Answer")
            self.text(shape.text_frame, reveal.text, anchor="t")
            X.set_alt_text(shape, "".join(r.text for r in reveal.text.paras[0].runs).strip())
            pictures = self._formula_pictures(slide, shape, reveal.text)  # they appear with it
            shown += [(shape.shape_id, None), *((i, None) for i in pictures)]
        if shown:
            self._clicks.append(shown)

    def mark(self, slide, mark: Mark) -> list[int]:
        """A reveal's mark: a frame round a correct option (drawn first, under the badge) and a
        badge in the theme's second accent (the answer colour of our theme) holding a tick or
        the label in the background colour. Shape and outline carry it in grayscale too."""
        from pptx.enum.dml import MSO_THEME_COLOR
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Pt

        ids = []
        # the theme's second accent and background (ACCENT_2, BACKGROUND_1)
        accent, paper = "accent2", "bg1"
        if mark.frame is not None:
            f = mark.frame
            box = (f.left, f.top, f.width, f.height)
            ids.append(X.add_answer_frame(slide, box, accent, Pt(2.5)))  # the badge says it
        b = mark.badge
        sp, badge_id = X.add_answer_badge(
            slide, (b.left, b.top, b.width, b.height), accent, mark.alt
        )
        ids.append(badge_id)
        if mark.label:
            badge = slide.shapes._shape_factory(sp)
            p = badge.text_frame.paragraphs[0]
            p.alignment = PP_ALIGN.CENTER
            run = p.add_run()
            run.text = mark.label
            self._font(run, mark.size, bold=True, text=mark.label)
            run.font.color.theme_color = MSO_THEME_COLOR.BACKGROUND_1
        else:  # a tick, drawn (no font needed): a thick open path across the badge
            side = b.width
            points = [(0.27, 0.53), (0.44, 0.70), (0.75, 0.33)]
            x0, y0 = b.left + side * points[0][0], b.top + side * points[0][1]
            path = [(int(x0), int(y0))]
            path += [(int(b.left + side * x), int(b.top + side * y)) for x, y in points[1:]]
            # the badge under it says it
            ids.append(X.add_answer_tick(slide, path, paper, int(side * 0.11)))
        return ids

    def answer_lines(self, slide, lines: tuple[Box, ...]) -> None:
        """Ruled lines for the class's answers, in the text colour lightened."""
        from pptx.enum.dml import MSO_THEME_COLOR
        from pptx.enum.shapes import MSO_CONNECTOR
        from pptx.util import Emu, Pt

        for box in lines:
            line = slide.shapes.add_connector(
                MSO_CONNECTOR.STRAIGHT,
                Emu(box.left),
                Emu(box.top),
                Emu(box.left + box.width),
                Emu(box.top),
            )
            line.line.color.theme_color = MSO_THEME_COLOR.TEXT_1
            line.line.color.brightness = 0.6
            line.line.width = Pt(1.25)
            X.drop_style(line)
            line.name = f"Answer line {len(slide.shapes)}"

    @staticmethod
    def _textbox(slide, box: Box):
        from pptx.util import Emu

        return slide.shapes.add_textbox(
            Emu(box.left), Emu(box.top), Emu(box.width), Emu(box.height)
        )

    # -- shapes
    def _ph(self, slide, types: set[str]):
        """The first of ``slide``'s placeholders of one of ``types`` (the slide being written)."""
        for kind, ph in self._slide_phs:
            if kind in types:
                return ph
        return None

    def _layout_box(self, types: set[str]) -> Box:
        return _box(_placeholder(self.roles.content, types))

    @staticmethod
    def _place(shape, box: Box) -> None:
        from pptx.util import Emu

        shape.left, shape.top = Emu(box.left), Emu(box.top)
        shape.width, shape.height = Emu(box.width), Emu(box.height)

    def title(self, ph, sp: Slide) -> None:
        from pptx.util import Pt

        if sp.title_box is not None:
            self._place(ph, sp.title_box)
        tf = ph.text_frame
        X.body_pr(tf)
        p = tf.paragraphs[0]
        run = p.add_run()
        run.text = sp.title
        run.font.size = Pt(sp.title_size)
        if self.title_font:
            run.font.name = self.title_font
        X.set_lang(run, self.lang)
        self._script_fonts(run, sp.title)
        if self.rtl:
            X.set_rtl(p)

    def text(self, tf, block: TextBlock, anchor: str | None, align: str | None = "l") -> None:

        ins = X_INSETS
        X.body_pr(tf, anchor=anchor, insets=ins)
        for i, para in enumerate(block.paras):
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            size = para_size(para, block.size, self.rules)
            mar_l, indent = indent_of(para)
            if para.style in ("bullet", "quote", "code"):
                p.level = para.level
            bullet = "•" if para.style == "bullet" and not para.continued else None
            if para.style == "bullet" and para.level:
                bullet = "–"
            if para.continued and para.style == "bullet":
                bullet = None
            X.paragraph_format(
                p,
                mar_l=mar_l,
                indent=indent if bullet or para.prefix else 0,
                # none before the first line: LibreOffice drops it, PowerPoint keeps it
                space_before_pt=space_before(para, size) if i else 0.0,
                bullet=bullet,
                align=align,
            )
            if self.rtl and para.style not in ("code", "formula"):
                X.set_rtl(p)
            if para.prefix:
                r = p.add_run()
                # The letter's tab to the hanging indent: LibreOffice (7.4) gives a
                # right-to-left paragraph's tab no width ("1.אידוי"), so there a no-break
                # space parts them instead (the text starts a little short of the indent).
                r.text = prefix = para.prefix + ("\u00a0" if self.rtl else "\t")
                self._font(r, size, bold=True, text=prefix)
            if para.style == "formula":
                self._formula_para(p, para, size, placed=len(block.tops) == len(block.paras))
                continue
            for run_plan in para.runs:
                self._run(p, run_plan, size, para.style)
        if any(run.math for para in block.paras for run in para.runs):
            # equations take their size from the frame's list style (levels 1-3)
            sizes = [para_size(Para((), level), block.size, self.rules) for level in range(3)]
            pptx_math.set_frame_size(tf, sizes)

    def _run(self, p, run_plan, size: float, style: str) -> None:
        """One planned run: text (line breaks kept), an equation, sub/superscript, code."""
        if run_plan.math and not self.plan.math_pictures:
            p._p.append(
                pptx_math.equation_element(
                    run_plan.math,
                    run_plan.display,
                    size_pt=size,
                    lang=self.lang or "en-US",
                )
            )
            return
        parts = run_plan.text.split("\n")
        for k, part in enumerate(parts):
            if k:
                p.add_line_break()
            if not part:
                continue
            r = p.add_run()
            r.text = part
            bold, italic = run_plan.bold, run_plan.italic or style == "quote"
            token = self.code_styles.get(run_plan.token) if run_plan.token else None  # type: ignore[call-overload]
            if token is not None:
                bold, italic = bold or token.bold, italic or token.italic
            mono = run_plan.mono or style == "code"
            self._font(r, size, bold=bold, italic=italic, mono=mono, text=part)
            if token is not None:
                from pptx.dml.color import RGBColor

                r.font.color.rgb = RGBColor.from_string(token.colour.lstrip("#")[:6].upper())
            if run_plan.script:
                # PowerPoint's own sub/superscript: a baseline offset, in thousandths of a percent
                r.font._rPr.set("baseline", "-25000" if run_plan.script == "sub" else "30000")
            if run_plan.href:
                r.hyperlink.address = run_plan.href

    def _formula_para(self, p, para, size: float, placed: bool) -> None:
        """A display formula: an equation centred on its line, or (pictures) an empty line as
        tall as the picture that :meth:`_formula_pictures` lays over it; a frame the plan did
        not place line by line (``placed`` false) gets the formula as text instead."""
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Pt

        run_plan = para.runs[0]
        p.alignment = PP_ALIGN.CENTER
        if not self.plan.math_pictures or not placed:
            self._run(p, run_plan, size, para.style)
            return
        # the plan gave the line FORMULA_LEADING times the formula's height (para_height)
        p.line_spacing = Pt(round(formula_height(run_plan, size) * FORMULA_LEADING, 1))
        r = p.add_run()
        r.text = "\u00a0"
        self._font(r, size, text="\u00a0")

    def _formula_pictures(self, slide, shape, block: TextBlock) -> list[int]:
        """With slide-math: pictures, each display formula of ``block`` as a picture with its
        spoken form as alt text, centred where the plan put its line; returns their ids."""
        from pptx.util import Emu, Pt

        ids: list[int] = []
        if not self.plan.math_pictures or len(block.tops) != len(block.paras):
            return ids
        # drawn in the colour the template gives this frame's text (else the theme's ink)
        colour = pptx_math.text_colour(shape, slide) or self.ink
        for para, top in zip(block.paras, block.tops, strict=True):
            if para.style != "formula":
                continue
            run_plan = para.runs[0]
            size = para_size(para, block.size, self.rules)
            drawing = formulas.svg(run_plan.math, True, colour)
            height_pt = drawing.height * size
            width, height = Pt(drawing.width * size), Pt(height_pt)
            inner = shape.width - X_INSETS[0] - X_INSETS[2]
            left = shape.left + X_INSETS[0] + max(0, (inner - width) // 2)
            picture = slide.shapes.add_picture(
                io.BytesIO(formulas.png(run_plan.math, True, colour)),
                Emu(left),
                Emu(shape.top + X_INSETS[1] + Pt(top + height_pt * (FORMULA_LEADING - 1) / 2)),
                Emu(width),
                Emu(height),
            )
            picture.name = f"Formula {len(slide.shapes)}"
            X.set_alt_text(picture, formulas.spoken(run_plan.math, True, self.plan.lang))
            ids.append(picture.shape_id)
        return ids

    def _font(
        self,
        run,
        size: float,
        bold: bool = False,
        italic: bool = False,
        mono: bool = False,
        text: str | None = None,
    ) -> None:
        """Size, weight, slant, typeface and language of a run (``text``: its text, when the
        caller has it, instead of reading it back)."""
        from pptx.util import Pt

        font = run.font
        font.size = Pt(size)
        font.bold = bold
        font.italic = italic
        if mono:
            font.name = "Courier New"
        elif self.body_font:
            font.name = self.body_font
        X.set_lang(run, self.lang)
        self._script_fonts(run, text)

    def _script_fonts(self, run, text: str | None = None) -> None:
        """The East Asian and complex-script typefaces of a run with such characters."""
        if self.fonts is None:
            return
        if text is None:
            text = run.text
        if text.isascii():
            return
        wide = frozenset(char for char in text if ord(char) >= 0x370)
        if wide:
            # the typefaces depend only on these characters (and the lesson's language)
            faces = self._typefaces.get(wide)
            if faces is None:
                faces = self._typefaces[wide] = deck_typefaces(text, self.fonts, self.lang)
            X.set_typefaces(run, *faces)

    def table(self, slide, tp: TablePlan) -> None:
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Emu

        width = sum(tp.col_widths)
        height = sum(tp.row_heights)
        left = tp.box.left + (tp.box.width - width) // 2
        shape = slide.shapes.add_table(
            len(tp.rows) + 1, len(tp.header), Emu(left), Emu(tp.box.top), Emu(width), Emu(height)
        )
        headers = ", ".join("".join(r.text for r in c) for c in tp.header)
        X.set_alt_text(shape, self.words("table_alt", headers=headers))
        table = shape.table
        # Right to left, the first column is on the right and "left" (the default) aligns to
        # the start, as in the handout. The columns are placed in mirror order rather than
        # marked ``rtl`` on the table: LibreOffice (7.4) ignores that mark.
        columns = list(range(len(tp.header)))
        align = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}
        if self.rtl:
            columns.reverse()
            align["left"] = PP_ALIGN.RIGHT
        start = align["left"]
        for place, c in enumerate(columns):
            table.columns[place].width = Emu(tp.col_widths[c])
        for r, h in enumerate(tp.row_heights):
            table.rows[r].height = Emu(h)
        for r, row in enumerate((tp.header, *tp.rows)):
            for place, c in enumerate(columns):
                cell = table.cell(r, place)
                runs = row[c] if c < len(row) else ()
                tf = cell.text_frame
                p = tf.paragraphs[0]
                if self.rtl:
                    X.set_rtl(p)  # before the alignment, which it would otherwise change
                p.alignment = align.get(tp.aligns[c] if c < len(tp.aligns) else "", start)
                for run_plan in runs:
                    flat = replace(run_plan, text=run_plan.text.replace("\n", " "))
                    self._run(p, replace(flat, bold=flat.bold or r == 0), tp.size, "plain")
                if not runs:
                    p.font.size = _pt(tp.size)
                if any(run.math for run in runs):
                    pptx_math.set_frame_size(tf, [tp.size] * 3)

    def picture(self, slide, pic: PicturePlan, line: int, lesson: Lesson) -> None:
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Emu

        try:
            shape = slide.shapes.add_picture(
                str(pic.path),
                Emu(pic.box.left),
                Emu(pic.box.top),
                Emu(pic.box.width),
                Emu(pic.box.height),
            )
        except Exception as exc:  # an image format PowerPoint cannot hold (e.g. SVG)
            raise LessonError(
                [
                    error(
                        lesson.path,
                        line,
                        f"image {pic.path.name} cannot be placed on a slide ({type(exc).__name__})",
                    )
                ]
            ) from None
        X.set_alt_text(shape, pic.alt)
        shape.name = f"Picture {len(slide.shapes)}"
        if pic.caption and pic.caption_box is not None:
            b = pic.caption_box
            box = slide.shapes.add_textbox(Emu(b.left), Emu(b.top), Emu(b.width), Emu(b.height))
            tf = box.text_frame
            X.body_pr(tf, anchor="t", insets=X_INSETS)
            tf.word_wrap = True
            p = tf.paragraphs[0]
            p.alignment = PP_ALIGN.CENTER
            run = p.add_run()
            run.text = pic.caption
            self._font(run, pic.caption_size, italic=True, text=pic.caption)

    def footers(self, slide, layout, number: int, text: str) -> None:
        """The footer (``text``, fitted by the plan) and the slide number, where the layout or
        its master has placeholders for them."""
        size = self.rules.footer
        ftr = X.clone_placeholder(slide, layout, "ftr", self._footers)
        if ftr is not None:
            X.fill_footer(ftr, text, size)
        num = X.clone_placeholder(slide, layout, "sldNum", self._footers)
        if num is not None:
            X.fill_slide_number(num, number, size)


X_INSETS = (91440, 45720, 91440, 45720)


def _pt(size: float):
    from pptx.util import Pt

    return Pt(size)


__all__ = ["DeckWriter", "choose_metrics", "find_layouts", "geometry_of"]


# --------------------------------------------------------------------------- registered output


class Slides(Output):
    """A lesson's PowerPoint deck, on our template or the school's."""

    name = "slides"
    suffix = "-slides.pptx"
    packages = ("python-pptx", "fontpkg-arimo")
    writer = DeckWriter

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """The school template: ``--pptx-template``, else the lesson's ``pptx-template:``."""
        return {"template": deck_template(target.lesson, context.pptx_template)}

    def render(self, writer: DeckWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The deck."""
        return writer.render(target.lesson, template=settings["template"])

    def problems(self, context: PlanContext, target: Target) -> list[Diagnostic]:
        """The command line's ``--pptx-template`` warned about as ``check`` warns about the
        front matter's: layouts that reach past the slide (the deck scales them to fit). Said
        at the template's path, so the build reports it once, not once per lesson."""
        chosen = context.pptx_template
        if chosen is None or not chosen.is_file() or template_problem(chosen):
            return []  # settings() has reported a missing or unusable template
        return [warning(chosen, 0, f"--pptx-template: {note}") for note in template_notes(chosen)]


SLIDES = Slides()


def deck_template(lesson: Lesson, chosen: Path | None) -> Path | None:
    """The school template for ``lesson``: ``chosen`` (the command line's), else front matter.

    Read, opened and given a layout for every slide kind (:func:`template_problem`) before
    anything is written.
    """
    if chosen is not None:
        if not chosen.is_file():
            raise BuildFailed(f"--pptx-template: file not found: {chosen}")
        problem = template_problem(chosen)
        if problem:
            raise BuildFailed(f"--pptx-template: {chosen} {problem}")
        return chosen.resolve()
    if not lesson.meta.pptx_template:
        return None
    template = (lesson.folder / lesson.meta.pptx_template).resolve()
    line = lesson.meta.line_of("pptx-template")
    if not template.is_file():
        raise LessonError([error(lesson.path, line, f"pptx-template file not found: {template}")])
    problem = template_problem(template)
    if problem:
        raise LessonError([error(lesson.path, line, f"pptx-template {template.name} {problem}")])
    return template
