"""Every language and script: real glyphs from the project's fonts, the same bytes on every
build, and the check that warns about a character no font has.

The lessons are tests/fixtures/intl/: Spanish with a line of Japanese, Chinese and Korean,
chemistry with subscripts, Greek, Arabic and Hebrew.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, run_cli, run_coursepack, write_lesson

from coursepack import fonts
from coursepack.layouts import LayoutSearch

INTL = ROOT / "tests" / "fixtures" / "intl"
HAS_CJK = importlib.util.find_spec("justmytype_intl_cjk") is not None
#: Font names our packages give (PDF base fonts are "ABCDEF+Family-Style").
OUR_FAMILIES = ("Atkinson-Hyperlegible", "Noto-Sans", "JetBrains-Mono", "Noto-Emoji")


def pdf_font_names(path: Path) -> set[str]:
    """The base font names embedded in a PDF, without the subset prefix."""
    from pypdf import PdfReader

    names: set[str] = set()
    for page in PdfReader(path).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def lessons(*names: str) -> list[Path]:
    return [INTL / f"{name}.md" for name in names]


SCRIPTS = ["chemistry", "greek", "arabic", "hebrew"] + (["spanish-food"] if HAS_CJK else [])


@pytest.fixture(scope="module")
def built_scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scripts")
    result = run_cli("build", *map(str, lessons(*SCRIPTS)), "-o", str(out), "--only", "handout")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_prints_in_a_font_of_the_project(built_scripts: Path, name: str) -> None:
    pdf = built_scripts / f"{name}-handout.pdf"
    used = pdf_font_names(pdf)
    assert used, "no fonts embedded"
    strangers = {font for font in used if not font.startswith(OUR_FAMILIES)}
    assert not strangers, f"fonts from outside the project: {strangers}"
    # Every character of the lesson's text comes back out of the PDF (no box, no drop).
    text = unicodedata.normalize("NFKC", pdf_text(pdf))
    sample = {
        "chemistry": "H₂O",
        "greek": "δημοκρατία",
        "arabic": "حياتنا",
        "hebrew": "מחזור",
        "spanish-food": "食べ物",
    }[name]
    if name == "arabic":
        # WeasyPrint's text layer maps some joined Arabic glyphs to the wrong letters (the
        # page itself is right: see docs/images); the word's plain letters come back.
        assert set("الماء") <= set(text)
    else:
        sample = unicodedata.normalize("NFKC", sample)
        assert sample in text or sample in text.replace(" ", "")


def test_script_fonts_are_the_ones_that_script_needs(built_scripts: Path) -> None:
    assert any(
        f.startswith("Noto-Sans-Hebrew")
        for f in pdf_font_names(built_scripts / "hebrew-handout.pdf")
    )
    assert any(
        f.startswith("Noto-Sans-Arabic")
        for f in pdf_font_names(built_scripts / "arabic-handout.pdf")
    )
    if HAS_CJK:
        used = pdf_font_names(built_scripts / "spanish-food-handout.pdf")
        assert {"Noto-Sans-JP", "Noto-Sans-KR"} <= {f.split("-Bold")[0] for f in used}


def test_the_fixture_lessons_need_no_other_font() -> None:
    for path in lessons(*SCRIPTS):
        result = run_cli("check", str(path))
        assert "no font for" not in result.output, result.output


def test_a_character_no_font_has_is_a_warning_at_its_line(tmp_path: Path) -> None:
    lesson = write_lesson(tmp_path, "runes.md", "# Runes\n\nThe word ᚠᛇᚻ is written in runes.\n")
    result = run_cli("check", str(lesson))
    assert "runes.md:7: warning: no font for ᚠᛇᚻ (Runic): " in result.output
    assert "fonts: system:" in result.output  # the fix: name an installed font


def test_missing_cjk_fonts_name_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "justmytype_intl_cjk" else real(name, *a),
    )
    fonts._resolve.cache_clear()
    try:
        result = run_cli("check", str(INTL / "spanish-food.md"))
    finally:
        fonts._resolve.cache_clear()
    line = next(line for line in result.output.splitlines() if "no font for" in line)
    assert "spanish-food.md:11: warning: no font for 食べ物, 食物, 음식 (" in line
    assert "Japanese" in line and "Korean" in line
    assert "install coursepack[cjk] (pip install justmytype-intl-cjk)" in line
    assert line.count("pip install") == 1


def test_the_install_hints_name_packages_that_exist() -> None:
    """Every package a message tells a teacher to install is one pip really installed here
    (the project depends on it, or its extra is installed for the tests)."""
    from importlib.metadata import PackageNotFoundError, distribution

    for packaged in fonts.PACKAGED.values():
        if packaged.extra == "cjk" and not HAS_CJK:
            continue
        try:
            distribution(packaged.pip)
        except PackageNotFoundError:
            pytest.fail(f"{packaged.family}: pip package {packaged.pip} is not installed")
        assert importlib.util.find_spec(packaged.module), packaged.module
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for packaged in fonts.PACKAGED.values():
        assert f'"{packaged.pip}>=' in pyproject, packaged.pip


def test_theme_families_all_resolve() -> None:
    stack = fonts.font_stack(LayoutSearch().theme)
    missing = [u.family for u in stack.unavailable]
    if not HAS_CJK:
        missing = [f for f in missing if f not in fonts._CJK_FAMILIES]
    assert missing == []
    assert stack.code == ("JetBrains Mono",)


def test_system_fonts_are_used_only_when_named(tmp_path: Path) -> None:
    """A font installed on the machine (DejaVu Sans, if there is one) never fills in for a
    character silently; named under fonts: system: it does, and is embedded."""
    if shutil.which("fc-list") is None or not fonts.system_font_files("DejaVu Sans"):
        pytest.skip("needs fontconfig and DejaVu Sans")
    # U+2801 BRAILLE PATTERN DOTS-1: in DejaVu Sans, in none of the project's fonts.
    body = "# Braille\n\nThe letter a is ⠁ in braille.\n"
    plain = write_lesson(tmp_path / "plain", "braille.md", body)
    out = tmp_path / "out"
    result = run_cli("build", str(plain), "-o", str(out), "--only", "handout")
    assert "no font for ⠁" in result.output
    assert not any("DejaVu" in f for f in pdf_font_names(out / "braille-handout.pdf"))
    layouts = tmp_path / "named" / "layouts"
    layouts.mkdir(parents=True)
    (layouts / "theme.yaml").write_text(
        'fonts:\n  handout_fallbacks: ["Noto Sans", "DejaVu Sans"]\n  system: ["DejaVu Sans"]\n',
        encoding="utf-8",
    )
    named = write_lesson(tmp_path / "named", "braille.md", body)
    result = run_coursepack("build", str(named), "-o", "out", "--only", "handout", cwd=named.parent)
    assert result.returncode == 0, result.stderr
    assert any("DejaVu" in f for f in pdf_font_names(named.parent / "out" / "braille-handout.pdf"))


def test_a_theme_font_nothing_provides_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """A font named in theme.yaml that no font package has (a typo, a font never installed),
    or a system font that is not installed, is reported at its line by check and build: its
    text would silently print in the next font of the list."""
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "theme.yaml").write_text(
        "fonts:\n"
        '  handout: "Atkinson Hyperlegble"\n'
        "  handout_fallbacks:\n"
        '    - "Noto Sans"\n'
        '    - "Comic Neue"\n'
        '  system: ["No Such Sans"]\n',
        encoding="utf-8",
    )
    lesson = write_lesson(tmp_path, "plain.md", "# Plain\n\nText.\n")
    for command in (("check",), ("build", "-o", "out", "--only", "handout")):
        result = run_coursepack(*command, str(lesson), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        lines = [line for line in result.stderr.splitlines() if "warning" in line]
        assert lines[0].startswith(
            "layouts/theme.yaml:2: warning: font 'Atkinson Hyperlegble': did you mean "
            "'Atkinson Hyperlegible'? no installed font package has it"
        )
        assert lines[1].startswith("layouts/theme.yaml:5: warning: font 'Comic Neue': no ")
        assert lines[2].startswith("layouts/theme.yaml:6: warning: font 'No Such Sans': it is ")
        assert "fonts: system:" in lines[1] and "is installed on this computer" in lines[2]
        assert len(lines) == 3
    strict = run_coursepack("check", "--strict", str(lesson), cwd=tmp_path)
    assert strict.returncode == 1


def test_same_bytes_in_separate_processes_and_with_jobs_1_and_2(tmp_path: Path) -> None:
    """Lessons whose characters come from variable fallback fonts (CO₂ from Noto Sans,
    Greek, Arabic, Hebrew, CJK) give the same PDF in every process: fontTools stamps an
    instanced font with the time unless SOURCE_DATE_EPOCH is set."""
    names = ["chemistry", "greek", "arabic", "hebrew"] + (["spanish-food"] if HAS_CJK else [])
    folder = tmp_path / "src"
    folder.mkdir()
    for path in lessons(*names):
        shutil.copyfile(path, folder / path.name)
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = run_coursepack("build", str(folder), "-o", str(out), "--jobs", jobs, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs[jobs] = {p.name: p.read_bytes() for p in sorted(out.glob("*.pdf"))}
    assert len(outputs["1"]) == 2 * len(names)
    different = [name for name in outputs["1"] if outputs["1"][name] != outputs["2"][name]]
    assert different == []


def test_poppler_reads_every_embedded_font(built_scripts: Path) -> None:
    """The fonts are embedded in a form PDF readers accept (the CFF2 of the Noto Sans CJK
    collection is not: poppler says 'Embedded font file may be invalid')."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("needs poppler")
    for pdf in sorted(built_scripts.glob("*.pdf")):
        result = subprocess.run(
            ["pdftoppm", "-r", "20", "-png", str(pdf), str(built_scripts / "page")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Syntax Error" not in result.stderr, (pdf.name, result.stderr)


# --------------------------------------------------------------------------- messages

LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl")


def test_every_catalogue_has_every_english_message() -> None:
    from coursepack.messages import catalogue

    english = set(catalogue("en").messages)
    for lang in (*LANGUAGES, "el", "ar", "he"):
        messages = catalogue(lang)
        assert messages.found == lang and not messages.is_fallback
        assert set(messages.messages) == english, lang


@pytest.mark.parametrize(
    ("lang", "counts"),
    [
        ("en", {0: "(0 points)", 1: "(1 point)", 2: "(2 points)"}),
        ("es", {1: "(1 punto)", 6: "(6 puntos)"}),
        ("fr", {0: "(0 point)", 1: "(1 point)", 2: "(2 points)"}),
        ("de", {1: "(1 Punkt)", 3: "(3 Punkte)"}),
        ("it", {1: "(1 punto)", 3: "(3 punti)"}),
        ("pt", {1: "(1 ponto)", 3: "(3 pontos)"}),
        ("nl", {1: "(1 punt)", 3: "(3 punten)"}),
        ("he", {1: "(נקודה אחת)", 2: "(שתי נקודות)", 5: "(5 נקודות)"}),
        ("ar", {2: "(درجتان)", 3: "(3 درجات)", 11: "(11 درجة)"}),
    ],
)
def test_plural_forms(lang: str, counts: dict[int, str]) -> None:
    from coursepack.messages import catalogue

    for n, text in counts.items():
        assert catalogue(lang)("points", n=n) == text


def _script_words(text: str) -> list[str]:
    """The Arabic- and Hebrew-script words of ``text``, NFKC-normalised (presentation forms
    become letters): the runs of letters and marks of those scripts."""
    text = unicodedata.normalize("NFKC", text)
    return re.findall(r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]+", text)


def _catalogue_words(lang: str) -> set[str]:
    import yaml

    data = yaml.safe_load((ROOT / "layouts" / "messages" / f"{lang}.yaml").read_text("utf-8"))

    def strings(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for item in value.values() for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return [str(value)]

    return {word for text in strings(data) for word in _script_words(text)}


@pytest.mark.parametrize("name", ["arabic", "hebrew"])
def test_text_copied_out_of_a_right_to_left_pdf_is_the_lessons_words(
    tmp_path: Path, name: str
) -> None:
    """pdftotext gives back the words of the lesson and of the catalogue, letter for letter
    (Noto Sans Arabic draws letters from shared dotless bodies and dots, which WeasyPrint
    alone maps to the first letter each was drawn for; see coursepack/writers/rtl_text.py)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler")
    lesson = INTL / f"{name}.md"
    out = tmp_path / "out"
    result = run_cli("build", str(lesson), "-o", str(out), "--only", "handout", "--only", "key")
    assert result.exit_code == 0, result.output
    source = set(_script_words(lesson.read_text("utf-8")))
    allowed = source | _catalogue_words(name[:2] if name == "hebrew" else "ar")
    printed: set[str] = set()
    for pdf in (out / f"{name}-handout.pdf", out / f"{name}-answer-key.pdf"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
        words = _script_words(text.stdout)
        assert sorted(set(words) - allowed) == [], pdf.name
        printed |= set(words)
    assert sorted(source - printed) == []


def test_the_glyph_aliases_are_installed_even_if_weasyprint_came_first() -> None:
    """Another module imported WeasyPrint before coursepack loaded it (as in a test run):
    the handout writer still installs the glyph aliases that make Arabic text copyable."""
    code = (
        "import weasyprint.draw.text as t\n"
        "from coursepack.writers.weasyprint_loader import load_weasyprint\n"
        "load_weasyprint()\n"
        "assert getattr(t.draw_first_line, '_coursepack_aliases', False)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_a_regional_language_uses_its_language_and_an_unknown_one_english() -> None:
    from coursepack.messages import catalogue

    assert catalogue("es-MX").found == "es" and not catalogue("es-MX").is_fallback
    assert catalogue("pt_BR")("total", n=1) == "Total"
    swahili = catalogue("sw")
    assert swahili.is_fallback and swahili("name") == "Name"
    assert catalogue("fa").rtl  # English words, the lesson's own direction


def test_an_unknown_language_is_one_warning(tmp_path: Path) -> None:
    lesson = tmp_path / "sw.md"
    lesson.write_text(
        "---\ntitle: Habari\nlang: sw\n---\n\n# A\n\nHabari.\n\n::: question\nJina?\n\n"
        "Answer: Asha\n:::\n\n::: question\nB?\n\nAnswer: b\n:::\n",
        encoding="utf-8",
    )
    result = run_cli("check", str(lesson))
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.output
    assert "sw.md:3: warning: no messages in language 'sw'" in warnings[0]
    assert "printed in English" in warnings[0]


def test_spanish_lesson_prints_spanish_words(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("build", str(INTL / "spanish-food.md"), "-o", str(out), "--only", "handout")
    assert result.exit_code == 0, result.output
    result = run_cli("build", str(INTL / "spanish-food.md"), "-o", str(out), "--only", "key")
    text = pdf_text(out / "spanish-food-handout.pdf")
    for word in ("NOMBRE", "FECHA", "CLASE", "Total: 12 puntos", "(2 puntos)", "(1 punto)"):
        assert word in text, word
    assert "Marca todas las respuestas correctas." in text
    assert "Página 1 de 2" in text
    for english in ("NAME", "Total: 12 points", "Select all that apply", "Page 1 of"):
        assert english not in text, english
    key = pdf_text(out / "spanish-food-answer-key.pdf")
    assert "SOLUCIONARIO" in key and "Resumen de respuestas" in key
    # "Respuesta:" is the lesson's Answer: the model answer is in the key.
    assert "Me gustan las fresas." in key


def test_answer_keyword_in_the_lessons_language_and_in_english(tmp_path: Path) -> None:
    body = (
        "# A\n\n::: question\n¿Qué?\n\n**Respuesta:** Esto.\n:::\n\n"
        "::: question\n¿Y?\n\nAnswer: Eso.\n:::\n"
    )
    lesson = tmp_path / "es.md"
    lesson.write_text(f"---\ntitle: Prueba\nlang: es\n---\n\n{body}", encoding="utf-8")
    assert run_cli("check", str(lesson)).exit_code == 0
    english = tmp_path / "en.md"
    english.write_text(f"---\ntitle: Test\n---\n\n{body}", encoding="utf-8")
    result = run_cli("check", str(english))
    assert result.exit_code == 1
    assert "open question 1 has no 'Answer:' paragraph" in result.output
    missing = tmp_path / "missing.md"
    missing.write_text("---\ntitle: P\nlang: es\n---\n\n# A\n\n::: question\n¿Qué?\n:::\n")
    result = run_cli("check", str(missing))
    assert "has no 'Respuesta:' (or 'Answer:') paragraph" in result.output


@pytest.mark.parametrize("name", ["arabic", "hebrew"])
def test_right_to_left_lessons(name: str) -> None:
    from coursepack.check import check_lesson
    from coursepack.writers.handout import HandoutWriter

    lesson, _ = check_lesson(INTL / f"{name}.md")
    assert lesson is not None
    html = HandoutWriter().render_html(lesson, "handout")
    assert f'lang="{lesson.meta.lang}" dir="rtl"' in html
    english, _ = check_lesson(INTL / "chemistry.md")
    assert 'dir="ltr"' in HandoutWriter().render_html(english, "handout")


def test_a_teachers_catalogue_overrides_one_word(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts" / "messages"
    layouts.mkdir(parents=True)
    (layouts / "es.yaml").write_text(
        "plural: one\nanswer: [Respuesta]\nmessages:\n  name: Alumno/a\n", encoding="utf-8"
    )
    shutil.copyfile(INTL / "spanish-food.md", tmp_path / "es.md")
    result = run_coursepack("build", "es.md", "-o", "out", "--only", "handout", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "out" / "es-handout.pdf")
    assert "ALUMNO/A" in text
    assert "DATE" in text  # what the override leaves out is English


# --------------------------------------------------------------------------- shuffles

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from coursepack.model import shuffled_order  # noqa: E402

_TEXTS = st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=9, unique=True)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_a_matching_shuffle_leaves_no_definition_opposite_its_term(texts: list[str]) -> None:
    order = shuffled_order(texts, "derangement")
    assert sorted(order) == list(range(len(texts)))
    assert all(shown != place for place, shown in enumerate(order)), order
    assert order == shuffled_order(list(texts), "derangement")  # stable


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_an_ordering_is_never_in_order_nor_a_rotation(texts: list[str]) -> None:
    order = shuffled_order(texts, "no-rotation")
    count = len(texts)
    assert sorted(order) == list(range(count))
    rotations = [tuple((start + i) % count for i in range(count)) for start in range(count)]
    if count == 2:
        assert order == (1, 0)  # the only order that is not the right one
    else:
        assert order not in rotations, order
    assert order == shuffled_order(list(texts), "no-rotation")


def test_the_handout_key_and_slides_share_the_shuffle(tmp_path: Path) -> None:
    """The Spanish fixture: in the handout no definition sits opposite its term, the key's
    letters point to the right definitions, and the deck shows the same order."""
    from pptx import Presentation

    from coursepack.check import check_lesson
    from coursepack.writers.handout import match_rows, order_rows

    lesson, _ = check_lesson(INTL / "spanish-food.md")
    assert lesson is not None
    match = next(g for g in lesson.graded() if g.kind == "match")
    rows = match_rows(match)
    assert all(row.answer != row.letter for row in rows)
    by_letter = {row.letter: row.definition for row in rows}
    for row, pair in zip(rows, match.pairs, strict=True):
        assert by_letter[row.answer] == pair.definition
    order = next(g for g in lesson.graded() if g.kind == "order")
    shown = [row.position for row in order_rows(order)]
    assert shown != sorted(shown)

    out = tmp_path / "out"
    result = run_cli("build", str(INTL / "spanish-food.md"), "-o", str(out), "--only", "slides")
    assert result.exit_code == 0, result.output
    deck = Presentation(str(out / "spanish-food-slides.pptx"))
    text = "\n".join(
        shape.text_frame.text
        for slide in deck.slides
        for shape in slide.shapes
        if shape.has_text_frame
    )
    definitions = [plain(row.definition) for row in rows]
    positions = [text.find(d) for d in definitions]
    assert -1 not in positions and positions == sorted(positions)


def plain(inlines: tuple) -> str:
    from coursepack.model import plain_text

    return plain_text(inlines)


# --------------------------------------------------------------------------- blanks


def _gap_widths(html: str) -> list[str]:
    import re

    return re.findall(r'class="cloze[^"]*" style="width: ([0-9.]+em)"', html)


def test_blanks_do_not_tell_the_answers_length(tmp_path: Path) -> None:
    from coursepack.check import check_lesson
    from coursepack.writers.handout import HandoutWriter

    writer = HandoutWriter()
    lesson, _ = check_lesson(INTL / "spanish-food.md")
    assert lesson is not None and lesson.meta.blanks == "fixed"
    gusta, gustan, encanta = _gap_widths(writer.render_html(lesson, "handout"))
    assert gusta == gustan == encanta  # "Me [[gusta]]" and "Me [[gustan]]" look the same
    assert _gap_widths(writer.render_html(lesson, "key")) == [gusta, gustan, encanta]
    # A long answer gets one of the few wider widths, never its own.
    text = (INTL / "spanish-food.md").read_text(encoding="utf-8")
    longer = tmp_path / "long.md"
    longer.write_text(
        text.replace("[[encanta]]", "[[encanta muchísimo, de verdad]]"), encoding="utf-8"
    )
    lesson, _ = check_lesson(longer)
    widths = _gap_widths(writer.render_html(lesson, "handout"))
    assert float(widths[2][:-2]) > float(widths[0][:-2])
    from coursepack.writers.handout import GAP_WIDTHS_EM

    assert {float(w[:-2]) for w in widths} <= set(GAP_WIDTHS_EM)


def test_blanks_answer_sizes_each_blank_to_its_answer(tmp_path: Path) -> None:
    from coursepack.check import check_lesson
    from coursepack.writers.handout import HandoutWriter

    text = (INTL / "spanish-food.md").read_text(encoding="utf-8")
    sized = tmp_path / "sized.md"
    sized.write_text(text.replace("paper: a4\n", "paper: a4\nblanks: answer\n"), encoding="utf-8")
    lesson, diagnostics = check_lesson(sized)
    assert lesson is not None and lesson.meta.blanks == "answer", diagnostics
    gusta, gustan, encanta = _gap_widths(HandoutWriter().render_html(lesson, "handout"))
    assert float(gusta[:-2]) < float(gustan[:-2]) < float(encanta[:-2])
    wrong = tmp_path / "wrong.md"
    wrong.write_text(text.replace("paper: a4\n", "paper: a4\nblanks: small\n"), encoding="utf-8")
    result = run_cli("check", str(wrong))
    assert "wrong.md:8: error: blanks 'small' is not known (use 'fixed'" in result.output


# --------------------------------------------------------------------------- accessibility


def _struct_tables(path: Path) -> list[list[str]]:
    """For each /Table of a tagged PDF's structure tree, the tags of its cells."""
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    tables: list[list[str]] = []

    def cells(node: object, depth: int = 0) -> list[str]:
        if depth > 80:
            return []
        if isinstance(node, IndirectObject):
            node = node.get_object()
        if not isinstance(node, dict):
            return []
        found = [str(node["/S"])] if str(node.get("/S")) in ("/TH", "/TD") else []
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            found += cells(kid, depth + 1)
        return found

    def walk(node: object, depth: int = 0) -> None:
        if depth > 80:
            return
        if isinstance(node, IndirectObject):
            node = node.get_object()
        if not isinstance(node, dict):
            return
        if str(node.get("/S")) == "/Table":
            tables.append(cells(node))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            walk(kid, depth + 1)

    walk(PdfReader(path).trailer["/Root"]["/StructTreeRoot"])
    return tables


def test_every_tagged_table_has_header_cells(tmp_path: Path) -> None:
    """PDF/UA: a data table has its headers; the matching and ordering boxes are layout, not
    tables (no table of 16 cells without a header)."""
    out = tmp_path / "out"
    result = run_cli("build", str(INTL / "spanish-food.md"), "-o", str(out), "--only", "handout")
    assert result.exit_code == 0, result.output
    run_cli("build", str(INTL / "spanish-food.md"), "-o", str(out), "--only", "key")
    assert _struct_tables(out / "spanish-food-handout.pdf") == []  # a match, an order, no table
    key_tables = _struct_tables(out / "spanish-food-answer-key.pdf")
    assert key_tables, "the key's answer table is tagged as a table"
    for cells in key_tables:
        assert "/TH" in cells, cells
    text = pdf_text(out / "spanish-food-handout.pdf")
    assert "la comida de la mañana" in text  # the matching block is still printed


# --------------------------------------------------------------------------- small mistakes


def test_leading_spaces_of_inline_code_are_kept(tmp_path: Path) -> None:
    body = (
        "# Loops\n\n::: order\nPut the lines in order.\n\n- `total = 0`\n"
        "- `for n in numbers:`\n- `    total = total + n`\n- `print(total)`\n:::\n"
    )
    lesson = write_lesson(tmp_path, "loops.md", body)
    out = tmp_path / "out"
    assert run_cli("build", str(lesson), "-o", str(out), "--only", "handout").exit_code == 0
    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler")
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(out / "loops-handout.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import re

    lefts: dict[str, list[float]] = {}
    for x, word in re.findall(r'xMin="([0-9.]+)"[^>]*>(total|for|print\(total\))<', boxes):
        lefts.setdefault(word, []).append(float(x))
    start = lefts["for"][0]
    assert lefts["print(total)"] == [start]
    assert start in lefts["total"]  # "total = 0"
    # "    total = total + n": four spaces to the right of the others.
    assert any(start + 10 < x < start + 40 for x in lefts["total"]), lefts


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-[x] Alpha", "this option needs a space after the '-'"),
        ("- [] Alpha", "this option's box is '[]': write '[ ]'"),
        ("- [ x ] Alpha", "this option's box is not '[ ]' or '[x]'"),
        ("\t- [x] Alpha", "this option is indented with a tab"),
    ],
)
def test_option_line_mistakes_say_what_is_wrong(tmp_path: Path, line: str, expected: str) -> None:
    body = f"# A\n\n::: question\nPick one.\n\n{line}\n- [x] Beta\n:::\n"
    if line.startswith("\t"):
        body = f"# A\n\n::: question\nPick one.\n\n{line}\n\t- [ ] Beta\n:::\n"
    lesson = write_lesson(tmp_path, "q.md", body)
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert f"q.md:10: error: {expected}" in result.output, result.output
    assert "has no 'Answer:' paragraph" not in result.output
    assert result.output.count("error") == (2 if line.startswith("\t") else 1)


def test_pasted_bullets_become_bullets_with_a_warning(tmp_path: Path) -> None:
    body = (
        "# A\n\n• Pasted one\n• Pasted two\n\n::: question\nWho?\n\n– [x] Roméo Dallaire\n"
        "– [ ] Jacques-Roger Booh-Booh\n:::\n\n```\n• in code stays\n```\n"
    )
    path = write_lesson(tmp_path, "pasted.md", body)
    result = run_cli("check", str(path))
    assert result.exit_code == 0, result.output
    assert "pasted.md:7: warning: a line starting with '•' (pasted from a word processor?)" in (
        result.output
    )
    assert "pasted.md:13: warning: a line starting with '–'" in result.output
    assert result.output.count("warning") == 2  # one per run of pasted lines
    from coursepack.check import check_lesson

    lesson, _ = check_lesson(path)
    assert lesson is not None
    topic_blocks = lesson.sections[0].blocks
    assert topic_blocks[0].kind == "list" and len(topic_blocks[0].items) == 2
    question = lesson.graded()[0]
    assert [o.correct for o in question.options] == [True, False]
    code = next(b for b in topic_blocks if b.kind == "codeblock")
    assert code.text == "• in code stays"


def test_curly_quotes_in_the_front_matter(tmp_path: Path) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: “Genocide: a history”\n---\n\n# A\n\nx\n", encoding="utf-8")
    result = run_cli("check", str(broken))
    assert "broken.md:2: error: the front matter is not valid YAML" in result.output
    assert "curly quotes" in result.output and 'straight quotes, "like this"' in result.output
    quoted = tmp_path / "quoted.md"
    quoted.write_text("---\ntitle: “Genocide, a history”\n---\n\n# A\n\nx\n", encoding="utf-8")
    result = run_cli("check", str(quoted))
    assert "quoted.md:2: warning: 'title' is written in curly quotes" in result.output


def test_a_picture_name_with_a_space(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    shutil.copyfile(
        ROOT / "tests" / "fixtures" / "lessons" / "map.png",
        tmp_path / "images" / "Leaf Diagram.PNG",
    )
    lesson = write_lesson(tmp_path, "leaf.md", "# A\n\n![A leaf](images/Leaf Diagram.PNG)\n")
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert (
        "leaf.md:7: error: the picture 'images/Leaf Diagram.PNG' has a space in its file name"
        in result.output
    )
    assert "![A leaf](<images/Leaf Diagram.PNG>)" in result.output
    fixed = write_lesson(tmp_path, "fixed.md", "# A\n\n![A leaf](<images/Leaf Diagram.PNG>)\n")
    out = tmp_path / "out"
    assert run_cli("build", str(fixed), "-o", str(out), "--only", "handout").exit_code == 0
    from pypdf import PdfReader

    assert any(page.images for page in PdfReader(out / "fixed-handout.pdf").pages)


def test_formatting_inside_a_blank_is_reported(tmp_path: Path) -> None:
    lesson = write_lesson(
        tmp_path, "cells.md", "# A\n\nPlants make [[**glucose**]]; 2*3*4 is [[2*3*4]].\n"
    )
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert "cells.md:7: error: formatting inside the blank [[**glucose**]]" in result.output
    assert "write the answer as plain text, [[glucose]]" in result.output
    assert result.output.count("error") == 1  # 2*3*4 is no formatting


# --------------------------------------------------------------------------- the deck


def _deck_xml(pptx: Path, part: str) -> str:
    import zipfile

    with zipfile.ZipFile(pptx) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8")
            for name in sorted(archive.namelist())
            if name.startswith(part) and name.endswith(".xml")
        )


def test_the_deck_speaks_the_lessons_language(tmp_path: Path) -> None:
    from pptx import Presentation

    out = tmp_path / "out"
    for name in ("spanish-food", "hebrew"):
        result = run_cli("build", str(INTL / f"{name}.md"), "-o", str(out), "--only", "slides")
        assert result.exit_code == 0, result.output
    deck = Presentation(str(out / "spanish-food-slides.pptx"))
    titles = [slide.shapes.title.text for slide in deck.slides if slide.shapes.title is not None]
    assert "Introducción" in titles and "Overview" not in titles
    assert "Comprueba lo aprendido: Pregunta\u00a01 (2\u00a0puntos)" in titles
    assert "Comprueba lo aprendido: Pregunta\u00a03 (1\u00a0punto)" in titles
    faces = _deck_xml(out / "spanish-food-slides.pptx", "ppt/slides/")
    assert "Términos" in faces and "Definiciones" in faces and "Terms" not in faces
    assert "Marca todas las respuestas correctas." in faces
    notes = _deck_xml(out / "spanish-food-slides.pptx", "ppt/notesSlides/")
    assert "Respuesta: B — Me gusta el chocolate." in notes
    assert "Respuestas: A — la manzana; B — el plátano" in notes
    assert "Respuesta modelo: Me gustan las fresas." in notes
    assert "Orden correcto: " in notes and "Answer" not in notes
    hebrew = _deck_xml(out / "hebrew-slides.pptx", "ppt/slides/")
    assert 'rtl="1"' in hebrew
    assert "בדיקת הבנה: שאלה\u00a01 (שתי\u00a0נקודות)" in hebrew
    assert '<a:cs typeface="Noto Sans Hebrew"/>' in hebrew
    if HAS_CJK:  # the line of Japanese, Chinese and Korean names the font that has all three
        assert '<a:ea typeface="Noto Sans KR"/>' in faces


def test_deck_typefaces_follow_the_handouts_fonts() -> None:
    stack = fonts.font_stack(LayoutSearch().theme)
    assert fonts.deck_typefaces("plain English", stack) == ("", "")
    assert fonts.deck_typefaces("الماء", stack) == ("", "Noto Sans Arabic")
    assert fonts.deck_typefaces("מים", stack) == ("", "Noto Sans Hebrew")
    if HAS_CJK:
        assert fonts.deck_typefaces("食べ物", stack) == ("Noto Sans JP", "")
        assert fonts.deck_typefaces("食物", stack, "zh-TW")[0] == "Noto Sans TC"
        assert fonts.deck_typefaces("음식", stack)[0] == "Noto Sans KR"


def test_a_course_pack_speaks_the_courses_language_and_each_lessons(tmp_path: Path) -> None:
    """The pack's own words (cover, contents, points table) are in the course's language;
    each lesson keeps its own words and direction."""
    course = tmp_path / "curso"
    course.mkdir()
    shutil.copyfile(INTL / "spanish-food.md", course / "comida.md")
    shutil.copyfile(INTL / "hebrew.md", course / "mayim.md")
    (course / "course.yaml").write_text(
        "title: Español 2\nlang: es\nlessons:\n  - comida.md\n  - mayim.md\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = run_cli("build", str(course), "-o", str(out))
    assert result.exit_code == 0, result.output
    packs = {p.name: pdf_text(p) for p in out.glob("*coursepack*.pdf")}
    handouts = next(text for name, text in packs.items() if "answer-key" not in name)
    key = next(text for name, text in packs.items() if "answer-key" in name)
    assert "DOSIER DEL CURSO" in handouts and "Índice" in handouts
    assert "Contents" not in handouts and "COURSE PACK" not in handouts
    assert "Puntos por lección" in key and "Resumen de respuestas" in key
    assert "NOMBRE" in handouts and "שם" in handouts  # each lesson's own field labels
    from coursepack.check import check_lesson
    from coursepack.course import read_course
    from coursepack.writers.handout import HandoutWriter

    course_model, _ = read_course(course / "course.yaml")
    assert course_model is not None
    lessons = [check_lesson(course / name)[0] for name in ("comida.md", "mayim.md")]
    html = HandoutWriter().render_pack_html(course_model, lessons, "handout")
    assert '<html lang="es" dir="ltr"' in html
    assert 'lang="he" dir="rtl"' in html


def test_a_callouts_default_heading_is_in_the_lessons_language(tmp_path: Path) -> None:
    lesson = tmp_path / "callout.md"
    lesson.write_text(
        "---\ntitle: Prueba\nlang: es\n---\n\n# A\n\n::: {.callout-tip}\nBebe agua.\n:::\n\n"
        '::: {.callout-note title="Recuerda"}\nHola.\n:::\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run_cli("build", str(lesson), "-o", str(out), "--only", "handout").exit_code == 0
    assert run_cli("build", str(lesson), "-o", str(out), "--only", "slides").exit_code == 0
    text = pdf_text(out / "callout-handout.pdf")
    assert "Consejo" in text and "Recuerda" in text and "Tip" not in text
    faces = _deck_xml(out / "callout-slides.pptx", "ppt/slides/")
    assert "<a:t>Consejo</a:t>" in faces and "<a:t>Tip</a:t>" not in faces


_LETTERED = (
    "# {h}\n\n"
    "::: question points=1\n{q}\n\n- [ ] {o1}\n- [x] {o2}\n- [ ] {o3}\n:::\n\n"
    "::: match points=3\n- {t1} :: {d1}\n- {t2} :: {d2}\n- {t3} :: {d3}\n:::\n"
)
_ARABIC = dict(h="أسئلة", q="ما لون السماء؟", o1="أحمر", o2="أزرق", o3="أخضر",
               t1="شمس", d1="نجم", t2="قمر", d2="تابع", t3="أرض", d3="كوكب")  # fmt: skip
_HEBREW = dict(h="שאלות", q="מה צבע השמיים?", o1="אדום", o2="כחול", o3="ירוק",
               t1="שמש", d1="כוכב", t2="ירח", d2="לוויין", t3="ארץ", d3="פלנטה")  # fmt: skip
_GREEK = dict(h="Ερωτήσεις", q="Τι χρώμα έχει ο ουρανός;", o1="κόκκινο", o2="μπλε",
              o3="πράσινο", t1="Ήλιος", d1="άστρο", t2="Σελήνη", d2="δορυφόρος", t3="Γη",
              d3="πλανήτης")  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "words", "letters"),
    [("ar", _ARABIC, "أبج"), ("he", _HEBREW, "אבג"), ("el", _GREEK, "αβγ")],
)
def test_options_are_lettered_in_the_lessons_alphabet(
    tmp_path: Path, lang: str, words: dict[str, str], letters: str
) -> None:
    """Arabic options are أ ب ج, Hebrew א ב ג, Greek α β γ: in the handout, the key, the
    answer sheet, the slides and their notes (one rule, coursepack.model.option_letter, with the
    catalogue's letters); Moodle, which letters only in Latin, numbers none."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "lesson.md").write_text(
        f"---\ntitle: {words['h']}\nlang: {lang}\n---\n\n" + _LETTERED.format(**words), "utf-8"
    )
    out = tmp_path / "out"
    outputs = ("handout", "key", "slides", "moodle", "answer-sheet")
    only = [arg for word in outputs for arg in ("--only", word)]
    result = run_cli("build", str(folder), "-o", str(out), *only)
    assert result.exit_code == 0, result.output
    second = letters[1]
    for name in ("lesson-handout.pdf", "lesson-answer-key.pdf", "lesson-answer-sheet.pdf"):
        text = unicodedata.normalize("NFKC", pdf_text(out / name))
        assert not re.search(r"(?<![A-Za-z])[ABC](?![A-Za-z])", text), name
        for letter in letters:
            assert letter in text.split() or letter in text, (name, letter)
    key = unicodedata.normalize("NFKC", pdf_text(out / "lesson-answer-key.pdf"))
    assert f"{second} {words['o2']}" in key or f"{words['o2']} {second}" in key
    from conftest import deck_texts

    deck = "\n".join(deck_texts(out / "lesson-slides.pptx"))
    assert f"{second} — {words['o2']}" in deck  # the notes' answer
    assert not re.search(r"(?<![A-Za-z])[ABC] —", deck)
    moodle = (out / "lesson-moodle.xml").read_text("utf-8")
    assert "<answernumbering>none</answernumbering>" in moodle


def test_exports_name_untitled_questions_in_the_lessons_language(tmp_path: Path) -> None:
    out = tmp_path / "out"
    lesson = INTL / "spanish-food.md"  # its matching block has no prompt of its own
    result = run_cli("build", str(lesson), "-o", str(out), "--only", "moodle", "--only", "qti")
    assert result.exit_code == 0, result.output
    moodle = (out / "spanish-food-moodle.xml").read_text("utf-8")
    assert "<text>04 Relacionar</text>" in moodle and "Matching" not in moodle
    assert "<answernumbering>ABCD</answernumbering>" in moodle
    import zipfile

    with zipfile.ZipFile(out / "spanish-food-qti.zip") as archive:
        qti = "".join(
            archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml")
        )
    assert 'title="04 Relacionar"' in qti and "Matching" not in qti


def test_a_quote_on_a_slide_speaks_the_lessons_language(tmp_path: Path) -> None:
    """A picture inside a quote, and the answer marks' and a table's alt text."""
    from PIL import Image as Picture

    folder = tmp_path / "src"
    folder.mkdir()
    Picture.new("RGB", (40, 30), "green").save(folder / "hoja.png")
    (folder / "cita.md").write_text(
        "---\ntitle: Cita\nlang: es\n---\n\n# Hojas\n\n"
        "> Una cita.\n>\n> ![Una hoja verde](hoja.png)\n\n"
        "| Parte | Función |\n|---|---|\n| hoja | fotosíntesis |\n\n"
        "::: question points=1\n¿Qué hace la hoja?\n\n- [x] fotosíntesis\n- [ ] nada\n:::\n",
        "utf-8",
    )
    out = tmp_path / "out"
    result = run_cli("build", str(folder), "-o", str(out), "--only", "slides")
    assert result.exit_code == 0, result.output
    from conftest import deck_texts

    texts = "\n".join(deck_texts(out / "cita-slides.pptx"))
    assert "[Imagen: Una hoja verde]" in texts and "[Image:" not in texts
    slides = _deck_xml(out / "cita-slides.pptx", "ppt/slides/")
    assert 'descr="Respuesta correcta"' in slides and 'descr="Answer' not in slides
    assert 'descr="Tabla: Parte, Función"' in slides


def test_a_callout_inside_a_quote_is_headed_in_the_lessons_language() -> None:
    from coursepack.messages import catalogue
    from coursepack.model import Callout, Paragraph, Text
    from coursepack.writers.deck_plan.paras import quote_paras

    callout = Callout("tip", "", (Paragraph((Text("Mira la hoja."),), 3),), 2)
    paras = quote_paras((callout,), 0, catalogue("es"))
    assert [run.text for run in paras[0].runs] == ["Consejo"]


def test_an_exported_callout_is_headed_in_the_lessons_language(tmp_path: Path) -> None:
    body = (
        "# Hojas\n\n::: question points=1\n¿Qué hace la hoja?\n\n"
        "::: callout-tip\nPiensa en la luz.\n:::\n\n- [x] fotosíntesis\n- [ ] nada\n:::\n"
    )
    lesson = tmp_path / "src" / "hojas.md"
    lesson.parent.mkdir()
    lesson.write_text(f"---\ntitle: Hojas\nlang: es\n---\n\n{body}", "utf-8")
    out = tmp_path / "out"
    result = run_cli("build", str(lesson), "-o", str(out), "--only", "moodle")
    assert result.exit_code == 0, result.output
    moodle = (out / "hojas-moodle.xml").read_text("utf-8")
    assert "&lt;strong&gt;Consejo&lt;/strong&gt;" in moodle and "Tip" not in moodle
