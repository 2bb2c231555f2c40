"""Test versions: the same questions in other orders, a key each, stable across edits."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, run_cli

from coursepack.check import check_lesson
from coursepack.model import Question, option_letter, plain_text
from coursepack.versions import letter_balance, unbalanced, version_of, versions_of

QUIZ = ROOT / "tests" / "fixtures" / "versions" / "quiz.md"


def read(path: Path):
    lesson, diagnostics = check_lesson(path)
    assert lesson is not None, diagnostics
    return lesson


def first_text(block) -> str:
    """A graded block's prompt (or first term): how the tests find it in a version."""
    return plain_text(block.prompt[0].inlines) if block.prompt else plain_text(block.pairs[0].term)


def prompts(lesson) -> list[str]:
    return [
        plain_text(block.prompt[0].inlines) if block.prompt else plain_text(block.pairs[0].term)
        for block in lesson.graded()
    ]


def option_texts(block) -> list[str]:
    return [plain_text(option.inlines) for option in block.options]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("versions")
    shutil.copyfile(QUIZ, folder / "quiz.md")
    result = run_cli("build", "quiz.md", "-o", "out", "-j", "1", "--answer-sheet", cwd=folder)
    assert result.exit_code == 0, result.output
    return folder / "out"


def test_every_version_and_its_key_are_written(built: Path) -> None:
    for letter in "ABC":
        for kind in ("handout", "answer-key", "answer-sheet"):
            assert (built / f"quiz-{kind}-{letter}.pdf").is_file()
    assert not (built / "quiz-handout-D.pdf").exists()
    assert (built / "quiz-handout.pdf").is_file() and (built / "quiz-answer-key.pdf").is_file()


def test_every_page_says_its_version(built: Path) -> None:
    from pypdf import PdfReader

    for letter in "ABC":
        for kind in ("handout", "answer-key"):
            for page in PdfReader(built / f"quiz-{kind}-{letter}.pdf").pages:
                assert f"Version {letter}" in page.extract_text()
    assert "Version" not in pdf_text(built / "quiz-handout.pdf")


def test_the_versions_hold_the_same_questions_in_other_orders() -> None:
    lesson = read(QUIZ)
    versions = versions_of(lesson, 3)
    orders = {letter: prompts(version) for letter, version in versions.items()}
    assert all(sorted(order) == sorted(prompts(lesson)) for order in orders.values())
    assert len({tuple(order) for order in orders.values()}) > 1
    # Numbering follows the version's order.
    for version in versions.values():
        assert [block.number for block in version.graded()] == list(range(1, 8))
    # The teaching text stays in its order.
    for version in versions.values():
        assert [t.title_text for s in version.sections for t in s.topics] == [
            t.title_text for s in lesson.sections for t in s.topics
        ]


def test_each_keys_letters_match_its_own_handout(built: Path) -> None:
    lesson = read(QUIZ)
    for letter, version in versions_of(lesson, 3).items():
        handout = pdf_text(built / f"quiz-handout-{letter}.pdf")
        key = pdf_text(built / f"quiz-answer-key-{letter}.pdf")
        for block in version.graded():
            if isinstance(block, Question) and block.options and not block.select_all:
                texts = option_texts(block)
                # The handout prints the options in the version's order, after the prompt...
                at = handout.index(first_text(block))
                for text in texts:
                    at = handout.index(text, at + 1)
                # ...and the key's answer table gives the letter of the right one there.
                right = next(i for i, o in enumerate(block.options) if o.correct)
                assert f"{option_letter(right)} {texts[right]}" in key, (letter, texts)


def test_the_ordinary_key_lists_every_versions_answers(built: Path) -> None:
    key = pdf_text(built / "quiz-answer-key.pdf")
    assert "Answers by test version" in key
    for letter in "ABC":
        assert f"Version {letter}" in key


def test_the_right_letter_varies_from_version_to_version() -> None:
    versions = versions_of(read(QUIZ), 3)
    by_prompt: dict[str, set[str]] = {}
    for version in versions.values():
        for block in version.graded():
            if isinstance(block, Question) and block.options and block.shuffle:
                right = "".join(option_letter(i) for i, o in enumerate(block.options) if o.correct)
                by_prompt.setdefault(plain_text(block.prompt[0].inlines), set()).add(right)
    assert by_prompt and all(len(letters) == 3 for letters in by_prompt.values()), by_prompt


