"""Math, chemical notation and highlighted code: read as Pandoc reads them, drawn in every output.

The three subject lessons in tests/fixtures/subjects (maths, chemistry, computing) are built
once per module and read back as a student, a screen reader and a teacher would meet them.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import libreoffice_convert, pdf_text, run_cli, run_coursepack, write_lesson
from test_robustness import cpu_pair

from coursepack import code, formulas
from coursepack.model import Math, Subscript, Superscript, Text
from coursepack.reader import read_text

SUBJECTS = Path(__file__).parent / "fixtures" / "subjects"


def _inlines(body: str):
    lesson, diagnostics = read_text(f"---\ntitle: T\n---\n\n# S\n\n{body}\n", Path("t.md"))
    assert lesson is not None, diagnostics
    return lesson.sections[0].blocks[0].inlines


def _maths(body: str) -> list[tuple[str, bool]]:
    return [(n.tex, n.display) for n in _inlines(body) if isinstance(n, Math)]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Solve $x^2 + 3x - 4 = 0$ now.", [("x^2 + 3x - 4 = 0", False)]),
        ("Tickets cost $20 and $30.", []),  # a closing $ has no space before it
        # As in Pandoc, the first closer after an opener counts, dollar amounts or not.
        ("It costs $5, then $x$ more.", [("5, then $x", False)]),
        ("A $ x$ is not math, nor $x $.", []),  # no space after the opening, before the closing
        ("Not math: $x$5 dollars.", []),  # no digit right after the closing $
        ("An escaped \\$ sign and $y$.", [("y", False)]),
        ("Inline \\(a+b\\) and display \\[c\\].", [("a+b", False), ("c", True)]),
        ("Display $$\\frac{1}{2}$$ inline.", [("\\frac{1}{2}", True)]),
        ("Code `$x$` is code.", []),
        ("A literal \\[\\[not a blank\\]\\].", []),
    ],
)
def test_math_follows_pandocs_dollar_rules(body: str, expected: list[tuple[str, bool]]) -> None:
    assert _maths(body) == expected


def test_a_dollar_amount_and_an_escaped_dollar_stay_text() -> None:
    inlines = _inlines("Tickets cost $20 and $30; a \\$ sign.")
    assert [type(n) for n in inlines] == [Text]
    assert inlines[0].text == "Tickets cost $20 and $30; a $ sign."


def test_display_math_on_its_own_lines_keeps_the_following_lines_right() -> None:
    lesson, _ = read_text("---\ntitle: T\n---\n\n# S\n\n$$\nx = 1\n$$\nafter $y$\n", Path("t.md"))
    assert lesson is not None
    inlines = lesson.sections[0].blocks[0].inlines
    display, after = inlines[0], inlines[-1]
    assert isinstance(display, Math) and display.display and display.line == 7
    assert isinstance(after, Math) and after.tex == "y" and after.line == 10


def test_pandoc_sub_and_superscripts() -> None:
    inlines = _inlines("H~2~O, SO~4~^2−^, x^2^ and CO₂; a ~b c~ with a space is text.")
    scripts = [
        (type(n).__name__, n.text) for n in inlines if isinstance(n, (Subscript, Superscript))
    ]
    assert scripts == [
        ("Subscript", "2"),
        ("Subscript", "4"),
        ("Superscript", "2−"),
        ("Superscript", "2"),
    ]
    assert "CO₂" in "".join(n.text for n in inlines if isinstance(n, Text))
    assert "~b c~" in "".join(n.text for n in inlines if isinstance(n, Text))


# --------------------------------------------------------------------------- checking


def test_bad_latex_is_a_path_line_error_from_check(tmp_path: Path) -> None:
    lesson = write_lesson(
        tmp_path,
        "bad.md",
        "# S\n\nBad $\\frac{1}{$ here.\n\n- and $\\foo x$\n\n$$\nx^\n$$\n",
    )
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(lines) == 3, result.output
    never_closed = r"bad\.md:7: error: formula \$\\frac\{1\}\{\$: a '\{' is never closed"
    assert re.search(never_closed, lines[0])
    assert re.search(r"bad\.md:9: error: .*unknown command '\\foo'", lines[1])
    assert re.search(r"bad\.md:11: error: formula \$\$x\^\$\$: '\^' or '_' has nothing", lines[2])
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("tex", "problem"),
    [
        ("\\frac{1}{", "never closed"),
        ("x}", "closes no"),
        ("\\begin{bogus}1\\end{bogus}", "unknown environment 'bogus'"),
        ("\\notacommand", "unknown command"),
        ("x^", "nothing after it"),
        ("\\left( x", "\\left has no matching \\right"),
    ],
)
def test_every_unreadable_formula_is_named(tex: str, problem: str) -> None:
    assert problem in (formulas.problem(tex) or "")
    with pytest.raises(formulas.FormulaError):
        formulas.svg(tex)


# --------------------------------------------------------------------------- formula forms


def test_spoken_linear_and_tex_forms() -> None:
    tex = "x^2 + 3x - 4 = 0"
    assert formulas.spoken(tex) == "x squared plus 3 x minus 4 equals 0"
    assert formulas.linear(tex) == "x² + 3x − 4 = 0"
    assert formulas.tex_source(tex) == "\\(x^2 + 3x - 4 = 0\\)"
    assert formulas.tex_source("y", display=True) == "\\[y\\]"
    # A lesson in another language gets the LaTeX source, not English words.
    assert formulas.spoken(tex, lang="fr") == tex


def test_formulas_are_drawn_once_per_content_whatever_the_colour() -> None:
    formulas.forget()
    assert formulas.problem("\\sqrt{2}") is None  # check draws it...
    black = formulas.svg("\\sqrt{2}", False, "#000000")  # ...and the writers reuse it
    ink = formulas.svg("\\sqrt{2}", False, "#1f2933")
    info = formulas._record.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert 'fill="#1f2933"' in ink.svg and 'fill="#000000"' in black.svg
    assert "#010203" not in ink.svg


def test_omml_is_well_formed_for_every_construct() -> None:
    samples = [
        "x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}",
        "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}",
        "\\int_0^1 x\\,dx",
        "\\left(\\frac{a}{b}\\right)^2",
        "\\vec{v} + \\hat{y} + \\bar{x}",
        "\\lim_{x \\to 0} \\frac{\\sin x}{x}",
        "\\sqrt[3]{8}",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "x_i^2",
    ]
    for tex in samples:
        root = ET.fromstring(formulas.omml(tex))
        assert root.tag == f"{{{formulas.OMML_NS}}}oMath", tex
        texts = "".join(t.text or "" for t in root.iter(f"{{{formulas.OMML_NS}}}t"))
        assert "\\" not in texts, (tex, texts)


def test_drawings_are_kept_on_disk_for_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path))
    formulas.forget()
    first = formulas.svg("\\frac{7}{8}", True)
    assert len(list((tmp_path / "formulas").glob("*/*.json"))) == 1
    formulas.forget()  # a new process, as far as the memory cache goes

    def no_drawing(tex: str, display: bool) -> None:
        raise AssertionError("drawn again")

    monkeypatch.setattr(formulas, "_draw", no_drawing)
    assert formulas.svg("\\frac{7}{8}", True) == first
    formulas.forget()


def test_a_later_build_reads_every_form_of_a_formula_back_without_parsing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check, the alt text, the notes' text and the deck's OMML of a formula drawn by an
    earlier process come from the disk cache: nothing is parsed, drawn or imported again
    (importing ziamath, which loads its math font, cost a warm build more than its parses)."""
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path))
    tex = "x^2 + \\frac{3}{4}x - 4 = 0"
    formulas.forget()
    first = (
        formulas.problem(tex),
        formulas.svg(tex),
        formulas.spoken(tex),
        formulas.linear(tex),
        formulas.omml(tex),
    )
    assert first[0] is None and first[2].startswith("x squared plus")
    formulas.forget()  # a new process, as far as the memory cache goes

    def no_parse(tex: str, display: bool) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(formulas, "_parse", no_parse)
    monkeypatch.setattr(formulas, "_draw", no_parse)
    again = (
        formulas.problem(tex),
        formulas.svg(tex),
        formulas.spoken(tex),
        formulas.linear(tex),
        formulas.omml(tex),
    )
    assert again == first
    # Bad LaTeX is never kept as a drawing: it is parsed (and refused) every time.
    monkeypatch.undo()
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path))
    assert formulas.problem("\\frac{1}{") is not None
    assert formulas.problem("\\frac{1}{") is not None
    formulas.forget()


