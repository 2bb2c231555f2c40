"""The command line as a teacher uses it: new, check, layouts, exit codes."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, UNAMIR, run_cli, write_lesson


def test_new_writes_a_lesson_that_checks_and_builds(tmp_path: Path) -> None:
    result = run_cli("new", "lessons/first.md", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    lesson = tmp_path / "lessons" / "first.md"
    assert lesson.is_file()
    checked = run_cli("check", "--strict", str(lesson), cwd=tmp_path)
    assert checked.exit_code == 0, checked.output
    built = run_cli("build", str(lesson), "-o", "out", "--jobs", "1", cwd=tmp_path)
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (tmp_path / "out").glob("first-*")) == [
        "first-answer-key.pdf",
        "first-handout.pdf",
        "first-slides.pptx",
    ]


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "mine.md").write_text("my work", encoding="utf-8")
    result = run_cli("new", "mine.md", cwd=tmp_path)
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert (tmp_path / "mine.md").read_text(encoding="utf-8") == "my work"
    assert run_cli("new", "notes.txt", cwd=tmp_path).exit_code == 2


def test_check_exit_codes_and_strict(tmp_path: Path) -> None:
    assert run_cli("check", str(UNAMIR)).exit_code == 0
    warned = write_lesson(tmp_path, "w.md", "# S\n## T\n- x\n", title="W")
    warned.write_text(warned.read_text().replace("title: W", "title: W\nautor: me"))
    result = run_cli("check", str(warned))
    assert result.exit_code == 0
    assert "w.md:3: warning: unknown front matter key 'autor'" in result.output
    assert run_cli("check", "--strict", str(warned)).exit_code == 1
    missing = run_cli("check", str(tmp_path / "nope.md"))
    assert missing.exit_code == 1 and "nope.md" in missing.output
    # Like build, check takes source/ when no path is given.
    assert run_cli("check", cwd=ROOT).exit_code == 0
    empty = run_cli("check", cwd=tmp_path)
    assert empty.exit_code == 1 and "source" in empty.output


def test_layouts_copies_the_built_in_files(tmp_path: Path) -> None:
    result = run_cli("layouts", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    copied = {p.name for p in (tmp_path / "layouts").iterdir()}
    assert {"handout.css", "handout.html.j2", "theme.yaml", "deck.pptx"} <= copied
    css = tmp_path / "layouts" / "handout.css"
    assert css.read_bytes() == (ROOT / "layouts" / "handout.css").read_bytes()
    css.write_text("/* mine */", encoding="utf-8")
    again = run_cli("layouts", cwd=tmp_path)
    assert "kept" in again.output
    assert css.read_text(encoding="utf-8") == "/* mine */"


def test_internal_error_is_one_line_with_exit_3(tmp_path: Path, monkeypatch) -> None:
    from coursepack.writers import handout

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise KeyError("boom")

    monkeypatch.setattr(handout.HandoutWriter, "render", broken)
    lesson = write_lesson(tmp_path, "x.md", "# S\n## T\n- x\n")
    result = run_cli(
        "build", str(lesson), "-o", "out", "--only", "handout", "--jobs", "1", cwd=tmp_path
    )
    assert result.exit_code == 3
    assert "internal error while building" in result.output and "x.md" in result.output
    assert "Traceback" not in result.output


def test_check_reads_course_yaml_like_build(tmp_path: Path) -> None:
    """`check FOLDER` reports course.yaml problems and checks the lessons it lists."""
    write_lesson(tmp_path, "a.md", "# S\n## T\n- x\n")
    week = tmp_path / "week-2"
    write_lesson(week, "b.md", "# S\n## T\n::: questoin\nWhy?\n:::\n")
    (tmp_path / "course.yaml").write_text(
        "title: History\nautor: Me\nlessons:\n  - a.md\n  - week-2/b.md\n  - nowhere.md\n",
        encoding="utf-8",
    )
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert "course.yaml:2: warning: unknown key 'autor'" in result.output
    assert "course.yaml:6: error: lesson 'nowhere.md' does not exist" in result.output
    (tmp_path / "course.yaml").write_text(
        "title: History\nlessons:\n  - a.md\n  - week-2/b.md\n", encoding="utf-8"
    )
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert "b.md:7: error: unknown block kind 'questoin'" in result.output


def test_a_build_stopped_by_an_error_prints_the_error_and_no_empty_summary(
    tmp_path: Path,
) -> None:
    """A lesson that fails its check writes nothing; the teacher sees the error, not
    "0 written, 0 up to date in -"."""
    lesson = write_lesson(tmp_path, "bad.md", "# S\n## T\n::: question\nWhich?\n", title="B")
    result = run_cli("build", str(lesson), "-o", "out", "--jobs", "1", cwd=tmp_path)
    assert result.exit_code == 1
    assert "bad.md:" in result.output and ": error:" in result.output
    assert "0 written" not in result.output and "up to date" not in result.output
