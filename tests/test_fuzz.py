"""Fuzzing ``check`` and ``build`` with mutated sample lessons (issue 7).

Each example takes one of the sample lessons and applies a few random edits of the kind a
half-written or pasted lesson has: lines deleted, duplicated or cut short, fence markers, cloze
brackets, task boxes and control characters inserted. The properties:

* ``check`` never raises; every diagnostic is ``path:line: error|warning: message`` (or
  ``path: ...`` for line 0) with a line inside the file;
* a mutated lesson that passes ``check`` renders to a handout, a key and a deck, or fails with
  :class:`LessonError` only; the outputs open with pypdf and python-pptx.

CI runs a small, derandomized number of examples. A longer run::

    COURSEPACK_FUZZ_EXAMPLES=10000 COURSEPACK_FUZZ_BUILD_EXAMPLES=300 pytest tests/test_fuzz.py
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coursepack.build import Builder
from coursepack.check import check_lesson
from coursepack.diagnostics import LessonError, display_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    "unamir": ROOT / "source" / "unamir.md",
    "every-construct": ROOT / "tests" / "fixtures" / "lessons" / "every-construct.md",
}
MAP_PNG = ROOT / "tests" / "fixtures" / "lessons" / "map.png"

CHECK_EXAMPLES = int(os.environ.get("COURSEPACK_FUZZ_EXAMPLES", "300"))
BUILD_EXAMPLES = int(os.environ.get("COURSEPACK_FUZZ_BUILD_EXAMPLES", "15"))
# A long run (examples set by hand) explores; CI replays the same examples every time.
DERANDOMIZE = "COURSEPACK_FUZZ_EXAMPLES" not in os.environ

# Lines and fragments a teacher (or a bad paste) can put anywhere.
FRAGMENTS = [
    ":::",
    "::: ",
    "::: question",
    "::: question points=2 lines=3",
    "::: {.question points=0}",
    ":::: {.match}",
    "::: match",
    "::: order",
    "::: notes",
    "::: teacher",
    "::: handout",
    "::: slides",
    "::: questoin",
    "::::",
    "[[",
    "]]",
    "[[ ]]",
    "[[answer]]",
    "- [ ] ",
    "- [x] ",
    "- [X] option",
    "[ ]",
    "[x]",
    "Answer: ",
    "**Answer:** it",
    " :: ",
    "1. ",
    "- ",
    "  - ",
    "      - ",
    "# ",
    "## ",
    "> ",
    "```",
    "~~~",
    "| a | b |",
    "|---|---|",
    "---",
    "...",
    "title: ",
    "![](map.png)",
    "![A map](map.png)",
    "![x](missing.png)",
    "[link](file:///etc/passwd)",
    "<b>",
    "{{ 7*7 }}",
    "{% for x in y %}",
    "\\",
    "*",
    "**",
    "`",
    "\t",
    "\u00a0",
    "\u201c",
    "\u2028",
    "\ufeff",
]
# Not UTF-8: Latin-1, a cut sequence, an encoded surrogate, a UTF-16 BOM, NUL bytes.
RAW_BYTES = [b"\xe9", b"\xc3", b"\xed\xa0\x80", b"\xff\xfe", b"\x00\x00\x00\x00", b"\xef\xbb\xbf"]
CONTROL = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ufffe", "\uffff", "\r"]

_DIAGNOSTIC_RE = r"^{path}(:\d+)?: (error|warning): \S"


# --------------------------------------------------------------------------- mutations


@st.composite
def mutated_lessons(draw: st.DrawFn) -> tuple[str, bytes]:
    """(sample name, mutated file bytes) after 1 to 6 random edits."""
    name = draw(st.sampled_from(sorted(SAMPLES)))
    lines = SAMPLES[name].read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 6))):
        op = draw(
            st.sampled_from(
                [
                    "delete",
                    "duplicate",
                    "truncate",
                    "insert-line",
                    "insert-text",
                    "control",
                    "repeat",
                ]
            )
        )
        if not lines:
            lines = [""]
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if op == "delete":
            count = draw(st.integers(1, 5))
            del lines[index : index + count]
        elif op == "duplicate":
            count = draw(st.integers(1, 5))
            lines[index:index] = lines[index : index + count]
        elif op == "truncate":
            lines[index] = line[: draw(st.integers(0, max(0, len(line))))]
        elif op == "insert-line":
            lines.insert(index, draw(st.sampled_from(FRAGMENTS)))
        elif op == "insert-text":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(FRAGMENTS)) + line[at:]
        elif op == "repeat":  # a fragment many times over: deep nesting, long lines
            at = draw(st.integers(0, len(line)))
            many = draw(st.sampled_from(FRAGMENTS + ["word "])) * draw(st.integers(2, 300))
            lines[index] = line[:at] + many + line[at:]
        else:
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(CONTROL)) + line[at:]
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    data = newline.join(lines).encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # now and then, bytes that are not UTF-8 at all
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(RAW_BYTES)) + data[at:]
    return name, data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lesson folder with the sample's picture (so that image checks can pass)."""
    path = tmp_path_factory.mktemp("fuzz")
    shutil.copyfile(MAP_PNG, path / "map.png")
    return path


