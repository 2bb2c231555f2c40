"""The few raw OOXML tweaks python-pptx has no API for, kept in one place.

- Removing a template's own slides with their relationships (and so their parts), custom shows
  and slide sections, so PowerPoint never asks to repair the file.
- Alt text (``descr`` on ``p:cNvPr``), no-autofit text frames, paragraph spacing and indents,
  bullets, footer and slide-number placeholders cloned from a layout.
- A byte-stable zip: fixed timestamps and a stable member order.

Every function takes python-pptx objects or bytes; python-pptx is imported lazily.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Iterable, Sequence

CT_TEMPLATE = "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"
CT_PRESENTATION = (
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)
NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p14": "http://schemas.microsoft.com/office/powerpoint/2010/main",
}
# A fixed field id: PowerPoint itself reuses one GUID for a layout's slide-number field.
SLIDENUM_FIELD_ID = "{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}"
# The zip timestamp of every member (the earliest a zip can hold).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def qn(tag: str) -> str:
    """``a:p`` → ``{namespace}p``."""
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


# --------------------------------------------------------------------------- packages


def stable_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and a stable order (``[Content_Types].xml`` first)."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        return _stable_zip({name: src.read(name) for name in src.namelist()})


def _stable_zip(members: dict[str, bytes]) -> bytes:
    """A zip of ``members`` (name → bytes) with fixed timestamps and a stable order."""
    names = list(members)
    first = [n for n in names if n == "[Content_Types].xml"]
    rest = sorted((n for n in names if n != "[Content_Types].xml"), key=_member_key)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in first + rest:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            dst.writestr(info, members[name], compresslevel=6)
    return out.getvalue()


def save_stable(prs) -> bytes:
    """``prs`` saved as :func:`stable_zip` would rewrite its ``prs.save()``, the same bytes,
    without zipping (and compressing) every part twice: the members python-pptx's package
    writer would write, straight into the stable zip."""
    from pptx.opc.oxml import serialize_part_xml
    from pptx.opc.serialized import _ContentTypesItem

    package = prs.part.package
    parts = tuple(package.iter_parts())
    members = {
        "[Content_Types].xml": serialize_part_xml(_ContentTypesItem.xml_for(parts)),
        "_rels/.rels": package._rels.xml,
    }
    for part in parts:
        members[part.partname.membername] = part.blob
        if part._rels:
            members[part.partname.rels_uri.membername] = part.rels.xml
    return _stable_zip(members)


def fast_partnames(prs) -> None:
    """Give ``prs``'s package a ``next_partname`` that walks its parts once per kind of name.

    python-pptx walks the whole relationship graph for every new slide and notes slide (the
    deck's cost grew with the square of its slides). This one gives the same names: it
    remembers the names it has handed out, each of which becomes a part of the package. Call
    it after the template's slides are removed (no part is removed after it).
    """
    from pptx.opc.packuri import PackURI

    package = prs.part.package
    known: dict[str, set[str]] = {}

    def next_partname(tmpl: str) -> PackURI:
        prefix = tmpl[: (tmpl % 42).find("42")]
        names = known.get(prefix)
        if names is None:
            names = {p.partname for p in package.iter_parts() if p.partname.startswith(prefix)}
            known[prefix] = names
        for n in range(len(names) + 1, 0, -1):  # python-pptx's search, downward
            candidate = tmpl % n
            if candidate not in names:
                names.add(candidate)
                return PackURI(candidate)
        raise AssertionError("no free part name")  # pragma: no cover

    package.next_partname = next_partname


def _member_key(name: str) -> tuple:
    # natural order: slide2.xml before slide10.xml
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def set_template_content_type(data: bytes) -> bytes:
    """Declare a presentation's main part a template (the reverse of what
    :func:`coursepack.templates.read_template` does)."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                body = src.read(info)
                if info.filename == "[Content_Types].xml":
                    body = body.replace(CT_PRESENTATION.encode(), CT_TEMPLATE.encode())
                dst.writestr(info.filename, body)
    return out.getvalue()


# --------------------------------------------------------------------------- slides


