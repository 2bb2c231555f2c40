"""Reading course.yaml: the course pack's title, order of lessons, and errors at their line."""

from __future__ import annotations

from pathlib import Path

from conftest import write_lesson

from coursepack.course import read_course, slugify


def course_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "course.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_slug() -> None:
    assert slugify("Modern World History") == "modern-world-history"
    assert slugify("Histoire générale: 1945–1994") == "histoire-generale-1945-1994"
    assert slugify("!!!") == "course"


def test_lessons_in_listed_order(tmp_path: Path) -> None:
    write_lesson(tmp_path, "b.md", "# S\n")
    write_lesson(tmp_path, "a.md", "# S\n")
    path = course_file(tmp_path, "title: Modern World History\nlessons:\n  - b.md\n  - a.md\n")
    course, problems = read_course(path)
    assert problems == []
    assert course is not None
    assert [p.name for p in course.lessons] == ["b.md", "a.md"]
    assert course.slug == "modern-world-history"


def test_default_order_is_by_name(tmp_path: Path) -> None:
    write_lesson(tmp_path, "b.md", "# S\n")
    write_lesson(tmp_path, "a.md", "# S\n")
    course, _ = read_course(course_file(tmp_path, "title: T\n"))
    assert course is not None
    assert [p.name for p in course.lessons] == ["a.md", "b.md"]


def test_missing_lesson_is_an_error_at_its_line(tmp_path: Path) -> None:
    write_lesson(tmp_path, "a.md", "# S\n")
    path = course_file(tmp_path, "title: T\nlessons:\n  - a.md\n  - nowhere.md\n")
    course, problems = read_course(path)
    assert course is None
    assert [p.format().split(":", 1)[1] for p in problems] == [
        "4: error: lesson 'nowhere.md' does not exist"
    ]


def test_unknown_key_is_a_warning(tmp_path: Path) -> None:
    write_lesson(tmp_path, "a.md", "# S\n")
    course, problems = read_course(course_file(tmp_path, "title: T\nautor: Me\n"))
    assert course is not None
    assert len(problems) == 1
    assert problems[0].severity == "warning" and problems[0].line == 2
    assert "did you mean 'author'" in problems[0].message


def test_missing_title_and_bad_yaml(tmp_path: Path) -> None:
    course, problems = read_course(course_file(tmp_path / "one", "subtitle: x\n"))
    assert course is None and "missing 'title'" in problems[0].message
    course, problems = read_course(course_file(tmp_path / "two", "title: T\nlessons: [a.md\n"))
    assert course is None and problems[0].line >= 2 and "invalid YAML" in problems[0].message


def test_a_course_without_lessons_is_an_error(tmp_path: Path) -> None:
    course, problems = read_course(course_file(tmp_path / "empty", "title: T\n"))
    assert course is None and problems[0].line == 1 and "no lessons" in problems[0].message
    course, problems = read_course(course_file(tmp_path / "listed", "title: T\nlessons: []\n"))
    assert course is None and problems[0].line == 2 and "no lessons" in problems[0].message


def test_paper_is_case_insensitive_like_in_lessons(tmp_path: Path) -> None:
    write_lesson(tmp_path, "a.md", "# S\n")
    course, problems = read_course(course_file(tmp_path, "title: T\npaper: A4\n"))
    assert problems == [] and course is not None and course.paper == "a4"