def test_pinned_options_and_unshuffled_blocks_stay_put() -> None:
    lesson = read(QUIZ)
    for version in versions_of(lesson, 3).values():
        half = next(b for b in version.graded() if "0.5" in first_text(b))
        assert option_texts(half)[-1] == "None of the above"
        smallest = next(b for b in version.graded() if "smallest?" in first_text(b))
        assert option_texts(smallest) == ["1/10", "1/5", "1/2"]
        # A block with shuffle=false keeps its place in its run too (the 4th graded block).
        assert "smallest?" in first_text(version.graded()[3])


def test_matching_and_ordering_are_never_shown_solved() -> None:
    for version in versions_of(read(QUIZ), 5).values():
        match = next(b for b in version.graded() if b.kind == "match")
        assert all(shown != i for i, shown in enumerate(match.definition_order))
        order = next(b for b in version.graded() if b.kind == "order")
        count = len(order.items)
        rotations = {tuple((i + k) % count for i in range(count)) for k in range(count)}
        assert order.shown_order not in rotations


def test_editing_one_question_moves_no_other(tmp_path: Path) -> None:
    lesson = read(QUIZ)
    text = QUIZ.read_text(encoding="utf-8").replace("What is 1/2 + 1/4?", "What is 1/4 + 1/2?")
    edited_path = tmp_path / "quiz.md"
    edited_path.write_text(text, encoding="utf-8")
    edited = read(edited_path)
    for letter in "ABC":
        before, after = version_of(lesson, letter), version_of(edited, letter)
        others = [p for p in prompts(before) if "1/2 + 1/4" not in p]
        assert [p for p in prompts(after) if "1/4 + 1/2" not in p] == others
        for old, new in zip(before.graded(), after.graded(), strict=True):
            if isinstance(old, Question) and "1/2 + 1/4" not in plain_text(old.prompt[0].inlines):
                same = next(
                    b for b in after.graded() if b.kind == "question" and b.prompt == old.prompt
                )
                assert option_texts(same) == option_texts(old)
            del new


def test_the_seed_changes_every_version() -> None:
    lesson = read(QUIZ)
    for letter in "ABC":
        one, other = version_of(lesson, letter, seed=0), version_of(lesson, letter, seed=7)
        assert [option_texts(b) for b in one.graded() if isinstance(b, Question)] != [
            option_texts(b) for b in other.graded() if isinstance(b, Question)
        ]