def remove_all_slides(prs) -> int:
    """Remove every slide of ``prs`` with its relationship, so its parts are not saved.

    Custom shows and slide sections name slides too; they are removed (they would point at
    nothing). Returns how many slides were removed.
    """
    pres = prs.part._element
    sld_id_lst = pres.find(qn("p:sldIdLst"))
    count = 0
    if sld_id_lst is not None:
        for sld_id in list(sld_id_lst):
            prs.part.drop_rel(sld_id.get(qn("r:id")))
            sld_id_lst.remove(sld_id)
            count += 1
    for cust in pres.findall(qn("p:custShowLst")):
        pres.remove(cust)
    for section_list in pres.iter(qn("p14:sectionLst")):
        ext = section_list.getparent()
        ext.getparent().remove(ext)
    return count


class NewSlides:
    """New slides of one presentation, each a copy of the first made on its layout.

    python-pptx parses a blank slide and clones the layout's placeholders into it through its
    shape proxies, for every slide; a new slide on a layout comes out the same every time, so
    the first on each layout is made so and the others are copies of its element (taken
    before anything is written on it), added as python-pptx adds them: same part names,
    relationships and XML.
    """

    def __init__(self, prs) -> None:
        self._prs = prs
        self._blank: dict = {}  # layout part → the element of a new slide on it

    def add_slide(self, layout):
        """A new slide on ``layout``, at the end of the presentation."""
        blank = self._blank.get(layout.part)
        if blank is None:
            slide = self._prs.slides.add_slide(layout)
            self._blank[layout.part] = copy.deepcopy(slide._element)
            return slide
        from pptx.opc.constants import CONTENT_TYPE as CT
        from pptx.opc.constants import RELATIONSHIP_TYPE as RT
        from pptx.parts.slide import SlidePart

        pres_part = self._prs.part
        slide_part = SlidePart(
            pres_part._next_slide_partname, CT.PML_SLIDE, pres_part.package, copy.deepcopy(blank)
        )
        slide_part.relate_to(layout.part, RT.SLIDE_LAYOUT)
        rid = pres_part.relate_to(slide_part, RT.SLIDE)
        self._prs.slides._sldIdLst.add_sldId(rid)
        return slide_part.slide


class NotesSlides:
    """Notes slides for the new slides of one presentation.

    python-pptx makes each one by cloning the notes master's placeholders through its shape
    proxies; they come out the same every time, so the first is made so and the others are
    copies of its element (taken before any text is written), related as python-pptx
    relates them: the same parts, names and XML.
    """

    def __init__(self) -> None:
        self._blank = None

    def notes_slide(self, slide):
        """The notes slide of ``slide``, a new slide that has none yet."""
        if self._blank is None:
            notes = slide.notes_slide
            self._blank = copy.deepcopy(notes._element)
            return notes
        from pptx.opc.constants import CONTENT_TYPE as CT
        from pptx.opc.constants import RELATIONSHIP_TYPE as RT
        from pptx.parts.slide import NotesSlidePart

        slide_part = slide.part
        package = slide_part.package
        part = NotesSlidePart(
            package.next_partname("/ppt/notesSlides/notesSlide%d.xml"),
            CT.PML_NOTES_SLIDE,
            package,
            copy.deepcopy(self._blank),
        )
        part.relate_to(package.presentation_part.notes_master_part, RT.NOTES_MASTER)
        part.relate_to(slide_part, RT.SLIDE)
        slide_part.relate_to(part, RT.NOTES_SLIDE)
        return part.notes_slide


def set_alt_text(shape, descr: str, title: str = "") -> None:
    """Set a shape's alt text (``descr`` on ``p:cNvPr``), replacing any file name there."""
    c_nv_pr = shape._element.find(".//" + qn("p:cNvPr"))
    c_nv_pr.set("descr", descr)
    if title:
        c_nv_pr.set("title", title)


# Office's "mark as decorative" (2017 drawing extension): screen readers skip the shape.
_DECORATIVE_URI = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"
_DECORATIVE_NS = "http://schemas.microsoft.com/office/drawing/2017/decorative"


def set_decorative(shape) -> None:
    """Mark a shape as decorative (a frame or tick beside a shape that already carries the alt
    text), so that a screen reader does not say the same thing twice."""
    from lxml import etree

    c_nv_pr = shape._element.find(".//" + qn("p:cNvPr"))
    c_nv_pr.attrib.pop("descr", None)
    ext_lst = c_nv_pr.find(qn("a:extLst"))
    if ext_lst is None:
        ext_lst = etree.SubElement(c_nv_pr, qn("a:extLst"))
    ext = etree.SubElement(ext_lst, qn("a:ext"), uri=_DECORATIVE_URI)
    etree.SubElement(ext, f"{{{_DECORATIVE_NS}}}decorative", nsmap={"adec": _DECORATIVE_NS}).set(
        "val", "1"
    )


