"""The build pipeline: gather and check every lesson, decide what is outdated, then write.

Like MkDocs' ``build()``, everything is read and checked before anything is written. Like a
Sphinx builder, each output decides whether it is outdated from a digest of its inputs (lesson
bytes, images, layout files, options, tool version), kept in a stamp file beside the outputs.
Writers (WeasyPrint, python-pptx) are imported only when something has to be written, so a
no-op rebuild stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from coursepack import __version__
from coursepack.diagnostics import Diagnostic, LessonError, error
from coursepack.layouts import LayoutNotFound, LayoutSearch
from coursepack.model import Lesson
from coursepack.outputs import Stamps, digest_of, sha256_file, write_atomic

if TYPE_CHECKING:
    from coursepack.writers.deck import DeckWriter
    from coursepack.writers.handout import HandoutWriter

OutputKind = Literal["handout", "key", "slides"]
OUTPUT_KINDS: tuple[OutputKind, ...] = ("handout", "key", "slides")
OUTPUT_SUFFIXES: dict[OutputKind, str] = {
    "handout": "-handout.pdf",
    "key": "-answer-key.pdf",
    "slides": "-slides.pptx",
}


class BuildFailed(Exception):
    """A problem that stops the whole build before anything is written (one line, no file)."""


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked for on the command line."""

    out_dir: Path = Path("build")
    only: frozenset[OutputKind] = frozenset(OUTPUT_KINDS)
    paper: str | None = None
    pptx_template: Path | None = None
    force: bool = False
    strict: bool = False


@dataclass(frozen=True)
class PlannedOutput:
    """One output file of one lesson, with the digest of everything it is made from."""

    lesson: Lesson
    kind: OutputKind
    path: Path
    inputs_digest: str
    template: Path | None = None
    paper: str | None = None


# Which layout files each writer reads: an edit to one rebuilds exactly the outputs it affects.
HANDOUT_LAYOUT_PATTERNS = ("*.j2", "*.css", "theme.yaml")
DECK_LAYOUT_PATTERNS = ("deck.pptx", "theme.yaml")

OutputStatus = Literal["written", "up to date", "failed"]


