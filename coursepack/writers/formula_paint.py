"""Formulas painted into WeasyPrint's pages from ready PDF operators, in the text's colour.

A formula reaches the handout's HTML as an ``<img>`` whose address names the formula
(:func:`formula_url`: its TeX and whether it is displayed, nothing else). Left to itself,
WeasyPrint would decode an SVG picture, build its node tree with a style cascade and walk
it node by node for every formula of every PDF, and write every glyph's outline again at
each use: with 200 formulas, most of what they cost a build (and a long ``src`` attribute
costs its HTML parser as much again). :func:`install` makes WeasyPrint's image loader answer
a formula address with a :class:`FormulaPicture` instead:

- the drawing (:func:`coursepack.formulas.svg`, glyph outlines placed by ``matrix()``
  transforms, and rules) is turned once into PDF operators, written by the same pydyf
  calls WeasyPrint's SVG painter makes, and cached by content in memory and on disk next
  to the drawings (:func:`painting_of`): a formula's file holds its shapes in the text's
  colour as one run of operators, and names its glyphs, whose outlines are kept once each
  in files of their own (a later build reads a lesson's few dozen distinct glyphs, not
  every glyph's outline again in every formula's file);
- each distinct glyph outline is one Form XObject per PDF, placed by its transform
  (``q … cm /g… Do Q``): the digit 2 of two hundred formulas is written once;
- the formula is painted in the colour of the text around it (the ``<img>``'s CSS
  ``color``), as its letters would be: in the key's answer colour inside an answer, in a
  callout's colour in a callout. A part the TeX colours itself (``\\color{red}``) keeps its
  colour.

The picture is the one WeasyPrint would paint (``tests/test_subjects.py`` renders both and
compares the pixels); the bytes differ, by the XObjects and by leaving out the stroke
settings (line width, dash, caps) that a filled outline never uses.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from coursepack.writers import svg_paths

_SVG_NS = "{http://www.w3.org/2000/svg}"
# The start of every formula's address in the HTML.
_SCHEME = "data:application/x-coursepack-formula;base64,"
# A child painted in the colour of the surrounding text.
_CURRENT = ""
# Operators are kept on disk per drawing; a new format or a new WeasyPrint/pydyf (whose
# formatting they copy) makes new files.
_CACHE_FORMAT = "3"  # 3: parts joined, glyph outlines in files of their own


def formula_url(tex: str, display: bool) -> str:
    """The ``<img src>`` that stands for a formula in the handout's HTML."""
    data = json.dumps([tex, display], ensure_ascii=True).encode("ascii")
    return _SCHEME + base64.urlsafe_b64encode(data).decode("ascii")


def names_formulas(html: str) -> bool:
    """Whether a document's HTML holds formula addresses (that only :func:`install` paints)."""
    return _SCHEME in html


def _formula_of(url: str) -> tuple[str, bool] | None:
    """The (TeX, display) a formula address names, or None."""
    try:
        tex, display = json.loads(base64.urlsafe_b64decode(url[len(_SCHEME) :]))
    except (ValueError, TypeError):
        return None
    return (tex, display) if isinstance(tex, str) and isinstance(display, bool) else None


@dataclass(frozen=True)
class Glyph:
    """One outline, drawn once per PDF as a Form XObject named ``name``; its operators are
    one item of the XObject's stream (pydyf joins items with newlines: the same bytes as
    one item per operator)."""

    name: str
    bbox: tuple[float, float, float, float]
    operators: bytes


@dataclass(frozen=True)
class Coloured:
    """A shape the TeX colours itself (``\\color{red}``): its CSS colour, the operators
    that place it (a glyph's ``cm``) and those that paint it (the glyph's ``Do``, a rule's
    ``re f``)."""

    fill: str
    place: tuple[bytes, ...]
    paint: tuple[bytes, ...]


@dataclass(frozen=True)
class Painting:
    """A formula's operators, with its intrinsic size and viewBox (in SVG user units).

    ``parts`` are, in drawing order, runs of shapes in the text's colour, each run one item
    of the page's stream (``q … cm /g… Do Q`` per shape, joined by newlines: the page's bytes
    are those of one item per operator, and drawing a formula is a few appends), and the
    shapes coloured by the TeX. ``glyphs`` are the outlines it uses, in order of first use."""

    width: float
    height: float
    viewbox: tuple[float, float, float, float]
    parts: tuple[bytes | Coloured, ...]
    glyphs: tuple[Glyph, ...]

    @property
    def glyph_names(self) -> tuple[str, ...]:
        """The XObject names of the outlines it paints."""
        return tuple(glyph.name for glyph in self.glyphs)