def test_cheap_style_inheritance_draws_what_ziamath_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """ziamath's styles given a shallow copy of the parent style, read from one dictionary,
    give the same drawings as its own deep ``asdict`` read through a ``ChainMap`` (every
    formula of the subject lessons and the benchmark's, and some coloured ones)."""
    import collections
    import dataclasses

    from ziamath import styles

    dollars = re.compile(r"\$\$(.+?)\$\$|\$([^$\s][^$]*?[^$\s]|[^$\s])\$", re.S)
    found = (
        match.group(1) or match.group(2)
        for lesson in SUBJECTS.glob("*.md")
        for match in dollars.finditer(lesson.read_text(encoding="utf-8"))
    )
    texs = {(tex, False) for tex in found if formulas.problem(tex) is None}
    texs |= _subject_and_benchmark_formulas()
    texs |= {
        ("\\color{red}{x} + \\mathbf{y}", True),
        ("\\mathrm{pH} = -\\log_{10}[\\mathrm{H^+}]", False),
    }
    texs = {item for item in texs if formulas.problem(*item) is None}
    assert len(texs) > 30
    ours = {item: formulas._draw(*item) for item in sorted(texs)}
    assert styles.asdict is formulas._parent_style_fields
    assert styles.ChainMap is formulas._style_params
    monkeypatch.setattr(styles, "asdict", dataclasses.asdict)
    monkeypatch.setattr(styles, "ChainMap", collections.ChainMap)
    assert all(formulas._draw(*item) == drawing for item, drawing in ours.items())


def _subject_and_benchmark_formulas() -> set[tuple[str, bool]]:
    """(TeX, display) of every formula of the subject lessons and of ten of the benchmark's."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from formulas import FORMULAS

    dollars = re.compile(r"\$\$(.+?)\$\$|\$([^$\s][^$]*?[^$\s]|[^$\s])\$", re.S)
    found = {
        (match.group(1) or match.group(2), bool(match.group(1)))
        for lesson in SUBJECTS.glob("*.md")
        for match in dollars.finditer(lesson.read_text(encoding="utf-8"))
    }
    return found | {(FORMULAS[i % 5].format(i=i + 2, j=i % 7 + 1), i % 2 == 0) for i in range(10)}


def test_ziamaths_tree_written_once_gives_the_svg_written_parsed_and_written_again() -> None:
    """A drawing is made from ziamath's element tree written out once: the same SVG text
    as ziamath's written text parsed and written again (every formula of the subject
    lessons and the benchmark's, coloured ones and escaped text)."""
    import copy

    ziamath = formulas._ziamath()
    found = _subject_and_benchmark_formulas()
    extra = ["\\color{red}{x} + \\mathbf{y}", "a < b \\& c > d", '\\text{x "y" & z}']
    found |= {(tex, display) for tex in extra for display in (False, True)}
    texs = sorted(item for item in found if formulas.problem(*item) is None)
    assert len(texs) > 30

    def math(tex: str, display: bool):  # noqa: ANN202
        element = copy.deepcopy(formulas.mathml(tex, display))
        element.set("mathcolor", formulas.TEXT_COLOUR)
        return ziamath.Math(element, size=formulas._DRAW_SIZE, margin=0)

    for tex, display in texs:
        once = formulas._without_use(math(tex, display).svgxml())
        again = formulas._without_use(ET.fromstring(math(tex, display).svg()))
        assert once == again, tex


