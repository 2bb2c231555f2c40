"""Math formulas: LaTeX checked and turned into what each output needs, cached by content.

One formula's TeX source (as the teacher wrote it between ``$…$``) goes through one parse,
LaTeX → MathML (latex2mathml), and everything else is derived from that MathML:

- :func:`problem` — why a formula cannot be read (``None`` when it can), for ``check``;
- :func:`svg` — a vector drawing for WeasyPrint (ziamath, with its bundled STIX Two Math
  font), with its size and baseline in em so an inline formula sits on the text's baseline;
- :func:`png` — the same drawing as a picture for decks drawn with pictures (resvg);
- :func:`spoken` — the alt text ("x squared plus 3 x minus 4 equals 0");
- :func:`linear` — a one-line Unicode form (``x² + 3x − 4 = 0``) for speaker notes;
- :func:`omml` — an Office Math (OMML) ``m:oMath`` element for editable PowerPoint equations;
- :func:`tex_source` — the ``\\(…\\)`` form exports carry (Moodle and Canvas run MathJax).

Everything is made once per formula and process, from one parse, and kept by content in
the user's cache folder with the drawing: the handout, the key and the deck draw a formula
once, a rebuild in ``watch`` draws none again, and the next build (its ``check`` too) reads
drawing and text forms back without importing ziamath or latex2mathml at all. A
lesson's LaTeX is data, never a program: nothing here reads the lesson's files or the
network (no ``\\input``, no macros that expand).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import hashlib
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from xml.sax.saxutils import escape

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
OMML_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_M = f"{{{MATHML_NS}}}"

# Enough for every formula of a large course in one process; each entry is a few kB.
_CACHE = 4096

# Longest formula accepted: a paste of a whole document between two dollars is a mistake.
MAX_TEX = 2000


class FormulaError(ValueError):
    """A formula that cannot be read; the message says why in the teacher's terms."""


# --------------------------------------------------------------------------- parsing


def _environments() -> frozenset[str]:
    from latex2mathml import commands

    names = {name.lstrip("\\").rstrip("*") for name in commands.MATRICES}
    return frozenset(names | {"aligned", "gathered", "cases", "array"})


def _brace_problem(tex: str) -> str | None:
    """Unbalanced ``{ }`` (latex2mathml closes a missing ``}`` silently)."""
    depth = 0
    index = 0
    while index < len(tex):
        char = tex[index]
        if char == "\\":
            index += 2  # \{ and \} are literal braces
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return "a '}' closes no '{'"
        index += 1
    if depth > 0:
        return "a '{' is never closed with '}'" if depth == 1 else f"{depth} '{{' are never closed"
    return None


@lru_cache(maxsize=_CACHE)
def _parse(tex: str, display: bool) -> ET.Element | str:
    """MathML for ``tex``, or the reason it cannot be read (cached either way)."""
    if not tex.strip():
        return "the formula is empty"
    if len(tex) > MAX_TEX:
        return f"the formula is {len(tex)} characters long (at most {MAX_TEX})"
    braces = _brace_problem(tex)
    if braces:
        return braces
    for name in re.findall(r"\\(?:begin|end)\s*\{([^}]*)\}", tex):
        if name.rstrip("*") not in _environments():
            return f"unknown environment '{name}' (known: {', '.join(sorted(_environments()))})"
    from latex2mathml.exceptions import (
        DenominatorNotFoundError,
        DoubleSubscriptsError,
        DoubleSuperscriptsError,
        ExtraLeftOrMissingRightError,
        InvalidAlignmentError,
        InvalidStyleForGenfracError,
        InvalidWidthError,
        MissingEndError,
        MissingSuperScriptOrSubscriptError,
        NoAvailableTokensError,
        NumeratorNotFoundError,
    )

    messages: dict[type[Exception], str] = {
        NoAvailableTokensError: "the formula ends too early (a command is missing its argument)",
        MissingSuperScriptOrSubscriptError: "'^' or '_' has nothing after it",
        DoubleSubscriptsError: "two subscripts in a row (write x_{ab}, not x_a_b)",
        DoubleSuperscriptsError: "two superscripts in a row (write x^{ab}, not x^a^b)",
        ExtraLeftOrMissingRightError: "a \\left has no matching \\right",
        MissingEndError: "a \\begin{…} has no matching \\end{…}",
        DenominatorNotFoundError: "a fraction has no denominator",
        NumeratorNotFoundError: "a fraction has no numerator",
        InvalidAlignmentError: "an array's column alignment is not l, c or r",
        InvalidStyleForGenfracError: "\\genfrac has an invalid style",
        InvalidWidthError: "a width is not a TeX length",
    }
    try:
        # ziamath's own LaTeX front end: latex2mathml plus the fix-ups its drawing expects.
        from ziamath.tex import tex2mml

        mathml = tex2mml(tex, inline=not display)
    except tuple(messages) as exc:
        return messages[type(exc)]
    except Exception as exc:  # latex2mathml raises bare errors on some inputs
        return f"the formula cannot be read ({type(exc).__name__})"
    try:
        root = ET.fromstring(mathml)
    except ET.ParseError:
        return "the formula cannot be read"
    _mark_prefix_signs(root)
    for node in root.iter():
        text = (node.text or "").strip()
        # latex2mathml prints a command it does not know as text: a typo, not a formula.
        if len(text) > 1 and text.startswith("\\") and node.tag != f"{_M}mtext":
            return f"unknown command '{text}'"
    return root