def install(weasyprint: ModuleType) -> bool:
    """Answer formula addresses with :class:`FormulaPicture` in WeasyPrint's image loader
    (WeasyPrint already imported); False when this WeasyPrint has no loader to wrap."""
    document = getattr(weasyprint, "document", None)
    original = getattr(document, "original_get_image_from_uri", None)
    if original is None:
        return False
    if getattr(original, "_coursepack_formulas", False):
        return True
    svg_paths.install(weasyprint)  # any SVG left to WeasyPrint still draws outlines fast

    @functools.wraps(original)
    def get_image_from_uri(*args: Any, **kwargs: Any) -> Any:
        url = kwargs.get("url")
        if isinstance(url, str) and url.startswith(_SCHEME):
            formula = _formula_of(url)
            painting = painting_of(*formula) if formula else None
            if painting is not None:
                return FormulaPicture(painting)
            if formula is not None and _drawable(*formula):
                # a drawing of another shape: WeasyPrint paints it
                return _Fallback(formula, kwargs.get("url_fetcher"), kwargs.get("context"))
        return original(*args, **kwargs)  # not a formula we can draw: WeasyPrint's alt text

    get_image_from_uri._coursepack_formulas = True  # type: ignore[attr-defined]
    document.original_get_image_from_uri = get_image_from_uri
    return True