@pytest.fixture(scope="module")
def builder() -> Builder:
    """One warm builder for every example (fonts and CSS loaded once)."""
    return Builder()


def _write(folder: Path, data: bytes) -> tuple[Path, str]:
    """Write the lesson; return its path and its text (bad bytes replaced, to count lines)."""
    path = folder / "fuzzed.md"
    path.write_bytes(data)
    return path, data.decode("utf-8", "replace")


def _assert_diagnostics_well_formed(path: Path, text: str, diagnostics: list) -> None:
    line_count = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    pattern = re.compile(_DIAGNOSTIC_RE.format(path=re.escape(display_path(path))))
    for diagnostic in diagnostics:
        formatted = diagnostic.format()
        assert pattern.match(formatted), formatted
        assert "\n" not in formatted, formatted
        assert 0 <= diagnostic.line <= line_count, formatted


# --------------------------------------------------------------------------- properties


@settings(
    max_examples=CHECK_EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_lessons())
def test_check_never_raises_and_reports_path_line(folder: Path, case: tuple[str, bytes]) -> None:
    path, text = _write(folder, case[1])
    lesson, diagnostics = check_lesson(path)
    _assert_diagnostics_well_formed(path, text, diagnostics)
    errors = [d for d in diagnostics if d.is_error]
    assert (lesson is None) == bool(errors)


def _render_all(builder: Builder, lesson) -> Iterator[tuple[str, bytes]]:
    yield "handout", builder.handout_writer.render(lesson, "handout")
    yield "key", builder.handout_writer.render(lesson, "key")
    yield "slides", builder.deck_writer.render(lesson)


@settings(
    max_examples=BUILD_EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
@given(mutated_lessons())
def test_build_of_a_checked_lesson_never_raises(
    folder: Path, builder: Builder, case: tuple[str, bytes]
) -> None:
    from pptx import Presentation
    from pypdf import PdfReader

    path, text = _write(folder, case[1])
    lesson, diagnostics = check_lesson(path)
    # Only lessons that pass check reach the writers (the check test covers the others).
    assume(lesson is not None)
    # check promises that writers never see an invalid lesson: a LessonError here (a problem
    # check let through) fails the test with its message, as any other exception does.
    try:
        outputs = dict(_render_all(builder, lesson))
    except LessonError as exc:
        pytest.fail(f"check passed but a writer refused the lesson: {exc}")
    for kind in ("handout", "key"):
        reader = PdfReader(io.BytesIO(outputs[kind]))
        assert len(reader.pages) >= 1
        reader.pages[0].extract_text()
    deck = Presentation(io.BytesIO(outputs["slides"]))
    assert len(deck.slides) >= 1
