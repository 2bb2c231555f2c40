"""Watch mode: rebuild after a save, keep watching through errors, stop cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import start_coursepack, write_lesson

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


# --------------------------------------------------------------------------- issue 12


class Watching:
    """``watch`` in a thread, its printed lines, and how many builds it ran."""

    def __init__(self, paths: list[Path], out: Path, monkeypatch, during_first_build=None):
        import coursepack.watch as watch_module

        self.lines: list[str] = []
        self.builds = 0
        self.stop = threading.Event()
        real = watch_module.check_and_build

        def counting(*args, **kwargs):
            self.builds += 1
            report = real(*args, **kwargs)
            if self.builds == 1 and during_first_build is not None:
                during_first_build()  # a save while the first build runs
            return report

        monkeypatch.setattr(watch_module, "check_and_build", counting)
        options = BuildOptions(out_dir=out, only=frozenset({"handout"}))
        self.thread = threading.Thread(
            target=watch,
            args=(paths, options, self.lines.append, self.stop),
            kwargs={"debounce_ms": 50},
        )

    def __enter__(self) -> Watching:
        self.thread.start()
        assert wait_for(lambda: any(line.startswith("watching") for line in self.lines))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def handout_text(path: Path) -> str:
    from conftest import pdf_text

    try:
        return pdf_text(path)
    except Exception:  # being replaced at this instant
        return ""


def test_an_edit_saved_during_the_first_build_is_built(tmp_path: Path, monkeypatch) -> None:
    lesson = write_lesson(tmp_path / "source", "w.md", "# Part\n## Topic\n- first version\n")
    handout = tmp_path / "out" / "w-handout.pdf"

    def save() -> None:
        lesson.write_text(lesson.read_text() + "- saved during the build\n", encoding="utf-8")

    with Watching([lesson], tmp_path / "out", monkeypatch, during_first_build=save) as w:
        assert wait_for(lambda: "saved during the build" in handout_text(handout)), w.lines


def test_watch_says_what_it_watches(tmp_path: Path, monkeypatch) -> None:
    """The built-in layouts' starter.md was counted as a lesson ("watching 2 lessons")."""
    lesson = write_lesson(tmp_path / "source", "w.md", "# Part\n## Topic\n- a point\n")
    with Watching([lesson], tmp_path / "out", monkeypatch) as w:
        said = [line for line in w.lines if line.startswith("watching")]
    assert said == ["watching 1 lesson, the built-in layouts (Ctrl-C to stop)"]


def test_a_folder_deleted_and_restored_is_still_watched(tmp_path: Path, monkeypatch) -> None:
    import shutil

    folder = tmp_path / "source"
    lesson = write_lesson(folder, "w.md", "# Part\n## Topic\n- first version\n")
    handout = tmp_path / "out" / "w-handout.pdf"
    with Watching([folder], tmp_path / "out", monkeypatch) as w:
        shutil.rmtree(folder)
        time.sleep(0.5)
        write_lesson(folder, "w.md", "# Part\n## Topic\n- restored version\n")
        assert wait_for(lambda: "restored version" in handout_text(handout)), w.lines
        lesson.write_text(lesson.read_text() + "- and edited after\n", encoding="utf-8")
        assert wait_for(lambda: "edited after" in handout_text(handout)), w.lines


def test_a_layouts_folder_created_after_watch_started_is_used(tmp_path: Path, monkeypatch) -> None:
    from conftest import ROOT

    monkeypatch.chdir(tmp_path)
    lesson = write_lesson(tmp_path / "source", "w.md", "# Part\n## Topic\n- a fact\n")
    handout = tmp_path / "out" / "w-handout.pdf"
    with Watching([lesson], tmp_path / "out", monkeypatch) as w:
        first = handout.read_bytes()
        (tmp_path / "layouts").mkdir()
        css = (ROOT / "layouts" / "handout.css").read_text(encoding="utf-8")
        (tmp_path / "layouts" / "handout.css").write_text(
            css + "\nbody { font-size: 16pt; }\n", encoding="utf-8"
        )
        assert wait_for(lambda: handout.is_file() and handout.read_bytes() != first), w.lines
        assert wait_for(lambda: any("layout overrides in layouts/" in line for line in w.lines))