def test_rebuilds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    shutil.copyfile(QUIZ, tmp_path / "quiz.md")
    result = run_cli("build", "quiz.md", "-o", "again", "-j", "2", "--answer-sheet", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    for path in built.glob("quiz-*-[ABC].pdf"):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_answer_sheet_has_a_row_per_choice_question(built: Path) -> None:
    from pypdf import PdfReader

    sheet = PdfReader(built / "quiz-answer-sheet-B.pdf")
    assert len(sheet.pages) == 1
    text = sheet.pages[0].extract_text()
    assert "Answer sheet" in text and "Version B" in text
    version = version_of(read(QUIZ), "B")
    choice = [b for b in version.graded() if isinstance(b, Question) and b.options]
    assert len(choice) == 4


def test_a_lopsided_version_is_warned_about(tmp_path: Path) -> None:
    # Eight questions whose options may not move, each right at A: every version is lopsided.
    body = "".join(
        f"::: question shuffle=false\nQuestion {i}?\n- [x] yes {i}\n- [ ] no {i}\n:::\n\n"
        for i in range(8)
    )
    path = tmp_path / "lopsided.md"
    path.write_text(f"---\ntitle: L\nversions: 2\n---\n# S\n\n## T\n\n{body}", encoding="utf-8")
    lesson = read(path)
    assert unbalanced(version_of(lesson, "A")) == "A"
    assert letter_balance(version_of(lesson, "B")) == Counter({"A": 8})
    result = run_cli("build", str(path), "-o", str(tmp_path / "out"), "--only", "handout")
    assert result.exit_code == 0, result.output
    assert "lopsided.md:3: warning: in test version A, A is the right answer unusually often" in (
        result.output
    )
    # The fixture quiz is not lopsided.
    assert not any(unbalanced(v) for v in versions_of(read(QUIZ), 3).values())


def test_versions_in_front_matter_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: B\nversions: 40\n---\n# S\n\n## T\n\n- a\n", encoding="utf-8")
    result = run_cli("check", str(path))
    assert result.exit_code == 1
    assert "bad.md:3: error: versions: 40 must be a number of test versions from 1 to 26" in (
        result.output
    )


def test_only_key_writes_the_versions_keys_too(tmp_path: Path) -> None:
    shutil.copyfile(QUIZ, tmp_path / "quiz.md")
    result = run_cli(
        "build", "quiz.md", "-o", "out", "--only", "key", "--versions", "2", cwd=tmp_path
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").glob("*.pdf"))
    assert names == ["quiz-answer-key-A.pdf", "quiz-answer-key-B.pdf", "quiz-answer-key.pdf"]


def test_the_quiz_exports_carry_the_shuffle_flags(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET
    import zipfile

    shutil.copyfile(QUIZ, tmp_path / "quiz.md")
    result = run_cli(
        "build", "quiz.md", "-o", "out", "--only", "moodle", "--only", "qti", cwd=tmp_path
    )
    assert result.exit_code == 0, result.output
    moodle = ET.parse(tmp_path / "out" / "quiz-moodle.xml").getroot()
    flags = {
        q.find("questiontext/text").text.split("</p>")[0].removeprefix("<p>"): q.find(
            "shuffleanswers"
        ).text
        for q in moodle.iter("question")
        if q.get("type") == "multichoice"
    }
    assert flags == {
        "What is 1/2 + 1/4?": "true",
        "Which fraction equals 0.5?": "false",  # a pinned option
        "Which fractions are greater than one half? Select all that apply.": "true",
        "Which is the smallest?": "false",  # shuffle=false
    }
    with zipfile.ZipFile(tmp_path / "out" / "quiz-qti.zip") as package:
        names = package.namelist()
        items = next(
            n for n in names if n.endswith(".xml") and "meta" not in n and "manifest" not in n
        )
        shuffles = [
            e.get("shuffle")
            for e in ET.fromstring(package.read(items)).iter()
            if e.tag.endswith("render_choice")
        ]
        meta = package.read(next(n for n in names if n.endswith("assessment_meta.xml"))).decode()
    assert sorted(flag for flag in shuffles if flag) == ["No", "No", "Yes", "Yes"]
    assert "<shuffle_answers>false</shuffle_answers>" in meta  # Canvas: all or none


@pytest.mark.parametrize(
    ("lang", "words"),
    [("el", ["Έκδοση Α", "Έκδοση Β", "Έκδοση Γ"]), ("ar", ["النسخة أ", "النسخة ب", "النسخة ج"])],
)
def test_versions_are_named_with_the_lessons_letters(
    tmp_path: Path, lang: str, words: list[str]
) -> None:
    """A Greek test's versions print as Α, Β, Γ (not the Latin A, B, C that look alike but
    are other characters, and C is no Greek letter); Arabic ones as أ, ب, ج. The files keep
    the Latin letters, and the ordinary key's table of versions uses the lesson's."""
    from coursepack.messages import catalogue

    lesson = tmp_path / "test.md"
    source = ROOT / "tests" / "fixtures" / "intl" / ("greek.md" if lang == "el" else "arabic.md")
    lesson.write_text(
        source.read_text(encoding="utf-8").replace("---\n", "---\nversions: 3\n", 1),
        encoding="utf-8",
    )
    result = run_cli("build", "test.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    for letter, word in zip("ABC", words, strict=True):
        for kind in ("handout", "answer-key"):
            text = pdf_text(out / f"test-{kind}-{letter}.pdf")
            assert word in text, (kind, letter)
            assert catalogue(lang)("version", letter=letter) not in text
    key = pdf_text(out / "test-answer-key.pdf")
    assert all(word in key for word in words)
