"""Check tests: every problem a teacher can write is reported once, on the right line.

Each ``tests/fixtures/errors/NAME.md`` holds one problem; ``EXPECTED`` says the exact line,
severity and the start of the message. Nothing may raise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coursepack.check import check_lesson, check_paths, starter_text
from coursepack.diagnostics import Diagnostic, display_path
from coursepack.layouts import builtin_layouts_dir
from coursepack.model import DIV_KINDS
from coursepack.reader import read_text

HERE = Path(__file__).parent
ERRORS = HERE / "fixtures" / "errors"
LESSONS = HERE / "fixtures" / "lessons"

# name: [(line, severity, message start), ...] -- every diagnostic of the file, in order.
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "missing-title": [(1, "error", "missing title (add a line 'title: Your lesson title'")],
    "no-front-matter": [(1, "error", "missing title (start the file with front matter")],
    "bad-yaml": [(5, "error", "the front matter is not valid YAML: expected ',' or ']'")],
    "bad-yaml-colon": [(3, "error", "the front matter is not valid YAML: mapping values")],
    "unclosed-front-matter": [(1, "error", "front matter opened with '---' on line 1 is never")],
    "title-not-string": [(2, "error", "'title' must be plain text, not a list")],
    "front-matter-not-mapping": [(2, "error", "the front matter must be 'key: value' lines")],
    "pptx-template-missing": [(3, "error", "pptx-template 'school.potx' not found")],
    "bad-paper": [(3, "error", "paper 'A5' is not known (use 'letter' or 'a4')")],
    "unknown-front-matter-key": [
        (3, "warning", "unknown front matter key 'autor' (did you mean 'author'?)")
    ],
    "unknown-div": [(5, "error", "unknown block kind 'questoin' (did you mean 'question'?)")],
    "unclosed-div": [(9, "error", "'::: notes' opened here is never closed")],
    "stray-close": [(8, "error", "this ':::' closes nothing")],
    "question-no-prompt": [(5, "error", "question 1 has no prompt")],
    "mc-no-correct": [(5, "error", "question 1 has no correct option (mark the right one")],
    "open-no-answer": [(5, "error", "open question 1 has no 'Answer:' paragraph")],
    "option-without-box": [(9, "error", "this option has no box")],
    "match-no-colons": [
        (8, "error", "match item has no '::' (write it as '- term :: definition')")
    ],
    "match-one-pair": [(5, "error", "match 1 needs at least 2 'term :: definition' pairs")],
    "match-duplicate": [
        (10, "warning", "match 1: this definition is given twice, so two answers would fit"),
        (11, "warning", "match 1: this term is given twice"),
    ],
    "order-one-item": [(5, "error", "order 1 needs at least 2 items")],
    "select-all-no-wrong": [
        (5, "warning", "select-all question 1 has no wrong option: ticking every box always")
    ],
    "empty-cloze": [(5, "error", "empty blank '[[ ]]'")],
    "unclosed-cloze": [(6, "error", "'[[' is never closed with ']]'")],
    "stray-cloze-close": [(6, "error", "']]' without a matching '[['")],
    "image-missing": [(5, "error", "image 'no-such-map.png' not found")],
    "image-outside": [(5, "error", "image '../lessons/map.png' is outside the lesson's folder")],
    "image-no-alt": [(5, "error", "image 'pixel.png' has no alt text")],
    "image-remote": [
        (5, "error", "image 'http://example.org/a.png' is not a file: images must be files"),
        (7, "error", "image 'https://example.org/b.png' is not a file"),
        (9, "error", "image 'file:///etc/passwd' is not a file"),
        (11, "error", "image 'data:image/png;base64,iVBORw0KGgo=' is not a file"),
    ],
    "image-not-picture": [(5, "error", "image 'fake.png' is not a PNG, JPEG or GIF picture")],
    "bad-points": [
        (5, "error", "points=0 is not a positive whole number"),
        (11, "error", "points=two is not a positive whole number"),
        (17, "error", "lines=-1 is not a positive whole number"),
        (23, "error", "points=1.5 is not a positive whole number"),
    ],
    "unknown-attribute": [
        (5, "warning", "unknown attribute 'colour' on '::: question' is ignored")
    ],
    "bad-link": [(5, "error", "a link to a 'javascript:' address cannot work")],
    "graded-in-graded": [(8, "error", "a '::: question' cannot go inside a '::: question'")],
    "not-utf8": [(5, "error", "the file is not UTF-8 (save it as UTF-8): byte 0xe9 at column")],
    "utf16": [(1, "error", 'the file is UTF-16 ("Unicode"), not UTF-8 (save it as UTF-8)')],
    "control-chars": [
        (5, "warning", "removed 1 invisible control character(s) (U+0007)"),
        (7, "warning", "removed 2 invisible control character(s) (NUL, U+FFFF)"),
    ],
}


def summary(diagnostics: list[Diagnostic]) -> list[tuple[int, str, str]]:
    return [(d.line, d.severity, d.message) for d in diagnostics]


def test_every_error_fixture_has_an_expectation() -> None:
    assert sorted(p.stem for p in ERRORS.glob("*.md")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_error_fixture(name: str) -> None:
    path = ERRORS / f"{name}.md"
    lesson, diagnostics = check_lesson(path)
    got = summary(diagnostics)
    assert len(got) == len(EXPECTED[name]), got
    for (line, severity, message), (want_line, want_severity, want_start) in zip(
        got, EXPECTED[name], strict=True
    ):
        assert (line, severity) == (want_line, want_severity), got
        assert message.startswith(want_start), message
        assert not message[0].isupper()
    has_error = any(severity == "error" for _, severity, _ in EXPECTED[name])
    assert (lesson is None) == has_error
    for diagnostic in diagnostics:
        assert diagnostic.format().startswith(f"{display_path(path)}:")


def test_not_utf8_is_reported_at_the_line_of_the_first_bad_byte() -> None:
    _, diagnostics = check_lesson(ERRORS / "not-utf8.md")
    assert diagnostics[0].line == 5
    assert "byte 0xe9 at column 4 of this line cannot be read" in diagnostics[0].message


def test_format_is_path_colon_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ERRORS)
    _, diagnostics = check_lesson(Path("unknown-div.md"))
    assert [d.format() for d in diagnostics] == [
        "unknown-div.md:5: error: unknown block kind 'questoin' (did you mean 'question'?) "
        f"(the kinds are: {', '.join(DIV_KINDS)})"
    ]


def test_incremental_and_reveal_answers_take_true_or_false(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    text = "---\ntitle: T\nincremental: maybe\nreveal-answers: no\n---\n# S\n\n- a\n"
    path.write_text(text, encoding="utf-8")
    _, diagnostics = check_lesson(path)
    assert [d.format() for d in diagnostics if d.is_error] == [
        f"{path}:3: error: incremental 'maybe' is not known (use 'true' or 'false')"
    ]  # 'no' is a fine false
    lesson, _ = read_text("---\ntitle: T\nreveal-answers: no\n---\n# S\n", path)
    assert lesson is not None and lesson.meta.reveal_answers is False


def test_an_unknown_block_kind_lists_the_valid_kinds(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\ntitle: T\n---\n# S\n\n::: aside\ntext\n:::\n", encoding="utf-8")
    _, diagnostics = check_lesson(path)
    [message] = [d.message for d in diagnostics if d.is_error]
    listed = message.split("(the kinds are: ")[1].rstrip(")").split(", ")
    assert {"question", "notes", "slides", "incremental", "nonincremental"} <= set(listed)


def test_every_construct_lesson_passes() -> None:
    lesson, diagnostics = check_lesson(LESSONS / "every-construct.md")
    assert diagnostics == []
    assert lesson is not None
    assert [(g.kind, g.number) for g in lesson.graded()] == [
        ("question", 1),
        ("question", 2),
        ("question", 3),
        ("match", 4),
        ("order", 5),
        ("question", 6),
    ]
    assert lesson.images == ((LESSONS / "map.png").resolve(),)
    assert lesson.total_points == 2 + 2 + 4 + 1 + 1 + 1


def test_starter_passes_without_any_diagnostic(tmp_path: Path) -> None:
    text = starter_text()
    assert text == (builtin_layouts_dir() / "starter.md").read_text(encoding="utf-8")
    path = tmp_path / "new-lesson.md"
    path.write_text(text, encoding="utf-8")
    lesson, diagnostics = check_lesson(path)
    assert diagnostics == []
    assert lesson is not None
    kinds = {block.kind for block in lesson.graded()}
    assert kinds == {"question", "match", "order"}


def test_big_lesson_checks(tmp_path: Path) -> None:
    bullets = "\n".join(f"- bullet {i} with a [[blank {i}]]" for i in range(5000))
    path = tmp_path / "big.md"
    path.write_text(f"---\ntitle: Big\n---\n\n# S\n\n## T\n\n{bullets}\n", encoding="utf-8")
    lesson, diagnostics = check_lesson(path)
    assert diagnostics == []
    assert lesson is not None
    items = lesson.sections[0].topics[0].blocks[0].items  # type: ignore[union-attr]
    assert len(items) == 5000
    assert items[-1].line == 9 + 4999


def test_many_divs_check(tmp_path: Path) -> None:
    divs = "\n".join(
        f"::: question\nQ{i}?\n\n- [x] a\n- [ ] b\n:::\n\n::: notes\nn{i}\n:::\n"
        for i in range(1000)
    )
    path = tmp_path / "divs.md"
    path.write_text(f"---\ntitle: Divs\n---\n\n{divs}", encoding="utf-8")
    lesson, diagnostics = check_lesson(path)
    assert diagnostics == []
    assert lesson is not None
    assert lesson.graded()[-1].number == 1000


def test_symlink_out_of_the_folder_is_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes((LESSONS / "map.png").read_bytes())
    folder = tmp_path / "lesson"
    folder.mkdir()
    try:
        os.symlink(outside / "secret.png", folder / "link.png")
    except OSError:
        pytest.skip("symlinks not available")
    path = folder / "l.md"
    path.write_text("---\ntitle: t\n---\n\n![A picture](link.png)\n", encoding="utf-8")
    _, diagnostics = check_lesson(path)
    assert summary(diagnostics)[0][:2] == (5, "error")
    assert "outside the lesson's folder" in diagnostics[0].message


def test_image_in_subfolder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "m.png").write_bytes((LESSONS / "map.png").read_bytes())
    path = tmp_path / "l.md"
    path.write_text("---\ntitle: t\n---\n\n![A map](img/../img/m.png)\n", encoding="utf-8")
    lesson, diagnostics = check_lesson(path)
    assert diagnostics == []
    assert lesson is not None


def test_bom_and_crlf_are_accepted_silently(tmp_path: Path) -> None:
    path = tmp_path / "windows.md"
    path.write_bytes(b"\xef\xbb\xbf---\r\ntitle: Windows\r\n---\r\n\r\n::: question\r\nQ?\r\n")
    _, diagnostics = check_lesson(path)
    # Only the real problems, on the right lines: the question is unclosed and has no answer.
    assert [(d.line, d.message[:30]) for d in diagnostics] == [
        (5, "'::: question' opened here is "),
        (5, "open question 1 has no 'Answer"),
    ]


def test_lone_surrogate_is_removed_with_a_warning() -> None:
    lesson, diagnostics = read_text("---\ntitle: t\n---\n\nbad \udcff here\n", Path("x.md"))
    assert lesson is not None
    assert summary(diagnostics) == [
        (5, "warning", "removed 1 invisible control character(s) (U+DCFF)")
    ]


def test_unknown_attribute_on_audience_div() -> None:
    _, diagnostics = read_text("---\ntitle: t\n---\n\n::: notes points=2\nx\n:::\n", Path("x.md"))
    assert summary(diagnostics) == [
        (
            5,
            "warning",
            "unknown attribute 'points' on '::: notes' is ignored "
            "(a notes block takes no attributes)",
        )
    ]


def test_heading_inside_div_is_reported() -> None:
    _, diagnostics = read_text(
        "---\ntitle: t\n---\n\n::: notes\n## Not a topic\n:::\n", Path("x.md")
    )
    assert [(d.line, d.severity) for d in diagnostics] == [(6, "warning")]


def test_check_paths_expands_folders_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("---\ntitle: B\n---\n", encoding="utf-8")
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a lesson", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("---\ntitle: C\n---\n", encoding="utf-8")
    missing = tmp_path / "missing.md"
    results = check_paths([tmp_path, missing])
    assert list(results) == [tmp_path / "a.md", tmp_path / "b.md", missing]
    assert results[tmp_path / "a.md"][0] is not None
    assert results[missing][0] is None
    assert summary(results[missing][1]) == [(0, "error", "no such file or folder")]


def test_read_never_raises_on_odd_input() -> None:
    odd = [
        "",
        "---",
        "---\n---\n",
        "---\n: :\n---\n",
        "---\ntitle: !!python/object:os.system x\n---\n",
        "---\ntitle: &a [*a]\n---\n",
        ":::\n:::\n::: {\n::: {}\n::: {.}\n::: =\n",
        "[[[[]]]]]]]][[",
        "- [ ]\n" * 3,
        "::: question\n:::\n::: match\n:::\n::: order\n:::\n",
        "::: question\n- [x]\n- [ ]\n:::\n",
        "# \n## \n### \n",
        "> ::: notes\n> x\n",
        "- a\n  ```\n  :::\n  ```\n",
        "![]()\n\n![x](<>)\n\n![x](C:\\pics\\a.png)\n",
        "\x00\x01\ufeff\u2028\r\r\n",
    ]
    for text in odd:
        for prefix in ("", "---\ntitle: t\n---\n"):
            lesson, diagnostics = read_text(prefix + text, Path("odd.md"))
            assert all(isinstance(d, Diagnostic) for d in diagnostics)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "---",
                "title: t",
                "# ",
                "## ",
                "- ",
                "  - ",
                "1. ",
                "> ",
                "::: ",
                ":::",
                "question",
                "match",
                "order",
                "notes",
                "{.question points=2}",
                "points=0",
                "lines=3",
                "[[",
                "]]",
                "[ ]",
                "[x]",
                "Answer:",
                "::",
                "![a](b.png)",
                "```",
                "|a|b|",
                "|-|-|",
                "**",
                "*",
                "`",
                "\\",
                "<b>",
                "{{",
                "\x00",
                "\r\n",
                "\n",
                "\t",
                "text",
                "\ufeff",
                "\udcff",
                "[x](javascript:y)",
            ]
        ),
        max_size=60,
    )
)
def test_reader_never_raises(parts: list[str]) -> None:
    """Any mix of lesson syntax reads without an exception, and lines stay in the file."""
    text = "".join(parts)
    lesson, diagnostics = read_text(text, Path("fuzz.md"))
    line_count = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    for diagnostic in diagnostics:
        assert 0 <= diagnostic.line <= line_count, diagnostic
        assert not diagnostic.message[0].isupper()


def test_an_answer_paragraph_in_a_multiple_choice_question_is_a_warning(tmp_path: Path) -> None:
    """Students must not see an 'Answer:' run into an option, and nothing is dropped silently."""
    swallowed = tmp_path / "swallowed.md"
    swallowed.write_text(
        "---\ntitle: T\n---\n\n# S\n## T\n::: question\nCapital of Attica?\n"
        "- [ ] Sparta\n- [x] Athens\nAnswer: Athens, obviously\n:::\n",
        encoding="utf-8",
    )
    lesson, diagnostics = check_lesson(swallowed)
    assert lesson is not None
    assert [(d.line, d.severity) for d in diagnostics] == [(10, "warning")]
    assert "contains 'Answer:'" in diagnostics[0].message

    separate = tmp_path / "separate.md"
    separate.write_text(
        "---\ntitle: T\n---\n\n# S\n## T\n::: question\nCapital of Attica?\n"
        "- [ ] Sparta\n- [x] Athens\n\nAnswer: B, the largest city.\n:::\n",
        encoding="utf-8",
    )
    lesson, diagnostics = check_lesson(separate)
    assert lesson is not None
    assert [(d.line, d.severity) for d in diagnostics] == [(12, "warning")]
    assert "is not printed" in diagnostics[0].message


def test_a_lesson_with_nothing_after_its_front_matter_is_a_warning(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("---\ntitle: Only a title\n---\n", encoding="utf-8")
    lesson, diagnostics = check_lesson(empty)
    assert lesson is not None  # it still builds: a title page
    assert [d.format() for d in diagnostics] == [
        f"{display_path(empty)}:1: warning: the lesson has nothing after its front matter: its "
        "handout, key and slides show only the title (start a section with '# Heading')"
    ]


def test_column_mistakes_are_reported_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    text = (
        "---\ntitle: T\n---\n# S\n\n## A\n\n"  # lines 1-7
        ":::: columns\n::: {.column width=wide}\nleft\n:::\n::: column\nright\n:::\n::: column\n"
        "third\n:::\n::: column\nfourth\n:::\n::: column\nfifth\n:::\n::::\n\n"
        "::: column\nalone\n:::\n"
    )
    path.write_text(text, encoding="utf-8")
    _, diagnostics = check_lesson(path)
    found = [(d.line, d.severity, d.message.split(" (")[0]) for d in diagnostics]
    assert (9, "error", "column width 'wide' is not a percentage") in found
    assert (8, "warning", "5 columns: too many to stand side by side on a slide") in found
    assert (26, "error", "a '::: column' goes inside a ':::: columns' block") in found