def test_rows_measured_only_to_stretch_and_glyphs_made_once_draw_what_ziamath_draws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ziamath laying out a row's children a second time only when something in the row
    stretches (on copies made without writing XML out and parsing it), glyph symbols made
    once and sizes remembered give the drawings of its own code (every formula of the
    fixtures and the benchmark, and fences, matrices, cases, big operators, nested in each
    other)."""

    from ziamath.nodes.mrow import Mrow

    formulas._ziamath()
    if getattr(Mrow._get_height_nostretch, "ziamaths", None) is None:
        pytest.skip(f"ziamath is not {formulas._ZIAMATH_ROWS}: its own row layout is used")
    found = _subject_and_benchmark_formulas()
    extra = [
        "\\left(\\frac{a}{b}\\right)^2 + (x)",
        "\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}",
        "f(x)=\\sqrt{(x+1)(x-1)}",
        "\\lim_{x\\to 0}\\frac{\\sin x}{x}",
        "\\begin{cases}x & x>0\\\\ -x & \\text{else}\\end{cases}",
        "\\left[\\int_0^1 f\\,dx\\right] = \\sum_{k=1}^{n} \\frac{1}{k^2}",
        "\\{1, 2\\} \\cup |x| + \\overline{AB} + \\vec{v}",
        "\\sqrt[3]{\\frac{1}{2}} = x_{i_{j_k}}^{2^{3}}",
    ]
    found |= {(tex, display) for tex in extra for display in (False, True)}
    texs = sorted(item for item in found if formulas.problem(*item) is None)
    assert len(texs) > 30
    ours = {item: formulas._draw(*item) for item in texs}
    monkeypatch.setattr(Mrow, "_get_height_nostretch", Mrow._get_height_nostretch.ziamaths)
    assert [formulas._draw(*item) for item in texs] == [ours[item] for item in texs]
    # Glyph symbols made once per glyph (ziafont 0.11) draw the same as made each time.
    from ziafont.glyph import SimpleGlyph

    made_once = getattr(SimpleGlyph.svgsymbol, "ziafonts", None)
    if made_once is not None:
        monkeypatch.setattr(SimpleGlyph, "svgsymbol", made_once)
        assert [formulas._draw(*item) for item in texs] == [ours[item] for item in texs]
    # Sizes remembered (ziamath 0.13) give the sizes computed at each call.
    from ziamath.nodes.mnode import Mnode

    computed = getattr(Mnode.size_px, "ziamaths", None)
    assert computed is not None
    monkeypatch.setattr(Mnode, "size_px", computed)
    assert [formulas._draw(*item) for item in texs] == [ours[item] for item in texs]


# --------------------------------------------------------------------------- code


def test_code_tokens_give_the_text_back_with_leading_spaces() -> None:
    text = "  # indented\ndef f(x):\n    return x + 1"
    tokens = code.tokens(text, "python")
    assert "".join(t.text for t in tokens) == text
    kinds = {t.kind for t in tokens}
    assert {"comment", "keyword", "name", "number"} <= kinds
    assert code.tokens("  plain", "") == (code.CodeToken("plain", "  plain"),)
    assert code.tokens("x", "no-such-language") == (code.CodeToken("plain", "x"),)


# --------------------------------------------------------------------------- built outputs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three subject lessons built in every output."""
    out = tmp_path_factory.mktemp("subjects")
    source = out / "source"
    shutil.copytree(SUBJECTS, source)
    result = run_cli("build", str(source), "-o", str(out / "build"))
    assert result.exit_code == 0, result.output
    return out / "build"


def _struct_alts(path: Path) -> list[tuple[str, str]]:
    """(structure type, alt text) of every structure element that has an alt text."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    found: list[tuple[str, str]] = []

    def walk(node) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if not isinstance(node, DictionaryObject):
            return
        if "/Alt" in node:
            found.append((str(node.get("/S")), str(node["/Alt"])))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, ArrayObject) else [kids]:
            if kid is not None:
                walk(kid)

    walk(PdfReader(path).trailer["/Root"]["/StructTreeRoot"])
    return found


RAW_LATEX = re.compile(r"\\(frac|sqrt|sum|pm|alpha|Delta|mathrm|rightarrow|left|right)|\$|\^\{|_\{")


@pytest.mark.parametrize("stem", ["maths", "chemistry", "computing"])
@pytest.mark.parametrize("output", ["handout", "answer-key"])
def test_no_raw_latex_or_markers_in_the_pdfs(built: Path, stem: str, output: str) -> None:
    text = pdf_text(built / f"{stem}-{output}.pdf")
    found = RAW_LATEX.findall(text)
    # The maths lesson's intro shows two dollar amounts and an escaped dollar, as text.
    allowed = 3 if stem == "maths" else 0
    assert text.count("$") == allowed, text
    assert len(found) == allowed, found
    assert "~" not in text and not re.search(r"\w\^\w", text)


def test_one_alt_text_per_formula_in_the_structure_tree(built: Path) -> None:
    alts = _struct_alts(built / "maths-handout.pdf")
    figures = [alt for kind, alt in alts if kind == "/Figure"]
    # 33 formulas are shown in the handout (the notes' formula, the model answer's and the
    # blank's are not).
    assert len(figures) == 33
    assert "x squared plus 3 x minus 4 equals 0" in figures
    assert "x equals the fraction minus b plus or minus the square root of" in " ".join(figures)
    key = [alt for kind, alt in _struct_alts(built / "maths-answer-key.pdf") if kind == "/Figure"]
    # Also the model answer's three and the blank's answer, and in the answer tables: the
    # correct option's two, the model answer's three again, the match pairs' six, the order
    # items' three and the blank's answer again.
    assert len(key) == 33 + 3 + 1 + 2 + 3 + 6 + 3 + 1
    assert "x equals plus or minus 3" in key


def test_subscripts_are_smaller_and_lower_superscripts_higher(built: Path) -> None:
    from pypdf import PdfReader

    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size) -> None:  # noqa: ANN001 (pypdf's visitor)
        if text.strip():
            runs.append((text, size, tm[5]))

    PdfReader(built / "chemistry-handout.pdf").pages[0].extract_text(visitor_text=visit)
    index = next(i for i, run in enumerate(runs) if run[0].endswith("superscripts: H"))
    base, sub, _, _, _, _, sup = runs[index : index + 7]
    assert sub[0] == "2" and sub[1] < base[1] * 0.8
    assert sub[2] > base[2]  # y grows down the page here: a subscript sits lower
    assert sup[0] == "2−" and sup[1] < base[1] * 0.8 and sup[2] < base[2]


def test_code_is_highlighted_in_more_than_two_colours(built: Path) -> None:
    from pypdf import PdfReader

    page = PdfReader(built / "computing-handout.pdf").pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    fills = set(re.findall(r"([\d.]+ [\d.]+ [\d.]+) rg", content))
    assert len(fills) >= 5, fills  # ink, and keyword, string, comment, number, name colours
    text = pdf_text(built / "computing-handout.pdf")
    assert "    print(i)" in text or "print(i)" in text
    assert "def total(n):\n" in text.replace("\r", "")


# --------------------------------------------------------------------------- decks

A14_M = "{http://schemas.microsoft.com/office/drawing/2010/main}m"
OMATH = f"{{{formulas.OMML_NS}}}oMath"


def _deck(path: Path):
    from pptx import Presentation

    return Presentation(path)


def _slide_titled(deck, start: str):
    return next(s for s in deck.slides if s.shapes.title.text_frame.text.startswith(start))


@pytest.fixture(scope="module")
def picture_decks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The maths and chemistry lessons with ``slide-math: pictures``, decks only."""
    out = tmp_path_factory.mktemp("pictures")
    for stem in ("maths", "chemistry"):
        text = (SUBJECTS / f"{stem}.md").read_text(encoding="utf-8")
        text = text.replace("\n---\n", "\nslide-math: pictures\n---\n", 1)
        (out / f"{stem}.md").write_text(text, encoding="utf-8")
    result = run_cli("build", str(out), "-o", str(out / "build"), "--only", "slides")
    assert result.exit_code == 0, result.output
    return out / "build"


