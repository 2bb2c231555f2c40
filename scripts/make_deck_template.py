"""Regenerate ``layouts/deck.pptx``, the default 16:9 deck template, from ``layouts/theme.yaml``.

Starts from python-pptx's own default template and rewrites its theme (colours and Arial as the
major and minor font), its slide master (placeholder positions, text styles, a rule under the
title) and its layouts (Title Slide, Section Header, Title and Content, Two Content, Title Only,
Blank; the others are removed). The output is byte-identical on every run:

    python scripts/make_deck_template.py            # writes layouts/deck.pptx
    python scripts/make_deck_template.py --check    # exit 1 if layouts/deck.pptx is stale
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from pathlib import Path

import yaml
from lxml import etree
from pptx import Presentation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coursepack.writers.pptx_xml import (  # noqa: E402
    apply_theme,
    qn,
    set_core_properties,
    stable_zip,
)

INCH = 914400
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
KEEP = ("Title Slide", "Title and Content", "Section Header", "Two Content", "Title Only", "Blank")

# Where things go on the 13.333 x 7.5 in slide (inches: left, top, width, height).
BOX = {
    "title": (0.6, 0.3, 12.133, 1.25),
    "body": (0.6, 1.8, 12.133, 4.95),
    "rule": (0.6, 1.62, 12.133, 0.04),
    "ftr": (0.6, 6.95, 8.4, 0.4),
    "dt": (9.1, 6.95, 2.0, 0.4),
    "sldNum": (11.133, 6.95, 1.6, 0.4),
    "ctrTitle": (0.8, 1.2, 11.733, 2.9),
    "subTitle": (0.8, 4.4, 11.733, 1.9),
    "cover_bar": (0.9, 4.22, 2.0, 0.07),
    "sec_title": (0.8, 2.2, 11.733, 2.3),
    "sec_body": (0.8, 4.75, 11.733, 1.2),
    "sec_bar": (0.9, 4.55, 2.0, 0.07),
    "left": (0.6, 1.8, 5.917, 4.95),
    "right": (6.817, 1.8, 5.917, 4.95),
}


def emu(inches: float) -> int:
    """Inches to EMU."""
    return int(round(inches * INCH))


def set_xfrm(sp, box: tuple[float, float, float, float]) -> None:
    """Give a shape an explicit position (replacing any)."""
    sp_pr = sp.find(qn("p:spPr"))
    for old in sp_pr.findall(qn("a:xfrm")):
        sp_pr.remove(old)
    xfrm = etree.SubElement(sp_pr, qn("a:xfrm"))
    sp_pr.remove(xfrm)
    sp_pr.insert(0, xfrm)
    left, top, width, height = box
    etree.SubElement(xfrm, qn("a:off"), x=str(emu(left)), y=str(emu(top)))
    etree.SubElement(xfrm, qn("a:ext"), cx=str(emu(width)), cy=str(emu(height)))


def strip_xfrm(sp) -> None:
    """Let a layout placeholder inherit its position from the master."""
    sp_pr = sp.find(qn("p:spPr"))
    for old in sp_pr.findall(qn("a:xfrm")):
        sp_pr.remove(old)


def ph_type(sp) -> str | None:
    """The placeholder type of a ``p:sp`` (``obj`` when unspecified), or None."""
    ph = sp.find(f"{qn('p:nvSpPr')}/{qn('p:nvPr')}/{qn('p:ph')}")
    return None if ph is None else ph.get("type", "obj")


def body_pr(sp, **attrs: str) -> None:
    """Set bodyPr attributes and replace autofit with noAutofit."""
    tx = sp.find(qn("p:txBody"))
    bp = tx.find(qn("a:bodyPr"))
    for child in list(bp):
        if child.tag in (qn("a:normAutofit"), qn("a:spAutoFit"), qn("a:noAutofit")):
            bp.remove(child)
    bp.insert(0, etree.Element(qn("a:noAutofit")))
    for key, value in attrs.items():
        bp.set(key, value)


def lst_style(sp, xml: str) -> None:
    """Replace a placeholder's list style with ``xml`` (an ``a:lstStyle`` element)."""
    tx = sp.find(qn("p:txBody"))
    old = tx.find(qn("a:lstStyle"))
    new = etree.fromstring(f'<a:lstStyle xmlns:a="{A}">{xml}</a:lstStyle>')
    old.addprevious(new)
    tx.remove(old)


def rect(spid: int, name: str, box, colour_xml: str):
    """A plain filled rectangle (no outline), for rules and bars."""
    left, top, width, height = (emu(v) for v in box)
    return etree.fromstring(
        f'<p:sp xmlns:p="{P}" xmlns:a="{A}"><p:nvSpPr><p:cNvPr id="{spid}" name="{name}"/>'
        f'<p:cNvSpPr/><p:nvPr userDrawn="1"/></p:nvSpPr><p:spPr>'
        f'<a:xfrm><a:off x="{left}" y="{top}"/><a:ext cx="{width}" cy="{height}"/></a:xfrm>'
        f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill>{colour_xml}</a:solidFill>'
        f"<a:ln><a:noFill/></a:ln></p:spPr>"
        f'<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang="en-US"/></a:p></p:txBody>'
        f"</p:sp>"
    )


