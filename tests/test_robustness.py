"""Robustness (issue 7): user faults, odd text and big lessons get clear answers, never a crash.

* Anything a user can cause: ``path:line: error: ...`` (or one line), exit 1; usage errors exit 2;
  a bug: one line naming the lesson and asking for a report, exit 3 (traceback with ``--debug``).
* Output-folder problems and missing lessons: one-line errors, nothing half-written.
* Control characters, pasted Word/web text, UTF-16; lessons of 5,000 bullets or 1 MB.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, body_runs, deck_texts, pdf_text, run_cli, run_coursepack, write_lesson

from coursepack.check import MAX_DIAGNOSTICS, check_lesson
from coursepack.diagnostics import InternalError
from coursepack.reader import MAX_INLINE_DEPTH, MAX_LESSON_BYTES, read_text
from coursepack.transaction import temporary_path

UNAMIR = ROOT / "source" / "unamir.md"
OUTPUTS = ("-handout.pdf", "-answer-key.pdf", "-slides.pptx")
DIAGNOSTIC = re.compile(r"^(?P<path>[^\n:]+)(:(?P<line>\d+))?: (?P<severity>error|warning): \S")


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text


def assert_outputs_open(folder: Path, stem: str) -> None:
    """The two PDFs open with pypdf and the deck with python-pptx; the XML is well-formed."""
    from lxml import etree
    from pypdf import PdfReader

    for suffix in OUTPUTS[:2]:
        reader = PdfReader(folder / f"{stem}{suffix}", strict=True)
        assert len(reader.pages) >= 1
    deck_texts(folder / f"{stem}-slides.pptx")
    with zipfile.ZipFile(folder / f"{stem}-slides.pptx") as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                etree.fromstring(archive.read(name))  # raises on a bad character


# --------------------------------------------------------------------------- exit codes


def test_lesson_error_is_path_line_exit_1_and_nothing_is_written(tmp_path: Path) -> None:
    write_lesson(tmp_path, "bad.md", "# S\n\n## T\n\n- a [[blank\n")
    result = run_cli("build", "bad.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert "bad.md:9: error: '[[' is never closed" in result.stderr
    assert_no_traceback(result.output)
    # Checked before anything is written: not even the output folder.
    assert not (tmp_path / "out").exists()


def test_check_reports_every_problem_as_path_line(tmp_path: Path) -> None:
    write_lesson(tmp_path, "bad.md", "::: questoin\nQ?\n:::\n\n![](missing.png)\n")
    result = run_cli("check", "bad.md", cwd=tmp_path)
    assert result.exit_code == 1
    problems = lines_of(result.stderr)
    assert problems and all(DIAGNOSTIC.match(line) for line in problems), problems
    assert [line.split(": ")[0] for line in problems] == ["bad.md:5", "bad.md:9", "bad.md:9"]


@pytest.mark.parametrize(
    "args",
    [
        ("build", "x.md", "--only", "poster"),
        ("build", "x.md", "--paper", "a5"),
        ("build", "x.md", "--jobs", "0"),
        ("build", "x.md", "--no-such-option"),
        ("frobnicate",),
    ],
    ids=["bad-only", "bad-paper", "bad-jobs", "unknown-option", "unknown-command"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr
    assert_no_traceback(result.output)
    assert not (tmp_path / "build").exists()


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    return write_lesson(tmp_path, "lesson.md", "# S\n\n## T\n\n- one [[blank]]\n")


@pytest.mark.parametrize("writer", ["handout", "deck"])
def test_internal_error_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, lesson: Path, writer: str
) -> None:
    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("writer exploded")

    if writer == "handout":
        from coursepack.writers.handout import HandoutWriter

        monkeypatch.setattr(HandoutWriter, "render", boom)
    else:
        from coursepack.writers.deck import DeckWriter

        monkeypatch.setattr(DeckWriter, "render", boom)
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "1", cwd=lesson.parent)
    assert result.exit_code == 3
    assert_no_traceback(result.output)
    (message,) = lines_of(result.stderr)
    assert message.startswith("internal error while building lesson.md: RuntimeError: writer")
    assert "please report it" in message and "--debug" in message
    # Nothing half-written: no temporary file left, no output of the failed writer.
    leftovers = [p.name for p in (lesson.parent / "out").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_internal_error_in_a_worker_process_is_one_line_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import multiprocessing

    from coursepack.writers.handout import HandoutWriter

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("a monkeypatch reaches worker processes only when they are forked")

    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("worker exploded")

    monkeypatch.setattr(HandoutWriter, "render", boom)  # forked workers inherit it
    for name in ("a.md", "b.md"):
        write_lesson(tmp_path / "source", name, "# S\n\n## T\n\n- x\n")
    result = run_cli("build", "source", "-o", "out", "-j", "2", cwd=tmp_path)
    assert result.exit_code == 3
    assert_no_traceback(result.output)
    (message,) = lines_of(result.stderr)
    assert re.match(r"internal error while building source/[ab]\.md: RuntimeError: worker", message)


def test_internal_error_in_check_names_the_lesson(
    monkeypatch: pytest.MonkeyPatch, lesson: Path
) -> None:
    def boom(*args: object, **kwargs: object) -> list:
        raise KeyError("checker exploded")

    monkeypatch.setattr("coursepack.check.check_model", boom)
    result = run_cli("check", "lesson.md", cwd=lesson.parent)
    assert result.exit_code == 3
    assert_no_traceback(result.output)
    (message,) = lines_of(result.stderr)
    assert message.startswith("internal error while building lesson.md: KeyError:")
    assert "please report it" in message


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, lesson: Path) -> None:
    from coursepack.writers.deck import DeckWriter

    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("writer exploded")

    monkeypatch.setattr(DeckWriter, "render", boom)
    # In-process, "the traceback is shown" means the exception leaves the command.
    with pytest.raises(InternalError) as info:
        run_cli("--debug", "build", "lesson.md", "-o", "out", "-j", "1", cwd=lesson.parent)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_debug_traceback_in_a_real_process(tmp_path: Path) -> None:
    """A bug (a lesson whose reading raises) prints the traceback with --debug only."""
    write_lesson(tmp_path, "lesson.md", "# S\n")
    # sitecustomize in a private folder makes the checker raise inside the subprocess.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import coursepack.check as c\n"
        "def boom(*a, **k):\n"
        "    raise ZeroDivisionError('planted bug')\n"
        "c.check_model = boom\n",
        encoding="utf-8",
    )
    env_path = f"{hook}{os.pathsep}{ROOT}"
    runs = {}
    for debug in (False, True):
        args = [*(["--debug"] if debug else []), "check", "lesson.md"]
        runs[debug] = subprocess.run(
            [sys.executable, "-c", "from cli import main; main()", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": env_path},
        )
    assert runs[False].returncode == 3
    assert_no_traceback(runs[False].stderr)
    assert len(lines_of(runs[False].stderr)) == 1
    assert "planted bug" in runs[False].stderr
    assert runs[True].returncode != 0
    assert "Traceback" in runs[True].stderr and "ZeroDivisionError" in runs[True].stderr


# --------------------------------------------------------------------------- files and folders


def test_missing_lesson_file(tmp_path: Path) -> None:
    for command in ("check", "build"):
        result = run_cli(command, "no-such-lesson.md", cwd=tmp_path)
        assert result.exit_code == 1
        assert lines_of(result.stderr) == ["no-such-lesson.md: error: no such file or folder"]
    assert not (tmp_path / "build").exists()


def test_lesson_is_a_folder_without_lessons(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("build", "empty", "-o", "out", cwd=tmp_path)
    assert result.exit_code == 1
    assert "empty: error: no .md lesson files in this folder" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unreadable_lesson_file(tmp_path: Path, lesson: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file: an unreadable lesson cannot be made here")
    lesson.chmod(0)
    try:
        result = run_cli("check", "lesson.md", cwd=tmp_path)
    finally:
        lesson.chmod(0o644)
    assert result.exit_code == 1
    assert lines_of(result.stderr) == ["lesson.md: error: cannot read the file (permission denied)"]


def test_not_a_regular_file_or_far_too_big(tmp_path: Path) -> None:
    """A pipe or a device would never end; a video given by mistake is not read whole."""
    cases = {}
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.md")
        cases["pipe.md"] = "this is not a regular file, so not a lesson"
    if Path("/dev/zero").exists():
        cases["/dev/zero"] = "this is not a regular file, so not a lesson"
    with (tmp_path / "video.md").open("wb") as handle:
        handle.truncate(MAX_LESSON_BYTES + 1)  # sparse: costs no disk
    cases["video.md"] = "the file is larger than 20 MB: too big for a lesson"
    for name, message in cases.items():
        for command in ("check", "build"):
            result = run_cli(command, name, cwd=tmp_path)
            assert result.exit_code == 1, (name, result.output)
            (line,) = lines_of(result.stderr)
            assert line.startswith(f"{name}: error: {message}"), line
    assert not (tmp_path / "build").exists()


def test_output_folder_is_a_file(tmp_path: Path, lesson: Path) -> None:
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    result = run_cli("build", "lesson.md", "-o", "out", cwd=tmp_path)
    assert result.exit_code == 1
    assert lines_of(result.stderr) == [
        "error: output folder out is a file; choose another folder with -o"
    ]
    # A file in the way of a folder to create.
    result = run_cli("build", "lesson.md", "-o", "out/sub", cwd=tmp_path)
    assert result.exit_code == 1
    (message,) = lines_of(result.stderr)
    assert message.startswith("error: cannot create output folder out/sub: ")
    assert (tmp_path / "out").read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize("blocked", OUTPUTS)
def test_output_path_occupied_by_a_folder(tmp_path: Path, lesson: Path, blocked: str) -> None:
    (tmp_path / "out" / f"lesson{blocked}").mkdir(parents=True)
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert_no_traceback(result.output)
    assert lines_of(result.stderr) == [
        f"error: cannot write out/lesson{blocked}: a folder of that name is in the way"
    ]
    # Found before anything was written: no other output appeared.
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"lesson{blocked}"]


def _read_only_build(tmp_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """Build into ``out`` made read-only: a read-only bind mount as root, else chmod."""
    args = ["lesson.md", "-o", str(out), *extra]
    if os.geteuid() != 0:
        out.chmod(0o555)
        try:
            return run_coursepack("build", *args, cwd=tmp_path)
        finally:
            out.chmod(0o755)
    # Root writes through any permission bits: only a read-only file system stops it. The
    # mount lives in a private mount namespace and ends with the process.
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("running as root without unshare/mount: no read-only folder possible")
    script = (
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99; shift; '
        'PYTHONPATH="$ROOT" "$PY" -c "from cli import main; main()" build "$@"'
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(out), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ROOT": str(ROOT), "PY": sys.executable},
    )
    if result.returncode == 99 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()[:200]}")
    return result


def test_output_folder_not_writable(tmp_path: Path, lesson: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = _read_only_build(tmp_path, out)
    assert result.returncode == 1, result.stderr
    assert_no_traceback(result.stderr)
    assert lines_of(result.stderr) == [f"error: output folder {out} is not writable"]
    assert list(out.iterdir()) == []


def test_output_open_in_another_program(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lesson: Path
) -> None:
    """Windows refuses to replace a PDF open in a viewer: os.replace raises PermissionError."""
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    before = (tmp_path / "out" / "lesson-handout.pdf").read_bytes()
    lesson.write_text(lesson.read_text(encoding="utf-8") + "- two\n", encoding="utf-8")

    def locked(src: str, dst: str) -> None:
        if str(dst).endswith(".pdf"):
            raise PermissionError(13, "Permission denied", str(dst))
        os.rename(src, dst)

    monkeypatch.setattr("coursepack.outputs.os.replace", locked)
    result = run_cli("build", "lesson.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert_no_traceback(result.output)
    assert lines_of(result.stderr) == [
        "out/lesson-handout.pdf: error: cannot be written: permission denied "
        "(is it open in another program?); the lesson's previous files are kept"
    ]
    assert "kept as they were" in result.stdout  # the summary is printed, and says so
    # The open file is untouched and no temporary file is left behind.
    assert (tmp_path / "out" / "lesson-handout.pdf").read_bytes() == before
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_a_build_into_a_teachers_folder_keeps_their_temporary_files(
    tmp_path: Path, lesson: Path
) -> None:
    """``-o .``: only the temporaries a killed build left are removed, not other programs'."""
    theirs = [".notes.tmp", ".draft.md.tmp", ".report.pdf.tmp", ".~lock.x.pdf.tmp"]
    for name in theirs:
        (tmp_path / name).write_text("someone else's", encoding="utf-8")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a build that was killed: its process is gone
    stale = temporary_path(tmp_path / "lesson-handout.pdf")
    stale = stale.with_name(stale.name.replace(f"-{os.getpid()}.", f"-{gone.pid}."))
    older = tmp_path / ".lesson-handout.pdf.k3j9x_2a.tmp"  # an earlier version's, hours ago
    for path in (stale, older):
        path.write_bytes(b"%PDF-half")
    os.utime(older, (time.time() - 7200, time.time() - 7200))
    result = run_cli("build", "lesson.md", "-o", ".", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and not older.exists()
    assert all((tmp_path / name).is_file() for name in theirs)


# --------------------------------------------------------------------------- odd characters


CONTROL_LESSON = (
    "---\n"
    "title: Bell\x07 and NUL\x00 title\n"
    "---\n"
    "\n"
    "# Section\x1b one\n"
    "\n"
    "## Topic\ufffe two\n"
    "\n"
    "- a\x01b\x0bc and [[ans\x00wer]]\n"
    "- non-character \uffff here\x7f and C1 \x85 \x9b\n"
    "\n"
    "| head\x0c | cell |\n"
    "|---|---|\n"
    "| x\x02 | y |\n"
    "\n"
    "::: question\n"
    "Pick\x08 one\n"
    "- [x] right\x1f\n"
    "- [ ] wrong\n"
    ":::\n"
    "\n"
    "::: notes\n"
    "speaker\x00 notes\n"
    ":::\n"
    "\n"
    "::: match\n"
    "- term\x06 :: definition\n"
    "- other :: thing\x15\n"
    ":::\n"
)


def test_control_characters_are_removed_with_warnings_and_outputs_open(tmp_path: Path) -> None:
    (tmp_path / "ctl.md").write_bytes(CONTROL_LESSON.encode("utf-8"))
    result = run_cli("build", "ctl.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    warned = {int(m["line"]) for m in map(DIAGNOSTIC.match, lines_of(result.stderr)) if m}
    assert {2, 5, 7, 9, 10, 12, 14, 17, 18, 23, 27, 28} <= warned
    assert all("warning: removed" in line for line in lines_of(result.stderr))
    assert_outputs_open(tmp_path / "out", "ctl")
    texts = "\n".join(deck_texts(tmp_path / "out" / "ctl-slides.pptx"))
    assert "Bell and NUL title" in texts and "abc and answer" in texts
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", texts)
    handout = pdf_text(tmp_path / "out" / "ctl-handout.pdf")
    assert "Bell and NUL title" in handout and "Pick one" in handout
    with zipfile.ZipFile(tmp_path / "out" / "ctl-slides.pptx") as archive:
        raw = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))
    assert not re.search(
        rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(x0*[0-8bcef]|x0*1[0-9a-f]|0*[0-8]);", raw
    )


