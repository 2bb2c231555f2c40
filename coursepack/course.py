"""Reading ``course.yaml``: a folder of lessons that becomes a printable course pack.

The file names the course and the order of its lessons. Like lesson front matter, every
problem is reported at its line (YAML node marks give them), unknown keys are warnings.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from coursepack.diagnostics import Diagnostic, error, warning
from coursepack.model import PAPERS, impossible_date, paper_name
from coursepack.yamltext import YamlProblem, load_text_yaml

COURSE_FILE = "course.yaml"
KNOWN_KEYS = (
    "title",
    "subtitle",
    "author",
    "term",
    "paper",
    "lang",
    "lessons",
    "exports",
    "versions",
    "moodle-ordering",
)


@dataclass(frozen=True)
class Course:
    """A course: its cover details and its lesson files, in pack order."""

    path: Path
    title: str
    subtitle: str
    author: str
    term: str
    paper: str | None
    lang: str
    lessons: tuple[Path, ...]
    #: Optional outputs the course also gets (``exports: [moodle, qti]``): for every lesson,
    #: and course-wide where the output has a course form.
    exports: tuple[str, ...] = ()
    #: ``versions: 3``: test versions for every lesson that does not name its own.
    versions: int = 0
    #: ``moodle-ordering: matching`` for a Moodle older than 4.4 ("" means ordering).
    moodle_ordering: str = ""

    @property
    def slug(self) -> str:
        """The title in lower case with hyphens: "Modern World History" → modern-world-history."""
        return slugify(self.title)

    @property
    def folder(self) -> Path:
        """The folder that holds ``course.yaml`` and the lessons."""
        return self.path.parent


def lesson_files(folder: Path) -> list[Path]:
    """The lessons of a folder: its ``*.md`` files (not hidden ones), sorted by name.

    The one rule for ``build FOLDER``, ``check FOLDER`` and a ``course.yaml`` without
    ``lessons:``.
    """
    return sorted(
        (p for p in folder.glob("*.md") if p.is_file() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens (accents folded), never empty."""
    # Accents fold away (é → e); any other non-ASCII character separates words, like a dash.
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(
        char if char.isascii() else ("" if unicodedata.combining(char) else "-")
        for char in decomposed
    )
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug or "course"