def test_a_course_yaml_typo_does_not_stop_watch(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "source"
    write_lesson(folder, "w.md", "# Part\n## Topic\n- a fact\n")
    course = folder / "course.yaml"
    course.write_text("title: C\n", encoding="utf-8")
    pack = tmp_path / "out" / "c-coursepack.pdf"
    with Watching([folder], tmp_path / "out", monkeypatch) as w:
        assert pack.is_file()
        course.write_text("title: [C\nterm: 2027-02-30\n", encoding="utf-8")
        assert wait_for(lambda: any("course.yaml:" in line for line in w.lines)), w.lines
        assert w.thread.is_alive()
        first = pack.read_bytes()
        course.write_text("title: C\nsubtitle: Fixed\n", encoding="utf-8")
        assert wait_for(lambda: pack.read_bytes() != first), w.lines
        assert wait_for(
            lambda: any(
                line.strip() == "fixed  source/course.yaml" or "fixed" in line for line in w.lines
            )
        ), w.lines


def test_errors_print_once_and_unrelated_files_build_nothing(tmp_path: Path, monkeypatch):
    """A log file written into the folder (``coursepack watch x.md > w.log``) and other files
    change nothing a build reads: no rebuild, no reprinted error. A fix says "fixed"."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "source"
    lesson = write_lesson(folder, "w.md", "# Part\n## Topic\n- a fact\n\n::: questoin\nx\n:::\n")
    with Watching([folder], tmp_path / "out", monkeypatch) as w:
        errors = [line for line in w.lines if ": error: " in line]
        assert errors and w.builds == 1
        log = folder / "w.log"
        for index in range(20):
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"line {index}\n")
            (folder / "notes.txt").write_text(str(index), encoding="utf-8")
            time.sleep(0.1)
        time.sleep(1.5)
        assert w.builds == 1, w.lines
        assert [line for line in w.lines if ": error: " in line] == errors
        # Another lesson's save rebuilds, and the unchanged error is not printed again.
        write_lesson(folder, "other.md", "# Part\n## Topic\n- another\n")
        assert wait_for(lambda: (tmp_path / "out" / "other-handout.pdf").is_file()), w.lines
        assert [line for line in w.lines if ": error: " in line] == errors
        lesson.write_text("---\ntitle: T\n---\n\n# Part\n## Topic\n- fixed\n", encoding="utf-8")
        assert wait_for(
            lambda: any(line.split() == ["fixed", "source/w.md"] for line in w.lines)
        ), w.lines


def test_ctrl_c_ends_watch_with_one_line(tmp_path: Path) -> None:
    import signal

    write_lesson(tmp_path, "w.md", "# Part\n## Topic\n- a fact\n")
    process = start_coursepack("watch", "w.md", "--only", "handout", cwd=tmp_path)
    try:
        assert wait_for(lambda: (tmp_path / "build" / "w-handout.pdf").is_file(), timeout=120)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "KeyboardInterrupt" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "stopped watching", err
    assert process.returncode == 0


# Holds a build still once its handout is written to a temporary file and flushed (the seam
# is the fsync every version of coursepack makes before it moves that file into place): the
# file it says it is waiting in names the temporary; it goes on when the test creates GO.
PAUSE_WITH_THE_HANDOUT_STAGED = """
import os, pathlib, time
_real_fsync = os.fsync
def _fsync(fd):
    _real_fsync(fd)
    try:
        name = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    staged = pathlib.Path(os.environ["STAGED"])
    if ".w-handout.pdf." in name and name.endswith(".tmp") and not staged.exists():
        staged.write_text(name)
        while not pathlib.Path(os.environ["GO"]).exists():
            time.sleep(0.02)
os.fsync = _fsync
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds its files in /proc")
def test_a_build_in_another_terminal_while_watching(tmp_path: Path, monkeypatch) -> None:
    """``coursepack build`` into the folder watch writes to, while watch rebuilds: neither
    fails, deletes the other's files or loses its outputs.

    The interleaving is forced, not hoped for: the other build is held with its new handout
    in a temporary file while watch builds a save, then let go. Before issue 12's fix watch's
    clean-up deleted that temporary (``.*.pdf.*.tmp`` of any process) and the other build
    failed to move it into place; now it is named after its process and kept."""

    from conftest import run_cli

    lesson = write_lesson(tmp_path / "source", "w.md", "# Part\n## Topic\n- first version\n")
    out = tmp_path / "out"
    staged, go = tmp_path / "staged", tmp_path / "go"
    with Watching([lesson], out, monkeypatch) as w:
        assert wait_for(lambda: "first version" in handout_text(out / "w-handout.pdf"))
        other = start_coursepack(
            *("build", str(lesson), "-o", str(out), "--only", "handout", "--force", "-j", "1"),
            cwd=tmp_path,
            env={"STAGED": str(staged), "GO": str(go)},
            prelude=PAUSE_WITH_THE_HANDOUT_STAGED,
        )
        try:
            assert wait_for(lambda: staged.exists() or other.poll() is not None, 300)
            assert staged.exists(), other.communicate()
            temporary = Path(staged.read_text())
            written = sum("written" in line for line in w.lines)
            lesson.write_text(lesson.read_text() + "- edit while held\n", encoding="utf-8")
            assert wait_for(lambda: sum("written" in line for line in w.lines) > written)
            assert temporary.exists()  # watch's build left the other build's file alone
        finally:
            go.touch()
            _out, err = other.communicate(timeout=300)
        assert other.returncode == 0, err
        assert "error" not in err, err
        # The other build's handout (of the version before the edit) landed last; watch
        # goes on building every save.
        lesson.write_text(lesson.read_text() + "- last edit\n", encoding="utf-8")
        assert wait_for(lambda: "last edit" in handout_text(out / "w-handout.pdf")), w.lines
        assert not [line for line in w.lines if "error" in line], w.lines
    again = run_cli("build", str(lesson), "-o", str(out), "--only", "handout", cwd=tmp_path)
    assert again.exit_code == 0 and "1 up to date" in again.stdout, again.output
    assert not [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".old"))]
