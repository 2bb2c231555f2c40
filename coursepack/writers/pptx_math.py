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

from xml.sax.saxutils import escape

from lxml import etree

from coursepack import formulas

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
A14_NS = "http://schemas.microsoft.com/office/drawing/2010/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
M_NS = formulas.OMML_NS

#: The font PowerPoint uses for equations (every Office install has it).
MATH_FONT = "Cambria Math"


def _run_properties(size_pt: float, lang: str, colour: str) -> str:
    fill = f'<a:solidFill><a:srgbClr val="{colour.lstrip("#").upper()}"/></a:solidFill>'
    return (
        f'<a:rPr lang="{escape(lang)}" sz="{round(size_pt * 100)}" dirty="0">{fill}'
        f'<a:latin typeface="{MATH_FONT}"/><a:cs typeface="{MATH_FONT}"/></a:rPr>'
    )


def equation_element(
    tex: str,
    display: bool,
    *,
    size_pt: float,
    lang: str,
    colour: str,
) -> etree._Element:
    """An ``mc:AlternateContent`` holding the formula, to append to an ``a:p``.

    A display formula is an ``m:oMathPara`` (PowerPoint centres it on its own line).
    """
    body = formulas.omml(tex, display)
    if display:
        inner = body.replace(f'<m:oMath xmlns:m="{M_NS}">', "<m:oMath>", 1)
        body = f'<m:oMathPara xmlns:m="{M_NS}">{inner}</m:oMathPara>'
    fallback = (
        f"<a:r>{_run_properties(size_pt, lang, colour).replace(MATH_FONT, 'Arial')}"
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