# --------------------------------------------------------------------------- answer marks
#
# The shapes of a reveal's marks, written as python-pptx writes them (add_shape or a freeform,
# then the fill, outline and name we give them, its p:style dropped, marked decorative) but
# from one string each: through python-pptx's proxies they were a fifth of writing a deck.
# tests/test_deck.py compares them with python-pptx's own.

_SP_START = (
    '<p:sp xmlns:a="{a}" xmlns:p="{p}"><p:nvSpPr><p:cNvPr id="{id}" name="{name}">{ext}'
    "</p:cNvPr><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm>"
    '<a:off x="{x}" y="{y}"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
)
_SP_END = '<p:txBody><a:bodyPr rtlCol="0" anchor="ctr"{body}</p:txBody></p:sp>'
_TEXT_BODY = '/><a:lstStyle/><a:p><a:pPr algn="ctr"/></a:p>'
_BADGE_BODY = (
    ' wrap="square" lIns="0" tIns="0" rIns="0" bIns="0"><a:noAutofit/></a:bodyPr>'
    '<a:lstStyle/><a:p><a:pPr algn="ctr"/></a:p>'
)


def _add_sp(
    slide,
    prefix: str,
    decorative: bool,
    box: tuple[int, int, int, int],
    rest: str,
    body: str = _TEXT_BODY,
):
    """Append a ``p:sp`` named ``prefix N`` (N: the shapes on the slide with it) with the next
    shape id, its position ``box`` (left, top, width, height) and the rest of its ``spPr``."""
    from pptx.oxml import parse_xml

    shapes = slide.shapes
    shape_id = shapes._next_shape_id
    ext = (
        f'<a:extLst><a:ext uri="{_DECORATIVE_URI}"><adec:decorative xmlns:adec='
        f'"{_DECORATIVE_NS}" val="1"/></a:ext></a:extLst>'
        if decorative
        else ""
    )
    left, top, width, height = (int(v) for v in box)
    xml = (
        _SP_START.format(
            a=NS["a"],
            p=NS["p"],
            id=shape_id,
            name=f"{prefix} {len(shapes) + 1}",
            ext=ext,
            x=left,
            y=top,
            cx=width,
            cy=height,
        )
        + rest
        + "</p:spPr>"
        + _SP_END.format(body=body)
    )
    sp = parse_xml(xml)
    shapes._spTree.insert_element_before(sp, "p:extLst")
    return sp, shape_id


def add_answer_frame(slide, box: tuple[int, int, int, int], colour: str, width: int) -> int:
    """A rounded frame (corners 20%) outlined ``width`` EMU in the scheme colour ``colour``,
    unfilled, decorative; returns its shape id."""
    rest = (
        '<a:prstGeom prst="roundRect"><a:avLst><a:gd name="adj" fmla="val 20000"/></a:avLst>'
        f'</a:prstGeom><a:noFill/><a:ln w="{int(width)}"><a:solidFill>'
        f'<a:schemeClr val="{colour}"/></a:solidFill></a:ln>'
    )
    return _add_sp(slide, "Answer frame", True, box, rest)[1]


def add_answer_badge(slide, box: tuple[int, int, int, int], colour: str, alt: str):
    """A badge filled with the scheme colour ``colour``, round when square (else a rounded
    rectangle), no outline, with alt text and an empty centred text frame of no insets that
    does not autofit; returns (its ``p:sp``, its shape id)."""
    prst = "ellipse" if box[2] == box[3] else "roundRect"
    rest = (
        f'<a:prstGeom prst="{prst}"><a:avLst/></a:prstGeom><a:solidFill>'
        f'<a:schemeClr val="{colour}"/></a:solidFill><a:ln><a:noFill/></a:ln>'
    )
    sp, shape_id = _add_sp(slide, "Answer mark", False, box, rest, _BADGE_BODY)
    sp.find(f"{qn('p:nvSpPr')}/{qn('p:cNvPr')}").set("descr", alt)
    return sp, shape_id


