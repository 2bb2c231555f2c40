"""The build pipeline: gather and check every lesson, decide what is outdated, then write.

Like MkDocs' ``build()``, everything is read and checked before anything is written. Like a
Sphinx builder, each output decides whether it is outdated from a digest of its inputs (lesson
bytes, images, layout files, options, tool and library versions), kept in a stamp file beside
the outputs. Writers (WeasyPrint, python-pptx) are imported only when something has to be
written, so a no-op rebuild stays fast. Outdated lessons can be written by worker processes.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.process
import multiprocessing.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from coursepack import __version__
from coursepack.course import COURSE_FILE, Course, lesson_files, read_course
from coursepack.diagnostics import (
    BuildFailed,
    Diagnostic,
    InternalError,
    LessonError,
    error,
)
from coursepack.layouts import LayoutNotFound, LayoutSearch, resolves_inside
from coursepack.model import Lesson
from coursepack.outputs import (
    Output,
    PlanContext,
    Stamps,
    Target,
    Writer,
    digest_of,
    remove_stale_temporaries,
    sha256_file,
)
from coursepack.registry import OUTPUTS
from coursepack.transaction import (
    Staged,
    folder_lock,
    recover_interrupted,
    set_owner,
    write_temporary,
)

if TYPE_CHECKING:
    from coursepack.writers.deck import DeckWriter
    from coursepack.writers.handout import HandoutWriter

__all__ = ["BuildFailed", "InternalError", "Builder", "BuildOptions", "BuildReport"]

# Libraries whose upgrade can change any output (each output adds its own, see Output.packages).
READING_PACKAGES = ("markdown-it-py", "mdit-py-plugins", "PyYAML")
#: The folder in the output folder where the course packs keep their rendered parts.
#: Where writers keep, inside the output folder, what later builds reuse.
BUILD_CACHE = ".coursepack-cache"

# "rendered": in a temporary file, not yet in place (the lesson's other outputs may still be
# rendering); "kept": not written because another output of its lesson failed, so its previous
# file stays and the lesson's files still belong to one version of it.
OutputStatus = Literal["written", "up to date", "failed", "not rebuilt", "rendered", "kept"]


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked for on the command line.

    ``only`` holds the words of ``--only`` (see :meth:`Registry.words`); ``None`` means the
    default outputs plus whatever each lesson's or course's ``exports:`` names.
    """

    out_dir: Path = Path("build")
    only: frozenset[str] | None = None
    paper: str | None = None
    pptx_template: Path | None = None
    force: bool = False
    strict: bool = False
    jobs: int = 1
    versions: int | None = None
    seed: int = 0
    #: Optional outputs to write besides the defaults (``--answer-sheet``), by their word.
    also: frozenset[str] = frozenset()

    def wants(self, output: Output, exports: Iterable[str] = ()) -> bool:
        """True when this build writes ``output`` for a lesson or course exporting ``exports``."""
        if self.only is not None:
            return output.word in self.only
        return output.default or output.word in exports or output.word in self.also


@dataclass(frozen=True)
class PlannedOutput:
    """One output file, with the digest of everything it is made from and its settings."""

    output: Output
    path: Path
    inputs_digest: str
    target: Target
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def kind(self) -> str:
        """The output's registered name."""
        return self.output.name

    @property
    def lessons(self) -> tuple[Lesson, ...]:
        """The lessons this output is made from."""
        return self.target.lessons

    @property
    def lesson(self) -> Lesson:
        """The (first) lesson this output is made from."""
        return self.target.lesson

    @property
    def course(self) -> Course | None:
        """The course of a course-wide output."""
        return self.target.course

    @property
    def label(self) -> str:
        """What progress lines call this output's group: the course title, or the lesson file."""
        return f"{self.course.title} (course pack)" if self.course else self.lesson.path.name

    @property
    def group(self) -> Path:
        """Outputs of one group are written by one worker (a lesson, or a course)."""
        return self.course.path if self.course else self.lesson.path


@dataclass(frozen=True)
class WriteResult:
    """What writing one output gave: its status, the digest of its bytes, any diagnostics."""

    item: PlannedOutput
    status: OutputStatus
    output_digest: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    temporary: Path | None = None  # where a rendered output waits to be moved into place