def test_deck_formulas_are_editable_equations_valid_against_the_schema(built: Path) -> None:
    import openxml_audit

    deck = _deck(built / "maths-slides.pptx")
    answer_boxes = [
        shape
        for slide in deck.slides
        for shape in slide.shapes
        if shape.name.startswith("Answer ")  # shown on a click: the revealed answers
    ]
    revealed = [m for shape in answer_boxes for m in shape._element.iter(A14_M)]
    equations = [m for slide in deck.slides for m in slide.shapes._spTree.iter(A14_M)]
    # every formula the slides show before a click: the handout's 33 and the blank's answer
    # (not the notes' one); the model answer's three appear with the revealed answers
    assert len(equations) - len(revealed) == 33 + 1
    assert len(revealed) >= 3
    first = _slide_titled(deck, "Factorising")
    texts = [t.text for t in first.shapes._spTree.iter(f"{{{formulas.OMML_NS}}}t")]
    assert "".join(texts[:9]) == "x2+3x−4=0"
    slide_text = "\n".join(
        shape.text_frame.text for s in deck.slides for shape in s.shapes if shape.has_text_frame
    )
    assert "$" not in slide_text.replace("$20 and $30; a $ sign", "")
    assert "\\frac" not in slide_text
    for stem in ("maths", "chemistry", "computing"):
        result = openxml_audit.validate_pptx(str(built / f"{stem}-slides.pptx"))
        assert result.is_valid, [str(e) for e in result.errors[:5]]


def test_deck_notes_give_formulas_as_readable_text(built: Path) -> None:
    deck = _deck(built / "maths-slides.pptx")
    notes = "\n".join(s.notes_slide.notes_text_frame.text for s in deck.slides if s.has_notes_slide)
    assert "Stress that a cannot be zero" in notes
    assert "Answer: A — x = 2 and x = 3" in notes
    assert "x = (−3 ± 5)/4" in notes  # the model answer
    assert "\\frac" not in notes and "$" not in notes


def test_picture_decks_draw_display_formulas_with_alt_text(picture_decks: Path) -> None:
    import openxml_audit

    deck = _deck(picture_decks / "maths-slides.pptx")
    assert not [m for s in deck.slides for m in s.shapes._spTree.iter(A14_M)]
    pictures = [
        shape for s in deck.slides for shape in s.shapes if shape.name.startswith("Formula")
    ]
    assert len(pictures) == 1  # the lesson's one display formula on a line of its own
    descr = pictures[0]._element.nvPicPr.cNvPr.get("descr")
    assert descr.startswith("x equals the fraction minus b plus or minus the square root")
    assert pictures[0].image.content_type == "image/png"
    factorising = _slide_titled(deck, "Factorising").shapes[1].text_frame.text
    assert "x² + 3x − 4 = 0" in factorising
    assert openxml_audit.validate_pptx(str(picture_decks / "maths-slides.pptx")).is_valid


EVERYWHERE = """# Where formulas go

## The power rule for $x^n$

- A bullet with $x^2 + 1$ in it.
  - A sub-bullet with $y_1$.

$$
\\int_0^1 x\\,dx = \\frac{1}{2}
$$

::: callout-note
A callout with $a^2 + b^2 = c^2$ and a display:

$$
c = \\sqrt{a^2 + b^2}
$$
:::

## A table

| Name $n$ | Formula |
|---|---|
| square $s$ | $x^2$ |

## A check

::: question
Which is $\\frac{d}{dx} x^2$?

- [x] $2x$
- [ ] $x$
:::

::: question
Expand $(a+b)^2$.

Answer: $a^2 + 2ab + b^2$

$$
(a+b)^2 = a^2 + 2ab + b^2
$$
:::
"""


def _text_frames(deck):  # noqa: ANN001, ANN202
    """(slide, shape, text frame) of every text frame, table cells included."""
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                yield slide, shape, shape.text_frame
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    for cell in row.cells:
                        yield slide, shape, cell.text_frame


def test_slide_equations_take_the_size_and_colour_of_their_text(tmp_path: Path) -> None:
    """In bullets, sub-bullets, callouts, table cells, prompts, options and the answer
    reveal, an equation is as large as the text of its paragraph (the frame's list style for
    its level) and, like that text, names no colour of its own (the fallback run neither);
    a formula in a title is text in the title's own runs."""
    from pptx.oxml.ns import qn

    path = write_lesson(tmp_path, "everywhere.md", EVERYWHERE)
    result = run_cli("build", str(path), "-o", str(tmp_path / "out"), "--only", "slides")
    assert result.exit_code == 0, result.output
    deck = _deck(tmp_path / "out" / "everywhere-slides.pptx")
    a14 = "{http://schemas.microsoft.com/office/drawing/2010/main}m"
    places = set()
    for _slide, shape, frame in _text_frames(deck):
        styles = frame._txBody.find(qn("a:lstStyle"))
        for paragraph in frame.paragraphs:
            equations = paragraph._p.findall(f".//{a14}")
            if not equations:
                continue
            level = paragraph.level
            default = styles.find(qn(f"a:lvl{level + 1}pPr")).find(qn("a:defRPr"))
            size = int(default.get("sz")) / 100
            for run in paragraph.runs:
                assert run.font.size.pt == size, (shape.name, paragraph.text)
                assert run.font._rPr.find(qn("a:solidFill")) is None  # inherited
            assert default.find(qn("a:solidFill")) is None
            for equation in equations:
                fallback = (
                    equation.getparent()
                    .getparent()
                    .find("{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback")
                )
                assert fallback.find(f".//{qn('a:solidFill')}") is None
                assert int(fallback.find(f".//{qn('a:rPr')}").get("sz")) / 100 == size
            places.add(shape.name.rstrip("0123456789 "))
    assert {"Content Placeholder", "Callout", "Table", "Answer"} <= places
    titles = [slide.shapes.title.text_frame.text for slide in deck.slides]
    assert "The power rule for xⁿ" in titles