def add_answer_tick(slide, points: Sequence[tuple[int, int]], colour: str, width: int) -> int:
    """An open path through ``points`` (slide EMU) stroked ``width`` EMU in the scheme colour
    ``colour`` with round caps and joins, unfilled, decorative: the freeform python-pptx's
    builder makes from the same points. Returns its shape id."""
    xs = [int(x) for x, _ in points]
    ys = [int(y) for _, y in points]
    left, top = min(xs), min(ys)
    dx, dy = max(xs) - left, max(ys) - top
    steps = "".join(
        f'<a:{"moveTo" if i == 0 else "lnTo"}><a:pt x="{x - left}" y="{y - top}"/>'
        f"</a:{'moveTo' if i == 0 else 'lnTo'}>"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    )
    rest = (
        '<a:custGeom><a:avLst/><a:gdLst/><a:ahLst/><a:cxnLst/><a:rect l="l" t="t" r="r" '
        f'b="b"/><a:pathLst><a:path w="{dx}" h="{dy}">{steps}</a:path></a:pathLst>'
        f'</a:custGeom><a:noFill/><a:ln w="{int(width)}" cap="rnd"><a:solidFill>'
        f'<a:schemeClr val="{colour}"/></a:solidFill><a:round/></a:ln>'
    )
    return _add_sp(slide, "Answer tick", True, (left, top, dx, dy), rest)[1]


def drop_style(shape) -> None:
    """Remove a new shape's ``p:style`` (python-pptx gives autoshapes and connectors the
    theme's line, fill and shadow references): its look is then only what we set on it, the
    same in every template and renderer (LibreOffice draws the theme's shadow otherwise)."""
    for style in shape._element.findall(qn("p:style")):
        shape._element.remove(style)


def round_line(shape) -> None:
    """Round caps and joins on a shape's outline (a drawn tick reads as a pen stroke)."""
    ln = shape._element.spPr.find(qn("a:ln"))
    ln.set("cap", "rnd")
    # a:round goes after the fill and dash children, before the line ends (schema order)
    later = [ln.find(qn(t)) for t in ("a:headEnd", "a:tailEnd", "a:extLst")]
    join = ln.makeelement(qn("a:round"), {})
    anchor = next((el for el in later if el is not None), None)
    if anchor is not None:
        anchor.addprevious(join)
    else:
        ln.append(join)


def remove_shape(shape) -> None:
    """Remove a shape (e.g. an unused placeholder) from its slide."""
    el = shape._element
    el.getparent().remove(el)


def body_pr(text_frame, anchor: str | None = None, insets: Iterable[int] | None = None) -> None:
    """No autofit, square wrap, explicit insets and anchor: the text is written to fit."""
    bp = text_frame._txBody.find(qn("a:bodyPr"))
    for tag in ("a:noAutofit", "a:normAutofit", "a:spAutoFit"):
        for el in bp.findall(qn(tag)):
            bp.remove(el)
    # noAutofit must come before scene3d/sp3d/flatTx/extLst (schema order)
    no_autofit = bp.makeelement(qn("a:noAutofit"), {})
    after = [bp.find(qn(t)) for t in ("a:prstTxWarp",)]
    anchor_el = next((el for el in after if el is not None), None)
    if anchor_el is not None:
        anchor_el.addnext(no_autofit)
    else:
        bp.insert(0, no_autofit)
    bp.set("wrap", "square")
    if anchor:
        bp.set("anchor", anchor)
    if insets is not None:
        for name, value in zip(("lIns", "tIns", "rIns", "bIns"), insets, strict=True):
            bp.set(name, str(int(value)))


_PPR_REPLACED = frozenset(
    qn(tag)
    for tag in (
        "a:lnSpc",
        "a:spcBef",
        "a:spcAft",
        "a:buClrTx",
        "a:buClr",
        "a:buSzTx",
        "a:buSzPct",
        "a:buSzPts",
        "a:buFontTx",
        "a:buFont",
        "a:buNone",
        "a:buAutoNum",
        "a:buChar",
        "a:buBlip",
    )
)