def test_lone_surrogates_and_non_characters_build(tmp_path: Path) -> None:
    """Text that arrives as a Python string (an editor plug-in, the tests) can hold surrogates."""
    from coursepack.build import Builder
    from coursepack.check import check_model

    text = (
        "---\ntitle: Sur\udcffrogate\n---\n\n# S\ud800\n\n## T\n\n"
        "- half \udfff a pair [[x\ud83d]]\n"
    )
    path = tmp_path / "surrogates.md"
    lesson, diagnostics = read_text(text, path)
    assert lesson is not None
    assert [(d.line, d.severity) for d in diagnostics] == [
        (2, "warning"),
        (5, "warning"),
        (9, "warning"),
    ]
    assert not [d for d in check_model(lesson) if d.is_error]
    builder = Builder()
    for data in (
        builder.handout_writer.render(lesson, "handout"),
        builder.handout_writer.render(lesson, "key"),
    ):
        from pypdf import PdfReader

        assert "Surrogate" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    from pptx import Presentation

    deck = Presentation(io.BytesIO(builder.deck_writer.render(lesson)))
    assert deck.slides[0].shapes.title.text_frame.text == "Surrogate"


def test_surrogate_bytes_in_a_file_are_a_clear_error(tmp_path: Path) -> None:
    """UTF-8 cannot hold a lone surrogate: such bytes make the file not UTF-8 (line named)."""
    path = tmp_path / "bad.md"
    path.write_bytes(b"---\ntitle: t\n---\n\nok\nbad \xed\xb2\x80 here\n")
    result = run_cli("check", "bad.md", cwd=tmp_path)
    assert result.exit_code == 1
    (message,) = lines_of(result.stderr)
    assert message.startswith("bad.md:6: error: the file is not UTF-8")
    assert "byte 0xed at column 5" in message


