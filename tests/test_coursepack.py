"""The course pack, end to end: a folder of three lessons and a course.yaml, built by the command.

The folder is ``tests/fixtures/course`` (two short lessons and ``course.yaml``) plus a copy of
``source/unamir.md`` made at test time. The packs are read back with pypdf, as a teacher would
check a printed pack: the cover, the contents and its page numbers, each lesson on a right-hand
page, the bookmarks, the page numbers, the footer, the answers and the points per lesson.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT, UNAMIR, pdf_text, run_cli, run_coursepack, write_lesson
from pypdf import PdfReader
from pypdf.generic import Destination

from coursepack.model import Lesson
from coursepack.reader import read_lesson

FIXTURE = ROOT / "tests" / "fixtures" / "course"
ORDER = ("genocide-convention.md", "unamir.md", "justice-after-rwanda.md")
PACK = "modern-world-history-coursepack.pdf"
KEY_PACK = "modern-world-history-coursepack-answer-key.pdf"
AUDIENCES = {PACK: "handout", KEY_PACK: "key"}


def make_course(folder: Path) -> Path:
    """The course folder: the fixture's files plus a fresh copy of the UNAMIR lesson."""
    shutil.copytree(FIXTURE, folder)
    shutil.copyfile(UNAMIR, folder / "unamir.md")
    return folder


def squash(text: str) -> str:
    """Text without whitespace or leader dots, so wrapped lines and leaders compare equal."""
    return re.sub(r"[\s.]+", "", text)


@cache
def pdf_pages(path: Path) -> tuple[str, ...]:
    """The extracted text of every page (cached: extraction is the slow part)."""
    return tuple(page.extract_text() or "" for page in PdfReader(path).pages)


def page_count(path: Path) -> int:
    return len(PdfReader(path).pages)