def background(layout_el, colour_xml: str) -> None:
    """A solid background on a layout."""
    c_sld = layout_el.find(qn("p:cSld"))
    for old in c_sld.findall(qn("p:bg")):
        c_sld.remove(old)
    bg = etree.fromstring(
        f'<p:bg xmlns:p="{P}" xmlns:a="{A}"><p:bgPr><a:solidFill>{colour_xml}</a:solidFill>'
        f"<a:effectLst/></p:bgPr></p:bg>"
    )
    c_sld.insert(0, bg)


def level_ppr(level: int, size: int, mar_l: float, hang: float, bullet: bool) -> str:
    """One ``a:lvlNpPr`` of the body style."""
    bu = (
        '<a:buClr><a:schemeClr val="tx2"/></a:buClr><a:buFont typeface="Arial"/>'
        '<a:buChar char="&#8226;"/>'
        if bullet
        else "<a:buNone/>"
    )
    return (
        f'<a:lvl{level}pPr marL="{emu(mar_l)}" indent="{-emu(hang)}" algn="l" rtl="0" '
        f'eaLnBrk="1" latinLnBrk="0" hangingPunct="1">'
        f'<a:lnSpc><a:spcPct val="100000"/></a:lnSpc>'
        f'<a:spcBef><a:spcPts val="{int(size * 0.45) * 100}"/></a:spcBef>{bu}'
        f'<a:defRPr sz="{size * 100}" kern="1200"><a:solidFill><a:schemeClr val="tx1"/>'
        f'</a:solidFill><a:latin typeface="+mn-lt"/><a:ea typeface="+mn-ea"/>'
        f'<a:cs typeface="+mn-cs"/></a:defRPr></a:lvl{level}pPr>'
    )


def tx_styles() -> str:
    """The master's title, body and other text styles (sizes for the back of a classroom)."""
    title = (
        '<p:titleStyle><a:lvl1pPr algn="l" rtl="0" eaLnBrk="1" latinLnBrk="0" hangingPunct="1">'
        '<a:lnSpc><a:spcPct val="100000"/></a:lnSpc><a:spcBef><a:spcPct val="0"/></a:spcBef>'
        '<a:buNone/><a:defRPr sz="4000" b="1" kern="1200"><a:solidFill>'
        '<a:schemeClr val="tx2"/></a:solidFill><a:latin typeface="+mj-lt"/>'
        '<a:ea typeface="+mj-ea"/><a:cs typeface="+mj-cs"/></a:defRPr></a:lvl1pPr>'
        "</p:titleStyle>"
    )
    sizes = [28, 24, 20, 18, 18, 18, 18, 18, 18]
    levels = "".join(
        level_ppr(i + 1, size, 0.4 + i * 0.45, 0.4, True) for i, size in enumerate(sizes)
    )
    other = (
        '<p:otherStyle><a:defPPr><a:defRPr lang="en-US"/></a:defPPr>'
        + "".join(
            f'<a:lvl{i}pPr marL="{(i - 1) * 457200}" algn="l" rtl="0" eaLnBrk="1" '
            f'latinLnBrk="0" hangingPunct="1"><a:defRPr sz="1800" kern="1200"><a:solidFill>'
            f'<a:schemeClr val="tx1"/></a:solidFill><a:latin typeface="+mn-lt"/>'
            f'<a:ea typeface="+mn-ea"/><a:cs typeface="+mn-cs"/></a:defRPr></a:lvl{i}pPr>'
            for i in range(1, 10)
        )
        + "</p:otherStyle>"
    )
    return (
        f'<p:txStyles xmlns:p="{P}" xmlns:a="{A}">{title}<p:bodyStyle>{levels}'
        f"</p:bodyStyle>{other}</p:txStyles>"
    )


SMALL = (
    '<a:lvl1pPr algn="{algn}"><a:defRPr sz="1400"><a:solidFill><a:schemeClr val="accent3"/>'
    "</a:solidFill></a:defRPr></a:lvl1pPr>"
)


def rewrite_master(prs) -> None:
    """Positions, no autofit, footers, a rule under the title, the text styles."""
    master = prs.slide_master._element
    sp_tree = master.find(f"{qn('p:cSld')}/{qn('p:spTree')}")
    for sp in sp_tree.findall(qn("p:sp")):
        kind = ph_type(sp)
        if kind == "title":
            set_xfrm(sp, BOX["title"])
            body_pr(sp, anchor="b")
        elif kind == "body":
            set_xfrm(sp, BOX["body"])
            body_pr(sp, anchor="t")
        elif kind in ("dt", "ftr", "sldNum"):
            set_xfrm(sp, BOX[kind])
            lst_style(sp, SMALL.format(algn={"dt": "r", "ftr": "l", "sldNum": "r"}[kind]))
    # the rule goes right after the group properties, under every placeholder
    sp_tree.find(qn("p:grpSpPr")).addnext(
        rect(20, "Title Rule", BOX["rule"], '<a:schemeClr val="tx2"/>')
    )
    old = master.find(qn("p:txStyles"))
    old.addprevious(etree.fromstring(tx_styles()))
    master.remove(old)