_SIGNS = {"−", "+", "±", "∓", "-"}


def _mark_prefix_signs(root: ET.Element) -> None:
    """A sign that opens a row or follows an operator is unary: ``x = −4``, not ``x = − 4``."""
    for parent in root.iter():
        previous: ET.Element | None = None
        for kid in parent:
            if (
                kid.tag in (f"{_M}mo", f"{_M}mi")  # latex2mathml makes \pm an identifier
                and (kid.text or "").strip() in _SIGNS
                and "form" not in kid.attrib
                and (
                    previous is None
                    or (previous.tag == f"{_M}mo" and previous.get("form") != "postfix")
                )
            ):
                kid.set("form", "prefix")
            previous = kid


def problem(tex: str, display: bool = False) -> str | None:
    """Why ``tex`` cannot be drawn (for ``path:line: error:``), or ``None`` when it can.

    The formula is drawn here, once (the writers reuse the drawing): a formula that reads
    but cannot be drawn is an error of ``check`` too, never a crash of the build.
    """
    try:
        _record(tex, display)  # kept from an earlier build: not even parsed again
    except FormulaError as exc:
        return str(exc)
    except Exception as exc:  # ziamath meeting MathML it cannot lay out
        return f"the formula cannot be drawn ({type(exc).__name__})"
    return None


def mathml(tex: str, display: bool = False) -> ET.Element:
    """The MathML ``<math>`` element of a formula; :class:`FormulaError` when unreadable."""
    parsed = _parse(tex, display)
    if isinstance(parsed, str):
        raise FormulaError(parsed)
    return parsed


def tex_source(tex: str, display: bool = False) -> str:
    """The formula as exports carry it: ``\\(…\\)`` inline, ``\\[…\\]`` display (MathJax)."""
    return f"\\[{tex.strip()}\\]" if display else f"\\({tex.strip()}\\)"


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Drawing:
    """A formula drawn as SVG; sizes in em of the surrounding text."""

    svg: str
    width: float
    height: float
    depth: float  # how far the drawing reaches below the baseline


@dataclass(frozen=True)
class _Record:
    """Everything the outputs take from one formula, made from one parse and kept on disk:
    a later build (and its ``check``) reads it back without importing, parsing or drawing."""

    drawing: Drawing
    spoken: str  # the English alt text
    linear: str
    omml: str


# ziamath draws at this size (in SVG user units per em); the writers scale by em.
_DRAW_SIZE = 20.0


#: Formulas are drawn in this colour, which stands for the colour of the text around them:
#: :func:`svg` puts the colour asked for in its place, the handout's painter the text's.
TEXT_COLOUR = "#010203"


# Drawings are also kept on disk, named by a hash of what makes them, so a new process (the
# next build after an edit, a no-op rebuild's check) reads them back instead of drawing.
# COURSEPACK_CACHE names the folder ("" turns it off); else the user's cache folder.
_CACHE_FORMAT = "3"  # 3: the text forms too


def cache_folder() -> Path | None:
    """Where drawn formulas are kept between processes (None: nowhere)."""
    from coursepack import cache

    return cache.cache_folder("formulas")


@lru_cache(maxsize=1)
def _versions() -> str:
    """The drawing libraries' versions: a new one draws anew."""
    from importlib.metadata import version

    return f"{version('ziamath')} {version('ziafont')} {version('latex2mathml')}"


def _cache_file(tex: str, display: bool) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    key = "\x00".join((_CACHE_FORMAT, _versions(), str(display), tex))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return folder / digest[:2] / f"{digest}.json"