def paragraph_format(
    paragraph,
    *,
    mar_l: int,
    indent: int,
    space_before_pt: float,
    bullet: str | None,
    bullet_colour: str | None = None,
    align: str | None = "l",
) -> None:
    """Indents, spacing (100% line spacing), alignment and the bullet of one paragraph."""
    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.set("marL", str(int(mar_l)))
    p_pr.set("indent", str(int(indent)))
    if align:  # None: keep the placeholder's own alignment (a centred subtitle stays so)
        p_pr.set("algn", align)
    # the spacing and bullet children are replaced (a new paragraph has none: nothing to look for)
    if len(p_pr):
        for el in list(p_pr):
            if el.tag in _PPR_REPLACED:
                p_pr.remove(el)
    # children in schema order: lnSpc, spcBef, spcAft, buClr, buSz, buFont, bu*, tabLst, ...
    items = []
    ln = p_pr.makeelement(qn("a:lnSpc"), {})
    ln.append(ln.makeelement(qn("a:spcPct"), {"val": "100000"}))
    items.append(ln)
    bef = p_pr.makeelement(qn("a:spcBef"), {})
    bef.append(bef.makeelement(qn("a:spcPts"), {"val": str(int(round(space_before_pt * 100)))}))
    items.append(bef)
    aft = p_pr.makeelement(qn("a:spcAft"), {})
    aft.append(aft.makeelement(qn("a:spcPts"), {"val": "0"}))
    items.append(aft)
    if bullet:
        if bullet_colour:
            clr = p_pr.makeelement(qn("a:buClr"), {})
            clr.append(clr.makeelement(qn("a:srgbClr"), {"val": bullet_colour}))
            items.append(clr)
        items.append(p_pr.makeelement(qn("a:buFont"), {"typeface": "Arial"}))
        items.append(p_pr.makeelement(qn("a:buChar"), {"char": bullet}))
    else:
        items.append(p_pr.makeelement(qn("a:buNone"), {}))
    for i, el in enumerate(items):
        p_pr.insert(i, el)


def set_typefaces(run, east_asian: str, complex_script: str) -> None:
    """Name the run's East Asian (``a:ea``) and complex-script (``a:cs``) typefaces, after
    its Latin one (schema order: latin, ea, cs; a hyperlink is inserted after them later)."""
    r_pr = run._r.get_or_add_rPr()
    for tag, face in (("a:ea", east_asian), ("a:cs", complex_script)):
        if face:
            for old in r_pr.findall(qn(tag)):
                r_pr.remove(old)
            r_pr.append(r_pr.makeelement(qn(tag), {"typeface": face}))


def set_rtl(paragraph) -> None:
    """A right-to-left paragraph, aligned to the right."""
    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.set("rtl", "1")
    if p_pr.get("algn") in (None, "l"):
        p_pr.set("algn", "r")


def set_lang(run, lang: str) -> None:
    """Mark a run's language (spell checking, screen readers)."""
    if lang:
        run._r.get_or_add_rPr().set("lang", lang)


# --------------------------------------------------------------------------- footers


def placeholder_elements(container, ph_type: str) -> list:
    """The ``p:sp`` placeholders of a layout or master with ``type=ph_type``."""
    out = []
    for sp in container._element.iter(qn("p:sp")):
        ph = sp.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
        if ph is not None and ph.get("type") == ph_type:
            out.append(sp)
    return out


def clone_placeholder(slide, layout, ph_type: str, prepared: dict | None = None):
    """Copy the layout's (else the master's) ``ph_type`` placeholder onto the slide.

    python-pptx does not copy footer, date and slide-number placeholders to new slides. From the
    layout, the copy keeps only the ``p:ph`` reference (position and style are inherited); from
    the master, it keeps the master's position, since a slide inherits from its layout only.
    Returns the new ``p:sp`` element or None when neither has one. ``prepared`` (a dict the
    caller keeps for one presentation) remembers the copy made for each layout and type.
    """
    key = (layout.part, ph_type)
    if prepared is not None and key in prepared:
        blank = prepared[key]
    else:
        blank = _placeholder_copy(layout, ph_type)
        if prepared is not None:
            prepared[key] = blank
    if blank is None:
        return None
    sp = copy.deepcopy(blank)
    c_nv_pr = sp.find(f"{qn('p:nvSpPr')}/{qn('p:cNvPr')}")
    ids = [int(el.get("id", "0")) for el in slide._element.iter(qn("p:cNvPr"))]
    c_nv_pr.set("id", str(max(ids, default=1) + 1))
    slide.shapes._spTree.append(sp)
    return sp