def _with_text_colour(template: Path, out: Path, colour: str) -> Path:
    """A copy of the deck template whose theme's first dark colour (the text's) is ``colour``."""
    import zipfile

    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "ppt/theme/theme1.xml":
                data = re.sub(
                    rb"<a:dk1>.*?</a:dk1>",
                    f'<a:dk1><a:srgbClr val="{colour}"/></a:dk1>'.encode(),
                    data,
                )
            target.writestr(item, data)
    return out


def test_formula_pictures_take_the_colour_the_template_gives_the_text(tmp_path: Path) -> None:
    """With slide-math: pictures, a display formula is drawn in the colour the template's
    theme gives the text of its frame (body, callout, answer), not the theme.yaml ink, and
    as tall as its paragraph's text size makes it."""
    import io

    from PIL import Image

    template = _with_text_colour(
        Path(__file__).parent.parent / "layouts" / "deck.pptx", tmp_path / "maroon.pptx", "7A1F1F"
    )
    path = write_lesson(tmp_path, "pictures.md", EVERYWHERE)
    settings = f"\nslide-math: pictures\npptx-template: {template.name}\n---\n"
    path.write_text(path.read_text(encoding="utf-8").replace("\n---\n", settings, 1), "utf-8")
    result = run_cli("build", str(path), "-o", str(tmp_path / "out"), "--only", "slides")
    assert result.exit_code == 0, result.output
    deck = _deck(tmp_path / "out" / "pictures-slides.pptx")
    pictures = [
        shape
        for slide in deck.slides
        for shape in slide.shapes
        if shape.shape_type == 13 and shape.name.startswith("Formula")
    ]
    assert len(pictures) == 3  # the integral, the callout's root, the model answer's
    for picture in pictures:
        image = Image.open(io.BytesIO(picture.image.blob)).convert("RGBA")
        pixels = getattr(image, "get_flattened_data", image.getdata)()
        inked = [pixel[:3] for pixel in pixels if pixel[3] == 255]
        assert inked and max(set(inked), key=inked.count) == (0x7A, 0x1F, 0x1F)


def test_deck_sub_and_superscripts_are_baseline_runs(built: Path) -> None:
    deck = _deck(built / "chemistry-slides.pptx")
    runs = [
        (run.text, run.font._rPr.get("baseline"))
        for s in deck.slides
        for shape in s.shapes
        if shape.has_text_frame
        for p in shape.text_frame.paragraphs
        for run in p.runs
    ]
    water = next(i for i, (text, _) in enumerate(runs) if text.endswith("A water molecule, H"))
    assert runs[water + 1] == ("2", "-25000")
    assert runs[water + 2][1] is None
    assert ("2−", "30000") in runs and ("+", "30000") in runs


def test_a_short_code_block_stays_on_one_slide_in_several_colours(built: Path) -> None:
    deck = _deck(built / "computing-slides.pptx")
    slide = _slide_titled(deck, "A for loop")
    assert not any(s.shapes.title.text_frame.text.startswith("A for loop (") for s in deck.slides)
    body = slide.shapes[1].text_frame
    lines = [p.text for p in body.paragraphs]
    assert lines[:6] == [
        "# Sum the numbers 1 to n",
        "def total(n):",
        "    result = 0",
        "    for i in range(1, n + 1):",
        "        result += i  # add i",
        "    return result",
    ]
    colours = {
        str(run.font.color.rgb)
        for p in body.paragraphs[:6]
        for run in p.runs
        if run.font.color and run.font.color.type is not None
    }
    assert len(colours) > 2, colours
    keyword = next(r for r in body.paragraphs[1].runs if r.text == "def")
    assert keyword.font.bold


def test_code_moves_whole_to_the_next_slide_and_only_a_giant_block_is_split(
    tmp_path: Path,
) -> None:
    from coursepack.reader import read_lesson
    from coursepack.writers.deck import DeckWriter

    bullets = "\n".join(f"- Point {i} about loops, written out at some length." for i in range(9))
    code_block = "\n".join(f"x{i} = {i}" for i in range(7))
    giant = "\n".join(f"y{i} = {i}" for i in range(40))
    body = (
        f"# S\n\n## Short\n\n{bullets}\n\n```python\n{code_block}\n```\n\n"
        f"## Giant\n\n```python\n{giant}\n```\n"
    )
    lesson, diagnostics = read_lesson(write_lesson(tmp_path, "c.md", body))
    assert lesson is not None, diagnostics
    plan = DeckWriter().plan(lesson)
    pages = {}
    for slide in plan.slides:
        body_block = getattr(slide, "body", None)
        if body_block is not None:
            code_lines = [p.text for p in body_block.paras if p.style == "code"]
            pages[slide.title] = code_lines
    short = [lines for title, lines in pages.items() if title.startswith("Short")]
    assert [lines for lines in short if lines] == [[f"x{i} = {i}" for i in range(7)]]
    giant_pages = [lines for title, lines in pages.items() if title.startswith("Giant (")]
    assert len(giant_pages) >= 2
    assert sum(giant_pages, []) == [f"y{i} = {i}" for i in range(40)]  # whole lines, in order


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) and poppler-utils (pdftotext) are needed to render decks",
)
def test_libreoffice_renders_every_subject_deck_inside_its_slides(
    built: Path, picture_decks: Path, tmp_path: Path
) -> None:

    from test_deck_render import EMU_PER_PT, inside, shape_boxes, words_by_page

    decks = [built / f"{stem}-slides.pptx" for stem in ("maths", "chemistry", "computing")]
    decks += [picture_decks / f"{stem}-slides.pptx" for stem in ("maths", "chemistry")]
    for index, deck in enumerate(decks):
        shutil.copyfile(deck, tmp_path / f"{index}-{deck.name}")
    libreoffice_convert([tmp_path / f"{i}-{d.name}" for i, d in enumerate(decks)], tmp_path)
    problems = []
    for index, deck_path in enumerate(decks):
        name = f"{index}-{deck_path.stem}"
        deck = _deck(deck_path)
        pages = words_by_page(tmp_path / f"{name}.pdf")
        assert len(pages) == len(deck.slides), name
        for number, (slide, (width, height, words)) in enumerate(
            zip(deck.slides, pages, strict=True), 1
        ):
            boxes = shape_boxes(slide)
            formulas_at = [
                (s.left / EMU_PER_PT, s.top / EMU_PER_PT)
                + ((s.left + s.width) / EMU_PER_PT, (s.top + s.height) / EMU_PER_PT)
                for s in slide.shapes
                if s.name.startswith("Formula")
            ]
            for word, box in words:
                # a sub/superscript's box is its smaller font's ascent and descent, moved by
                # a quarter em: a third of it may stand out of the line (its ink does not)
                tol = max(3.0, (box[3] - box[1]) / 3) if len(word) <= 2 else 3.0
                if not inside(box, (0, 0, width, height), tol=0.5):
                    problems.append(f"{name} slide {number}: {word!r} is off the page")
                elif not any(inside(box, outer, tol) for outer in boxes):
                    problems.append(f"{name} slide {number}: {word!r} overflows its shape")
                for f in formulas_at:  # no text under a formula's picture
                    if box[0] < f[2] and box[2] > f[0] and box[1] < f[3] - 2 and box[3] > f[1] + 2:
                        problems.append(f"{name} slide {number}: {word!r} under a formula")
    assert not problems, "\n".join(problems[:20])


