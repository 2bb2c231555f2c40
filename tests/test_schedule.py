"""How one lesson's outputs are spread over processes with ``--jobs 2`` (issue 18, wall time).

The deck goes to a side process forked before WeasyPrint is imported (python-pptx loads there
while this process loads WeasyPrint); the key goes to a worker forked after it, and the build's
own process writes the handout instead of waiting. Failures there are reported as anywhere else:
``path:line: error:`` and exit 1 (previous outputs kept), a bug one line and exit 3.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_lesson

from coursepack.diagnostics import LessonError, error
from coursepack.writers.deck import DeckWriter
from coursepack.writers.handout import HandoutWriter

pytestmark = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="a monkeypatch reaches worker processes only when they are forked",
)

BODY = "# S\n\n## T\n\n- one [[blank]]\n"


def _record(log: Path, what: str) -> None:
    """One line per render: what, which process, whether WeasyPrint was loaded there."""
    loaded = "weasyprint" in sys.modules
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"{what} {os.getpid()} {loaded}\n")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_one_lesson_with_two_jobs_spreads_its_outputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "renders.log"
    deck_render, handout_render = DeckWriter.render, HandoutWriter.render

    def deck(self: DeckWriter, *args: Any, **kwargs: Any) -> bytes:
        _record(log, "deck")
        return deck_render(self, *args, **kwargs)

    def handout(self: HandoutWriter, lesson: Any, audience: str, *args: Any, **kwargs: Any):
        _record(log, audience)
        return handout_render(self, lesson, audience, *args, **kwargs)

    monkeypatch.setattr(DeckWriter, "render", deck)
    monkeypatch.setattr(HandoutWriter, "render", handout)
    write_lesson(tmp_path, "lesson.md", BODY)
    loaded_before = "weasyprint" in sys.modules  # earlier tests of this session load it
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "2", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 written" in result.stdout
    renders = {what: (int(pid), loaded == "True") for what, pid, loaded in
               (line.split() for line in log.read_text().splitlines())}  # fmt: skip
    assert sorted(renders) == ["deck", "handout", "key"]
    # The handout is written here, the key and the deck each in a process of its own.
    assert renders["handout"][0] == os.getpid()
    assert len({pid for pid, _ in renders.values()}) == 3
    # The deck's process was forked before WeasyPrint was loaded; the key's after.
    if not loaded_before:
        assert renders["deck"][1] is False
    assert renders["key"][1] is True
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("writer", ["deck", "key"])
def test_a_lesson_error_in_another_process_keeps_the_previous_outputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, writer: str
) -> None:
    lesson = write_lesson(tmp_path, "lesson.md", BODY)
    first = run_cli("build", "lesson.md", "-o", "out", "-j", "2", cwd=tmp_path)
    assert first.exit_code == 0, first.output
    before = _digests(tmp_path / "out")
    lesson.write_text(lesson.read_text() + "- two\n", encoding="utf-8")

    def failing(*args: Any, **kwargs: Any) -> bytes:
        raise LessonError([error(lesson, 7, "planted problem")])

    if writer == "deck":
        monkeypatch.setattr(DeckWriter, "render", failing)
    else:
        original = HandoutWriter.render

        def key_fails(self: HandoutWriter, lesson: Any, audience: str, *args: Any, **kw: Any):
            if audience == "key":
                failing()
            return original(self, lesson, audience, *args, **kw)

        monkeypatch.setattr(HandoutWriter, "render", key_fails)
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "2", cwd=tmp_path)
    assert result.exit_code == 1
    assert re.search(r"lesson\.md:7: error: planted problem", result.stderr), result.output
    assert _digests(tmp_path / "out") == before  # nothing new moved in, nothing left over


def test_a_bug_in_the_side_process_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def boom(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("deck exploded")

    monkeypatch.setattr(DeckWriter, "render", boom)
    write_lesson(tmp_path, "lesson.md", BODY)
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "2", cwd=tmp_path)
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("internal error while building lesson.md: RuntimeError: deck")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
    assert not list((tmp_path / "out").glob("lesson-*"))
