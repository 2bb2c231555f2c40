"""Formulas on slides: PowerPoint equations (Office Math in a text run), as PowerPoint writes them.

PowerPoint keeps an equation inside a paragraph as ``a14:m`` (a drawing extension) wrapped in
``mc:AlternateContent``: an application that knows ``a14`` reads the Office Math, any other
reads the fallback, here the formula as one-line text. Office Math runs may not carry a
DrawingML ``a:rPr`` (the schema refuses it, although PowerPoint writes one), so an equation
takes its size from the text frame's list style, which the deck writer sets to the frame's
size (:func:`set_frame_size`).

Checked against the Office Open XML schema in the tests (openxml-audit).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from coursepack import formulas

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
A14_NS = "http://schemas.microsoft.com/office/drawing/2010/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
M_NS = formulas.OMML_NS

#: The font PowerPoint uses for equations (every Office install has it).
MATH_FONT = "Cambria Math"


def _run_properties(size_pt: float, lang: str) -> str:
    # No colour: the text's, inherited from the frame as the words around it inherit it.
    return (
        f'<a:rPr lang="{escape(lang)}" sz="{round(size_pt * 100)}" dirty="0">'
        f'<a:latin typeface="{MATH_FONT}"/><a:cs typeface="{MATH_FONT}"/></a:rPr>'
    )


def equation_element(tex: str, display: bool, *, size_pt: float, lang: str) -> etree._Element:
    """An ``mc:AlternateContent`` holding the formula, to append to an ``a:p``.

    A display formula is an ``m:oMathPara`` (PowerPoint centres it on its own line). Like
    the text runs around it, it names no colour: it takes the frame's text colour.
    """
    body = formulas.omml(tex, display)
    if display:
        inner = body.replace(f'<m:oMath xmlns:m="{M_NS}">', "<m:oMath>", 1)
        body = f'<m:oMathPara xmlns:m="{M_NS}">{inner}</m:oMathPara>'
    fallback = (
        f"<a:r>{_run_properties(size_pt, lang).replace(MATH_FONT, 'Arial')}"
        f"<a:t>{escape(formulas.linear(tex, display))}</a:t></a:r>"
    )
    xml = (
        f'<mc:AlternateContent xmlns:mc="{MC_NS}" xmlns:a="{A_NS}">'
        f'<mc:Choice xmlns:a14="{A14_NS}" Requires="a14"><a14:m>{body}</a14:m></mc:Choice>'
        f"<mc:Fallback>{fallback}</mc:Fallback></mc:AlternateContent>"
    )
    return etree.fromstring(xml)


def set_frame_size(text_frame, sizes_pt: list[float]) -> None:
    """Give a text frame's paragraph levels 1-3 a default size, for the equations in it."""
    from pptx.oxml.ns import qn

    body = text_frame._txBody
    list_style = body.find(qn("a:lstStyle"))
    if list_style is None:
        list_style = etree.SubElement(body, qn("a:lstStyle"))
        body.remove(list_style)
        body.insert(1, list_style)  # after a:bodyPr
    for element in list(list_style):
        list_style.remove(element)
    for level, size in enumerate(sizes_pt[:3], 1):
        props = etree.SubElement(list_style, qn(f"a:lvl{level}pPr"))
        etree.SubElement(props, qn("a:defRPr"), sz=str(round(size * 100)))


# --------------------------------------------------------------------------- text colour

_P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
_TITLES = {"title", "ctrTitle"}
_BODIES = {"body", "obj", "subTitle", None}


def text_colour(shape: Any, slide: Any) -> str | None:
    """The colour (``#RRGGBB``) PowerPoint gives the first-level text of ``shape`` on
    ``slide`` when the text names none, as the template sets it: the shape's own list
    style, then (a placeholder) its layout's and master's placeholder, then the master's
    title, body or other text style; scheme colours through the colour map and the theme.
    None when no colour is found."""
    from pptx.oxml.ns import qn

    layout = slide.slide_layout
    master = layout.slide_master
    chain = [shape._element]
    kind: str | None = "other"
    if shape.is_placeholder:
        kind = shape._element.ph.get("type")
        base = shape._base_placeholder if hasattr(shape, "_base_placeholder") else None
        while base is not None:
            chain.append(base._element)
            base = getattr(base, "_base_placeholder", None)
    for element in chain:
        body = element.find(f"{{{_P_NS}}}txBody")
        found = _level_one_fill(body.find(qn("a:lstStyle")) if body is not None else None)
        if found is not None:
            return _resolve(found, layout, master)
    styles = master._element.find(f"{{{_P_NS}}}txStyles")
    name = "titleStyle" if kind in _TITLES else "bodyStyle" if kind in _BODIES else "otherStyle"
    if styles is not None:
        found = _level_one_fill(styles.find(f"{{{_P_NS}}}{name}"))
        if found is not None:
            return _resolve(found, layout, master)
    return _resolve(etree.fromstring(f'<a:schemeClr xmlns:a="{A_NS}" val="tx1"/>'), layout, master)


def _level_one_fill(styles: Any) -> Any:
    """The colour element of ``lvl1pPr/defRPr/solidFill`` in a list of level styles."""
    if styles is None:
        return None
    for colour in styles.iterfind(f"{{{A_NS}}}lvl1pPr/{{{A_NS}}}defRPr/{{{A_NS}}}solidFill/*"):
        return colour
    return None


def _resolve(colour: Any, layout: Any, master: Any) -> str | None:
    """``#RRGGBB`` of a DrawingML colour element (srgbClr, sysClr, schemeClr), with its
    luminance modifiers."""
    tag = etree.QName(colour).localname
    if tag == "srgbClr":
        value = colour.get("val")
    elif tag == "sysClr":
        value = colour.get("lastClr")
    elif tag == "schemeClr":
        name = colour.get("val", "")
        mapping = layout._element.find(f"{{{_P_NS}}}clrMapOvr/{{{A_NS}}}overrideClrMapping")
        if mapping is None:
            mapping = master._element.find(f"{{{_P_NS}}}clrMap")
        name = mapping.get(name, name) if mapping is not None else name
        scheme = _theme_colours(master).get(name)
        if scheme is None:
            return None
        base = _resolve(scheme, layout, master)
        return _modified(base, colour) if base else None
    else:
        return None
    return _modified(f"#{value.upper()}", colour) if value and len(value) == 6 else None


def _theme_colours(master: Any) -> dict[str, Any]:
    """The master's theme colours by name (dk1, lt1, accent1…)."""
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    theme = etree.fromstring(master.part.part_related_by(RT.THEME).blob)
    scheme = theme.find(f"{{{A_NS}}}themeElements/{{{A_NS}}}clrScheme")
    if scheme is None:
        return {}
    return {etree.QName(entry).localname: entry[0] for entry in scheme if len(entry)}


def _modified(value: str, colour: Any) -> str:
    """``value`` with the ``lumMod``/``lumOff`` of ``colour`` (HSL lightness, as Office does)."""
    import colorsys

    mod = colour.find(f"{{{A_NS}}}lumMod")
    off = colour.find(f"{{{A_NS}}}lumOff")
    if mod is None and off is None:
        return value
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, light, saturation = colorsys.rgb_to_hls(red, green, blue)
    light *= int(mod.get("val", "100000")) / 100000 if mod is not None else 1
    light += int(off.get("val", "0")) / 100000 if off is not None else 0
    channels = colorsys.hls_to_rgb(hue, min(1.0, max(0.0, light)), saturation)
    return "#" + "".join(f"{round(channel * 255):02X}" for channel in channels)