# --------------------------------------------------------------------------- exports


def test_exports_carry_formulas_as_tex_and_notation_as_html() -> None:
    from lms_checks import moodle_problems, moodle_questions, qti_problems

    from coursepack.check import check_lesson
    from coursepack.writers import moodle, qti

    maths, _ = check_lesson(SUBJECTS / "maths.md")
    chemistry, _ = check_lesson(SUBJECTS / "chemistry.md")
    assert maths is not None and chemistry is not None
    data = moodle.lesson_xml(maths)
    assert moodle_problems(data) == []
    texts = "\n".join(
        (q.findtext("questiontext/text") or "") + (q.findtext("answer/text") or "")
        for q in moodle_questions(data)
    )
    assert "\\(x^2 - 5x + 6 = 0\\)" in texts
    assert "\\(x = 2\\)" in texts
    # the blank's gap wants what a student can type
    assert "{1:SHORTANSWER:=x &#61; ±3}" in texts.replace("&amp;", "&")
    assert "$" not in texts
    chem_questions = moodle_questions(moodle.lesson_xml(chemistry))
    chem = "\n".join((q.findtext("questiontext/text") or "") for q in chem_questions)
    assert "water is H<sub>2</sub>O, and carbon dioxide is {1:SHORTANSWER:=CO2}." in chem
    assert qti_problems(qti.lesson_package(maths)) == []


def test_the_fast_svg_path_drawer_prints_the_same_bytes(tmp_path: Path) -> None:
    """Formulas' outlines drawn by svg_paths give the PDF WeasyPrint's own parser gives."""
    from coursepack.writers import svg_paths
    from coursepack.writers.weasyprint_loader import load_weasyprint

    weasyprint = load_weasyprint()
    tex = r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a} + \sum_{i=1}^{n} \left(\frac{a}{b}\right)^2"
    drawing = formulas.svg(tex, True)
    # every outline is in the simple form the fast drawer takes (else it would not be tested)
    paths = re.findall(r' d="([^"]*)"', drawing.svg)
    assert paths and all(svg_paths._SIMPLE.fullmatch(d) for d in paths)
    source = drawing.svg.replace("#", "%23")
    html = f'<img src="data:image/svg+xml;utf8,{source}" style="width: 20em">'
    svg_paths.install(weasyprint)
    fast = weasyprint.HTML(string=html).write_pdf()
    again = weasyprint.HTML(string=html).write_pdf()  # every glyph's operators remembered
    tags = weasyprint.svg.TAGS
    installed = tags["path"]
    from weasyprint.svg.path import path as original

    tags["path"] = original
    try:
        slow = weasyprint.HTML(string=html).write_pdf()
    finally:
        tags["path"] = installed
    assert fast == slow == again
    assert installed is not original and getattr(installed, "_coursepack_fast", False)


def _handout_writer():
    from coursepack.layouts import LayoutSearch, default_search_path
    from coursepack.writers.handout import HandoutWriter

    return HandoutWriter(LayoutSearch(default_search_path(Path("no-such-folder"))))


def _pixels(pdf: bytes, folder: Path, name: str) -> list[bytes]:
    """Every page of ``pdf`` as RGB pixels (pdftoppm, 100 dpi)."""
    import subprocess

    from PIL import Image

    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", str(folder / f"{name}.pdf"), str(folder / name)],
        check=True,
    )
    pages = sorted(folder.glob(f"{name}-*.png"))
    return [Image.open(page).convert("RGB").tobytes() for page in pages]


def test_formulas_painted_from_operators_look_as_weasyprint_paints_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handout and key of the maths lesson, painted from cached operators and glyph
    XObjects, give the pixels WeasyPrint's own SVG painter gives (in the text's colour)."""
    from coursepack.writers import formula_paint

    lesson, _ = read_text((SUBJECTS / "maths.md").read_text(encoding="utf-8"), SUBJECTS / "m.md")
    writer = _handout_writer()
    try:
        fast = {audience: writer.render(lesson, audience) for audience in ("handout", "key")}
        monkeypatch.setattr(formula_paint, "painting_of", lambda tex, display: None)
        slow = {audience: writer.render(lesson, audience) for audience in ("handout", "key")}
    finally:
        writer.close()
    for audience in fast:
        assert b"/Subtype /Form" in _uncompressed(fast[audience])  # the glyph XObjects
        assert fast[audience] != slow[audience]
        ours = _pixels(fast[audience], tmp_path, f"fast-{audience}")
        theirs = _pixels(slow[audience], tmp_path, f"slow-{audience}")
        assert len(ours) == len(theirs) >= 2
        assert ours == theirs, audience


def _uncompressed(pdf: bytes) -> bytes:
    """The PDF with every stream uncompressed and each object on its own (qpdf --qdf)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["qpdf", "--qdf", "--object-streams=disable", str(source), str(target)], check=True
        )
        return target.read_bytes()


