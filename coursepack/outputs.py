"""What an output is, and writing outputs safely: atomic replacement and content-hash stamps.

:class:`Output` is the small protocol every registered output implements (the table of them is
:mod:`coursepack.registry`); :class:`Writer` is the warm engine one or more outputs render with.

Every output goes to a temporary file in its own folder and is moved into place with
``os.replace`` only when complete (a lesson's outputs together: :mod:`coursepack.transaction`),
so a build killed at any instant leaves either the previous file or the new one. Stamps
(Pelican's ``cache.py`` idea, with Sphinx's build-info hashing) record a digest of everything
an output was made from, so an unchanged output is not rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from coursepack.transaction import remove_abandoned_temporaries, write_temporary

if TYPE_CHECKING:
    from coursepack.course import Course
    from coursepack.diagnostics import Diagnostic
    from coursepack.layouts import LayoutSearch
    from coursepack.model import Lesson

STAMP_FILE = ".coursepack-stamps.json"
#: A stamp file bigger than this is damaged (one entry is about 200 bytes).
MAX_STAMP_BYTES = 50_000_000

Scope = Literal["lesson", "course"]


class Writer(Protocol):
    """A rendering engine, created once per build (or watch session) and kept warm.

    Several outputs may share one writer (the handout, the key and both course packs share
    the WeasyPrint writer). Creating one is cheap; heavy libraries load in :meth:`prepare` or
    on first render.
    """

    def __init__(self, layouts: LayoutSearch) -> None: ...

    def layout_files(self) -> list[Path]:
        """Every layout file (template, stylesheet, theme, font) a render reads."""
        ...

    def layout_problems(self) -> list[Diagnostic]:
        """Problems in the layout files found without rendering (template syntax errors)."""
        ...

    def prepare(self) -> None:
        """Load libraries, fonts and templates now (before worker processes fork)."""
        ...

    def keep_between_builds(self, folder: Path) -> None:
        """Where this writer may keep what a later build into the same output folder reuses
        (``folder`` is inside the output folder; the course packs keep their rendered parts
        there). A writer that keeps nothing ignores it."""
        ...

    def prepare_lessons(self, lessons: Sequence[Lesson]) -> None:
        """Before workers fork to write several outputs of these lessons side by side, do
        once here the work each of them would repeat (the handout writer: the formulas'
        operators, which the handout and the key both paint)."""
        ...

    def close(self) -> None:
        """Free what this process loaded (temporary font folders)."""
        ...


@dataclass(frozen=True)
class Target:
    """What one output file is made from: one lesson, or a course and its lessons."""

    lessons: tuple[Lesson, ...]
    course: Course | None = None

    @property
    def lesson(self) -> Lesson:
        """The (first) lesson."""
        return self.lessons[0]

    @property
    def stem(self) -> str:
        """The name outputs are called after: the lesson's file name, or the course's slug."""
        return self.course.slug if self.course is not None else self.lesson.stem


@dataclass(frozen=True)
class PlanContext:
    """What an output may consult while it is planned: the options and the build's courses."""

    paper: str | None = None
    pptx_template: Path | None = None
    #: ``--versions N`` (None: each lesson's ``versions:``, else its course's), ``--seed``.
    versions: int | None = None
    seed: int = 0
    #: The course (``course.yaml``) that holds each lesson (by resolved path), if any.
    courses: Mapping[Path, Course] = field(default_factory=dict)

    def course_of(self, lesson: Lesson) -> Course | None:
        """The course that holds ``lesson``, whose settings apply where the lesson has none."""
        return self.courses.get(lesson.path.resolve())

    def versions_for(self, lesson: Lesson) -> int:
        """How many test versions ``lesson`` gets (0: none)."""
        if self.versions is not None:
            return self.versions
        course = self.course_of(lesson)
        return lesson.meta.versions or (course.versions if course else 0)