def _scalar_lines(node: yaml.Node) -> dict[str, int]:
    """Map each top-level key of a YAML mapping node to its 1-based line."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines[str(key_node.value)] = key_node.start_mark.line + 1
    return lines


def _lesson_item_lines(node: yaml.Node) -> list[int]:
    """The line of each item of the ``lessons:`` sequence."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if getattr(key_node, "value", None) == "lessons" and isinstance(
                value, yaml.SequenceNode
            ):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def read_course(path: Path) -> tuple[Course | None, list[Diagnostic]]:
    """Read ``course.yaml``; the course is None when there is any error."""
    problems: list[Diagnostic] = []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [error(path, 0, "not UTF-8 (save it as UTF-8)")]
    except OSError as exc:
        return None, [error(path, 0, f"cannot read: {exc.strerror or exc}")]
    try:
        # Values stay as written: "term: 2027-02-30" is a term, not a date error.
        data, node = load_text_yaml(text)
    except YamlProblem as exc:
        return None, [error(path, exc.line, exc.reason)]
    if not isinstance(data, dict) or node is None:
        return None, [error(path, 1, "course.yaml must be a mapping with at least a title")]
    key_lines = _scalar_lines(node)

    def line(key: str) -> int:
        return key_lines.get(key, 1)

    for key in data:
        if str(key) not in KNOWN_KEYS:
            hint = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(warning(path, line(str(key)), f"unknown key '{key}'{suggestion}"))

    def text_field(key: str) -> str:
        value = data.get(key)
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            problems.append(error(path, line(key), f"'{key}' must be text"))
            return ""
        return str(value)

    title = text_field("title").strip()
    if not title and "title" not in data:
        problems.append(error(path, 1, "missing 'title' (the course's name, e.g. Modern History)"))
    elif not title:
        problems.append(error(path, line("title"), "'title' is empty"))

    for key in ("term",):
        if isinstance(data.get(key), str) and impossible_date(data[key]):
            problems.append(
                error(
                    path,
                    line(key),
                    f"{key} {data[key].strip()} is not a real date (check the month and the day)",
                )
            )

    paper = data.get("paper")
    if paper is not None:
        written = paper
        paper = paper_name(str(paper))  # "A4" as lessons accept it
        if paper is None:
            names = " or ".join(PAPERS)
            problems.append(error(path, line("paper"), f"paper must be {names}, not {written!r}"))

    versions = 0
    if data.get("versions") is not None:
        from coursepack.reader import version_count

        versions = version_count(
            str(data["versions"]), path, {"versions": line("versions")}, problems
        )

    moodle_ordering = text_field("moodle-ordering").strip().lower()
    if moodle_ordering not in ("", "ordering", "matching"):
        problems.append(
            error(
                path,
                line("moodle-ordering"),
                "moodle-ordering must be ordering (Moodle 4.4 and later) or matching (older)",
            )
        )
        moodle_ordering = ""

    exports: tuple[str, ...] = ()
    if "exports" in data:
        from coursepack.reader import yaml_words

        exports_node = next(v for k, v in node.value if getattr(k, "value", None) == "exports")
        exports, problem = yaml_words(exports_node)
        if problem:
            problems.append(error(path, line("exports"), f"'exports' {problem}"))
        problems.extend(unknown_export_problems(path, line("exports"), exports))

    lessons = _lesson_paths(path, data.get("lessons"), node, line("lessons"), problems)
    if not lessons and not any(d.is_error for d in problems):
        where = line("lessons") if "lessons" in data else 1
        message = "the course has no lessons (add .md files or list them under 'lessons')"
        problems.append(error(path, where, message))
    if any(d.is_error for d in problems):
        return None, problems
    course = Course(
        path=path,
        title=title,
        subtitle=text_field("subtitle"),
        author=text_field("author"),
        term=text_field("term"),
        paper=paper,
        lang=text_field("lang") or "en",
        lessons=lessons,
        exports=exports,
        versions=versions,
        moodle_ordering=moodle_ordering,
    )
    return course, problems


def unknown_export_problems(path: Path, line: int, words: tuple[str, ...]) -> list[Diagnostic]:
    """Errors for ``exports:`` words that name no optional output."""
    from coursepack.registry import OUTPUTS

    known = OUTPUTS.export_words()
    problems = []
    for word in words:
        if word not in OUTPUTS.words():
            choices = ", ".join(known) if known else "none yet"
            problems.append(error(path, line, f"unknown export '{word}' (choose from: {choices})"))
    return problems


def _lesson_paths(
    path: Path, listed: object, node: yaml.Node, key_line: int, problems: list[Diagnostic]
) -> tuple[Path, ...]:
    """The lesson files in pack order: as listed, or every .md in the folder by name."""
    folder = path.parent
    if listed is None:
        return tuple(lesson.resolve() for lesson in lesson_files(folder))
    if not isinstance(listed, list):
        problems.append(error(path, key_line, "'lessons' must be a list of lesson files"))
        return ()
    item_lines = _lesson_item_lines(node)
    found: list[Path] = []
    for index, item in enumerate(listed):
        item_line = item_lines[index] if index < len(item_lines) else key_line
        if not isinstance(item, str) or not item.strip():
            problems.append(
                error(path, item_line, "each lesson must be a file name like unamir.md")
            )
            continue
        lesson = (folder / item).resolve()
        if folder.resolve() not in lesson.parents:
            problems.append(error(path, item_line, f"lesson {item!r} is outside the course folder"))
        elif not lesson.is_file():
            problems.append(error(path, item_line, f"lesson {item!r} does not exist"))
        elif lesson in found:
            problems.append(error(path, item_line, f"lesson {item!r} is listed twice"))
        else:
            found.append(lesson)
    return tuple(found)
