"""Rules every output shares live in one place (coursepack.model) and agree everywhere."""

from __future__ import annotations

from pathlib import Path

from conftest import (
    deck_link_targets,
    deck_texts,
    pdf_link_targets,
    pdf_text,
    run_cli,
    write_lesson,
)

from coursepack.model import LINK_SCHEMES, iso_date, link_allowed, option_letter, paper_name


def test_a_phone_link_is_a_link_in_the_handout_and_on_the_slides(tmp_path: Path) -> None:

    lesson = write_lesson(
        tmp_path, "tel.md", "# S\n\n## T\n\n- Call the [museum](tel:+15551234567) to book.\n"
    )
    result = run_cli("build", str(lesson), "-o", str(tmp_path / "out"), "-j", "1")
    assert result.exit_code == 0, result.output
    assert pdf_link_targets(tmp_path / "out" / "tel-handout.pdf") == ["tel:+15551234567"]
    addresses = deck_link_targets(tmp_path / "out" / "tel-slides.pptx")
    assert addresses == ["tel:+15551234567"]


def test_check_names_every_scheme_it_accepts(tmp_path: Path) -> None:
    lesson = write_lesson(tmp_path, "ftp.md", "# S\n\n## T\n\n- [files](ftp://example.org/x)\n")
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert "links must start with http:, https:, mailto:, tel:" in result.output
    assert LINK_SCHEMES == ("http", "https", "mailto", "tel")
    assert link_allowed("TEL:+1") and link_allowed("https://x") and not link_allowed("file:/x")
    assert not link_allowed("notes.html") and not link_allowed("javascript:alert(1)")


def test_options_are_lettered_alike_in_handout_key_and_deck(tmp_path: Path) -> None:
    options = "\n".join(f"- [{'x' if i == 27 else ' '}] choice{i}" for i in range(28))
    lesson = write_lesson(
        tmp_path, "many.md", f"# S\n\n## T\n\n- a\n\n::: question\nPick one.\n{options}\n:::\n"
    )
    result = run_cli("build", str(lesson), "-o", str(tmp_path / "out"), "-j", "1")
    assert result.exit_code == 0, result.output
    assert [option_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A", "Z", "AA", "AB", "ZZ", "AAA",
    ]  # fmt: skip
    handout = pdf_text(tmp_path / "out" / "many-handout.pdf")
    key = pdf_text(tmp_path / "out" / "many-answer-key.pdf")
    deck = "\n".join(deck_texts(tmp_path / "out" / "many-slides.pptx"))
    assert "AB" in handout and "choice27" in handout
    assert "AB choice27" in key  # the answer table names the right letter
    assert "AB — choice27" in deck  # the speaker notes name it too


def test_every_paper_name_is_accepted_everywhere_in_any_case(tmp_path: Path) -> None:
    assert paper_name("A4") == "a4" and paper_name(" Letter ") == "letter"
    assert paper_name("a5") is None
    course = tmp_path / "course"
    course.mkdir()
    write_lesson(course, "one.md", "# S\n\n## T\n\n- a\n")
    (course / "course.yaml").write_text("title: C\npaper: A4\n", encoding="utf-8")
    result = run_cli("check", str(course))
    assert result.exit_code == 0, result.output
    (course / "course.yaml").write_text("title: C\npaper: A5\n", encoding="utf-8")
    result = run_cli("check", str(course))
    assert "course.yaml:2: error: paper must be letter or a4, not 'A5'" in result.output
    lesson = course / "one.md"
    out = tmp_path / "o"
    result = run_cli("build", str(lesson), "--paper", "A4", "-o", str(out), "--only", "handout")
    assert result.exit_code == 0, result.output
    from pypdf import PdfReader

    box = PdfReader(out / "one-handout.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_dates_are_read_one_way() -> None:
    assert iso_date("2026-12-02") == (2026, 12, 2)
    assert iso_date("2026-02-30") is None
    assert iso_date("2 December 2026") is None