@dataclass
class BuildReport:
    """What a build did: per output its status, plus every diagnostic."""

    outputs: list[tuple[Path, OutputStatus]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    strict_failure: bool = False
    stamp_problem: bool = False  # the stamp file could not be written (said once)
    # One line each for what the build did besides its outputs (a killed build's files put back).
    notices: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any error was found (the command exits 1)."""
        return (
            self.strict_failure
            or any(d.is_error for d in self.diagnostics)
            or any(status in ("failed", "not rebuilt", "kept") for _, status in self.outputs)
        )


def output_path(out_dir: Path, stem: str, output: Output) -> Path:
    """Where an output goes: ``DIR/<lesson stem or course slug><suffix>``."""
    return out_dir / f"{stem}{output.suffix}"


@cache
def _versions(packages: tuple[str, ...]) -> tuple[str, ...]:
    versions = []
    for package in packages:
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return tuple(versions)


class Builder:
    """Builds lessons; keeps its writers (fonts, parsed CSS, templates) warm between builds."""

    def __init__(self, layouts: LayoutSearch | None = None):
        self.layouts = layouts or LayoutSearch()
        self._writers: dict[object, Writer] = {}

    # -- writers, created on first use --------------------------------------------------

    def writer_for(self, output: Output) -> Writer:
        """The warm writer ``output`` renders with (created on first use, then shared)."""
        factory = output.writer
        if factory not in self._writers:
            self._writers[factory] = factory(self.layouts)
        return self._writers[factory]

    @property
    def handout_writer(self) -> HandoutWriter:
        """The handout/key writer (for tests and debugging)."""
        from coursepack.writers.handout import HANDOUT

        return self.writer_for(HANDOUT)  # type: ignore[return-value]

    @property
    def deck_writer(self) -> DeckWriter:
        """The deck writer (for tests and debugging)."""
        from coursepack.writers.deck import SLIDES

        return self.writer_for(SLIDES)  # type: ignore[return-value]

    def close(self) -> None:
        """Free what the writers loaded in this process (WeasyPrint's temporary font files)."""
        for writer in self._writers.values():
            writer.close()

    # -- planning ------------------------------------------------------------------------

    def plan(
        self,
        lessons: Sequence[Lesson],
        options: BuildOptions,
        courses: Sequence[Course] = (),
        lesson_courses: Mapping[Path, Course] | None = None,
    ) -> tuple[list[PlannedOutput], list[Diagnostic]]:
        """Every output to consider, with its input digest; diagnostics for bad options.

        ``lesson_courses`` maps a lesson (resolved path) to the course that holds it: the
        course's settings (paper, versions) apply where the lesson names none.
        """
        planned: list[PlannedOutput] = []
        problems: list[Diagnostic] = []
        digests = _Digests()
        # A broken theme.yaml stops the build here (ThemeError), before anything is written.
        problems.extend(self.layouts.theme_warnings)
        context = PlanContext(
            paper=options.paper,
            pptx_template=options.pptx_template,
            versions=options.versions,
            seed=options.seed,
            courses=lesson_courses or {},
        )
        layout_parts: dict[object, list[str]] = {}

        def plan_one(output: Output, target: Target) -> None:
            try:
                settings = output.settings(context, target)
            except LessonError as exc:
                problems.extend(exc.diagnostics)
                return
            problems.extend(output.problems(context, target))
            writer = self.writer_for(output)
            if output.writer not in layout_parts:
                # Each writer names the layout files it reads (cheap: no WeasyPrint or
                # python-pptx import), so an edit to one rebuilds exactly what it affects.
                layout_parts[output.writer] = digests.files(writer.layout_files(), layouts=True)
            parts = [__version__, *_versions(READING_PACKAGES + output.packages), output.name]
            for key, value in sorted(settings.items()):
                if isinstance(value, Path):
                    parts += [key, *digests.files([value])]
                else:
                    parts += [key, repr(value)]
            if target.course is not None:
                parts += digests.files([target.course.path])
            for lesson in target.lessons:
                images = digests.files(lesson.images, relative_to=lesson.folder.resolve())
                parts += [str(lesson.path), lesson.source_hash, *images]
            parts += [*output.digest_parts(target), *layout_parts[output.writer]]
            for variant in output.variants(context, target):
                chosen = {**settings, "variant": variant} if variant else settings
                path = options.out_dir / f"{target.stem}{output.file_suffix(variant)}"
                digest = digest_of([*parts, f"variant={variant}"] if variant else parts)
                planned.append(
                    PlannedOutput(output, path, digest, target, tuple(sorted(chosen.items())))
                )

        for lesson in lessons:
            # A course's exports: are its lessons' too (course.yaml's exports: [moodle]).
            course = context.courses.get(lesson.path.resolve())
            exports = (*lesson.meta.exports, *(course.exports if course else ()))
            for output in OUTPUTS.of_scope("lesson"):
                if options.wants(output, exports):
                    plan_one(output, Target((lesson,)))
        by_path = {lesson.path.resolve(): lesson for lesson in lessons}
        for course in courses:
            members = tuple(by_path[p] for p in course.lessons if p in by_path)
            for output in OUTPUTS.of_scope("course"):
                if options.wants(output, course.exports):
                    plan_one(output, Target(members, course))
        problems.extend(_same_target_errors(planned))
        # a warning about something every lesson shares (the --pptx-template) is said once
        return planned, list(dict.fromkeys(problems))

    def check_layouts(self, planned: Sequence[PlannedOutput]) -> None:
        """Find broken layout files (template syntax, a missing partial) before anything is
        written, for every writer this build uses: :class:`LessonError` with their lines."""
        problems: list[Diagnostic] = []
        for writer in dict.fromkeys(self.writer_for(item.output) for item in planned):
            problems += writer.layout_problems()
        if problems:
            raise LessonError(problems)

    # -- writing -------------------------------------------------------------------------

    def render(self, item: PlannedOutput) -> bytes:
        """Render one output to bytes (nothing is written here)."""
        return item.output.render(self.writer_for(item.output), item.target, dict(item.settings))

    def write(self, item: PlannedOutput) -> WriteResult:
        """Render one output into a temporary file beside its place ("rendered"): the build
        moves a lesson's outputs into place together. Lesson problems become diagnostics."""
        try:
            data = self.render(item)
        except LessonError as exc:
            return WriteResult(item, "failed", diagnostics=exc.diagnostics)
        except LayoutNotFound as exc:
            return WriteResult(item, "failed", diagnostics=(error(item.group, 0, str(exc)),))
        except Exception as exc:  # a bug: name the lesson so the report is useful
            raise InternalError(item.group, f"{type(exc).__name__}: {exc}") from exc
        try:
            temporary = write_temporary(item.path, data)
        except OSError as exc:  # the disk is full, the folder went away...
            return WriteResult(item, "failed", diagnostics=(_cannot_write(item.path, exc),))
        return WriteResult(item, "rendered", hashlib.sha256(data).hexdigest(), temporary=temporary)

    def build(
        self,
        lessons: Sequence[Lesson],
        options: BuildOptions,
        progress: Callable[[str], None] | None = None,
        courses: Sequence[Course] = (),
        lesson_courses: Mapping[Path, Course] | None = None,
    ) -> BuildReport:
        """Write every outdated output; failures leave the previous files alone."""
        report = BuildReport()
        if options.out_dir.is_dir():  # even when nothing is built: one version of each lesson
            with folder_lock(options.out_dir):  # a build still moving its files finishes first
                report.notices.extend(recover_interrupted(options.out_dir, OUTPUTS.is_output_name))
        if not lessons and not courses:
            return report  # nothing to write (e.g. every lesson has errors): not even the folder
        refuse_file_as_output_dir(options.out_dir)
        # Planning checks the options and templates: a bad one creates no output folder.
        planned, problems = self.plan(lessons, options, courses, lesson_courses)
        report.diagnostics.extend(problems)
        if any(d.is_error for d in problems):
            return report
        stamps = Stamps(options.out_dir)
        current = {
            item.path
            for item in planned
            if not options.force and stamps.is_current(item.path, item.inputs_digest)
        }
        outdated = [item for item in planned if item.path not in current]
        # The layouts of what will be written (a no-op rebuild compiles no template: a layout
        # file's edit makes every output that reads it outdated).
        self.check_layouts(outdated)
        prepare_output_dir(options.out_dir)  # only now: a failed plan leaves no new folder
        for writer in self._writers.values():
            writer.keep_between_builds(options.out_dir / BUILD_CACHE)
        # A folder where an output goes is found before anything is written, not after the
        # first outputs are already in place.
        for item in planned:
            if item.path.is_dir():
                raise BuildFailed(f"cannot write {item.path}: a folder of that name is in the way")
        report.outputs.extend((item.path, "up to date") for item in planned if item.path in current)
        # A lesson's outputs (or a course's) are rendered first, then moved into place
        # together once the last is rendered: never a new handout beside an old key.
        expected: dict[Path, int] = {}
        for item in outdated:
            expected[item.group] = expected.get(item.group, 0) + 1
        pending: dict[Path, list[WriteResult]] = {}
        try:
            for result in self._write_all(outdated, options.jobs, progress):
                group = pending.setdefault(result.item.group, [])
                group.append(result)
                if len(group) == expected[result.item.group]:
                    del pending[result.item.group]
                    self._commit(group, stamps, report, options.out_dir)
        finally:
            # Stopped (an error, Ctrl-C, SIGTERM): what was not moved into place is deleted.
            for results in pending.values():
                _discard(results)
        # The summary lists outputs in plan order (lesson by lesson), however many jobs ran.
        position = {item.path: index for index, item in enumerate(planned)}
        report.outputs.sort(key=lambda output: position.get(output[0], len(position)))
        return report

    @staticmethod
    def _commit(
        results: list[WriteResult], stamps: Stamps, report: BuildReport, out_dir: Path
    ) -> None:
        """Move one lesson's (or course's) rendered outputs into place together and stamp
        them, or none of them: when one failed to render or cannot be moved, the previous
        files are kept (and put back) and the summary says so."""
        for result in results:  # the handout and the key often report the same layout line
            report.diagnostics.extend(d for d in result.diagnostics if d not in report.diagnostics)
        if any(result.status != "rendered" for result in results):
            _discard(results)
            report.outputs.extend(
                (r.item.path, r.status if r.status != "rendered" else "kept") for r in results
            )
            return
        staged = Staged([(r.temporary, r.item.path) for r in results if r.temporary])
        with folder_lock(out_dir):  # another build of this folder waits for our moves
            try:
                staged.commit(out_dir)
            except OSError as exc:
                failed = Path(exc.filename2 or exc.filename or results[0].item.path)
                report.diagnostics.append(_cannot_write(failed, exc, kept=True))
                report.outputs.extend((r.item.path, "kept") for r in results)
                return
            for result in results:
                stamps.record(result.item.path, result.item.inputs_digest, result.output_digest)
            report.outputs.extend((r.item.path, "written") for r in results)
            try:
                stamps.save()
            except OSError as exc:
                if not report.stamp_problem:
                    report.stamp_problem = True
                    report.diagnostics.append(_cannot_write(stamps.path, exc, stamps=True))

    def _write_all(
        self,
        outdated: Sequence[PlannedOutput],
        jobs: int,
        progress: Callable[[str], None] | None,
    ) -> Iterable[WriteResult]:
        """Write outputs group by group, in worker processes when ``jobs`` > 1."""
        groups: dict[object, list[PlannedOutput]] = {}
        for item in outdated:
            groups.setdefault(item.group, []).append(item)
        spread = jobs > 1 and len(groups) < jobs
        if spread:
            # Fewer lessons than workers (typically one lesson): spread its outputs instead.
            groups = {item.path: [item] for item in outdated}
        total = len(groups)
        if jobs <= 1 or total <= 1:
            for index, items in enumerate(groups.values(), 1):
                if progress:
                    names = ", ".join(i.path.name for i in items)
                    progress(f"[{index}/{total}] {items[0].label}: writing {names}")
                yield from (self.write(item) for item in items)
            return
        global _worker_builder
        several_writers = len({item.output.writer for item in outdated}) > 1
        if spread and several_writers and all(item.course is None for item in outdated):
            yield from self._write_spread(outdated, jobs, progress)
            return
        self._prepare(outdated, spread)
        # Forked workers inherit this builder, with its libraries already imported; where
        # processes are spawned instead, the initializer makes a fresh one.
        _worker_builder = self
        # What is loaded now (modules, fonts, parsed CSS, templates) lives as long as the build:
        # frozen, the garbage collector no longer scans it, in the workers (which would also
        # copy every page it touches) nor here. Not collected first: the few cycles the imports
        # left would be freed, at 0.09 s of CPU per build.
        gc.freeze()
        try:
            yield from self._write_in_workers(groups, jobs, progress)
        finally:
            gc.unfreeze()
            _worker_builder = None  # the parent's builder is not kept alive by this module

    def _write_spread(
        self,
        outdated: Sequence[PlannedOutput],
        jobs: int,
        progress: Callable[[str], None] | None,
    ) -> Iterable[WriteResult]:
        """The outputs of fewer lessons than workers (typically one lesson's handout, key and
        deck), spread so that the serial work overlaps instead of idling a CPU.

        The writer with the most outputs (WeasyPrint's: handout and key) is prepared here
        (imports, fonts, CSS) and shared with what forks after; the other writers' outputs
        (the deck) go first to a side process, forked before that preparation, which loads
        its own library (python-pptx) while this process loads WeasyPrint. Then a pool of
        ``jobs - 1`` workers takes all but the first of the shared writer's outputs (the key
        starts first), and this process writes that first one itself instead of waiting.
        """
        global _worker_builder
        writers: dict[object, list[PlannedOutput]] = {}
        for item in outdated:
            writers.setdefault(item.output.writer, []).append(item)
        shared_writer = max(writers, key=lambda writer: len(writers[writer]))
        own, *rest = writers[shared_writer]
        early = [item for item in outdated if item.output.writer is not shared_writer]
        counter = itertools.count(1)

        def announce(results: list[WriteResult]) -> list[WriteResult]:
            return _reported(results, next(counter), len(outdated), progress)

        _worker_builder = self  # forked processes inherit this builder (see _write_all)
        gc.freeze()
        side = _SideWorker(early, self.layouts)
        pool: ProcessPoolExecutor | None = None
        futures: list[Future[list[WriteResult]]] = []
        try:
            # Its libraries, fonts, CSS and templates, and what its outputs of the lesson
            # share (the formulas' operators, for the handout and the key).
            self._prepare(writers[shared_writer], spread=True)
            if rest:
                gc.freeze()  # what prepare() loaded, as in _write_all
                pool = self._pool(min(jobs - 1, len(rest)))
                futures = [pool.submit(_write_group, [item]) for item in rest]
                pool.shutdown(wait=False)  # its workers exit once their outputs are written
            yield from announce([self.write(own)])
            for future, item in zip(futures, rest, strict=True):
                if future.cancel():  # not started by any worker: write it here
                    yield from announce([self.write(item)])
                else:
                    yield from announce(future.result())
            for result in side.results():  # one progress line per output, as above
                yield from announce([result])
        except BaseException:
            # Stop the workers before the error is reported (their fonts are this process's),
            # and delete what they rendered that will not be moved into place.
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                for future in futures:
                    if future.done() and not future.cancelled() and future.exception() is None:
                        _discard(future.result())
            side.stop()
            raise
        finally:
            gc.unfreeze()
            _worker_builder = None

    def _write_in_workers(
        self,
        groups: dict[object, list[PlannedOutput]],
        jobs: int,
        progress: Callable[[str], None] | None,
    ) -> Iterable[WriteResult]:
        """Write each group in a worker process, results in the order they finish."""
        packs = [items for items in groups.values() if items[0].course is not None]
        lessons = [items for items in groups.values() if items[0].course is None]
        if not packs:
            with self._pool(min(jobs, len(lessons))) as pool:
                futures = [pool.submit(_write_group, items) for items in lessons]
                for index, future in enumerate(as_completed(futures), 1):
                    yield from _reported(future.result(), index, len(lessons), progress)
            return
        # A course pack is one document of hundreds of pages: by far the biggest job, in time
        # and in memory. This process writes the packs, one at a time, while jobs - 1 workers
        # write the lessons and exit when they are done; then this process takes over the
        # lessons no worker has started, and writes the last pack (the answer key) once every
        # lesson is written. So a pack shares the machine's memory with at most jobs - 1 small
        # lesson workers, and the answer-key pack with none.
        # In plan order, which is the registry's: the answer-key pack, the largest, comes last.
        pack_items = [item for items in packs for item in items]
        total = len(pack_items) + len(lessons)
        done = itertools.count(1)
        lock = threading.Lock()

        def announce(results: list[WriteResult]) -> list[WriteResult]:
            with lock:  # also called from the pool's thread as lessons finish
                return _reported(results, next(done), total, progress)

        futures: list[Future[list[WriteResult]]] = []
        announced: list[threading.Event] = []
        pool = None
        if lessons:
            pool = self._pool(min(jobs - 1, len(lessons)))
            futures = [pool.submit(_write_group, items) for items in lessons]
            for future in futures:
                event = threading.Event()
                announced.append(event)

                def report(f: Future[list[WriteResult]], event: threading.Event = event) -> None:
                    try:
                        if not f.cancelled() and f.exception() is None:
                            announce(f.result())
                    finally:
                        event.set()

                future.add_done_callback(report)
            pool.shutdown(wait=False)  # workers exit once the lessons are written
        try:
            *first_packs, last_pack = pack_items
            for item in first_packs:
                yield from announce([self.write(item)])
            for future, items in zip(futures, lessons, strict=True):
                if future.cancel():  # not started by any worker: write it here
                    yield from announce([self.write(item) for item in items])
            # The last pack (the answer key, the biggest) waits for the lesson workers: it
            # peaks at about 500 MB for 30 lessons, and a worker beside it took the build
            # past 600 MB (666 MB measured). It costs the wall time of that pack alone.
            wait(futures)
            yield from announce([self.write(last_pack)])
            for future, event in zip(futures, announced, strict=True):
                if not future.cancelled():
                    results = future.result()
                    event.wait()  # its progress line is printed before the build's summary
                    yield from results
        except BaseException:
            # Something could not be written (or Ctrl-C): stop the workers before the error is
            # reported and the shared fonts are freed, rather than let them write on unseen.
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            raise

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        """Worker processes that each keep a warm builder (see ``_init_worker``)."""
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(self.layouts,),
        )

    def _prepare(self, outdated: Sequence[PlannedOutput], spread: bool = False) -> None:
        """Load the writing libraries, fonts, CSS and templates once, before workers fork,
        instead of once per worker: only for the writers some outdated output uses. When a
        lesson's outputs are ``spread`` over the workers, each writer also does the work
        its outputs of one lesson share (a lesson group on one worker shares it anyway)."""
        for output in dict.fromkeys(item.output for item in outdated):
            # A broken layout is reported by the output that uses it, with its path and line.
            with contextlib.suppress(Exception):
                self.writer_for(output).prepare()
        if not spread:
            return
        shared: dict[int, tuple[Writer, dict[int, Lesson]]] = {}
        for item in outdated:
            writer = self.writer_for(item.output)
            lessons = shared.setdefault(id(writer), (writer, {}))[1]
            lessons.update((id(lesson), lesson) for lesson in item.lessons)
        for writer, lessons in shared.values():
            with contextlib.suppress(Exception):  # a worker meets (and reports) it again
                writer.prepare_lessons(tuple(lessons.values()))


class _Digests:
    """File digests for one planning pass (each file hashed once per build)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Path, bool], str] = {}

    def files(
        self, paths: Iterable[Path], relative_to: Path | None = None, layouts: bool = False
    ) -> list[str]:
        """``name=digest`` per file; names relative to ``relative_to`` when given, so that a
        lesson folder moved or copied elsewhere keeps its stamps.

        ``layouts``: the writers' layout files, among them every font file of the theme
        (about 120 MB: hashing them was 0.055 s of CPU of every build, a no-op's included).
        A file of :data:`IDENTIFIED_BY_STAT` bytes or more there is identified by its size and
        modification time instead, as ``make`` would (a font package upgraded or a system font
        replaced changes them). Lesson files, their pictures and a school's template are
        always hashed (a copied folder keeps its stamps, whatever the copy's times).
        """
        parts = []
        for path in sorted(set(paths)):
            if (path, layouts) not in self._seen:
                identity = _layout_identity(path) if layouts else sha256_file(path)
                self._seen[path, layouts] = identity
            name = path
            if relative_to is not None:
                with contextlib.suppress(ValueError):
                    name = path.relative_to(relative_to)
            parts.append(f"{name}={self._seen[path, layouts]}")
        return parts


#: Layout files this big or bigger (fonts) are identified by size and time, not content.
IDENTIFIED_BY_STAT = 1 << 20


def _layout_identity(path: Path) -> str:
    """A layout file's digest, or for a big one (a font) its size and modification time."""
    info = path.stat()
    if info.st_size >= IDENTIFIED_BY_STAT:
        return f"size={info.st_size},mtime_ns={info.st_mtime_ns}"
    return sha256_file(path)


_worker_builder: Builder | None = None


def _init_worker(layouts: LayoutSearch) -> None:
    """Each worker process keeps one warm Builder for all the lessons it is given."""
    global _worker_builder
    # The command's SIGTERM/SIGHUP handler unwinds the parent; a worker just ends (it shares
    # the parent's fonts, which the parent removes).
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    # The worker's temporaries are the build's: the build moves them into place after the
    # worker may have ended, and another build must not take them for abandoned.
    set_owner(os.getppid())
    if _worker_builder is None:  # spawned, not forked: nothing inherited
        _worker_builder = Builder(layouts)
    # Workers end without running finalisers: free what this worker loaded itself.
    multiprocessing.util.Finalize(None, _worker_builder.close, exitpriority=10)
    _exit_with_parent(os.getppid())


class _SideWorker:
    """One forked process that writes ``items`` and sends the results back over a pipe.

    A plain process, not a pool: it starts no thread here, so the pool forked after it is
    forked from a process with one thread (a thread holding a lock at a fork can deadlock
    the child). No items: no process.
    """

    def __init__(self, items: Sequence[PlannedOutput], layouts: LayoutSearch) -> None:
        self._items = list(items)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._results: list[WriteResult] | None = None
        if not self._items:
            return
        context = _mp_context() or multiprocessing.get_context()
        self._connection, writer = context.Pipe(duplex=False)
        process = context.Process(  # type: ignore[attr-defined]
            target=_side_worker,
            args=(writer, layouts, self._items),
            name="coursepack-side-worker",
            daemon=True,
        )
        process.start()
        writer.close()  # only the worker writes: its end closes when it exits
        self._process = process

    def results(self) -> list[WriteResult]:
        """The items' results, once the worker has written them all (its errors re-raised)."""
        if self._process is None:
            return []
        try:
            kind, value = self._connection.recv()
        except EOFError:  # killed (out of memory), or crashed without a word
            self._process.join()
            code = self._process.exitcode
            raise InternalError(
                self._items[0].group, f"a worker process ended unexpectedly (exit code {code})"
            ) from None
        finally:
            self._connection.close()
        self._process.join()
        self._process = None
        if kind == "error":
            raise value
        self._results = value
        return value

    def stop(self) -> None:
        """Wait for the worker (the build is failing) and delete what it rendered."""
        if self._process is None:
            return
        with contextlib.suppress(Exception):
            kind, value = self._connection.recv()
            if kind == "ok":
                _discard(value)
        self._connection.close()
        self._process.join()
        self._process = None


def _side_worker(
    connection: multiprocessing.connection.Connection,
    layouts: LayoutSearch,
    items: Sequence[PlannedOutput],
) -> None:
    """A side process: write ``items``, send ``("ok", results)`` or ``("error", exception)``."""
    # Ctrl-C reaches the whole terminal's process group: the build decides what it stops
    # (it waits for this process and deletes what it wrote).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(layouts)
    try:
        message: tuple[str, Any] = ("ok", _write_group(items))
    except Exception as exc:  # noqa: BLE001 - re-raised in the build's process
        message = ("error", exc)
    try:
        connection.send(message)
    except Exception as exc:  # noqa: BLE001 - an exception that cannot be pickled
        connection.send(("error", InternalError(items[0].group, f"{type(exc).__name__}: {exc}")))
    connection.close()


def _mp_context() -> multiprocessing.context.BaseContext | None:
    """Fork where it is safe (Linux), so workers share what the build loaded before (Python
    3.14 defaults to forkserver there); elsewhere the platform's default."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None


def _exit_with_parent(parent: int) -> None:
    """End this worker when the build that started it is gone (killed, out of memory): it
    would otherwise wait for work forever, or write outputs behind the next build's back."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="coursepack-parent-watch", daemon=True).start()


def _reported(
    results: list[WriteResult],
    index: int,
    total: int,
    progress: Callable[[str], None] | None,
) -> list[WriteResult]:
    """Say what became of a group of outputs (with progress on) and pass the results on."""
    if progress and results:
        done = ("written", "rendered")
        wrote = ", ".join(r.item.path.name for r in results if r.status in done)
        failed = ", ".join(r.item.path.name for r in results if r.status not in done)
        # A failure keeps the lesson's previous files: what was rendered is not moved in.
        verb = "kept" if failed else "wrote"
        said = "; ".join(
            part for part in (failed and f"failed {failed}", wrote and f"{verb} {wrote}") if part
        )
        progress(f"[{index}/{total}] {results[0].item.label}: {said}")
    return results


def _write_group(items: Sequence[PlannedOutput]) -> list[WriteResult]:
    assert _worker_builder is not None
    return [_worker_builder.write(item) for item in items]


def collect(paths: Sequence[Path]) -> tuple[list[Path], list[Course], list[Diagnostic]]:
    """Lesson files and courses under ``paths`` (folders: their ``*.md`` and ``course.yaml``).

    A lesson a course lists from a subfolder is collected too, so that it is checked before
    the pack is built; each file is collected once, however it is named.
    """
    lesson_paths: list[Path] = []
    courses: list[Course] = []
    problems: list[Diagnostic] = []
    seen: set[Path] = set()

    def add(lesson: Path) -> None:
        try:
            key = lesson.resolve(strict=lesson.is_symlink())
        except (OSError, RuntimeError):  # a link to itself, or to nothing
            problems.append(error(lesson, 0, "a link that leads to no file (or back to itself)"))
            return
        if key not in seen:
            seen.add(key)
            lesson_paths.append(lesson)

    def outside(file: Path, folder: Path) -> bool:
        """A folder's file that is a link out of it: a shared folder reads nothing outside
        itself (a file named on the command line may be anywhere)."""
        if resolves_inside(file, folder):
            return False
        message = (
            "a link to a file outside this folder, which is not read (copy the file into "
            "the folder, or name it on the command line)"
        )
        problems.append(error(file, 0, message))
        return True

    for path in paths:
        if path.is_dir():
            problems_before = len(problems)
            found = False
            for lesson in lesson_files(path):
                if outside(lesson, path):
                    continue
                add(lesson)
                found = True
            course_file = path / COURSE_FILE
            if course_file.is_file() and not outside(course_file, path):
                course, diagnostics = read_course(course_file)
                problems.extend(diagnostics)
                if course is not None:
                    courses.append(course)
                    for lesson in course.lessons:
                        add(lesson)
                        found = True
            if not found and len(problems) == problems_before:
                # As ``check`` says: building an empty folder is a mistake, not a success.
                problems.append(error(path, 0, "no .md lesson files in this folder"))
        else:
            add(path)
    return lesson_paths, courses, problems


def check_and_build(
    builder: Builder,
    paths: Sequence[Path],
    options: BuildOptions,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Read and check every lesson under ``paths``, then build the valid ones.

    Lessons with errors (or warnings, with ``strict``) are reported and skipped; their previous
    outputs stay as they were, and so does the pack of any course they belong to.
    """
    from coursepack.check import check_paths

    report = BuildReport()
    lesson_paths, courses, course_problems = collect(paths)
    report.diagnostics.extend(course_problems)
    if options.strict and any(d.fails(strict=True) for d in course_problems):
        report.strict_failure = True
    lessons = []
    broken: set[Path] = set()
    for path, (lesson, diagnostics) in check_paths(lesson_paths).items():
        report.diagnostics.extend(diagnostics)
        bad = any(d.fails(options.strict) for d in diagnostics)
        if bad or lesson is None:
            broken.add(path.resolve())
            report.strict_failure |= bad
        else:
            lessons.append(lesson)
    # A course's settings (paper, versions) apply to every lesson it holds that names none.
    lesson_courses = {lesson: course for course in courses for lesson in course.lessons}
    buildable = []
    for course in courses:
        if broken.intersection(course.lessons):
            for output in OUTPUTS.of_scope("course"):
                if options.wants(output, course.exports):
                    path = output_path(options.out_dir, course.slug, output)
                    report.outputs.append((path, "not rebuilt"))
        else:
            buildable.append(course)
    built = builder.build(
        lessons, options, progress=progress, courses=buildable, lesson_courses=lesson_courses
    )
    report.outputs.extend(built.outputs)
    report.diagnostics.extend(built.diagnostics)
    report.notices.extend(built.notices)
    report.stamp_problem = built.stamp_problem
    return report


def _cannot_write(path: Path, exc: OSError, kept: bool = False, stamps: bool = False) -> Diagnostic:
    """One line for an output (or the stamp file) that cannot be written."""
    if isinstance(exc, PermissionError):
        reason = "permission denied (is it open in another program?)"
    elif isinstance(exc, IsADirectoryError):
        reason = "a folder of that name is in the way"
    else:
        reason = exc.strerror or str(exc)
    if kept:
        reason += "; the lesson's previous files are kept"
    if stamps:
        reason += " (the outputs are written; the next build rebuilds them)"
    return error(path, 0, f"cannot be written: {reason}")


def _discard(results: Iterable[WriteResult]) -> None:
    """Delete the temporaries of outputs that will not be moved into place."""
    for result in results:
        if result.temporary is not None:
            with contextlib.suppress(OSError):
                result.temporary.unlink()


def refuse_file_as_output_dir(out_dir: Path) -> None:
    """A file where the output folder should be is a one-line error."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildFailed(f"output folder {out_dir} is a file; choose another folder with -o")


def prepare_output_dir(out_dir: Path) -> None:
    """Create the output folder, or explain in one line why it cannot be used."""
    refuse_file_as_output_dir(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildFailed(f"cannot create output folder {out_dir}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise BuildFailed(f"output folder {out_dir} is not writable")
    # After recover_interrupted (in Builder.build): killed builds' previous files are among them.
    remove_stale_temporaries(out_dir, OUTPUTS.endings())


def _same_target_errors(planned: Sequence[PlannedOutput]) -> list[Diagnostic]:
    """Refuse two outputs of one run that would write the same file (as Pelican does)."""
    seen: dict[Path, PlannedOutput] = {}
    problems = []
    for item in planned:
        key = item.path.resolve()
        if key in seen:
            other = seen[key].group
            problems.append(
                error(
                    item.group,
                    0,
                    f"would write {item.path}, which {other} also writes; rename one of them",
                )
            )
        seen.setdefault(key, item)
    return problems