def _glyph_colours(pdf: bytes) -> list[dict[str, set[str]]]:
    """Per page, for each glyph XObject it paints, the fill colours (``r g b rg``) it is
    painted in."""
    pages = []
    for stream in re.findall(rb"stream\n(.*?)endstream", _uncompressed(pdf), re.S):
        colours: dict[str, set[str]] = {}
        fill = "0 0 0"
        saved: list[str] = []
        for line in stream.decode("latin-1").splitlines():
            if line == "q":
                saved.append(fill)
            elif line == "Q" and saved:
                fill = saved.pop()
            elif line.endswith(" rg"):
                fill = line[:-3]
            elif line.endswith(" Do") and line.startswith("/g"):
                colours.setdefault(line[1:-3], set()).add(fill)
        if colours:
            pages.append(colours)
    return pages


def test_a_formula_address_naming_unreadable_tex_prints_its_alt_text() -> None:
    """A layout could put any formula address in its HTML: unreadable TeX is a missing
    picture (WeasyPrint prints the alt text), never a crash; the drawable one beside it is
    painted. (The painter's fallback to WeasyPrint's SVG painter is what the pixel test above
    compares against.)"""
    from coursepack.writers import formula_paint
    from coursepack.writers.weasyprint_loader import load_weasyprint

    weasyprint = load_weasyprint()
    assert formula_paint.install(weasyprint)
    bad = formula_paint.formula_url("\\frac{1}{", False)
    good = formula_paint.formula_url("\\mathrm{pH} = -\\log_{10}[\\mathrm{H^+}]", False)
    html = f'<p>A <img src="{bad}" alt="broken"> B <img src="{good}"></p>'
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert b"/Subtype /Form" in _uncompressed(pdf)
    assert "broken" in pdf_text_of(pdf)


def pdf_text_of(pdf: bytes) -> str:
    """The text of a PDF given as bytes."""
    import io

    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_answer_key_formulas_take_the_answer_colour(tmp_path: Path) -> None:
    """A formula in a correct option, a model answer or a filled blank is painted in the
    theme's answer colour in the key, like the answer's words; elsewhere (the prompts, the
    handout, the key's table of answers) in the ink, like the words around it."""
    from coursepack.layouts import LayoutSearch, default_search_path
    from coursepack.writers import formula_paint

    body = (
        "# Algebra\n\n## Check\n\n"
        "::: question\nWhich is the derivative of $y^3$?\n\n- [x] $3y^2$\n- [ ] $y^4$\n:::\n\n"
        "::: question\nExpand $(a+b)^2$.\n\nAnswer: $a^2 + 2ab + b^2$\n:::\n\n"
        "Fill in: seven times six is [[$42$]].\n"
    )
    path = write_lesson(tmp_path, "colours.md", body)
    lesson, diagnostics = read_text(path.read_text(encoding="utf-8"), path)
    assert lesson is not None, diagnostics
    theme = LayoutSearch(default_search_path(tmp_path / "none")).theme["colours"]

    def rgb(hex_colour: str) -> str:
        from pydyf import _to_bytes

        channels = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return " ".join(_to_bytes(channel).decode() for channel in channels)

    answer, ink = rgb(theme["answer"]), rgb(theme["ink"])

    def glyphs(tex: str) -> set[str]:
        painting = formula_paint.painting_of(tex, False)
        assert painting is not None
        return set(painting.glyph_names)

    writer = _handout_writer()
    try:
        key, glance = _glyph_colours(writer.render(lesson, "key"))
        (handout,) = _glyph_colours(writer.render(lesson, "handout"))
    finally:
        writer.close()
    # glyphs only the answers have, and glyphs only the rest has (the 3 of 3y^2 is y^3's)
    in_answers = glyphs("3y^2") | glyphs("a^2 + 2ab + b^2") | glyphs("42")
    elsewhere = glyphs("y^3") | glyphs("(a+b)^2") | glyphs("y^4")
    assert in_answers - elsewhere and elsewhere - in_answers
    for name in in_answers - elsewhere:
        assert key[name] == {answer}, name
    for name in elsewhere - in_answers:
        assert key[name] == handout[name] == {ink}, name
    # "Answers at a glance" prints the answers in the ink of its table, formulas too
    assert in_answers - elsewhere <= set(glance)
    assert all(glance[name] == {ink} for name in glance)
    assert answer != ink


def test_formulas_cost_a_handout_little_and_are_not_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild, in the same process (watch, the key after the handout) or in a new one
    with the disk cache, neither draws any formula again nor turns it into operators again;
    and 200 formulas make a handout's PDF less than 2.5 times the CPU of the same lesson
    with words of the same length (4.0 times when WeasyPrint painted SVG pictures, about
    1.7 now: the rest is laying out 400 inline pictures)."""
    import sys

    from coursepack.writers import formula_paint

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from formulas import lesson as benchmark_lesson  # the benchmark's lesson

    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path / "cache"))
    lessons = {}
    for with_math in (False, True):
        path = tmp_path / f"lesson-{with_math}.md"
        path.write_text(benchmark_lesson(200, with_math), encoding="utf-8")
        lessons[with_math], _ = read_text(path.read_text(encoding="utf-8"), path)
    calls = {"draw": 0, "paint": 0}
    draw, paint = formulas._draw, formula_paint._paint

    def counted(name, work):  # noqa: ANN001, ANN202
        def wrapper(*args):  # noqa: ANN002, ANN202
            calls[name] += 1
            return work(*args)

        return wrapper

    monkeypatch.setattr(formulas, "_draw", counted("draw", draw))
    monkeypatch.setattr(formula_paint, "_paint", counted("paint", paint))
    formulas.forget()
    formula_paint.painting_of.cache_clear()
    writer = _handout_writer()
    try:
        writer.render(lessons[True], "handout")
        assert calls == {"draw": 200, "paint": 200}
        writer.render(lessons[True], "key")  # the same process: memory caches
        assert calls == {"draw": 200, "paint": 200}
        formulas.forget()  # a new process, as far as the memory goes
        formula_paint.painting_of.cache_clear()
        formula_paint._glyph.cache_clear()
        formula_paint._GLYPHS.clear()  # the outlines read back from their files too
        writer.render(lessons[True], "handout")
        assert calls == {"draw": 200, "paint": 200}
        plain, maths = cpu_pair(
            lambda: writer.render(lessons[False], "handout"),
            lambda: writer.render(lessons[True], "handout"),
        )
    finally:
        writer.close()
    assert maths < 2.5 * plain, f"200 formulas: {maths:.2f} s of CPU vs {plain:.2f} s without"


def test_a_glyph_transform_read_directly_gives_weasyprints_operands() -> None:
    """The painter reads ziamath's ``matrix(a b c d e f)`` itself: the ``cm`` operands pydyf
    writes are those of WeasyPrint's parser, flat matrices place nothing, and any other
    transform is WeasyPrint's to parse."""
    import pydyf
    from weasyprint.svg.utils import transform

    from coursepack.writers import formula_paint

    def written(values: tuple[float, ...] | None) -> bytes | None:
        if values is None:
            return None
        stream = pydyf.Stream()
        stream.set_matrix(*values)
        return stream.stream[-1]

    for text in (
        "matrix(1.16667 0 0 1.16667 0.413 -8.19)",
        "matrix(1 0 0 1 -0.0 0)",
        "matrix(-1 0 0 -1 -12.5 .5)",
        "matrix(0.7 0 0 0.7 3 -0)",
        "matrix(0 0 0 0 1 1)",
        "matrix(1,0,0,1,2,3)",
        "translate(2 3) scale(2)",
        "rotate(90)",
        "",
    ):
        matrix = transform(text, None, 16, 1)
        expected = written(matrix.values) if text and matrix.determinant else None
        assert written(formula_paint._matrix(text, transform)) == expected, text