class FormulaPicture:
    """A formula as WeasyPrint's replaced content (the interface of its ``SVGImage``)."""

    def __init__(self, painting: Painting) -> None:
        self.painting = painting

    def get_intrinsic_size(self, _resolution: float, _font_size: float) -> tuple:
        """Width, height and ratio, as WeasyPrint's SVGImage gives for this drawing."""
        width, height = self.painting.width, self.painting.height
        return width, height, width / height

    def draw(self, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> None:
        """Paint the formula at this size, in the text's colour."""
        painting = self.painting
        vx, vy, vw, vh = painting.viewbox
        # The viewBox fitted into the box as WeasyPrint does (preserveAspectRatio's default).
        scale = min(concrete_width / vw, concrete_height / vh)
        translate_x = (concrete_width - vw * scale) / 2 - vx * scale
        translate_y = (concrete_height - vh * scale) / 2 - vy * scale
        stream.push_state()
        stream.transform(a=scale, d=scale, e=translate_x, f=translate_y)
        stream.set_color(style["color"])
        x_objects = stream._resources["XObject"]
        for glyph in painting.glyphs:  # in order of first use, as the shapes name them
            if glyph.name not in x_objects:
                x_objects[glyph.name] = _x_object(glyph, stream.compress)
        lines = stream.stream
        for part in painting.parts:
            if isinstance(part, bytes):
                lines.append(part)
            else:  # coloured by the TeX: its own colour, then the text's again after it
                stream.push_state()
                lines.extend(part.place)
                stream.set_color(_colour(part.fill))
                lines.extend(part.paint)
                stream.pop_state()
        stream.pop_state()


def _drawable(tex: str, display: bool) -> bool:
    """Whether the formula can be drawn (``check`` refuses the others in lessons; a layout
    could still name one)."""
    from coursepack import formulas

    return formulas.problem(tex, display) is None


class _Fallback:
    """A formula whose drawing :func:`_paint` does not take, painted by WeasyPrint's own
    SVG painter in the colour of the text around it."""

    def __init__(self, formula: tuple[str, bool], url_fetcher: Any, context: Any) -> None:
        from weasyprint.images import SVGImage

        from coursepack import formulas

        self._svg = formulas.svg(*formula, formulas.TEXT_COLOUR).svg
        self._make = lambda svg: SVGImage(ET.fromstring(svg), None, url_fetcher, context)
        self._pictures: dict[str, Any] = {}

    def _picture(self, colour: str) -> Any:
        from coursepack import formulas

        if colour not in self._pictures:
            self._pictures[colour] = self._make(self._svg.replace(formulas.TEXT_COLOUR, colour))
        return self._pictures[colour]

    def get_intrinsic_size(self, resolution: float, font_size: float) -> tuple:
        """The SVG's own size."""
        return self._picture("black").get_intrinsic_size(resolution, font_size)

    def draw(self, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> None:
        """WeasyPrint paints the SVG, made in the text's colour."""
        red, green, blue = (round(v * 100, 4) for v in style["color"].to("srgb").coordinates)
        colour = f"rgb({red}%, {green}%, {blue}%)"
        self._picture(colour).draw(stream, concrete_width, concrete_height, style)


def _x_object(glyph: Glyph, compress: bool) -> Any:
    import pydyf

    extra = {"Type": "/XObject", "Subtype": "/Form", "BBox": pydyf.Array(glyph.bbox)}
    return pydyf.Stream([glyph.operators], extra, compress=compress)


@functools.lru_cache(maxsize=256)
def _colour(value: str) -> Any:
    from weasyprint.svg.utils import color

    return color(value)


# --------------------------------------------------------------------------- operators


@functools.lru_cache(maxsize=4096)
def painting_of(tex: str, display: bool) -> Painting | None:
    """The operators of a formula (from the disk cache when there), or None when its
    drawing is not of the simple shape this module paints (WeasyPrint paints it then)."""
    from coursepack import formulas

    try:
        svg = formulas.svg(tex, display, formulas.TEXT_COLOUR).svg
    except formulas.FormulaError:
        return None
    path = _cache_file(svg)
    painting = _read(path)
    if painting is None:
        painting = _paint(svg)
        if painting is not None:
            _write(path, painting)
    return painting


def _paint(svg: str) -> Painting | None:
    """Operators for each child of ``svg``, formatted by the pydyf calls WeasyPrint's SVG
    painter makes; None for a drawing of another shape."""
    import pydyf
    from weasyprint.svg.utils import size, transform

    from coursepack import formulas

    try:
        root = ET.fromstring(svg)
        viewbox = tuple(float(v) for v in root.get("viewBox", "").split())
        width, height = size(root.get("width")), size(root.get("height"))
    except (ET.ParseError, ValueError):
        return None
    if root.tag != f"{_SVG_NS}svg" or len(viewbox) != 4 or not all(viewbox[2:] + (width, height)):
        return None
    parts: list[bytes | Coloured] = []
    run: list[bytes] = []  # shapes in the text's colour since the last coloured one
    glyphs: dict[str, Glyph] = {}  # in order of first use
    for node in root:
        tag = node.tag.removeprefix(_SVG_NS)
        fill = node.get("fill", "black")
        if fill == formulas.TEXT_COLOUR:
            fill = _CURRENT
        elif _colour(fill) is None or _colour(fill).alpha != 1:
            return None
        place, paint = pydyf.Stream(), pydyf.Stream()
        if tag == "path" and set(node.attrib) <= {"d", "transform", "fill"}:
            data = node.get("d", "")
            if not svg_paths._SIMPLE.fullmatch(data):
                return None
            values = _matrix(node.get("transform", ""), transform)
            if values is not None:
                place.set_matrix(*values)
            glyph = _glyph(data)
            if glyph is None:
                return None
            paint.draw_x_object(glyph.name)
        elif tag == "use" and 0 in (size(node.get("width", "1")), size(node.get("height", "1"))):
            continue  # a glyph drawn zero wide (a space): nothing to paint
        elif tag == "rect" and set(node.attrib) <= {"x", "y", "width", "height", "fill"}:
            glyph = None
            x, y = size(node.get("x")), size(node.get("y"))
            w, h = size(node.get("width")), size(node.get("height"))
            if w > 0 and h > 0:
                paint.rectangle(x, y, w, h)
                paint.fill()
        else:
            return None
        if glyph is not None and glyph.name not in glyphs:
            glyphs[glyph.name] = glyph
        if fill == _CURRENT:
            run.append(b"\n".join((b"q", *place.stream, *paint.stream, b"Q")))
        else:
            if run:
                parts.append(b"\n".join(run))
                run = []
            parts.append(Coloured(fill, tuple(place.stream), tuple(paint.stream)))
    if run:
        parts.append(b"\n".join(run))
    return Painting(width, height, viewbox, tuple(parts), tuple(glyphs.values()))


# ``matrix(a b c d e f)`` of six plain numbers, as ziamath places every glyph.
_PLAIN_MATRIX = re.compile(r"matrix\((-?[0-9.]+(?: -?[0-9.]+){5})\)")


def _matrix(text: str, transform: Any) -> tuple[float, ...] | None:
    """The ``cm`` operands of a transform attribute, None when it places nothing (absent,
    or flat). WeasyPrint's ``transform`` parses the attribute with regular expressions
    and multiplies by identity matrices twice: half of what turning a new formula into
    operators cost. Six plain numbers give the same floats read directly (a product by 1
    is exact; where an identity's 0 can change the sign of a zero, pydyf writes 0 either
    way); anything else is left to WeasyPrint."""
    if not text:
        return None
    plain = _PLAIN_MATRIX.fullmatch(text)
    if plain is not None:
        try:
            a, b, c, d, e, f = (float(value) for value in plain[1].split(" "))
        except ValueError:
            plain = None
        else:
            return (a, b, c, d, e, f) if a * d - b * c else None
    matrix = transform(text, None, 16, 1)
    return tuple(matrix.values) if matrix.determinant else None


@functools.lru_cache(maxsize=4096)
def _glyph(data: str) -> Glyph | None:
    """An outline's operators (as WeasyPrint writes them, then a fill) and its bounds."""
    import pydyf

    tokens = data.split()
    scratch = pydyf.Stream()
    try:
        svg_paths._draw(scratch, tokens)
        numbers = [float(t) for t in tokens if t not in ("M", "L", "Q", "Z")]
    except (ValueError, IndexError):
        return None
    scratch.fill()
    xs, ys = numbers[0::2] or [0.0], numbers[1::2] or [0.0]
    # Every point of a quadratic curve lies inside its control points' box; one unit more.
    bbox = (min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1)
    name = "g" + hashlib.sha256(data.encode("ascii")).hexdigest()[:16]
    operators = b"\n".join(pydyf._to_bytes(item) for item in scratch.stream)
    return Glyph(name=name, bbox=tuple(round(v, 3) for v in bbox), operators=operators)


# --------------------------------------------------------------------------- disk cache
#
# A painting's file holds its size, its parts and the names and bounds of its glyphs; each
# glyph's operators are a file of their own, named by the glyph (its outline's hash), shared
# by every formula using it: a later build reads the few dozen distinct glyphs of a lesson
# once instead of every glyph's outline again in each formula's file.

# The glyphs this process has read or made, by name.
_GLYPHS: dict[str, Glyph] = {}


def _cache_file(svg: str) -> str | None:
    from coursepack import formulas

    folder = formulas.cache_folder()
    if folder is None:
        return None
    key = "\x00".join((_CACHE_FORMAT, _writer_versions(), svg))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return os.path.join(folder.parent, "paintings", digest[:2], f"{digest}.json")


def _glyph_file(painting_file: str, name: str) -> str:
    """Where a glyph's operators are kept: beside the paintings made by the same format
    and versions (its name says only which outline it is)."""
    folder = os.path.dirname(os.path.dirname(painting_file))
    return os.path.join(folder, f"glyphs-{_versions_digest()}", name[1:3], name)


@functools.lru_cache(maxsize=1)
def _versions_digest() -> str:
    key = "\x00".join((_CACHE_FORMAT, _writer_versions()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _writer_versions() -> str:
    from importlib.metadata import version

    return f"{version('weasyprint')} {version('pydyf')}"


def _lines(text: Any) -> tuple[bytes, ...]:
    """Operators kept as one string, a line each (split in C: a formula has hundreds)."""
    if not isinstance(text, str):
        raise TypeError("not a list of operators")
    return tuple(text.encode("ascii").split(b"\n")) if text else ()


def _read_glyph(path: str, name: str, bbox: Any) -> Glyph | None:
    glyph = _GLYPHS.get(name)
    if glyph is None:
        try:
            with open(_glyph_file(path, name), "rb") as file:
                operators = file.read()
        except OSError:
            return None
        glyph = Glyph(name, tuple(float(v) for v in bbox), operators)
        _GLYPHS[name] = glyph
    return glyph


def _read(path: str | None) -> Painting | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as file:
            data = json.loads(file.read())
        parts: list[bytes | Coloured] = []
        for part in data["parts"]:
            if isinstance(part, str):
                parts.append(part.encode("ascii"))
            else:
                fill, place, paint = part
                parts.append(Coloured(str(fill), _lines(place), _lines(paint)))
        glyphs = []
        for name, bbox in data["glyphs"]:
            glyph = _read_glyph(path, str(name), bbox)
            if glyph is None:
                return None  # its outline's file is gone: paint the formula again
            glyphs.append(glyph)
        viewbox = tuple(float(v) for v in data["viewbox"])
        if len(viewbox) != 4:
            return None
        width, height = float(data["width"]), float(data["height"])
        return Painting(width, height, viewbox, tuple(parts), tuple(glyphs))
    except (OSError, ValueError, KeyError, TypeError, UnicodeError):
        return None  # absent, or not one we wrote: paint it again


def _write(path: str | None, painting: Painting) -> None:
    if path is None:
        return

    def text(lines: tuple[bytes, ...]) -> str:
        return b"\n".join(lines).decode("ascii")

    parts = [
        part.decode("ascii")
        if isinstance(part, bytes)
        else [part.fill, text(part.place), text(part.paint)]
        for part in painting.parts
    ]
    data = {
        "width": painting.width,
        "height": painting.height,
        "viewbox": painting.viewbox,
        "parts": parts,
        "glyphs": [[glyph.name, glyph.bbox] for glyph in painting.glyphs],
    }
    from coursepack.cache import write_whole

    # The outlines first: a painting never names a missing one (a read-only cache folder:
    # painted again next time).
    for glyph in painting.glyphs:
        glyph_path = _glyph_file(path, glyph.name)
        if not os.path.exists(glyph_path) and not write_whole(glyph_path, glyph.operators):
            return
    write_whole(path, json.dumps(data).encode("ascii"))