def read(path: Path) -> Lesson:
    lesson, diagnostics = read_lesson(path)
    assert not [d for d in diagnostics if d.is_error]
    return lesson


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The course built once with ``--jobs 1`` (the other tests read or copy it)."""
    project = tmp_path_factory.mktemp("pack")
    course = make_course(project / "course")
    result = run_coursepack("build", "course", "-o", "out", "--jobs", "1", cwd=project)
    assert result.returncode == 0, result.stderr
    return {"project": project, "course": course, "out": project / "out", "log": result.stdout}


def outline(reader: PdfReader) -> list[tuple[Destination, list]]:
    """Top-level bookmarks, each with the (possibly empty) list of bookmarks under it."""
    items: list[tuple[Destination, list]] = []
    for item in reader.outline:
        if isinstance(item, list):
            items[-1] = (items[-1][0], item)
        else:
            items.append((item, []))
    return items


# --------------------------------------------------------------------------- the packs


def test_outputs_are_named_from_the_course_title(built: dict[str, Path]) -> None:
    names = {path.name for path in built["out"].iterdir() if not path.name.startswith(".")}
    assert {PACK, KEY_PACK} <= names
    for stem in (name.removesuffix(".md") for name in ORDER):
        assert {f"{stem}-handout.pdf", f"{stem}-answer-key.pdf", f"{stem}-slides.pptx"} <= names
    assert f"written  out/{PACK}" in built["log"]
    assert f"written  out/{KEY_PACK}" in built["log"]


@pytest.mark.parametrize("name", [PACK, KEY_PACK])
def test_each_lesson_on_a_right_hand_page_in_bookmarks_and_contents(
    built: dict[str, Path], name: str
) -> None:
    out, audience = built["out"], AUDIENCES[name]
    suffix = "-handout.pdf" if audience == "handout" else "-answer-key.pdf"
    lessons = [read(built["course"] / lesson) for lesson in ORDER]
    pack = out / name
    reader = PdfReader(pack)
    pages = pdf_pages(pack)
    total = len(pages)
    singles = sum(page_count(out / f"{lesson.stem}{suffix}") for lesson in lessons)
    assert total > singles + 1  # a cover and a contents page at least

    # Cover: the course's details, no page number.
    cover = pages[0]
    for text in ("Modern World History", "Unit 7", "Modern World History department", "2027"):
        assert text in cover
    assert "Page" not in cover
    assert ("Answer key" if audience == "key" else "Course pack").upper() in cover.upper()

    # Bookmarks: one per lesson, in order, on an odd page that shows its title; its sections
    # (and in the key its answer table) under it.
    items = outline(reader)
    assert [item.title for item, _ in items] == [lesson.meta.title for lesson in lessons]
    starts = []
    for (item, children), lesson in zip(items, lessons, strict=True):
        number = reader.get_destination_page_number(item) + 1
        starts.append(number)
        assert number % 2 == 1, (lesson.meta.title, number)
        assert squash(lesson.meta.title) in squash(pages[number - 1].split("Page ")[0])
        sections = [section.title_text for section in lesson.sections]
        if audience == "key":
            sections.append("Answers at a glance")
        children_titles = [child.title for child in children if not isinstance(child, list)]
        assert children_titles == sections
    assert starts == sorted(starts) and starts[0] >= 3

    # The contents page gives those page numbers, for every lesson and section, in order.
    contents = squash(pages[1])
    assert contents.startswith("Contents")
    cursor = 0
    for item, children in items:
        for entry in [item, *(c for c in children if not isinstance(c, list))]:
            number = reader.get_destination_page_number(entry) + 1
            found = re.compile(re.escape(squash(entry.title)) + r"(\d+)").search(contents, cursor)
            assert found, entry.title
            assert int(found.group(1)) == number, (entry.title, found.group(1), number)
            cursor = found.end()

    # Page numbers run through the whole pack; blank pages (before a lesson) are truly blank;
    # the footer names the lesson of every page.
    assert f"Page {total} of {total}" in pages[-1]
    bounds = [*starts, total + 1]
    for index, text in enumerate(pages[1:], start=2):
        if not text.strip():
            assert index + 1 in starts, f"page {index} is blank but no lesson follows it"
            continue
        assert f"Page {index} of {total}" in text
        if index >= starts[0]:
            lesson = lessons[max(i for i, start in enumerate(bounds) if start <= index)]
            footer = text[text.rindex("Page ") - 300 : text.rindex("Page ")]
            assert squash(lesson.meta.title) in squash(footer), index
    blank = [i for i, text in enumerate(pages, 1) if not text.strip()]
    assert blank, "this course needs at least one blank page to start a lesson on the right"


@pytest.mark.parametrize("name", [PACK, KEY_PACK])
def test_pack_is_tagged_with_its_language_and_embeds_its_fonts(
    built: dict[str, Path], name: str
) -> None:
    reader = PdfReader(built["out"] / name)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root
    assert reader.metadata.title.startswith("Modern World History")
    fonts = 0
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descriptor = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if "/DescendantFonts" in font
                else font["/FontDescriptor"]
            )
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]
            fonts += 1
    assert fonts


def test_key_pack_has_the_answers_and_the_points_per_lesson(built: dict[str, Path]) -> None:
    key = "\n".join(pdf_pages(built["out"] / KEY_PACK))
    handout = "\n".join(pdf_pages(built["out"] / PACK))
    model_answer = "Kofi Annan, then head of UN peacekeeping"  # from unamir.md
    assert squash(model_answer) in squash(key) and squash(model_answer) not in squash(handout)
    # Cloze answers (of the first lesson and of unamir) are filled in only in the key.
    for blank in ("9 December 1948", "5 October 1993"):
        assert squash(blank) in squash(key) and squash(blank) not in squash(handout)
    assert "Fill-in blanks" not in handout and "Points per lesson" not in handout

    contents = squash(pdf_pages(built["out"] / KEY_PACK)[1])
    assert "Pointsperlesson" in contents
    summary = contents.split("Pointsperlesson", 1)[1]
    lessons = [read(built["course"] / lesson) for lesson in ORDER]
    cursor = 0
    for lesson in lessons:
        found = re.compile(re.escape(squash(lesson.meta.title)) + r"(\d+)").search(summary, cursor)
        assert found and int(found.group(1)) == lesson.total_points, lesson.meta.title
        cursor = found.end()
    assert summary[cursor:].startswith(f"Total{sum(lesson.total_points for lesson in lessons)}")


@pytest.mark.parametrize("name", [PACK, KEY_PACK])
def test_pack_passes_the_pdf_ua_checker(built: dict[str, Path], name: str) -> None:
    """Joined from parts, the pack is still one tagged document: no finding of any severity."""
    pdfua = pytest.importorskip("pdfua", reason="pdfua is in the test extra")
    report = pdfua.validate(str(built["out"] / name))
    assert [(f.rule_id, f.severity.name, f.message) for f in report.findings] == []


def test_an_edit_renders_one_lessons_parts_and_writes_a_full_builds_bytes(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """After a one-word edit, only the edited lesson's parts are rendered again (the others
    come from the cache in the output folder; one of them is torn on purpose and is rendered
    again, not joined), and both packs are byte for byte those of a fresh build."""
    from coursepack.build import BUILD_CACHE
    from coursepack.writers.pack_parts import CACHE_NAME

    course = make_course(tmp_path / "course")
    out = tmp_path / "out"
    shutil.copytree(built["out"], out)
    cache = out / BUILD_CACHE / CACHE_NAME
    before = {part.name: part.stat().st_mtime_ns for part in cache.glob("*.pdf")}
    # Each lesson, the front and the page numbers, for each of the two packs.
    assert len(before) == 2 * (len(ORDER) + 2)
    # A part of the first lesson (its anchors are lesson-1…), which the edit leaves alone.
    torn = next(
        part
        for part in sorted(cache.glob("*.pdf"))
        if '"lesson-1"' in part.with_suffix(".json").read_text(encoding="utf-8")
    )
    torn.write_bytes(torn.read_bytes()[:1000])
    lesson = course / "unamir.md"
    text = lesson.read_text(encoding="utf-8")
    at = text.index("\n- ") + 3
    lesson.write_text(text[:at] + "Briefly, " + text[at:], encoding="utf-8")
    only = ("--only", "handout", "--only", "key", "--jobs", "1")
    result = run_cli("build", "course", "-o", "out", *only, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    after = {part.name: part.stat().st_mtime_ns for part in cache.glob("*.pdf")}
    assert len(set(after) - set(before)) == 2  # the edited lesson in each pack
    assert len(set(before) - set(after)) == 2  # its old parts, pruned
    kept = set(before) & set(after)
    assert after[torn.name] != before[torn.name]  # rendered again
    assert all(after[name] == before[name] for name in kept - {torn.name})

    result = run_cli("build", "course", "-o", "fresh", *only, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    for name in (PACK, KEY_PACK):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert "Briefly," in pdf_text(tmp_path / "fresh" / PACK)


# --------------------------------------------------------------------------- building many


def test_jobs_2_writes_the_same_bytes_as_jobs_1(built: dict[str, Path]) -> None:
    result = run_coursepack("build", "course", "-o", "out2", "--jobs", "2", cwd=built["project"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.replace("out2", "out") == built["log"]  # the summary, in the same order
    first = sorted(p.name for p in built["out"].iterdir() if not p.name.startswith("."))
    second = sorted(p.name for p in (built["project"] / "out2").iterdir())
    assert [n for n in second if not n.startswith(".")] == first
    for name in first:
        assert (built["out"] / name).read_bytes() == (built["project"] / "out2" / name).read_bytes()


_MAIN_PID = 0
_WAIT_FOR: Path | None = None
_DONE: Path | None = None  # a worker leaves a file here, named by the time, for each lesson


def _slow_write_group(items):
    """The build's ``_write_group``, but a worker's first lesson waits until the handout pack
    exists (module-level, so the pool can pickle it)."""
    import os
    import time

    import coursepack.build as build

    if os.getpid() != _MAIN_PID and _WAIT_FOR is not None:
        deadline = time.monotonic() + 120
        while not _WAIT_FOR.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _WAIT_FOR.exists():  # the main process never got there: the test fails
            _WAIT_FOR.with_name("worker-gave-up").touch()
        globals()["_WAIT_FOR"] = None  # only the first lesson waits
    results = build._real_write_group(items)
    if _DONE is not None:
        (_DONE / str(time.monotonic_ns())).touch()
    return results


def test_lessons_no_worker_started_are_written_by_the_main_process(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker stuck on its first lesson until the handout pack is written (a busy machine):
    # the main process then takes over the lessons still waiting, and writes the answer-key
    # pack (the biggest in memory) only once every lesson is written. Every output is
    # written once, with the same bytes as a one-process build.
    import os
    import time

    import coursepack.build as build

    course = make_course(tmp_path / "course")
    extra = [
        write_lesson(course, f"extra-{n}.md", f"# S\n\n## T\n\nText {n}.\n") for n in (1, 2, 3)
    ]
    out = tmp_path / "out3"
    monkeypatch.setattr(sys.modules[__name__], "_MAIN_PID", os.getpid())
    # The handout pack is moved into place with the key pack (one course, one commit), so
    # the worker waits for the main process to have rendered it, not for the file.
    rendered = tmp_path / "handout-pack-rendered"
    monkeypatch.setattr(sys.modules[__name__], "_WAIT_FOR", rendered)
    done = tmp_path / "done"
    done.mkdir()
    monkeypatch.setattr(sys.modules[__name__], "_DONE", done)
    monkeypatch.setattr(build, "_real_write_group", build._write_group, raising=False)
    monkeypatch.setattr(build, "_write_group", _slow_write_group)
    written_here: list[str] = []  # by this (the main) process; a worker appends to its copy
    real_write = build.Builder.write
    key_pack_started: list[int] = []

    def recording_write(self, item):
        written_here.append(item.path.name)
        if item.path.name == KEY_PACK:
            key_pack_started.append(time.monotonic_ns())
        result = real_write(self, item)
        if item.path.name == PACK:
            rendered.touch()
        return result

    monkeypatch.setattr(build.Builder, "write", recording_write)
    result = run_cli("build", str(course), "-o", str(out), "--jobs", "2")
    assert result.exit_code == 0, result.output
    written = [line.split()[-1] for line in result.output.splitlines() if "written " in line]
    assert len(written) == len(set(written)) == 6 * 3 + 2
    for name in (p.name for p in built["out"].iterdir() if not p.name.startswith(".")):
        assert (out / name).read_bytes() == (built["out"] / name).read_bytes(), name
    for lesson in extra:
        assert "Text" in pdf_text(out / f"{lesson.stem}-handout.pdf")
    assert set(written_here) > {PACK, KEY_PACK}  # the packs and at least one lesson
    assert written_here[-1] == KEY_PACK
    by_workers = sorted(int(stamp.name) for stamp in done.iterdir())
    assert by_workers and by_workers[-1] < key_pack_started[0]  # no worker beside it
    # the handout pack was rendered while the worker still waited on its first lesson
    assert not rendered.with_name("worker-gave-up").exists()


def test_a_lesson_with_errors_keeps_the_previous_pack(built: dict[str, Path], tmp_path) -> None:
    course = make_course(tmp_path / "course")
    out = tmp_path / "out"
    shutil.copytree(built["out"], out)
    before = {name: (out / name).read_bytes() for name in (PACK, KEY_PACK)}
    for name in ("unamir-handout.pdf", "unamir-answer-key.pdf", "unamir-slides.pptx"):
        (out / name).unlink()
    # Two lessons with an error each, at known lines.
    first = course / "genocide-convention.md"
    first_line = len(first.read_text(encoding="utf-8").splitlines()) + 2
    first.write_text(first.read_text(encoding="utf-8") + "\nA blank [[ ]] here.\n")
    last = course / "justice-after-rwanda.md"
    last_line = len(last.read_text(encoding="utf-8").splitlines()) + 2
    last.write_text(last.read_text(encoding="utf-8") + "\n::: question points=two\nB?\n:::\n")

    result = run_cli("build", "course", "-o", "out", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert f"genocide-convention.md:{first_line}: error: empty blank" in result.stderr
    assert f"justice-after-rwanda.md:{last_line}: error: points=two" in result.stderr
    for name in ("unamir-handout.pdf", "unamir-answer-key.pdf", "unamir-slides.pptx"):
        assert (out / name).is_file(), f"{name}: a valid lesson is still built"
    for name, data in before.items():
        assert (out / name).read_bytes() == data, f"{name} was rewritten"
        assert f"not rebuilt  out/{name}" in result.stdout


def test_build_with_no_path_builds_source_with_the_course_paper(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_lesson(source, "b-second.md", "# Part two\n\nText.\n", title="Second Lesson")
    (source / "a-first.md").write_text(
        "---\ntitle: First Lesson\npaper: letter\n---\n\n# Part one\n\nText.\n", encoding="utf-8"
    )
    (source / "course.yaml").write_text("title: Short Course\npaper: a4\n", encoding="utf-8")
    result = run_cli("build", "--only", "handout", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    pack = tmp_path / "build" / "short-course-coursepack.pdf"
    reader = PdfReader(io.BytesIO(pack.read_bytes()))
    assert [item.title for item, _ in outline(reader)] == ["First Lesson", "Second Lesson"]
    assert round(float(reader.pages[0].mediabox.width)) == 595  # the course's A4
    # The course's paper is each lesson's, unless the lesson names its own.
    second = PdfReader(tmp_path / "build" / "b-second-handout.pdf")
    first = PdfReader(tmp_path / "build" / "a-first-handout.pdf")
    assert round(float(second.pages[0].mediabox.width)) == 595
    assert round(float(first.pages[0].mediabox.width)) == 612


def test_a_missing_lesson_is_an_error_at_its_line_and_unknown_keys_warn(tmp_path: Path) -> None:
    write_lesson(tmp_path / "course", "here.md", "# Part\n\nText.\n", title="Here")
    (tmp_path / "course" / "course.yaml").write_text(
        "title: Short Course\nautor: Me\nlessons:\n  - here.md\n  - nowhere.md\n",
        encoding="utf-8",
    )
    result = run_cli("build", "course", "--only", "handout", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert "course.yaml:5: error: lesson 'nowhere.md' does not exist" in result.stderr
    assert "course.yaml:2: warning: unknown key 'autor' (did you mean 'author'?)" in result.stderr
    assert (tmp_path / "build" / "here-handout.pdf").is_file()
    assert not (tmp_path / "build" / "short-course-coursepack.pdf").exists()


def test_a_lesson_listed_from_a_subfolder_is_checked_too(tmp_path: Path) -> None:
    course = tmp_path / "course"
    write_lesson(course, "intro.md", "# Part\n\nText.\n", title="Intro")
    write_lesson(course / "week-2", "treaty.md", "# Part\n\nA blank [[ ]].\n", title="Treaty")
    (course / "course.yaml").write_text(
        "title: Sub Course\nlessons:\n  - intro.md\n  - week-2/treaty.md\n", encoding="utf-8"
    )
    result = run_cli("build", "course", "--only", "handout", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert "treaty.md:7: error: empty blank" in result.stderr
    assert (tmp_path / "build" / "intro-handout.pdf").is_file()
    assert not (tmp_path / "build" / "sub-course-coursepack.pdf").exists()
    # Fixed, the lesson goes into the pack in its listed place.
    write_lesson(course / "week-2", "treaty.md", "# Part\n\nA blank [[x]].\n", title="Treaty")
    result = run_cli("build", "course", "--only", "handout", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(tmp_path / "build" / "sub-course-coursepack.pdf")
    assert [item.title for item, _ in outline(reader)] == ["Intro", "Treaty"]


def test_the_part_cache_reads_only_its_own_whole_entries(tmp_path: Path) -> None:
    """Entries are named by their digest alone (nothing a lesson writes reaches a path), an
    entry whose PDF does not match its recorded checksum is not used, and a pack's prune
    keeps what any pack's manifest names."""
    from coursepack.writers.pack_parts import Part, PartCache

    folder = tmp_path / "cache"
    cache = PartCache(folder)
    part = Part(b"%PDF-1.7 part", 3, 0, {"lesson-1": 0})
    key, other = "a" * 64, "b" * 64
    cache.put(key, part)
    cache.put("../../escape", part)
    assert cache.get(key) == part
    assert cache.get("../../escape") is None and not (tmp_path / "escape.pdf").exists()
    assert sorted(p.name for p in folder.iterdir()) == [f"{key}.json", f"{key}.pdf"]
    (folder / f"{key}.pdf").write_bytes(b"%PDF-1.7 par")  # torn
    assert PartCache(folder).get(key) is None
    cache.prune("course-handout")
    second = PartCache(folder)
    second.put(other, part)
    second.prune("course-key")  # keeps the handout pack's entry too
    assert {p.name for p in folder.glob("*.pdf")} == {f"{key}.pdf", f"{other}.pdf"}
    PartCache(folder).prune("course-handout")  # the handout pack now uses nothing
    assert {p.name for p in folder.glob("*.pdf")} == {f"{other}.pdf"}