@dataclass
class BuildReport:
    """What a build did: per output its status, plus every diagnostic."""

    outputs: list[tuple[Path, OutputStatus]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    strict_failure: bool = False

    @property
    def failed(self) -> bool:
        """True when any error was found (the command exits 1)."""
        return (
            self.strict_failure
            or any(d.is_error for d in self.diagnostics)
            or any(status == "failed" for _, status in self.outputs)
        )


def output_path(out_dir: Path, lesson: Lesson, kind: OutputKind) -> Path:
    """Where ``kind`` of ``lesson`` is written: ``DIR/<stem>-handout.pdf`` and so on."""
    return out_dir / f"{lesson.stem}{OUTPUT_SUFFIXES[kind]}"


class Builder:
    """Builds lessons; keeps its writers (fonts, parsed CSS, templates) warm between builds."""

    def __init__(self, layouts: LayoutSearch | None = None):
        self.layouts = layouts or LayoutSearch()
        self._handout: HandoutWriter | None = None
        self._deck: DeckWriter | None = None
        self._file_hashes: dict[Path, tuple[float, int, str]] = {}

    # -- writers, created on first use --------------------------------------------------

    @property
    def handout_writer(self) -> HandoutWriter:
        """The handout/key writer (imported and created on first use)."""
        if self._handout is None:
            from coursepack.writers.handout import HandoutWriter

            self._handout = HandoutWriter(self.layouts)
        return self._handout

    @property
    def deck_writer(self) -> DeckWriter:
        """The deck writer (imported and created on first use)."""
        if self._deck is None:
            from coursepack.writers.deck import DeckWriter

            self._deck = DeckWriter(self.layouts)
        return self._deck

    # -- hashing -------------------------------------------------------------------------

    def file_digest(self, path: Path) -> str:
        """SHA-256 of a file, cached per (mtime, size) so a warm builder rehashes only edits."""
        stat = path.stat()
        cached = self._file_hashes.get(path)
        if cached and cached[:2] == (stat.st_mtime, stat.st_size):
            return cached[2]
        digest = sha256_file(path)
        self._file_hashes[path] = (stat.st_mtime, stat.st_size, digest)
        return digest

    def _files_part(self, paths: Iterable[Path]) -> list[str]:
        return [f"{p}={self.file_digest(p)}" for p in sorted(set(paths))]

    # -- planning ------------------------------------------------------------------------

    def plan(
        self, lessons: Sequence[Lesson], options: BuildOptions
    ) -> tuple[list[PlannedOutput], list[Diagnostic]]:
        """Every output to consider, with its input digest; diagnostics for bad options."""
        planned: list[PlannedOutput] = []
        problems: list[Diagnostic] = []
        handout_layouts: list[str] | None = None
        deck_layouts: list[str] | None = None
        for lesson in lessons:
            common = [__version__, lesson.source_hash, *self._files_part(lesson.images)]
            for kind in OUTPUT_KINDS:
                if kind not in options.only:
                    continue
                path = output_path(options.out_dir, lesson, kind)
                if kind == "slides":
                    try:
                        template = self._deck_template(lesson, options)
                    except LessonError as exc:
                        problems.extend(exc.diagnostics)
                        continue
                    if deck_layouts is None:
                        deck_layouts = self._files_part(self.deck_writer_layout_files())
                    parts = [*common, kind, *deck_layouts]
                    if template is not None:
                        parts += self._files_part([template])
                    planned.append(
                        PlannedOutput(lesson, kind, path, digest_of(parts), template=template)
                    )
                else:
                    paper = options.paper or lesson.meta.paper
                    if handout_layouts is None:
                        handout_layouts = self._files_part(self.handout_writer_layout_files())
                    parts = [*common, kind, paper, *handout_layouts]
                    planned.append(PlannedOutput(lesson, kind, path, digest_of(parts), paper=paper))
        problems.extend(_same_target_errors(planned))
        return planned, problems

    def handout_writer_layout_files(self) -> list[Path]:
        """Layout files the handout and key depend on (found without importing WeasyPrint)."""
        return self.layouts.files_matching(HANDOUT_LAYOUT_PATTERNS)

    def deck_writer_layout_files(self) -> list[Path]:
        """Layout files the deck depends on (found without importing python-pptx)."""
        return self.layouts.files_matching(DECK_LAYOUT_PATTERNS)

    def _deck_template(self, lesson: Lesson, options: BuildOptions) -> Path | None:
        """The school template for this lesson: ``--pptx-template``, else front matter."""
        if options.pptx_template is not None:
            if not options.pptx_template.is_file():
                raise BuildFailed(f"--pptx-template: file not found: {options.pptx_template}")
            return options.pptx_template.resolve()
        if not lesson.meta.pptx_template:
            return None
        template = (lesson.folder / lesson.meta.pptx_template).resolve()
        if not template.is_file():
            line = lesson.meta.line_of("pptx-template")
            raise LessonError(
                [error(lesson.path, line, f"pptx-template file not found: {template}")]
            )
        return template

    # -- writing -------------------------------------------------------------------------

    def render(self, item: PlannedOutput) -> bytes:
        """Render one output to bytes (nothing is written here)."""
        if item.kind == "slides":
            return self.deck_writer.render(item.lesson, template=item.template)
        return self.handout_writer.render(item.lesson, item.kind, paper=item.paper)

    def build(
        self,
        lessons: Sequence[Lesson],
        options: BuildOptions,
        progress: Callable[[str], None] | None = None,
    ) -> BuildReport:
        """Write every outdated output of ``lessons``; failures leave previous files alone."""
        report = BuildReport()
        prepare_output_dir(options.out_dir)
        planned, problems = self.plan(lessons, options)
        report.diagnostics.extend(problems)
        if problems:
            return report
        stamps = Stamps(options.out_dir)
        try:
            for index, item in enumerate(planned, 1):
                if not options.force and stamps.is_current(item.path, item.inputs_digest):
                    report.outputs.append((item.path, "up to date"))
                    continue
                if progress:
                    progress(f"[{index}/{len(planned)}] writing {item.path}")
                try:
                    data = self.render(item)
                except LessonError as exc:
                    report.diagnostics.extend(exc.diagnostics)
                    report.outputs.append((item.path, "failed"))
                    continue
                except LayoutNotFound as exc:
                    report.diagnostics.append(error(item.lesson.path, 0, str(exc)))
                    report.outputs.append((item.path, "failed"))
                    continue
                write_output(item.path, data)
                stamps.record(item.path, item.inputs_digest, data)
                report.outputs.append((item.path, "written"))
        finally:
            stamps.save()
        return report


def check_and_build(
    builder: Builder,
    paths: Sequence[Path],
    options: BuildOptions,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Read and check every lesson under ``paths``, then build the valid ones.

    Lessons with errors (or warnings, with ``strict``) are reported and skipped; their previous
    outputs stay as they were.
    """
    from coursepack.check import check_paths

    report = BuildReport()
    lessons = []
    for _path, (lesson, diagnostics) in check_paths(paths).items():
        report.diagnostics.extend(diagnostics)
        if options.strict and diagnostics:
            report.strict_failure = True
        elif lesson is not None and not any(d.is_error for d in diagnostics):
            lessons.append(lesson)
    built = builder.build(lessons, options, progress=progress)
    report.outputs.extend(built.outputs)
    report.diagnostics.extend(built.diagnostics)
    return report


def write_output(path: Path, data: bytes) -> None:
    """Write one output atomically, turning OS errors into one-line messages."""
    try:
        write_atomic(path, data)
    except PermissionError as exc:
        raise BuildFailed(
            f"cannot write {path}: permission denied (is it open in another program?)"
        ) from exc
    except IsADirectoryError as exc:
        raise BuildFailed(f"cannot write {path}: a folder of that name is in the way") from exc
    except OSError as exc:
        raise BuildFailed(f"cannot write {path}: {exc.strerror or exc}") from exc


def prepare_output_dir(out_dir: Path) -> None:
    """Create the output folder, or explain in one line why it cannot be used."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildFailed(f"output folder {out_dir} is a file; choose another folder with -o")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildFailed(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from exc
    probe = out_dir / ".coursepack-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BuildFailed(
            f"output folder {out_dir} is not writable: {exc.strerror or exc}"
        ) from exc


def _same_target_errors(planned: Sequence[PlannedOutput]) -> list[Diagnostic]:
    """Refuse two outputs of one run that would write the same file (as Pelican does)."""
    seen: dict[Path, PlannedOutput] = {}
    problems = []
    for item in planned:
        key = item.path.resolve()
        if key in seen and seen[key].lesson.path != item.lesson.path:
            other = seen[key].lesson.path
            problems.append(
                error(
                    item.lesson.path,
                    0,
                    f"would write {item.path}, which {other} also writes; rename one lesson",
                )
            )
        seen.setdefault(key, item)
    return problems


def with_defaults(options: BuildOptions, **changes: object) -> BuildOptions:
    """A copy of ``options`` with some fields changed (used by watch and the course pack)."""
    return replace(options, **changes)  # type: ignore[arg-type]