def rewrite_layouts(prs) -> None:
    """Keep six layouts; place their placeholders; colour the cover and section layouts."""
    for layout in list(prs.slide_layouts):
        if layout.name not in KEEP:
            prs.slide_layouts.remove(layout)
    for layout in prs.slide_layouts:
        el = layout._element
        sp_tree = el.find(f"{qn('p:cSld')}/{qn('p:spTree')}")
        for sp in sp_tree.findall(qn("p:sp")):
            strip_xfrm(sp)
            if sp.find(qn("p:txBody")) is not None and ph_type(sp) in ("title", "ctrTitle"):
                body_pr(sp)
        if layout.name == "Title Slide":
            el.set("showMasterSp", "0")
            background(el, '<a:schemeClr val="tx2"/>')
            for sp in sp_tree.findall(qn("p:sp")):
                kind = ph_type(sp)
                if kind == "ctrTitle":
                    set_xfrm(sp, BOX["ctrTitle"])
                    body_pr(sp, anchor="b")
                    lst_style(
                        sp,
                        '<a:lvl1pPr algn="l"><a:defRPr sz="4400" b="1"><a:solidFill>'
                        '<a:schemeClr val="bg1"/></a:solidFill></a:defRPr></a:lvl1pPr>',
                    )
                elif kind == "subTitle":
                    set_xfrm(sp, BOX["subTitle"])
                    body_pr(sp, anchor="t")
                    lst_style(
                        sp,
                        '<a:lvl1pPr marL="0" indent="0" algn="l"><a:spcBef><a:spcPts val="600"/>'
                        '</a:spcBef><a:buNone/><a:defRPr sz="2800"><a:solidFill>'
                        '<a:schemeClr val="bg2"/></a:solidFill></a:defRPr></a:lvl1pPr>',
                    )
            sp_tree.find(qn("p:grpSpPr")).addnext(
                rect(20, "Cover Bar", BOX["cover_bar"], '<a:schemeClr val="bg2"/>')
            )
        elif layout.name == "Section Header":
            el.set("showMasterSp", "0")
            background(el, '<a:schemeClr val="bg2"/>')
            for sp in sp_tree.findall(qn("p:sp")):
                kind = ph_type(sp)
                if kind == "title":
                    set_xfrm(sp, BOX["sec_title"])
                    body_pr(sp, anchor="b")
                    lst_style(
                        sp,
                        '<a:lvl1pPr algn="l"><a:defRPr sz="4000" b="1" cap="none"><a:solidFill>'
                        '<a:schemeClr val="tx2"/></a:solidFill></a:defRPr></a:lvl1pPr>',
                    )
                elif kind == "body":
                    set_xfrm(sp, BOX["sec_body"])
                    body_pr(sp, anchor="t")
                    lst_style(
                        sp,
                        '<a:lvl1pPr marL="0" indent="0"><a:buNone/><a:defRPr sz="2400">'
                        '<a:solidFill><a:schemeClr val="accent3"/></a:solidFill></a:defRPr>'
                        "</a:lvl1pPr>",
                    )
            sp_tree.find(qn("p:grpSpPr")).addnext(
                rect(20, "Section Bar", BOX["sec_bar"], '<a:schemeClr val="tx2"/>')
            )
        elif layout.name == "Two Content":
            bodies = [sp for sp in sp_tree.findall(qn("p:sp")) if ph_type(sp) == "obj"]
            for sp, box in zip(bodies, (BOX["left"], BOX["right"]), strict=False):
                set_xfrm(sp, box)


def build(theme_path: Path) -> bytes:
    """The template's bytes."""
    theme = yaml.safe_load(theme_path.read_text(encoding="utf-8"))
    prs = Presentation()
    prs.slide_width = 12192000  # 13.333 in: exactly 16:9
    prs.slide_height = emu(7.5)
    sld_sz = prs.part._element.find(qn("p:sldSz"))
    sld_sz.attrib.pop("type", None)
    apply_theme(prs, theme)
    rewrite_master(prs)
    rewrite_layouts(prs)
    set_core_properties(
        prs,
        title="coursepack deck template",
        author="coursepack",
        subject="",
        language="",
        when=dt.datetime(2026, 1, 1),
    )
    buf = io.BytesIO()
    prs.save(buf)
    return stable_zip(buf.getvalue())


def main() -> int:
    """Write (or ``--check``) ``layouts/deck.pptx``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the template is stale")
    parser.add_argument("--out", type=Path, default=ROOT / "layouts" / "deck.pptx")
    args = parser.parse_args()
    data = build(ROOT / "layouts" / "theme.yaml")
    if args.check:
        ok = args.out.is_file() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if ok else 'stale'}")
        return 0 if ok else 1
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