def _placeholder_copy(layout, ph_type: str):
    """The ``p:sp`` that :func:`clone_placeholder` puts on a slide, before its id is set."""
    source = placeholder_elements(layout, ph_type)
    from_master = False
    if not source:
        source = placeholder_elements(layout.slide_master, ph_type)
        from_master = True
    if not source:
        return None
    sp = copy.deepcopy(source[0])
    sp_pr = sp.find(qn("p:spPr"))
    if not from_master and sp_pr is not None:
        for child in list(sp_pr):
            sp_pr.remove(child)
    tx_body = sp.find(qn("p:txBody"))
    if tx_body is not None:
        for p in tx_body.findall(qn("a:p")):
            tx_body.remove(p)
        lst = tx_body.find(qn("a:lstStyle"))
        if lst is not None and not from_master:
            for child in list(lst):
                lst.remove(child)
    else:
        tx_body = sp.makeelement(qn("p:txBody"), {})
        tx_body.append(tx_body.makeelement(qn("a:bodyPr"), {}))
        tx_body.append(tx_body.makeelement(qn("a:lstStyle"), {}))
        sp.append(tx_body)
    return sp


def fill_footer(sp, text: str, size_pt: float) -> None:
    """Write ``text`` into a cloned footer placeholder."""
    tx_body = sp.find(qn("p:txBody"))
    p = tx_body.makeelement(qn("a:p"), {})
    r = p.makeelement(qn("a:r"), {})
    r_pr = r.makeelement(qn("a:rPr"), {"lang": "en-US", "sz": str(int(size_pt * 100))})
    t = r.makeelement(qn("a:t"), {})
    t.text = text
    r.append(r_pr)
    r.append(t)
    p.append(r)
    tx_body.append(p)


def fill_slide_number(sp, number: int, size_pt: float) -> None:
    """Write a ``slidenum`` field (showing ``number`` until the viewer updates it)."""
    tx_body = sp.find(qn("p:txBody"))
    p = tx_body.makeelement(qn("a:p"), {})
    fld = p.makeelement(qn("a:fld"), {"id": SLIDENUM_FIELD_ID, "type": "slidenum"})
    r_pr = fld.makeelement(qn("a:rPr"), {"lang": "en-US", "sz": str(int(size_pt * 100))})
    t = fld.makeelement(qn("a:t"), {})
    t.text = str(number)
    fld.append(r_pr)
    fld.append(t)
    p.append(fld)
    tx_body.append(p)


def apply_theme(prs, theme: dict) -> None:
    """Write theme.yaml's colours and slide font into the deck's theme (its colour scheme).

    The default template's shapes use scheme colours, so this one change recolours the deck;
    used both to generate ``layouts/deck.pptx`` and to apply a teacher's theme override.
    """
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    part = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(part.blob)
    root.set("name", "coursepack")
    colours = theme["colours"]
    scheme = {
        "dk1": colours["ink"],
        "lt1": colours["paper"],
        "dk2": colours["accent"],
        "lt2": colours["accent_light"],
        "accent1": colours["accent"],
        "accent2": colours["answer"],
        "accent3": colours["muted"],
        "accent4": "#8a5a00",
        "accent5": "#6b3fa0",
        "accent6": "#a33b3b",
        "hlink": colours["accent"],
        "folHlink": colours["muted"],
    }
    clr = root.find(f".//{qn('a:clrScheme')}")
    clr.set("name", "coursepack")
    for name, value in scheme.items():
        slot = clr.find(qn(f"a:{name}"))
        for child in list(slot):
            slot.remove(child)
        etree.SubElement(slot, qn("a:srgbClr"), val=value.lstrip("#").upper())
    fonts = root.find(f".//{qn('a:fontScheme')}")
    fonts.set("name", "coursepack")
    for which in ("a:majorFont", "a:minorFont"):
        group = fonts.find(qn(which))
        group.find(qn("a:latin")).set("typeface", theme["fonts"]["slides"])
        for extra in group.findall(qn("a:font")):  # per-script fonts: let the system choose
            group.remove(extra)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


_PROPERTY_MAX = 255  # characters in a core property: python-pptx refuses longer strings


def _property(text: str) -> str:
    """``text`` as a document property: whole, or shortened at a word with "…" to fit."""
    if len(text) <= _PROPERTY_MAX:
        return text
    cut = text[: _PROPERTY_MAX - 1]
    space = cut.rfind(" ")
    if space > _PROPERTY_MAX // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip() + "…"


