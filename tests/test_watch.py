"""Watch mode: rebuild after a save, keep watching through errors, stop cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from conftest import write_lesson

from coursepack.build import BuildOptions
from coursepack.watch import watch


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_watch_rebuilds_after_a_save_and_survives_errors(tmp_path: Path) -> None:
    lesson = write_lesson(tmp_path / "source", "w.md", "# Part\n## Topic\n- first version\n")
    out = tmp_path / "out"
    handout = out / "w-handout.pdf"
    lines: list[str] = []
    stop = threading.Event()
    options = BuildOptions(out_dir=out, only=frozenset({"handout", "key"}))
    thread = threading.Thread(
        target=watch, args=([lesson], options, lines.append, stop), kwargs={"debounce_ms": 50}
    )
    thread.start()
    try:
        assert wait_for(lambda: any(line.startswith("watching") for line in lines))
        assert handout.is_file()
        first = handout.read_bytes()

        # A save rebuilds the handout.
        lesson.write_text(lesson.read_text() + "- second version\n", encoding="utf-8")
        assert wait_for(lambda: handout.read_bytes() != first), lines
        second = handout.read_bytes()

        # A save with an error prints it with path:line and leaves the outputs alone.
        lesson.write_text(lesson.read_text() + "\n::: question\n", encoding="utf-8")
        assert wait_for(lambda: any("w.md:" in line and "error:" in line for line in lines))
        assert handout.read_bytes() == second

        # Fixing it rebuilds again: the watcher kept going.
        text = lesson.read_text().replace("\n::: question\n", "\n- fixed\n")
        lesson.write_text(text, encoding="utf-8")
        assert wait_for(lambda: handout.read_bytes() != second), lines
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_watch_with_outputs_beside_the_lesson(tmp_path: Path) -> None:
    """``-o .``: saving the lesson rebuilds, and our own outputs do not retrigger builds."""
    lesson = write_lesson(tmp_path, "here.md", "# Part\n## Topic\n- first version\n")
    handout = tmp_path / "here-handout.pdf"
    lines: list[str] = []
    stop = threading.Event()
    options = BuildOptions(out_dir=tmp_path, only=frozenset({"handout"}))
    thread = threading.Thread(
        target=watch, args=([lesson], options, lines.append, stop), kwargs={"debounce_ms": 50}
    )
    thread.start()
    try:
        assert wait_for(lambda: any(line.startswith("watching") for line in lines))
        first = handout.read_bytes()
        lesson.write_text(lesson.read_text() + "- second version\n", encoding="utf-8")
        assert wait_for(lambda: handout.read_bytes() != first), lines
        time.sleep(1.0)
        writes = [line for line in lines if line.strip().startswith("written")]
        assert len(writes) == 2, lines  # the first build and the save, nothing triggered by us
    finally:
        stop.set()
        thread.join(timeout=30)


def test_watch_a_missing_path_is_an_error(tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("watch", "nowhere", cwd=tmp_path)
    assert result.exit_code == 1
    assert "no such file or folder: nowhere" in result.output