class Output:
    """One kind of file a build writes (Sphinx's builder, Pandoc's writer table entry).

    Subclasses set the class attributes and implement :meth:`render`; :meth:`settings` is
    for outputs with per-file choices (paper size, a school template). The build plans,
    stamps, schedules and writes every registered output through this interface alone.
    """

    #: The output's name: ``--only NAME``, ``exports: [NAME]``, progress lines.
    name: str
    #: What follows the lesson stem (or course slug) in the file name: ``-handout.pdf``.
    suffix: str
    #: ``lesson``: one file per lesson; ``course``: one per course (``course.yaml``).
    scope: Scope = "lesson"
    #: The ``--only``/``exports`` word that selects it (course packs answer to their lesson
    #: output's word: ``--only key`` writes the answer keys and the answer-key pack).
    selected_by: str = ""
    #: Written by a plain build; the others only when ``--only`` or ``exports:`` names them.
    default: bool = True
    #: Distributions whose upgrade can change the output's bytes (their versions are stamped).
    packages: tuple[str, ...] = ()
    #: The engine it renders with; outputs naming the same class share one warm instance.
    writer: Callable[[LayoutSearch], Writer]

    @property
    def word(self) -> str:
        """The word that selects this output (``selected_by``, else its name)."""
        return self.selected_by or self.name

    def settings(self, context: PlanContext, target: Target) -> dict[str, Any]:
        """Per-file choices made while planning (they enter the stamp and reach render).

        A value that is a :class:`~pathlib.Path` is stamped by its content. Raise
        :class:`~coursepack.diagnostics.LessonError` (or ``BuildFailed``) for a bad choice.
        """
        return {}

    def problems(self, context: PlanContext, target: Target) -> list[Diagnostic]:
        """Warnings (or errors) about writing this output for ``target``, found while
        planning, before anything is written."""
        return []

    def variants(self, context: PlanContext, target: Target) -> tuple[str, ...]:
        """The files it writes for ``target``: one per variant (``""``: one plain file; test
        versions: ``A``, ``B`` …). None at all is fine: then it writes nothing there."""
        return ("",)

    def file_suffix(self, variant: str) -> str:
        """The file name ending of one variant (``-handout-A.pdf``)."""
        return self.suffix

    @property
    def suffix_pattern(self) -> str:
        """A regular expression every file name ending of this output matches."""
        return re.escape(self.suffix)

    def digest_parts(self, target: Target) -> list[str]:
        """Extra strings that identify the output's inputs beyond the lesson files."""
        return []

    def render(self, writer: Any, target: Target, settings: Mapping[str, Any]) -> bytes:
        """The file's bytes (nothing is written here)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<output {self.name}>"


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_of(parts: Iterable[str]) -> str:
    """One digest for an ordered sequence of strings (inputs, options, versions)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers only ever see a complete file (a temporary
    named after this build, moved into place; a link at ``path`` is replaced, not followed)."""
    temporary = write_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


class Stamps:
    """The stamp file of one output folder: output name → input digest and output digest."""

    def __init__(self, folder: Path):
        self.path = folder / STAMP_FILE
        self._entries = _read_stamps(self.path)
        self._recorded: dict[str, dict[str, str]] = {}  # this build's, not yet saved

    def is_current(self, output: Path, inputs_digest: str) -> bool:
        """True when ``output`` exists, is what we wrote, and was made from these inputs."""
        entry = self._entries.get(output.name)
        if not entry or entry.get("inputs") != inputs_digest or not output.is_file():
            return False
        try:
            return sha256_file(output) == entry.get("output")
        except OSError:
            return False

    def record(self, output: Path, inputs_digest: str, output_digest: str) -> None:
        """Remember that ``output`` (SHA-256 ``output_digest``) was made from ``inputs_digest``."""
        self._entries[output.name] = {"inputs": inputs_digest, "output": output_digest}
        self._recorded[output.name] = self._entries[output.name]

    def save(self) -> None:
        """Write what this build recorded into the stamp file (atomically, sorted keys),
        merged with what other builds of this folder wrote since: call it under
        :func:`~coursepack.transaction.folder_lock`. Raises OSError when it cannot be written."""
        if not self._recorded:
            return
        entries = {**_read_stamps(self.path), **self._recorded}
        text = json.dumps(entries, indent=1, sort_keys=True)
        write_atomic(self.path, text.encode("utf-8"))
        self._entries.update(entries)
        self._recorded = {}


def _read_stamps(path: Path) -> dict[str, dict[str, str]]:
    """The entries of a stamp file; none for a missing, damaged or oversized one."""
    try:
        if path.stat().st_size > MAX_STAMP_BYTES:
            return {}
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        # No stamps, or a damaged file (nested too deep for json too): everything counts as
        # changed.
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {name: entry for name, entry in loaded.items() if isinstance(entry, dict)}


def remove_stale_temporaries(folder: Path, endings: str) -> None:
    """Delete temporary files that killed builds left behind, and only those: a running
    build's are named after its process (see :mod:`coursepack.transaction`), and earlier
    versions' (``.<output>.<8 characters>.tmp``, outputs whose names end as the regular
    expression ``endings`` says, or the stamp file) only once they are an hour old.
    """
    unnamed = re.compile(
        r"^\..*(" + endings + "|" + re.escape(STAMP_FILE) + r")\.[a-z0-9_]{8}\.tmp$"
    )
    remove_abandoned_temporaries(folder, unnamed)