def set_core_properties(prs, *, title: str, author: str, subject: str, language: str, when) -> None:
    """Every core property fixed (dates included), so the same inputs give the same bytes."""
    props = prs.core_properties
    props.title = _property(title)
    props.author = _property(author)
    props.subject = _property(subject)
    props.last_modified_by = _property(author)
    props.created = when
    props.modified = when
    props.last_printed = when
    props.revision = 1
    props.keywords = ""
    props.comments = ""
    props.category = ""
    props.content_status = ""
    props.identifier = ""
    props.version = ""
    props.language = _property(language)


# --------------------------------------------------------------------------- click animations

#: One thing a click shows: a shape (``paragraph`` None) or one paragraph of its text.
ClickTarget = tuple[int, int | None]


def set_click_builds(slide, clicks: Sequence[Sequence[ClickTarget]]) -> None:
    """Give the slide a ``p:timing`` tree: each click makes its targets appear.

    The tree is the one PowerPoint writes for "Appear" entrance effects on click (preset 1,
    ``style.visibility`` set to ``visible``), paragraph builds (``p:bldP build="p"``) for the
    shapes whose paragraphs are targets, and whole-shape builds for the others. The first
    target of a click is its click effect, the rest appear with it (a bullet's sub-bullets).
    """
    from lxml import etree

    clicks = [list(step) for step in clicks if step]
    if not clicks:
        return
    p = NS["p"]

    def el(parent, tag: str, **attrs: str):
        return etree.SubElement(parent, f"{{{p}}}{tag}", {k: str(v) for k, v in attrs.items()})

    ids = iter(range(1, 10_000))
    timing = etree.Element(f"{{{p}}}timing", nsmap={"p": p})
    root = el(el(el(timing, "tnLst"), "par"), "cTn", id=next(ids), dur="indefinite")
    root.set("restart", "never")
    root.set("nodeType", "tmRoot")
    seq = el(el(root, "childTnLst"), "seq", concurrent="1", nextAc="seek")
    main = el(seq, "cTn", id=next(ids), dur="indefinite", nodeType="mainSeq")
    steps = el(main, "childTnLst")
    for step in clicks:
        outer = el(el(steps, "par"), "cTn", id=next(ids), fill="hold")
        el(el(outer, "stCondLst"), "cond", delay="indefinite")
        inner = el(el(el(outer, "childTnLst"), "par"), "cTn", id=next(ids), fill="hold")
        el(el(inner, "stCondLst"), "cond", delay="0")
        effects = el(inner, "childTnLst")
        for n, (spid, paragraph) in enumerate(step):
            effect = el(
                el(effects, "par"),
                "cTn",
                id=next(ids),
                presetID="1",
                presetClass="entr",
                presetSubtype="0",
                fill="hold",
                grpId="0",
                nodeType="clickEffect" if n == 0 else "withEffect",
            )
            el(el(effect, "stCondLst"), "cond", delay="0")
            behaviour = el(el(el(effect, "childTnLst"), "set"), "cBhvr")
            timed = el(behaviour, "cTn", id=next(ids), dur="1", fill="hold")
            el(el(timed, "stCondLst"), "cond", delay="0")
            target = el(el(behaviour, "tgtEl"), "spTgt", spid=spid)
            if paragraph is not None:
                el(el(target, "txEl"), "pRg", st=paragraph, end=paragraph)
            names = el(behaviour, "attrNameLst")
            el(names, "attrName").text = "style.visibility"
            el(el(behaviour.getparent(), "to"), "strVal", val="visible")
    for cond_list, event in (("prevCondLst", "onPrev"), ("nextCondLst", "onNext")):
        cond = el(el(seq, cond_list), "cond", evt=event, delay="0")
        el(el(cond, "tgtEl"), "sldTgt")
    builds = el(timing, "bldLst")
    shapes: dict[int, bool] = {}  # shape id → built by paragraph
    for step in clicks:
        for spid, paragraph in step:
            shapes[spid] = shapes.get(spid, False) or paragraph is not None
    for spid, by_paragraph in shapes.items():
        if by_paragraph:
            el(builds, "bldP", spid=spid, grpId="0", build="p")
        else:
            el(builds, "bldP", spid=spid, grpId="0", animBg="1")
    sld = slide._element
    for old in sld.findall(qn("p:timing")):
        sld.remove(old)
    ext = sld.find(qn("p:extLst"))
    if ext is not None:
        ext.addprevious(timing)
    else:
        sld.append(timing)