def test_a_painting_whose_glyph_file_is_gone_is_painted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A formula's painting names its glyphs, whose outlines are files of their own: one
    removed from the cache (a partial clean-up) makes the formula painted anew, never drawn
    without it."""
    from coursepack.writers import formula_paint
    from coursepack.writers.weasyprint_loader import load_weasyprint

    load_weasyprint()
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path / "cache"))
    tex = "\\frac{a}{b} + c^2"
    painted = formula_paint.painting_of(tex, False)
    assert painted is not None and painted.glyphs
    glyph_files = sorted((tmp_path / "cache" / "paintings").glob("glyphs-*/*/*"))
    assert {path.name for path in glyph_files} == set(painted.glyph_names)
    formula_paint.painting_of.cache_clear()
    formula_paint._GLYPHS.clear()
    assert formula_paint.painting_of(tex, False) == painted  # read back whole
    glyph_files[0].unlink()
    formula_paint.painting_of.cache_clear()
    formula_paint._GLYPHS.clear()
    assert formula_paint.painting_of(tex, False) == painted  # painted again
    assert glyph_files[0].exists()


def test_a_lessons_formulas_are_painted_once_before_its_outputs_spread_over_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lesson's handout and key go to two workers: the formulas' operators are made
    (or read back) once, before the workers fork, for both to inherit; lessons built one
    per worker do that work in their worker, in parallel."""
    from coursepack.build import Builder, BuildOptions
    from coursepack.check import formulas_of
    from coursepack.layouts import LayoutSearch, default_search_path
    from coursepack.writers import formula_paint

    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path / "cache"))
    lesson, _ = read_text((SUBJECTS / "maths.md").read_text(encoding="utf-8"), SUBJECTS / "m.md")
    assert lesson is not None
    builder = Builder(LayoutSearch(default_search_path(tmp_path / "none")))
    options = BuildOptions(out_dir=tmp_path / "out", force=True, jobs=2)
    planned, _ = builder.plan([lesson], options)
    assert {item.kind for item in planned} >= {"handout", "key"}
    wanted = {(node.tex.strip(), node.display) for node in formulas_of(lesson)}
    assert len(wanted) > 10
    try:
        formula_paint.painting_of.cache_clear()
        builder._prepare(planned)
        assert formula_paint.painting_of.cache_info().currsize == 0
        builder._prepare(planned, spread=True)
        assert formula_paint.painting_of.cache_info().currsize == len(wanted)
        assert all(formula_paint.painting_of(*formula) for formula in wanted)
        assert formula_paint.painting_of.cache_info().misses == len(wanted)
    finally:
        builder.close()


def test_formulas_are_never_silently_lost_when_the_painter_cannot_be_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formula addresses are painted by our hook only: on a WeasyPrint it does not fit, a
    lesson with formulas must fail loudly (an internal error), never print the alt text in
    their place and exit 0; a lesson without formulas still prints."""
    from coursepack.diagnostics import InternalError
    from coursepack.writers import formula_paint

    monkeypatch.setattr(formula_paint, "install", lambda weasyprint: False)
    with_math = write_lesson(tmp_path, "maths.md", "## Powers\n\n- $E = mc^2$ again.\n")
    without = write_lesson(tmp_path, "words.md", "## Powers\n\n- Energy again.\n")
    writer = _handout_writer()
    try:
        assert writer.render(read_text(without.read_text(encoding="utf-8"), without)[0], "handout")
        lesson, _ = read_text(with_math.read_text(encoding="utf-8"), with_math)
        with pytest.raises(InternalError, match="cannot paint formulas"):
            writer.render(lesson, "handout")
    finally:
        writer.close()


def test_code_colours_stay_readable_in_a_grayscale_print() -> None:
    """Every code colour has at least 4.5:1 contrast on white (as gray, too: the contrast
    is computed from luminance), and keywords, names and comments also differ in weight or
    slant."""
    from coursepack.layouts import LayoutSearch

    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    styles = code.code_styles(LayoutSearch().theme)
    for kind, style in styles.items():
        assert 1.05 / (luminance(style.colour) + 0.05) >= 4.5, kind
    assert styles["keyword"].bold and styles["name"].bold and styles["comment"].italic


def test_drawing_new_formulas_prints_no_library_log_lines(tmp_path: Path) -> None:
    """A build that draws its formulas (an empty cache) says only what coursepack says: the
    formula font's glyph substitution must not switch on the terminal logging that then
    prints every library's warnings ("WARNING:weasyprint:Ignored ...")."""
    result = run_coursepack(
        "build",
        str(SUBJECTS / "maths.md"),
        "-o",
        str(tmp_path / "out"),
        "--jobs",
        "1",
        "-q",
        cwd=tmp_path,
        env={"COURSEPACK_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "cache" / "formulas").glob("*/*.json"))  # they were drawn here
    assert "WARNING" not in result.stderr and "weasyprint" not in result.stderr, result.stderr