def _read_cached(path: Path | None) -> _Record | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = _Record(
            drawing=Drawing(
                svg=str(data["svg"]),
                width=float(data["width"]),
                height=float(data["height"]),
                depth=float(data["depth"]),
            ),
            spoken=str(data["spoken"]),
            linear=str(data["linear"]),
            omml=str(data["omml"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or not one we wrote: draw it again
    if not (record.drawing.svg.startswith("<svg") and record.omml.startswith("<m:oMath ")):
        return None
    return record


def _write_cached(path: Path | None, record: _Record) -> None:
    if path is None:
        return
    data = dataclasses.asdict(record.drawing)
    data.update(spoken=record.spoken, linear=record.linear, omml=record.omml)
    from coursepack.cache import write_whole

    write_whole(path, json.dumps(data).encode("utf-8"))  # else: drawn again next time


@lru_cache(maxsize=_CACHE)
def _record(tex: str, display: bool) -> _Record:
    """The drawing (in the sentinel colour) and text forms of a readable formula, made once
    per process and kept on disk for the next one (which then never imports ziamath or
    latex2mathml); :class:`FormulaError` when it cannot be read."""
    cache = _cache_file(tex, display)
    cached = _read_cached(cache)
    if cached is not None:
        return cached
    record = _Record(
        drawing=_draw(tex, display),
        spoken=_spoken_english(tex, display),
        linear=_linear_text(tex, display),
        omml=_omml_element(tex, display),
    )
    _write_cached(cache, record)
    return record


def forget() -> None:
    """Drop what this process remembers of formulas (the disk cache stays): the state of a
    new process, for tests."""
    _record.cache_clear()
    svg.cache_clear()
    png.cache_clear()


def _drawing(tex: str, display: bool) -> Drawing:
    """The drawing of a formula, in the sentinel colour."""
    return _record(tex, display).drawing


def _parent_style_fields(style: object) -> dict[str, object]:
    """A style's fields, one level deep: all that ziamath's ``parse_style`` reads from its
    ``asdict(parent_style)`` (the variant it takes from the parent object itself)."""
    return {field.name: getattr(style, field.name) for field in dataclasses.fields(style)}


def _style_params(attributes: dict[str, str], parent: dict[str, object]) -> dict[str, object]:
    """ziamath's ``ChainMap(element.attrib, parent's fields)`` as one dictionary: the same
    lookups (an element's own attribute first), where each of ``parse_style``'s dozen reads
    of a ChainMap is a Python-level ``get`` and ``in`` over both maps (a tenth of drawing)."""
    return {**parent, **attributes}


#: The ziamath whose row layout :func:`_measure_rows_only_to_stretch` was read against: on
#: another version rows are laid out by ziamath's own code.
_ZIAMATH_ROWS = "0.13"

# What ziamath 0.13's ``Moperator`` stretches to the row's height (``stretchy`` from its
# operator table or the element), and the elements that become such operators.
_STRETCH_TAGS = frozenset({"mo", "mi"})


def _may_stretch(element: ET.Element) -> bool:
    """Whether anything in ``element`` could be an operator ziamath stretches to its row
    (a parenthesis, ∑, ∫, a \\left fence…): only those read the row's height."""
    from ziamath import operators

    for node in element.iter():
        if node.tag == "mfenced" or node.get("stretchy", "false") != "false":
            return True
        if node.tag in _STRETCH_TAGS:
            text = (node.text or "").strip()
            if any(
                operators.get_params(text, form).get("stretchy", "false") != "false"
                for form in ("prefix", "infix", "postfix")
            ):
                return True
    return False


def _measure_rows_only_to_stretch(mrow_class: type) -> None:
    """ziamath lays out every child of a row twice, the first time only to measure the
    row's height for the operators that stretch to it, and does so again in every row
    inside (so a formula nested three deep is laid out eight times): most of the time it
    takes to draw one. The height is read by stretchy operators alone (``Moperator``'s
    ``rowymin``, ``nostretch``); a row with none inside skips the measuring pass and gets
    the height of an empty row, which nothing reads (a test compares the drawings)."""
    original = mrow_class._get_height_nostretch
    if getattr(original, "ziamaths", None) is not None:
        return
    from ziamath.nodes.mnode import Mnode
    from ziamath.nodes.nodetools import elementtext

    def _get_height_nostretch(self: object, line: list, **kwargs: object) -> tuple:
        if not any(_may_stretch(child) for child in line):
            return 9999, -9999  # what ziamath gives a row it measures nothing in
        # ziamath's own loop, each child measured on a copy made by deepcopy instead of
        # writing it out as XML and parsing it again (the same element: markdown-it leaves
        # no carriage return that parsing would change, and the copy's tail is dropped as
        # parsing drops it).
        ymax, ymin = -9999, 9999
        kwargs["nostretch"] = True
        for child in line:
            if child.tag == "mo" and elementtext(child) == "":
                continue
            element = copy.deepcopy(child)
            element.tail = None
            node = Mnode.fromelement(element, parent=self, **kwargs)
            ymax = max(ymax, node.bbox.ymax)
            ymin = min(ymin, node.bbox.ymin)
        return ymin, ymax

    _get_height_nostretch.ziamaths = original  # type: ignore[attr-defined]
    mrow_class._get_height_nostretch = _get_height_nostretch


def _sizes_remembered(mnode_class: type) -> None:
    """ziamath's ``size_px`` builds a table of fourteen named spaces, formatting each, at
    every call (a few thousand per hundred formulas) to turn a size such as ``0.2em`` into
    points: a pure function of the size and the font size, remembered here."""
    original = mnode_class.size_px
    if getattr(original, "ziamaths", None) is not None:
        return
    known: dict[tuple[object, object], float] = {}

    def size_px(self: object, size: str, fontsize: float | None = None) -> float:
        if fontsize is None:
            fontsize = self.glyphsize  # type: ignore[attr-defined]
        key = (size, fontsize)
        try:
            return known[key]
        except KeyError:
            pass
        except TypeError:  # not a size ziamath writes: not remembered
            return original(self, size, fontsize)
        value = known[key] = original(self, size, fontsize)
        return value

    size_px.ziamaths = original  # type: ignore[attr-defined]
    mnode_class.size_px = size_px


#: The ziafont whose glyphs :func:`_glyph_symbols_made_once` was read against.
_ZIAFONT_SYMBOLS = "0.11"


def _glyph_symbols_made_once(glyph_class: type) -> None:
    """ziafont writes a glyph's outline as an SVG ``<symbol>`` again for every formula that
    uses it (formatting every point of the path: a sixth of drawing a formula), although a
    glyph is loaded once per font and its outline never changes: make it once per glyph and
    give each formula a copy (the formula's SVG takes it in)."""
    original = glyph_class.svgsymbol
    if getattr(original, "ziafonts", None) is not None:
        return

    def svgsymbol(self: object) -> ET.Element:
        made = self.__dict__.get("_coursepack_symbol")
        if made is None:
            made = self.__dict__["_coursepack_symbol"] = original(self)
        return copy.deepcopy(made)

    svgsymbol.ziafonts = original  # type: ignore[attr-defined]
    glyph_class.svgsymbol = svgsymbol


@lru_cache(maxsize=1)
def _ziamath() -> ModuleType:
    """ziamath, made cheaper where it does work twice (a test compares the drawings with
    ziamath's own): its style inheritance turns the parent's style into a dictionary with a
    deep ``dataclasses.asdict`` for every node, a fifth of drawing a formula, where a
    shallow one gives ``parse_style`` the same values (read from one dictionary, not a
    ``ChainMap``: :func:`_style_params`); rows are measured only when
    something in them stretches (:func:`_measure_rows_only_to_stretch`, ziamath 0.13); a
    glyph's outline is written once (:func:`_glyph_symbols_made_once`, ziafont 0.11); a
    size's points are remembered (:func:`_sizes_remembered`, ziamath 0.13)."""
    from importlib.metadata import version

    import ziamath
    from ziafont.glyph import SimpleGlyph
    from ziamath import styles
    from ziamath.nodes.mnode import Mnode
    from ziamath.nodes.mrow import Mrow

    if getattr(styles, "asdict", None) is dataclasses.asdict:
        styles.asdict = _parent_style_fields
    if getattr(styles, "ChainMap", None) is collections.ChainMap:
        styles.ChainMap = _style_params
    if version("ziamath") == _ZIAMATH_ROWS and hasattr(Mrow, "_get_height_nostretch"):
        _measure_rows_only_to_stretch(Mrow)
    if version("ziamath") == _ZIAMATH_ROWS and hasattr(Mnode, "size_px"):
        _sizes_remembered(Mnode)
    if version("ziafont") == _ZIAFONT_SYMBOLS and hasattr(SimpleGlyph, "svgsymbol"):
        _glyph_symbols_made_once(SimpleGlyph)
    _log_without_configuring()
    return ziamath


def _log_without_configuring() -> None:
    """ziafont's glyph substitution and positioning log through the ``logging`` module's
    own functions (``logging.debug(...)``), and the first such call configures the root
    logger to print to the terminal (``basicConfig``): from then on every library's
    warnings printed during the build ("WARNING:weasyprint:Ignored ..."), but only in the
    builds that drew a new formula. Those modules log through loggers of their own names
    instead, which configure nothing (a Logger has the same ``debug``/``warning``)."""
    import logging
    import sys

    for name in ("ziafont.gsub", "ziafont.gpos"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "logging", None) is logging:
            module.logging = logging.getLogger(name)  # type: ignore[attr-defined]


def _draw(tex: str, display: bool) -> Drawing:
    ziamath = _ziamath()

    element = copy.deepcopy(mathml(tex, display))  # ziamath edits the tree it is given
    element.set("mathcolor", TEXT_COLOUR)
    math = ziamath.Math(element, size=_DRAW_SIZE, margin=0)
    drawing = _without_use(math.svgxml())
    width, height = math.getsize()
    depth = -math.getyofst()
    return Drawing(
        svg=drawing,
        width=round(width / _DRAW_SIZE, 4),
        height=round(height / _DRAW_SIZE, 4),
        depth=round(depth / _DRAW_SIZE, 4),
    )


_SVG_NS = "http://www.w3.org/2000/svg"


def _without_use(root: ET.Element) -> str:
    """ziamath's SVG with each glyph's ``<use>`` of a ``<symbol>`` replaced by the glyph's
    path, placed by a transform: the same picture, and WeasyPrint no longer copies and
    re-cascades a ``<use>`` tree per glyph (a third of a formula's printing time).

    ``root`` is ziamath's tree as it makes it (``svgxml``: tags without a namespace, the
    ``xmlns`` an attribute set first), written out once: the same text as writing it out,
    parsing that and writing the result again (a test compares), at half the work. A tree
    read from SVG text (namespaced tags) gives the same text too."""
    ET.register_namespace("", _SVG_NS)
    ns = root.tag[: -len("svg")]  # "" as ziamath makes it, "{…svg}" when parsed
    symbols = {node.get("id"): node for node in root.findall(f"{ns}symbol")}
    for node in list(root):
        if node.tag == f"{ns}symbol":
            root.remove(node)
            continue
        if node.tag != f"{ns}use":
            continue
        symbol = symbols.get((node.get("href") or "").lstrip("#"))
        paths = symbol.findall(f"{ns}path") if symbol is not None else []
        if symbol is None or len(paths) != 1 or symbol.get("viewBox") is None:
            continue  # not the shape ziamath writes: leave it as it is
        vx, vy, vw, vh = (float(v) for v in (symbol.get("viewBox") or "").split())
        x, y = float(node.get("x", 0)), float(node.get("y", 0))
        width, height = float(node.get("width", vw)), float(node.get("height", vh))
        scale = min(width / vw, height / vh)  # preserveAspectRatio's default: xMidYMid meet
        dx = x + (width - vw * scale) / 2 - vx * scale
        dy = y + (height - vh * scale) / 2 - vy * scale
        glyph = ET.Element(f"{ns}path")
        glyph.set("d", paths[0].get("d", ""))
        glyph.set("transform", f"matrix({scale:.6g} 0 0 {scale:.6g} {dx:.6g} {dy:.6g})")
        if node.get("fill"):
            glyph.set("fill", node.get("fill", ""))
        position = list(root).index(node)
        root.remove(node)
        root.insert(position, glyph)
    return ET.tostring(root, encoding="unicode")


@lru_cache(maxsize=_CACHE)
def svg(tex: str, display: bool = False, colour: str = "#000000") -> Drawing:
    """The formula as a standalone SVG in ``colour``, with its box measured in em (cached:
    a deck measures each formula's height many times while it fits text)."""
    drawing = _drawing(tex, display)
    return dataclasses.replace(drawing, svg=drawing.svg.replace(TEXT_COLOUR, colour))


@lru_cache(maxsize=_CACHE)
def png(tex: str, display: bool = False, colour: str = "#000000", px_per_em: int = 96) -> bytes:
    """The formula as a PNG picture (transparent background), ``px_per_em`` pixels per em."""
    import resvg_py

    drawing = svg(tex, display, colour)
    zoom = max(1, round(px_per_em / _DRAW_SIZE))
    return bytes(resvg_py.svg_to_bytes(svg_string=drawing.svg, zoom=zoom))


# --------------------------------------------------------------------------- text forms

_OPERATOR_WORDS = {
    "+": "plus",
    "−": "minus",
    "-": "minus",
    "±": "plus or minus",
    "∓": "minus or plus",
    "×": "times",
    "·": "times",
    "⋅": "times",
    "∗": "times",
    "÷": "divided by",
    "/": "divided by",
    "=": "equals",
    "≠": "is not equal to",
    "≈": "is approximately equal to",
    "≡": "is identical to",
    "∝": "is proportional to",
    "<": "is less than",
    ">": "is greater than",
    "≤": "is less than or equal to",
    "≥": "is greater than or equal to",
    "→": "goes to",
    "⟶": "goes to",
    "⇌": "is in equilibrium with",
    "⇒": "implies",
    "⟹": "implies",
    "⇔": "if and only if",
    "∈": "is in",
    "∉": "is not in",
    "⊂": "is a subset of",
    "⊆": "is a subset of",
    "∪": "union",
    "∩": "intersection",
    "∞": "infinity",
    "∂": "partial",
    "∇": "nabla",
    "…": "dot dot dot",
    "⋯": "dot dot dot",
    "′": "prime",
    "″": "double prime",
    "°": "degrees",
    "%": "percent",
    "!": "factorial",
    "|": "absolute value bar",
    "(": "open paren",
    ")": "close paren",
    "[": "open bracket",
    "]": "close bracket",
    "{": "open brace",
    "}": "close brace",
    ",": "comma",
    "∑": "the sum",
    "∏": "the product",
    "∫": "the integral",
    "∮": "the contour integral",
    "lim": "the limit",
}
_ACCENTS = {
    "→": "vector",
    "¯": "bar",
    "‾": "bar",
    "―": "bar",
    "^": "hat",
    "\u0302": "hat",
    "ˆ": "hat",
    "~": "tilde",
    "\u0303": "tilde",
    "˙": "dot",
}
_SUPERSCRIPTS = str.maketrans("0123456789+−-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPTS = str.maketrans("0123456789+−-=()aeioxnmt", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑᵢₒₓₙₘₜ")


def _local(node: ET.Element) -> str:
    return node.tag.rsplit("}", 1)[-1]


def _symbol_words(text: str) -> str:
    """A token's words: operators by name, Greek letters by their names."""
    if text in _OPERATOR_WORDS:
        return _OPERATOR_WORDS[text]
    if len(text) == 1 and not text.isascii():
        name = unicodedata.name(text, "")
        if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
            letter = name.rsplit(" ", 1)[-1].lower()
            return f"capital {letter}" if "CAPITAL" in name else letter
        if name.startswith("DOUBLE-STRUCK CAPITAL "):
            return name.rsplit(" ", 1)[-1]
    return text


def _spoken(node: ET.Element) -> str:
    """English words for a MathML node (short forms for the common cases)."""
    tag = _local(node)
    kids = list(node)
    words = [_spoken(kid) for kid in kids]
    if tag in ("mi", "mn", "mtext", "ms"):
        text = (node.text or "").strip()
        return "" if text == "&" else _symbol_words(text)
    if tag == "mo":
        return _symbol_words((node.text or "").strip())
    if tag in ("msup", "msub", "msubsup") and kids:
        base = words[0]
        if tag == "msup":
            power = (kids[1].text or "").strip() if len(kids) > 1 else ""
            if _local(kids[1]) == "mn" and power == "2":
                return f"{base} squared"
            if _local(kids[1]) == "mn" and power == "3":
                return f"{base} cubed"
            if _local(kids[0]) == "mo" and base.startswith("the "):
                return f"{base} to {words[1]} of"
            return f"{base} to the power {words[1]}"
        if tag == "msub":
            if _local(kids[0]) == "mo" and base.startswith("the "):
                return f"{base} as {words[1]}" if base == "the limit" else f"{base} over {words[1]}"
            return f"{base} sub {words[1]}"
        if _local(kids[0]) == "mo" and base.startswith("the "):
            return f"{base} from {words[1]} to {words[2]} of"
        return f"{base} sub {words[1]} to the power {words[2]}"
    if tag in ("munderover", "munder", "mover") and kids:
        base = words[0]
        if tag == "mover" and len(kids) > 1 and _local(kids[1]) == "mo":
            accent = _ACCENTS.get((kids[1].text or "").strip())
            if accent:
                return f"{base} {accent}" if accent != "vector" else f"vector {base}"
        if tag == "munderover":
            return f"{base} from {words[1]} to {words[2]} of"
        if tag == "munder":
            return f"{base} as {words[1]}" if base == "the limit" else f"{base} over {words[1]}"
        return f"{base} with {words[1]} above"
    if tag == "mfrac" and len(kids) == 2:
        if all(_local(kid) == "mn" for kid in kids):
            return f"{words[0]} over {words[1]}"
        return f"the fraction {words[0]} over {words[1]}, end fraction"
    if tag == "msqrt":
        return f"the square root of {' '.join(words)}, end root"
    if tag == "mroot" and len(kids) == 2:
        return f"the root of order {words[1]} of {words[0]}, end root"
    if tag == "mtable":
        rows = ["; ".join(_spoken(cell) for cell in row) for row in kids]
        return f"a table of {len(rows)} rows: " + ", next row: ".join(rows) + ", end table"
    if tag == "mspace":
        return ""
    return " ".join(word for word in words if word)


def _spoken_english(tex: str, display: bool) -> str:
    words = _spoken(mathml(tex, display))
    return re.sub(r"\s+", " ", words.replace(" ,", ",")).strip() or tex.strip()


def spoken(tex: str, display: bool = False, lang: str = "en") -> str:
    """The alt text: English words for English lessons, the LaTeX source for others."""
    if not lang.lower().startswith("en"):
        return tex.strip()
    return _record(tex, display).spoken


def _linear(node: ET.Element) -> str:
    tag = _local(node)
    kids = list(node)
    parts = [_linear(kid) for kid in kids]

    def group(index: int) -> str:
        text = parts[index]
        atomic = _local(kids[index]) in ("mi", "mn", "mo", "mtext") or len(text) == 1
        return text if atomic else f"({text})"

    if tag in ("mi", "mn", "mtext", "ms"):
        text = node.text or ""
        if text.strip() == "&":
            return ""
        if text in ("±", "∓"):  # latex2mathml makes \pm an identifier
            return text if node.get("form") == "prefix" else f" {text} "
        return f"{text} " if tag == "mi" and len(text) > 1 else text  # sin x, not sinx
    if tag == "mo":
        text = (node.text or "").strip()
        if node.get("form") == "prefix":  # a sign: −4, not − 4
            return text
        return f" {text} " if text in "+−=±×÷<>≤≥≠≈→⇌⟶" and text else text
    if tag == "mspace":
        return " " if node.get("linebreak") is None else "; "
    if tag in ("msup", "msub", "msubsup") and kids:
        out = parts[0].rstrip()  # log₁₀, not log ₁₀ (the space comes back after)
        trail = parts[0][len(out) :]
        scripts = [("sub" if tag != "msup" else "sup", 1)]
        if tag == "msubsup":
            scripts.append(("sup", 2))
        for kind, index in scripts:
            if index >= len(parts):
                continue
            raw = parts[index].replace(" ", "")
            table = _SUPERSCRIPTS if kind == "sup" else _SUBSCRIPTS
            translated = raw.translate(table)
            if all(not char.isascii() for char in translated):
                out += translated
            else:
                out += ("^" if kind == "sup" else "_") + group(index)
        return out + trail
    if tag == "mfrac" and len(kids) == 2:
        return f"{group(0)}/{group(1)}"
    if tag == "msqrt":
        inner = "".join(parts)
        return f"√{inner}" if len(inner) == 1 else f"√({inner})"
    if tag == "mroot" and len(kids) == 2:
        return f"{parts[1]}√{group(0)}"
    if tag == "mover" and len(kids) == 2 and _local(kids[1]) == "mo":
        mark = (kids[1].text or "").strip()
        combining = {"→": "\u20d7", "¯": "\u0304", "‾": "\u0305", "―": "\u0305"}
        combining |= {"^": "\u0302", "ˆ": "\u0302", "\u0302": "\u0302", "~": "\u0303"}
        if mark in combining and len(parts[0]) == 1:
            return parts[0] + combining[mark]
    if tag in ("mover", "munder", "munderover") and kids:
        marks = (f"_{group(i)}" if i == 1 else f"^{group(i)}" for i in range(1, len(parts)))
        return parts[0] + "".join(marks)
    if tag == "mtable":
        return "; ".join(", ".join(_linear(cell) for cell in row) for row in kids)
    return "".join(parts)


def linear(tex: str, display: bool = False) -> str:
    """The formula on one line of Unicode text: ``x² + 3x − 4 = 0``."""
    return _record(tex, display).linear


def _linear_text(tex: str, display: bool) -> str:
    text = re.sub(r" {2,}", " ", _linear(mathml(tex, display))).strip()
    # A sign that opens the formula or a bracket is unary: no space after it.
    return re.sub(r"(^|[(\[{]) ?([−+±]) ", r"\1\2", text).replace(" )", ")")


# --------------------------------------------------------------------------- OMML


def _omml_run(text: str, plain: bool) -> str:
    style = '<m:rPr><m:sty m:val="p"/></m:rPr>' if plain else ""
    return f"<m:r>{style}<m:t>{escape(text)}</m:t></m:r>"


def _omml_arg(node: ET.Element | None) -> str:
    return _omml(node) if node is not None else ""


_NARY = set("∑∏∐∫∬∭∮⋃⋂⋁⋀")


def _omml(node: ET.Element) -> str:
    """OMML for one MathML node (the subset latex2mathml emits)."""
    tag = _local(node)
    kids = list(node)

    def arg(index: int) -> str:
        return _omml_arg(kids[index]) if index < len(kids) else ""

    if tag == "mi":
        text = node.text or ""
        if text.strip() == "&":
            return ""
        # One italic letter is a variable; a longer name (sin, log) is upright.
        plain = len(text) > 1 or node.get("mathvariant") == "normal" or not text.isalpha()
        return _omml_run(text, plain)
    if tag in ("mn", "mo", "ms"):
        return _omml_run(node.text or "", True) if (node.text or "") else ""
    if tag == "mtext":
        return _omml_run(node.text or "", True) if (node.text or "") else ""
    if tag == "mspace":
        return _omml_run("\u2009", True) if node.get("linebreak") is None else ""
    nary = _nary_parts(node)
    if nary is not None:  # a big operator with nothing after it in its row
        return _nary(*nary, "")
    if tag == "msup" and len(kids) == 2:
        return f"<m:sSup><m:e>{arg(0)}</m:e><m:sup>{arg(1)}</m:sup></m:sSup>"
    if tag == "msub" and len(kids) == 2:
        if _local(kids[0]) == "mo":  # lim_{x→0}
            return f"<m:limLow><m:e>{arg(0)}</m:e><m:lim>{arg(1)}</m:lim></m:limLow>"
        return f"<m:sSub><m:e>{arg(0)}</m:e><m:sub>{arg(1)}</m:sub></m:sSub>"
    if tag == "msubsup" and len(kids) == 3:
        return (
            f"<m:sSubSup><m:e>{arg(0)}</m:e><m:sub>{arg(1)}</m:sub>"
            f"<m:sup>{arg(2)}</m:sup></m:sSubSup>"
        )
    if tag == "munderover" and len(kids) == 3:
        inner = f"<m:limLow><m:e>{arg(0)}</m:e><m:lim>{arg(1)}</m:lim></m:limLow>"
        return f"<m:limUpp><m:e>{inner}</m:e><m:lim>{arg(2)}</m:lim></m:limUpp>"
    if tag == "munder" and len(kids) == 2:
        return f"<m:limLow><m:e>{arg(0)}</m:e><m:lim>{arg(1)}</m:lim></m:limLow>"
    if tag == "mover" and len(kids) == 2:
        mark = (kids[1].text or "").strip() if _local(kids[1]) == "mo" else ""
        if mark and len(mark) == 1:
            if mark in "¯‾―":
                bar = '<m:barPr><m:pos m:val="top"/></m:barPr>'
                return f"<m:bar>{bar}<m:e>{arg(0)}</m:e></m:bar>"
            accent = {"→": "\u20d7", "^": "\u0302", "ˆ": "\u0302", "~": "\u0303", "˙": "\u0307"}
            accent = accent.get(mark, mark)
            return (
                f'<m:acc><m:accPr><m:chr m:val="{escape(accent)}"/></m:accPr>'
                f"<m:e>{arg(0)}</m:e></m:acc>"
            )
        return f"<m:limUpp><m:e>{arg(0)}</m:e><m:lim>{arg(1)}</m:lim></m:limUpp>"
    if tag == "mfrac" and len(kids) == 2:
        return f"<m:f><m:num>{arg(0)}</m:num><m:den>{arg(1)}</m:den></m:f>"
    if tag == "msqrt":
        inner = "".join(_omml(kid) for kid in kids)
        return f'<m:rad><m:radPr><m:degHide m:val="1"/></m:radPr><m:deg/><m:e>{inner}</m:e></m:rad>'
    if tag == "mroot" and len(kids) == 2:
        return f"<m:rad><m:deg>{arg(1)}</m:deg><m:e>{arg(0)}</m:e></m:rad>"
    if tag == "mtable":
        rows = []
        for row in kids:
            cells = "".join(f"<m:e>{''.join(_omml(k) for k in cell)}</m:e>" for cell in row)
            rows.append(f"<m:mr>{cells}</m:mr>")
        return f"<m:m>{''.join(rows)}</m:m>"
    if tag == "mrow" and kids and _is_fenced(kids):
        open_, close = (kids[0].text or ""), (kids[-1].text or "")
        inner = _row(kids[1:-1])
        return (
            f'<m:d><m:dPr><m:begChr m:val="{escape(open_)}"/><m:endChr m:val="{escape(close)}"/>'
            f"</m:dPr><m:e>{inner}</m:e></m:d>"
        )
    # mrow, mstyle, mpadded, math and anything else: their children in a row.
    return _row(kids)


_RELATIONS = set("=<>≤≥≠≈≡∝→⇌⇒⟹⇔")


def _row(kids: list[ET.Element]) -> str:
    """Children in a row; a big operator takes what follows it, up to a relation, as operand."""
    out: list[str] = []
    index = 0
    while index < len(kids):
        nary = _nary_parts(kids[index])
        if nary is None:
            out.append(_omml(kids[index]))
            index += 1
            continue
        end = index + 1
        while end < len(kids) and not (
            _local(kids[end]) == "mo" and (kids[end].text or "").strip() in _RELATIONS
        ):
            end += 1
        out.append(_nary(*nary, _row(kids[index + 1 : end])))
        index = end
    return "".join(out)


def _nary_parts(
    node: ET.Element,
) -> tuple[ET.Element, ET.Element | None, ET.Element | None, bool] | None:
    """(operator, lower limit, upper limit, limits under/over) for ∑, ∫…; else ``None``."""
    tag = _local(node)
    kids = list(node)
    if tag == "mo" and (node.text or "").strip() in _NARY:
        return node, None, None, False
    if not kids or _local(kids[0]) != "mo" or (kids[0].text or "").strip() not in _NARY:
        return None
    over = tag in ("munder", "mover", "munderover")
    if tag in ("msub", "munder") and len(kids) == 2:
        return kids[0], kids[1], None, over
    if tag in ("msup", "mover") and len(kids) == 2:
        return kids[0], None, kids[1], over
    if tag in ("msubsup", "munderover") and len(kids) == 3:
        return kids[0], kids[1], kids[2], over
    return None


def _is_fenced(kids: list[ET.Element]) -> bool:
    """``\\left( … \\right)``: a stretchy prefix and postfix fence around the content."""
    first, last = kids[0], kids[-1]
    return (
        len(kids) >= 2
        and _local(first) == "mo"
        and _local(last) == "mo"
        and "true" in (first.get("fence"), first.get("stretchy"))
        and "true" in (last.get("fence"), last.get("stretchy"))
    )


def _nary(
    operator: ET.Element,
    lower: ET.Element | None,
    upper: ET.Element | None,
    under_over: bool,
    body: str,
) -> str:
    """A big operator (∑, ∫) with its limits; the operand follows it as ordinary content."""
    char = escape((operator.text or "").strip())
    place = "undOvr" if under_over or char in "∑∏∐⋃⋂" else "subSup"
    props = [f'<m:chr m:val="{char}"/>', f'<m:limLoc m:val="{place}"/>']
    if lower is None:
        props.append('<m:subHide m:val="1"/>')
    if upper is None:
        props.append('<m:supHide m:val="1"/>')
    return (
        f"<m:nary><m:naryPr>{''.join(props)}</m:naryPr>"
        f"<m:sub>{_omml_arg(lower)}</m:sub><m:sup>{_omml_arg(upper)}</m:sup>"
        f"<m:e>{body}</m:e></m:nary>"
    )


def omml(tex: str, display: bool = False) -> str:
    """The formula as one ``<m:oMath>`` element (OMML namespace declared on it)."""
    return _record(tex, display).omml


def _omml_element(tex: str, display: bool) -> str:
    body = _omml(mathml(tex, display))
    return f'<m:oMath xmlns:m="{OMML_NS}">{body}</m:oMath>'
