"""Every block and inline kind of the model reaches every output where its format shows it.

The fixture ``every-kind.md`` holds one node of each kind, each with a marker word. A new kind
added to ``coursepack.model`` fails :func:`test_the_fixture_holds_every_kind` until the fixture
(and the table below) say where it shows, so a kind cannot silently vanish from an output.
"""

from __future__ import annotations

import subprocess
import typing
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, deck_link_targets, deck_texts, pdf_link_targets, pdf_text, run_cli

from coursepack import model
from coursepack.check import check_lesson

FIXTURE = ROOT / "tests" / "fixtures" / "lessons" / "every-kind.md"

# marker → the outputs whose text shows it: handout, key, slide faces + notes ("deck"), and the
# quiz exports: the graded blocks, and the text of a part with blanks (here the introduction).
SHOWN: dict[str, set[str]] = {
    "KINDTEXT": {"handout", "key", "deck", "moodle", "qti"},
    "KINDSTRONG": {"handout", "key", "deck", "moodle", "qti"},
    "KINDEMPH": {"handout", "key", "deck", "moodle", "qti"},
    "KINDCODE": {"handout", "key", "deck", "moodle", "qti"},
    "KINDLINK": {"handout", "key", "deck", "moodle", "qti"},
    "KINDCLOZE": {"key", "deck", "moodle", "qti"},  # a gap in the handout
    "KINDBEFOREBREAK": {"handout", "key", "deck", "moodle", "qti"},
    "KINDAFTERBREAK": {"handout", "key", "deck", "moodle", "qti"},
    "KINDSUB": {"handout", "key", "deck", "moodle", "qti"},
    "KINDSUP": {"handout", "key", "deck", "moodle", "qti"},
    "KINDLISTITEM": {"handout", "key", "deck"},
    "KINDHEADER": {"handout", "key", "deck"},
    "KINDCELL": {"handout", "key", "deck"},
    "KINDQUOTE": {"handout", "key", "deck"},
    "KINDCAPTION": {"handout", "key", "deck"},
    "KINDCODEBLOCK": {"handout", "key", "deck"},
    "KINDTEACHER": {"key", "deck"},  # the deck's speaker notes
    "KINDCALLOUT": {"handout", "key", "deck"},
    "KINDLEFTCOLUMN": {"handout", "key", "deck"},
    "KINDRIGHTCOLUMN": {"handout", "key", "deck"},
    "KINDCALLOUTTITLE": {"handout", "key", "deck"},
    "KINDQUESTION": {"handout", "key", "deck", "moodle", "qti"},
    "KINDRIGHT": {"handout", "key", "deck", "moodle", "qti"},
    "KINDWRONG": {"handout", "key", "deck", "moodle", "qti"},
    "KINDTERM": {"handout", "key", "deck", "moodle", "qti"},
    "KINDDEFINITION": {"handout", "key", "deck", "moodle", "qti"},
    "KINDFIRST": {"handout", "key", "deck", "moodle", "qti"},
    "KINDSECOND": {"handout", "key", "deck", "moodle", "qti"},
}


def _kinds(union: object) -> set[type]:
    return set(typing.get_args(union))


def _found_kinds(lesson: model.Lesson) -> set[type]:
    found: set[type] = set()
    for block in model.iter_all_blocks(lesson):
        found.add(type(block))
        for inlines in model.block_inlines(block):
            found.update(type(node) for node in model.iter_inlines(inlines))
    return found


def test_the_fixture_holds_every_kind() -> None:
    lesson, diagnostics = check_lesson(FIXTURE)
    assert lesson is not None, diagnostics
    assert not diagnostics
    missing = (_kinds(model.Block) | _kinds(model.Inline)) - _found_kinds(lesson)
    assert not missing, f"every-kind.md has no {sorted(k.__name__ for k in missing)}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("every-kind")
    result = run_cli("build", str(FIXTURE), "-o", str(out), "-j", "1", "-q")
    assert result.exit_code == 0, result.output
    exports = run_cli("build", str(FIXTURE), "-o", str(out), "--only", "moodle", "--only", "qti")
    assert exports.exit_code == 0, exports.output
    return {
        "handout": out / "every-kind-handout.pdf",
        "key": out / "every-kind-answer-key.pdf",
        "deck": out / "every-kind-slides.pptx",
        "moodle": out / "every-kind-moodle.xml",
        "qti": out / "every-kind-qti.zip",
    }


def _xml_text(data: bytes) -> str:
    """All the text of an XML file, HTML in it unescaped (as the LMS shows it)."""
    import html
    import xml.etree.ElementTree as ET

    return html.unescape(" ".join(ET.fromstring(data).itertext()))


def _texts(built: dict[str, Path]) -> dict[str, str]:
    return {
        "handout": pdf_text(built["handout"]),
        "key": pdf_text(built["key"]),
        "deck": "\n".join(deck_texts(built["deck"])),
        "moodle": _xml_text(built["moodle"].read_bytes()),
        "qti": "\n".join(
            _xml_text(archive.read(name))
            for archive in [zipfile.ZipFile(built["qti"])]
            for name in archive.namelist()
            if name.endswith(".xml")
        ),
    }


def test_every_marker_shows_where_its_format_says(built: dict[str, Path]) -> None:
    texts = _texts(built)
    for marker, where in SHOWN.items():
        for output, text in texts.items():
            assert (marker in text) == (output in where), (marker, output)


def test_sub_and_superscripts_and_formulas_are_drawn_as_such(built: dict[str, Path]) -> None:
    # The marks of the notation never print; the formula is a picture (not its LaTeX text).
    for output, text in _texts(built).items():
        assert "~2~" not in text and "^3^" not in text, output
        assert "$x^2" not in text, output
    from pptx import Presentation

    deck = Presentation(built["deck"])
    raised = [
        run.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
        for paragraph in shape.text_frame.paragraphs
        for run in paragraph.runs
        if run.font._rPr is not None and run.font._rPr.get("baseline")
    ]
    assert "2" in raised and "3" in raised


def test_a_hard_line_break_breaks_the_line(built: dict[str, Path]) -> None:
    for output in ("handout", "key"):
        lines = subprocess.run(
            ["pdftotext", "-layout", str(built[output]), "-"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
        before = next(i for i, line in enumerate(lines) if "KINDBEFOREBREAK" in line)
        assert "KINDAFTERBREAK" not in lines[before]
    deck = "\n".join(deck_texts(built["deck"]))
    assert "KINDBEFOREBREAK\vKINDAFTERBREAK" in deck or "KINDBEFOREBREAK\nKINDAFTERBREAK" in deck


def test_the_link_is_a_link_and_the_image_has_its_alt_text(built: dict[str, Path]) -> None:
    from pptx import Presentation

    for output in ("handout", "key"):
        assert "https://example.org/kind" in pdf_link_targets(built[output])
    assert "https://example.org/kind" in deck_link_targets(built["deck"])
    deck = Presentation(built["deck"])
    alts = [
        shape._element.xpath("./p:nvPicPr/p:cNvPr")[0].get("descr")
        for slide in deck.slides
        for shape in slide.shapes
        if shape.shape_type == 13  # picture
    ]
    assert "KINDALT" in alts