def test_deep_formatting_is_flattened_not_a_crash(tmp_path: Path) -> None:
    """``**...a...**`` 50,000 deep once overflowed the recursion limit in check (exit 3)."""
    depth = 50_000
    write_lesson(tmp_path, "deep.md", f"# S\n\n## T\n\n{'*' * depth}a{'*' * depth} and *fine*\n")
    result = run_cli("build", "deep.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert lines_of(result.stderr) == [
        f"deep.md:9: warning: bold, italics and links nest at most {MAX_INLINE_DEPTH} deep; "
        "the deeper formatting is left out (the text is kept)"
    ]
    assert_outputs_open(tmp_path / "out", "deep")
    assert "a and fine" in pdf_text(tmp_path / "out" / "deep-handout.pdf")


def _bilevel_png(width: int, height: int) -> bytes:
    """A blank 1-bit PNG: tiny on disk however many pixels it has."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(10_000, 10_000), (20_000, 20_000)])
def test_a_decompression_bomb_picture_is_a_clear_error(tmp_path: Path, size: tuple) -> None:
    """The handout used to drop such a picture silently (Pillow refuses to decode it)."""
    (tmp_path / "huge.png").write_bytes(_bilevel_png(*size))
    write_lesson(tmp_path, "l.md", "# S\n\n## T\n\n![A huge picture](huge.png)\n")
    result = run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1
    (message,) = lines_of(result.stderr)
    assert message.startswith("l.md:9: error: image 'huge.png' ")
    assert "is too big to print (at most 89 million pixels" in message
    assert not (tmp_path / "out").exists()


PASTED = (
    "\ufeff---\r\n"
    "title: \u201cPasted\u201d from Word\r\n"
    "---\r\n"
    "\r\n"
    "# Section\u00a0one\r\n"
    "\r\n"
    "## It\u2019s a topic\r\n"
    "\r\n"
    "- A \u201cquoted\u201d phrase\u00a0with no-break spaces \u2014 and a dash\r\n"
    "- Tab\tinside a bullet\r\n"
    "\t- a tab-indented sub-bullet\r\n"
    "- Blank [[\u2018answer\u2019]] and an ellipsis\u2026\r\n"
    "\r\n"
    "::: question\r\n"
    "Which one is \u201cright\u201d?\r\n"
    "- [x] the \u2018first\u2019\r\n"
    "- [ ] the\u00a0second\r\n"
    ":::\r\n"
)


def test_pasted_word_text_builds_and_prints_sensibly(tmp_path: Path) -> None:
    (tmp_path / "pasted.md").write_bytes(PASTED.encode("utf-8"))
    result = run_cli("build", "pasted.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert not [line for line in lines_of(result.stderr) if DIAGNOSTIC.match(line)]
    assert_outputs_open(tmp_path / "out", "pasted")
    handout = pdf_text(tmp_path / "out" / "pasted-handout.pdf")
    key = pdf_text(tmp_path / "out" / "pasted-answer-key.pdf")
    deck = "\n".join(deck_texts(tmp_path / "out" / "pasted-slides.pptx"))
    for text in (handout, deck):
        flat = text.replace("\u00a0", " ")
        assert "\u201cPasted\u201d from Word" in flat
        assert "It\u2019s a topic" in flat
        assert "A \u201cquoted\u201d phrase with no-break spaces \u2014 and a dash" in flat
        assert "a tab-indented sub-bullet" in flat
        assert "\ufeff" not in text and "\r" not in text and "---" not in text
    assert "\u2018answer\u2019" in key and "\u2018answer\u2019" not in handout
    assert "\u2018answer\u2019" in deck  # the deck shows blanks filled in


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")],
    ids=["le-bom", "be-bom", "le-no-bom"],
)
def test_utf16_file_is_a_clear_error(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "---\r\ntitle: Unicode\r\n---\r\n\r\n# S\r\n\r\n- caf\u00e9\r\n"
    (tmp_path / "wide.md").write_bytes(bom + text.encode(encoding))
    for command in (("check", "wide.md"), ("build", "wide.md", "-o", "out")):
        result = run_cli(*command, cwd=tmp_path)
        assert result.exit_code == 1
        assert_no_traceback(result.output)
        (message,) = [line for line in lines_of(result.stderr) if DIAGNOSTIC.match(line)]
        assert message.startswith("wide.md:1: error: the file ")
        assert "UTF-16" in message and "save it as UTF-8" in message
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- size
#
# No absolute time limits (a loaded 2-core machine makes them fail at random): each test
# measures the same work at two sizes in this process (CPU seconds, time.process_time) and
# bounds the ratio, which a linear algorithm keeps near the size ratio and a quadratic one
# multiplies by it. NOISE_FLOOR keeps a tiny small-size time from making the ratio meaningless.
NOISE_FLOOR = 0.05


def cpu_seconds(work: Callable[[], object]) -> float:
    """The CPU time ``work()`` takes in this process (the best of three runs: other
    processes on a busy machine still slow this one's caches)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def cpu_pair(small: Callable[[], object], large: Callable[[], object]) -> tuple[float, float]:
    """The best CPU times of ``small()`` and ``large()``, run in turn three times, so a burst
    of load on the machine slows both sizes rather than only one."""
    times = [float("inf"), float("inf")]
    for _ in range(3):
        for index, work in enumerate((small, large)):
            start = time.process_time()
            work()
            times[index] = min(times[index], time.process_time() - start)
    return times[0], times[1]


def assert_linear(small: float, large: float, size_ratio: float, what: str) -> None:
    """``large`` (size_ratio times the input of ``small``) grew about linearly: below 2.5
    times the size ratio (n log n and a loaded machine's noise stay under it), where
    quadratic growth gives the size ratio squared (16 for 4x, 25 for 5x)."""
    assert large < 2.5 * size_ratio * max(small, NOISE_FLOOR), (
        f"{what}: {small:.2f} s → {large:.2f} s for {size_ratio:g}x the input"
    )


def bullets_lesson(folder: Path, count: int) -> Path:
    body = "\n".join(
        f"- Bullet {i} says something about the [[topic {i}]] in a sentence of some length."
        + (f"\n  - a sub-point of bullet {i}" if i % 10 == 0 else "")
        for i in range(count)
    )
    return write_lesson(folder, f"bullets{count}.md", f"# Section\n\n## Many bullets\n\n{body}\n")


def test_5000_bullets_check_in_linear_time(tmp_path: Path) -> None:
    small, large = bullets_lesson(tmp_path, 1000), bullets_lesson(tmp_path, 5000)
    assert check_lesson(large)[0] is not None
    assert_linear(
        *cpu_pair(lambda: check_lesson(small), lambda: check_lesson(large)),
        5,
        "check of 1000 → 5000 bullets",
    )


def one_megabyte_lesson() -> str:
    """A lesson of about 1 MB using every construct, many times over."""
    part = (
        "## Topic {i}\n\n"
        "A paragraph with **bold**, *italics*, `code`, a [[blank {i}]] and a "
        "[link](https://example.org/{i}).\n\n"
        "- bullet one of {i}\n  - sub-bullet\n- bullet two with [[answer {i}]]\n\n"
        "| a | b |\n|---|---|\n| {i} | x |\n\n"
        "> a quotation {i}\n\n"
        "::: question points=2\nQuestion {i}?\n- [x] yes\n- [ ] no\n:::\n\n"
        "::: question lines=2\nWhy {i}?\n\nAnswer: because.\n:::\n\n"
        "::: match\n- a{i} :: b\n- c :: d\n:::\n\n"
        "::: order\n1. first\n2. second\n:::\n\n"
        "::: notes\nnotes {i}\n:::\n\n"
    )
    parts = ["# Section\n\n"]
    size = 0
    i = 0
    while size < 1_000_000:
        chunk = part.format(i=i)
        parts.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(parts)


def test_one_megabyte_lesson_checks_in_linear_time(tmp_path: Path) -> None:
    text = one_megabyte_lesson()
    path = write_lesson(tmp_path, "big.md", text)
    assert path.stat().st_size >= 1_000_000
    quarter = write_lesson(tmp_path, "quarter.md", text[: text.index("## Topic", len(text) // 4)])
    lesson, diagnostics = check_lesson(path)
    assert diagnostics == [] and lesson is not None
    assert len(lesson.graded()) > 3000
    assert_linear(
        *cpu_pair(lambda: check_lesson(quarter), lambda: check_lesson(path)),
        path.stat().st_size / quarter.stat().st_size,
        "check of 250 KB → 1 MB",
    )


# Single-line and repetitive inputs that are quadratic (or worse) in naive parsers. At 256 KB
# a quadratic reader would take minutes; ours takes about a second (about 4-7 s at 1 MB, most of
# it in markdown-it, linear).
PATHOLOGICAL = {
    "open-brackets": "[",
    "cloze-opens": "[[",
    "cloze-closes": "]]",
    "stars": "*a ",
    "underscores": "_a ",
    "link-openers": "[a](",
    "backticks": "`",
    "mixed": "[[a **b [c](d *e ]] ",
    "fences": ":::\n",
    "question-opens": "::: question\n",
    "angle-brackets": "<",
    "table-rows": "|x|y|\n",
    "headings": "# a\n## b\n",
    "cloze-newlines": "[[\n",
}
PATHOLOGICAL_SIZE = 256 * 1024


def pathological_lesson(folder: Path, name: str, size: int) -> Path:
    if name == "deep-emphasis":
        body = "*" * (size // 2) + "a" + "*" * (size // 2)
    else:
        unit = PATHOLOGICAL[name]
        body = ("|a|b|\n|-|-|\n" if name == "table-rows" else "") + unit * (size // len(unit))
    return write_lesson(folder, f"{name}-{size}.md", body + "\n")


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL) + ["deep-emphasis"])
def test_pathological_input_checks_in_linear_time(tmp_path: Path, name: str) -> None:
    path = pathological_lesson(tmp_path, name, PATHOLOGICAL_SIZE)
    quarter = pathological_lesson(tmp_path, name, PATHOLOGICAL_SIZE // 4)
    _, diagnostics = check_lesson(path)
    small, large = cpu_pair(lambda: check_lesson(quarter), lambda: check_lesson(path))
    assert_linear(small, large, 4, f"{name}: check of 64 KB → 256 KB")
    # A flood of problems is cut to a readable list that says how many more there are.
    assert len(diagnostics) <= MAX_DIAGNOSTICS + 1
    if len(diagnostics) > MAX_DIAGNOSTICS:
        assert "more problem(s) from this line on are not shown" in diagnostics[-1].message


def _body_run_sizes(path: Path) -> tuple[int, list[tuple[str, float]]]:
    """(slide count, [(text, size in pt)] of every body run) of a deck."""
    from pptx import Presentation

    deck = Presentation(path)
    runs = [
        (run.text, run.font.size.pt if run.font.size else 0.0)
        for _slide, run in body_runs(deck)
        if run.text.strip()
    ]
    return len(deck.slides), runs


def _assert_deck_split(path: Path, count: int) -> None:
    slides, runs = _body_run_sizes(path)
    small = [(text, size) for text, size in runs if size < 18]
    assert not small, small[:5]
    # Every bullet made it onto some slide, split over many slides.
    texts = "\n".join(text for text, _ in runs)
    assert f"Bullet {count - 1} says" in texts and "Bullet 0 says" in texts
    assert slides > count // 20, slides


def test_1000_bullets_build_and_the_deck_splits(tmp_path: Path) -> None:
    path = bullets_lesson(tmp_path, 1000)
    result = run_cli("build", path.name, "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert_outputs_open(tmp_path / "out", path.stem)
    _assert_deck_split(tmp_path / "out" / f"{path.stem}-slides.pptx", 1000)
    handout = pdf_text(tmp_path / "out" / f"{path.stem}-handout.pdf")
    assert "Bullet 999 says" in handout


def test_5000_bullet_deck_splits_in_linear_time(tmp_path: Path) -> None:
    timings = {}
    for count in (1000, 5000):
        path = bullets_lesson(tmp_path, count)
        start = time.process_time()
        result = run_cli(
            "build", path.name, "-o", "out", "-j", "1", "--only", "slides", cwd=tmp_path
        )
        timings[count] = time.process_time() - start
        assert result.exit_code == 0, result.output
    _assert_deck_split(tmp_path / "out" / "bullets5000-slides.pptx", 5000)
    # Five times the bullets: linear would take 5x; quadratic 25x.
    assert_linear(timings[1000], timings[5000], 5, "deck of 1000 → 5000 bullets")


# --------------------------------------------------------------------------- odd folder names


@pytest.mark.parametrize(
    "folder",
    ["Unit #3 ? été [draft] & <x>", "Term 1 (100%41)"],
)
def test_odd_folder_names_build_with_pictures(tmp_path: Path, folder: str) -> None:
    """Teachers name folders "Unit #3"; a picture beside the lesson must still print."""
    source = tmp_path / folder
    source.mkdir()
    shutil.copyfile(ROOT / "tests" / "fixtures" / "lessons" / "map.png", source / "map #1 é.png")
    write_lesson(source, "lesson #1.md", "# S\n\n## T\n\n![A map](<map #1 é.png>)\n\n- text\n")
    result = run_cli("build", f"{folder}/lesson #1.md", "-o", "out #2", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert_outputs_open(tmp_path / "out #2", "lesson #1")


# --------------------------------------------------------------------------- deck limits


def test_a_very_long_topic_title_is_not_an_internal_error(tmp_path: Path) -> None:
    title = " ".join(["Word"] * 300)  # a pasted paragraph written as a heading
    # the lesson's title too: a document property holds at most 255 characters
    write_lesson(tmp_path, "long.md", f"# S\n\n## {title}\n\n- a bullet\n", title=title)
    result = run_cli("build", "long.md", "-o", "out", "-j", "1", "--only", "slides", cwd=tmp_path)
    assert result.exit_code in (0, 1), result.output
    assert_no_traceback(result.output)
    if result.exit_code == 1:
        assert re.search(r"^long\.md:7: error: ", result.stderr, re.M), result.stderr
    else:  # the slide shows the title shortened; the speaker notes keep all of it
        from pptx import Presentation

        prs = Presentation(str(tmp_path / "out" / "long-slides.pptx"))
        slide = prs.slides[-1]
        assert slide.shapes.title.text_frame.text.endswith("…")
        assert title in slide.notes_slide.notes_text_frame.text


def test_a_paragraph_of_many_blanks_splits_in_linear_time(tmp_path: Path) -> None:
    from coursepack.writers.deck import DeckWriter

    lessons = []
    for count in (150, 600):
        blanks = " ".join(f"[[answer {i}]]" for i in range(count))
        path = write_lesson(tmp_path, f"blanks{count}.md", f"# S\n\n## T\n\n{blanks}\n")
        lesson, _ = check_lesson(path)
        assert lesson is not None
        lessons.append(lesson)
    writer = DeckWriter()
    writer.render(lessons[0])  # python-pptx imported and warm before timing
    small, large = (cpu_seconds(lambda one=one: writer.render(one)) for one in lessons)
    assert_linear(small, large, 4, "deck of a paragraph of 150 → 600 blanks")
