"""Copyable Arabic text in the PDFs: a glyph drawn for two different letters gets two codes.

A PDF says which characters a glyph stands for in one table per font (``ToUnicode``), one
entry per code, and WeasyPrint 70 writes each glyph with its glyph id as its code. Noto Sans
Arabic draws many letters as a dotless base and separate dots (its ``init``, ``medi`` and
``fina`` substitutions split ت into a "tooth" and two dots): the same tooth starts ب, ت, ث, ن
and ي, the same dots belong to several letters. WeasyPrint maps each glyph to the text of the
first cluster it is drawn in, so every later ي drawn with the tooth that first drew a ن copies
as ن: text taken out of an Arabic handout (``pdftotext``, a PDF reader's copy) has wrong and
missing letters, although the page prints right. No single glyph-to-text table can be right
for such a font; the PDF way out is to give the glyph another code (CID) for each text it
stands for, and to map those codes back to the glyph (a ``CIDToGIDMap`` stream).

:func:`install` does that with two small wraps around WeasyPrint, only for fonts that drew a
line with letters of a joining script (Arabic, Syriac, N'Ko, Mongolian...):

- after ``draw_first_line`` has drawn such a line, it walks the line's glyphs as WeasyPrint
  did, and where a glyph's text differs from the one its code already maps to, it rewrites
  that glyph's code in the line's ``TJ`` strings to an alias code with the right text;
- when the font's dictionaries are written, the descendant font's ``CIDToGIDMap`` becomes a
  stream that maps each alias back to its glyph (every other code to itself, as
  ``/Identity`` did), and the aliases stay out of the font subset's glyph list.

A line without such letters is drawn by WeasyPrint's own code, and a PDF with none is
byte-identical to one made without this module. If WeasyPrint's shape changes (the functions
are gone, a line's codes do not match its glyphs), nothing is rewritten.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from functools import lru_cache
from typing import Any

__all__ = ["install", "needs_aliases"]

_MARK = "_coursepack_aliases"
_MAX_CODE = 0xFFFF
_HEX = re.compile(rb"<([0-9a-f]*)>")

#: Unicode blocks of scripts whose letters take their shape from their neighbours (the ones
#: whose fonts build letters out of shared parts).
_JOINING = (
    (0x0600, 0x08FF),  # Arabic, Syriac, Arabic Supplement, Thaana, N'Ko, Samaritan, Mandaic
    (0x1800, 0x18AF),  # Mongolian
    (0xFB50, 0xFDFF),  # Arabic presentation forms A
    (0xFE70, 0xFEFF),  # Arabic presentation forms B
    (0x10D00, 0x10D3F),  # Hanifi Rohingya
    (0x1EE00, 0x1EEFF),  # Arabic mathematical alphabetic symbols
)


# One character class of those blocks: asked for every line drawn, a Python loop over each
# character and block cost about 0.1 s of CPU per lesson PDF.
_JOINING_CHAR = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _JOINING) + "]")


@lru_cache(maxsize=4096)
def needs_aliases(text: str) -> bool:
    """Whether ``text`` holds a character of a joining script."""
    return _JOINING_CHAR.search(text) is not None


def install() -> bool:
    """Wrap WeasyPrint's line drawing and font dictionaries (once); False if WeasyPrint has
    changed shape and nothing is wrapped."""
    try:
        from weasyprint.draw import text as draw_text
        from weasyprint.pdf import fonts as pdf_fonts
    except ImportError:  # WeasyPrint before 63 has no draw package
        return False

    draw = getattr(draw_text, "draw_first_line", None)
    build = getattr(pdf_fonts, "_build_vector_font_dictionary", None)
    font_class = getattr(pdf_fonts, "Font", None)
    if draw is None or build is None or font_class is None:
        return False
    if not all(hasattr(font_class, name) for name in ("clean", "get_unused_glyph_id")):
        return False
    if getattr(draw, _MARK, False):
        return True
    clean = font_class.clean
    unused = font_class.get_unused_glyph_id

    def draw_first_line(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> Any:
        if not needs_aliases(getattr(textbox, "text", "") or ""):
            return draw(stream, textbox, *args, **kwargs)
        start = len(stream.stream)
        emojis = draw(stream, textbox, *args, **kwargs)
        # A WeasyPrint we do not know: its own (imperfect) text map stays.
        with contextlib.suppress(AttributeError, TypeError, ValueError, IndexError, KeyError):
            _alias_line(stream, textbox, start)
        return emojis

    def clean_font(self: Any, to_unicode: dict, hinting: Any) -> Any:
        # Subset the real glyphs, not the alias codes (of this font or of another size of
        # the same file): WeasyPrint keeps every glyph up to the highest code it is given.
        aliases = set(getattr(self, _MARK, {}))
        for other in _FONTS_WITH_ALIASES:
            if other.hash == self.hash:
                aliases |= set(getattr(other, _MARK, {}))
        if aliases:
            to_unicode = {code: text for code, text in to_unicode.items() if code not in aliases}
        return clean(self, to_unicode, hinting)

    def build_vector_font_dictionary(font_dictionary: Any, pdf: Any, font: Any, *args: Any):
        result = build(font_dictionary, pdf, font, *args)
        aliases = getattr(font, _MARK, None)
        if aliases:
            _cid_to_gid_map(font_dictionary, pdf, aliases, args[1])  # (widths, compress, ...)
        return result

    def get_unused_glyph_id(self: Any, codepoint: int) -> int:
        # Once a font has aliases, missing glyphs and aliases share one counter (WeasyPrint's
        # own is the number of missing glyphs), so that no two codes are the same.
        aliases = self.__dict__.get(_MARK)
        if not aliases or codepoint in self.missing:
            return unused(self, codepoint)
        self.missing[codepoint] = _next_code(self)
        return self.missing[codepoint]

    setattr(draw_first_line, _MARK, True)
    draw_text.draw_first_line = draw_first_line
    font_class.clean = clean_font
    font_class.get_unused_glyph_id = get_unused_glyph_id
    pdf_fonts._build_vector_font_dictionary = build_vector_font_dictionary
    return True


def _line_glyphs(stream: Any, textbox: Any) -> list[tuple[Any, int, str]]:
    """(font, code WeasyPrint wrote, the text WeasyPrint's rule gives it) for every glyph
    of the textbox's first line, in drawing order (zero-width empty glyphs write no code)."""
    from weasyprint.text.ffi import ffi, pango

    first_line, _index = textbox.pango_layout.get_first_line()
    utf8 = textbox.pango_layout.text.encode()
    found: list[tuple[Any, int, str]] = []
    run = first_line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        glyph_string = glyph_item.glyphs
        count = glyph_string.num_glyphs
        clusters = glyph_string.log_clusters
        font, _size = stream.add_font(glyph_item.item.analysis.font)
        offset = glyph_item.item.offset
        length = glyph_item.item.length
        infos = glyph_string.glyphs[0:count]
        starts = sorted({clusters[i] for i in range(count)})
        ends = dict(zip(starts, [*starts[1:], length], strict=True))
        # The glyph that carries a cluster's text: its widest (the letter's body, not its
        # dots or marks, so that text extraction finds the letter where it is drawn).
        carrier: dict[int, int] = {}
        for i in range(count):
            best = carrier.get(clusters[i])
            if best is None or infos[i].geometry.width > infos[best].geometry.width:
                carrier[clusters[i]] = i
        for i, info in enumerate(infos):
            glyph = info.glyph
            if glyph == pango.PANGO_GLYPH_EMPTY:
                continue
            if glyph & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                missing = font.get_unused_glyph_id(glyph - pango.PANGO_GLYPH_UNKNOWN_FLAG)
                found.append((font, missing, ""))
                continue
            cluster = clusters[i]
            text = ""
            if carrier[cluster] == i:
                text = utf8[offset + cluster : offset + ends[cluster]].decode("utf-8", "replace")
            found.append((font, glyph, text))
    return found


#: Fonts that got aliases (the font subsetting asks them by file; gone with their document).
_FONTS_WITH_ALIASES: weakref.WeakSet[Any] = weakref.WeakSet()


def _next_code(font: Any) -> int:
    """The first code above the font's glyphs that no missing glyph or alias has."""
    return font.glyph_count + len(font.missing) + len(font.__dict__.get(_MARK, {}))


def _alias(font: Any, glyph: int, text: str) -> int | None:
    """The code that draws ``glyph`` and copies as ``text`` (a new alias when needed)."""
    if font.to_unicode.get(glyph) == text:
        return glyph
    aliases: dict[int, int] = font.__dict__.setdefault(_MARK, {})
    by_pair: dict[tuple[int, str], int] = font.__dict__.setdefault(_MARK + "_pairs", {})
    code = by_pair.get((glyph, text))
    if code is None:
        code = _next_code(font)
        if code > _MAX_CODE:
            return None
        _FONTS_WITH_ALIASES.add(font)
        by_pair[(glyph, text)] = code
        aliases[code] = glyph
        font.to_unicode[code] = text
        font.widths[code] = font.widths[glyph]
    return code


def _alias_line(stream: Any, textbox: Any, start: int) -> None:
    """Rewrite the codes of the line drawn from ``stream.stream[start]`` on."""
    glyphs = _line_glyphs(stream, textbox)
    if any(font.bitmap for font, _, _ in glyphs):
        return  # one-byte codes: not ours to touch
    chunks = stream.stream
    positions = [
        index
        for index in range(start, len(chunks))
        if isinstance(chunks[index], bytes) and chunks[index].endswith(b"] TJ")
    ]
    written = [
        int(group[k : k + 4], 16)
        for index in positions
        for group in _HEX.findall(chunks[index])
        for k in range(0, len(group), 4)
    ]
    if written != [code for _, code, _ in glyphs]:
        return  # not the glyphs we walked: leave the line as WeasyPrint drew it
    codes = iter(
        code if code in font.missing.values() else (_alias(font, code, text) or code)
        for font, code, text in glyphs
    )

    def rewrite(match: re.Match[bytes]) -> bytes:
        group = match.group(1)
        new = b"".join(b"%04x" % next(codes) for _ in range(0, len(group), 4))
        return b"<" + new + b">"

    for index in positions:
        chunks[index] = _HEX.sub(rewrite, chunks[index])


def _cid_to_gid_map(font_dictionary: Any, pdf: Any, aliases: dict[int, int], compress: Any):
    """Point the descendant font's codes at their glyphs: itself for every glyph code, its
    glyph for each alias (two bytes a code, as ISO 32000-1, 9.7.4.2 asks)."""
    import pydyf

    reference = font_dictionary["DescendantFonts"][0]
    descendant = pdf.objects[int(bytes(reference).split()[0])]
    if descendant.get("CIDToGIDMap") != "/Identity":
        return
    size = max(aliases) + 1
    table = bytearray()
    for code in range(size):
        table += aliases.get(code, code if code < _MAX_CODE else 0).to_bytes(2, "big")
    stream = pydyf.Stream([bytes(table)], compress=compress)
    pdf.add_object(stream)
    descendant["CIDToGIDMap"] = stream.reference
