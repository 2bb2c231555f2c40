"""Fonts a document needs: WeasyPrint is given only the families that print its characters.

A Latin lesson used to load every packaged font (CJK, Indic, emoji: about 50 MB copied and
scanned by fontconfig in each build). The PDF must be byte-identical to one printed with every
font loaded, for every script the fixtures cover.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import ROOT

from coursepack import fonts
from coursepack.check import check_lesson
from coursepack.writers import handout as handout_module
from coursepack.writers.handout import HandoutWriter

HAS_CJK = importlib.util.find_spec("justmytype_intl_cjk") is not None
INTL = ROOT / "tests" / "fixtures" / "intl"
LESSONS = [
    ROOT / "source" / "unamir.md",
    INTL / "greek.md",
    INTL / "arabic.md",
    INTL / "hebrew.md",
    INTL / "chemistry.md",
    ROOT / "tests" / "fixtures" / "subjects" / "computing.md",
] + ([INTL / "spanish-food.md"] if HAS_CJK else [])
CJK = {"Noto Sans JP", "Noto Sans KR", "Noto Sans SC", "Noto Sans TC"}


def _loaded(writer: HandoutWriter) -> set[str]:
    """Every family of every font set the writer has loaded."""
    families: set[str] = set()
    for key in writer._font_sets:
        families |= set(fonts.font_stack(writer.layouts.theme).text) if key is None else key
    return families


def test_a_latin_lesson_loads_only_latin_fonts() -> None:
    lesson, _ = check_lesson(ROOT / "source" / "unamir.md")
    writer = HandoutWriter()
    writer.render(lesson, "handout")
    writer.render(lesson, "key")
    loaded = _loaded(writer)
    assert "Atkinson Hyperlegible" in loaded and "JetBrains Mono" in loaded
    assert not loaded & (CJK | {"Noto Sans Devanagari", "Noto Emoji", "Noto Sans Hebrew"})
    assert len(writer._font_sets) == 1  # the set prepare() loads serves the lesson


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_needed_fonts_print_the_same_bytes_as_every_font(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson, diagnostics = check_lesson(path)
    assert lesson is not None, diagnostics
    fewer = HandoutWriter()
    ours = [fewer.render(lesson, audience) for audience in ("handout", "key")]
    monkeypatch.setattr(handout_module, "needed_families", lambda chars, stack: None)
    every = HandoutWriter()
    theirs = [every.render(lesson, audience) for audience in ("handout", "key")]
    assert list(every._font_sets) == [None]  # the writer really loaded every font
    assert ours == theirs


def test_a_script_brings_its_own_font() -> None:
    stack = fonts.font_stack(HandoutWriter().layouts.theme)
    latin = fonts.needed_families(set("Hello"), stack)
    assert latin == {"Atkinson Hyperlegible", "JetBrains Mono"}
    hebrew = fonts.needed_families(set("Hello שלום"), stack)
    assert hebrew is not None and "Noto Sans Hebrew" in hebrew
    # A character no font of the stack has: every font is loaded, as before.
    assert fonts.needed_families({"\U000e01ef"}, stack) is None


def test_characters_of_the_css_and_counter_styles() -> None:
    # A CSS escape is the character it names.
    chars = fonts.document_chars("<p>x</p>", ['li::before { content: "\\2713 " }'])
    assert chars is not None and "\u2713" in chars
    # A soft hyphen may print as a hyphen.
    chars = fonts.document_chars("<p>hy&shy;phen</p>", [])
    assert chars is not None and fonts.HYPHEN in chars
    # A counter style with symbols other than ASCII: no telling, every font.
    assert fonts.document_chars("<ol><li>x</li></ol>", ["ol { list-style-type: hebrew }"]) is None
    # Quotation marks of <q> come from the user agent's stylesheet, by language.
    assert fonts.document_chars("<q>x</q>", []) is None
    # The user agent's nested bullets, unless the CSS styles every ul itself.
    assert "\u25e6" in (fonts.document_chars("<ul></ul>", []) or set())
    styled = fonts.document_chars("<ul></ul>", ['ul { list-style-type: "-" }'])
    assert styled is not None and "\u25e6" not in styled
