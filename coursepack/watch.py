"""Watch mode: build, then rebuild whenever something a build reads changes.

One :class:`~coursepack.build.Builder` lives for the whole session, so WeasyPrint's fonts, the
parsed CSS and the Jinja templates are loaded once; each rebuild re-reads the lessons (cheap)
and the stamps decide which outputs really changed.

What decides a rebuild is a fingerprint of the files a build reads (the lessons, their
pictures and templates, ``course.yaml``, every layout file, and which of them exist), not the
file-system events: events only wake the loop early, and it also looks once a second. So:

- an edit saved while a build runs is built next (the fingerprint is taken before the build);
- a folder deleted and restored (a git checkout, a sync tool), or a ``./layouts/`` created
  after watch started, is noticed even where the events stop coming;
- a log file written into the folder, or our own outputs, change nothing a build reads and
  trigger nothing.

Problems are printed once until they change; a lesson that had errors and builds again is
reported "fixed". Nothing a lesson, a course or a layout holds stops watching.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from coursepack.build import (
    Builder,
    BuildFailed,
    BuildOptions,
    BuildReport,
    check_and_build,
    collect,
)
from coursepack.course import COURSE_FILE
from coursepack.diagnostics import Diagnostic, LessonError, display_path
from coursepack.layouts import LayoutNotFound, LayoutSearch, default_search_path

Echo = Callable[[str], None]
#: How often the inputs are looked at when no event arrives (seconds).
POLL_SECONDS = 1.0

# A file's state: (modification time, size, inode), or None when it does not exist.
Stat = tuple[int, int, int] | None
Fingerprint = dict[Path, Stat]
_CHANGED_DURING_BUILD: Stat = (-1, -1, -1)


def _is_error(line: str) -> bool:
    return ": error: " in line or line.startswith(("error: ", "internal error: "))


def _stat(path: Path) -> Stat:
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class _Session:
    """What one ``coursepack watch`` knows between builds."""

    def __init__(self, paths: Sequence[Path], options: BuildOptions, echo: Echo):
        self.paths = list(paths)
        self.options = options
        self.echo = echo
        self.read_files: set[Path] = set()  # pictures and templates the last build read
        self.shown: dict[str, tuple[str, ...]] = {}  # what was printed, per file
        self.layout_folders: tuple[Path, ...] = ()

    # -- what a build reads ----------------------------------------------------------

    def inputs(self) -> set[Path]:
        """Every file the next build would read (existing or not)."""
        files: set[Path] = set(self.read_files)
        for path in self.paths:
            if path.is_dir() or not path.suffix:
                files.add(path / COURSE_FILE)
                with contextlib.suppress(OSError):
                    files.update(p for p in path.glob("*.md") if not p.name.startswith("."))
            else:
                files.add(path)
        with contextlib.suppress(Exception):  # a broken course.yaml lists nothing more
            lesson_paths, _courses, _problems = collect([p for p in self.paths if p.exists()])
            files.update(lesson_paths)
        for folder in default_search_path():
            with contextlib.suppress(OSError):
                files.update(p for p in folder.iterdir() if not p.name.startswith("."))
        if self.options.pptx_template is not None:
            files.add(self.options.pptx_template)
        return {Path(p).absolute() for p in files}

    def fingerprint(self) -> Fingerprint:
        """The state of every input; a folder's lessons and ``./layouts/`` count too."""
        return {path: _stat(path) for path in sorted(self.inputs())}

    def learn_read_files(self) -> None:
        """The pictures and templates the lessons name (read again after each build)."""
        from coursepack.reader import read_lesson

        found: set[Path] = set()
        with contextlib.suppress(Exception):
            lesson_paths, _courses, _problems = collect([p for p in self.paths if p.exists()])
            for lesson_path in lesson_paths:
                lesson, _ = read_lesson(lesson_path)
                if lesson is None:
                    continue
                found.update(lesson.images)
                if lesson.meta.pptx_template:
                    found.add(lesson.folder / lesson.meta.pptx_template.strip())
        self.read_files = {Path(p).absolute() for p in found}

    # -- building --------------------------------------------------------------------

    def build(self, builder: Builder) -> Fingerprint:
        """Build once; returns the fingerprint of the inputs that build was made from."""
        before = self.fingerprint()
        started = time.time_ns()
        self._report(self._build(builder))
        self.learn_read_files()
        built: Fingerprint = {}
        for path in sorted(self.inputs()):
            if path in before:
                built[path] = before[path]
            else:
                # First named by this build (a new picture): its state before the build is
                # unknown; if it changed since the build started, the next look rebuilds.
                stat = _stat(path)
                built[path] = _CHANGED_DURING_BUILD if stat and stat[0] >= started else stat
        return built

    def _build(self, builder: Builder) -> BuildReport | str:
        try:
            return check_and_build(builder, self.paths, self.options)
        except LessonError as exc:  # also a theme.yaml with errors (ThemeError)
            report = BuildReport()
            report.diagnostics.extend(exc.diagnostics)
            return report
        except (BuildFailed, LayoutNotFound) as exc:
            return f"error: {exc}"
        except Exception as exc:  # a bug: say so, and keep watching the last good outputs
            return f"internal error: {type(exc).__name__}: {exc} (watching goes on)"

    def _report(self, result: BuildReport | str) -> None:
        """Print what is new: problems once until they change, "fixed" when they are gone."""
        if isinstance(result, str):
            self._show("", (result,))
            return
        self._show("", ())
        for notice in result.notices:
            self.echo(notice)
        by_file: dict[str, list[Diagnostic]] = {}
        for diagnostic in result.diagnostics:
            by_file.setdefault(display_path(diagnostic.path), []).append(diagnostic)
        for name in list(self.shown):
            if name and name not in by_file:
                self._show(name, ())
        for name, diagnostics in by_file.items():
            self._show(name, tuple(d.format() for d in diagnostics))
        for path, status in result.outputs:
            if status != "up to date":
                self.echo(f"{status:>10}  {path}")

    def _show(self, name: str, lines: tuple[str, ...]) -> None:
        """Print ``lines`` for one file (``""``: the whole build) unless they were the last
        printed for it; "fixed" when its errors are gone."""
        previous = self.shown.get(name, ())
        if lines == previous:
            return
        for line in lines:
            self.echo(line)
        if any(map(_is_error, previous)) and not any(map(_is_error, lines)):
            self.echo(f"     fixed  {name or 'the build'}")
        if lines:
            self.shown[name] = lines
        else:
            self.shown.pop(name, None)

    def describe(self) -> str:
        """What is watched, in one line."""
        layouts = {Path(folder).absolute() for folder in default_search_path()}
        lessons = sorted(
            p
            for p in self.inputs()
            if p.suffix == ".md" and p.parent not in layouts and _stat(p) is not None
        )  # not the layouts' starter.md
        courses = [p for p in self.inputs() if p.name == COURSE_FILE and _stat(p) is not None]
        pictures = [p for p in self.read_files if _stat(p) is not None]
        parts = [f"{len(lessons)} lesson{'s' if len(lessons) != 1 else ''}"]
        if pictures:
            parts.append(f"{len(pictures)} picture{'s' if len(pictures) != 1 else ''}")
        if courses:
            parts.append(", ".join(display_path(p) for p in courses))
        overrides = LayoutSearch(default_search_path()).overrides()
        if overrides:
            folder = display_path(overrides[0].parent)
            parts.append(
                f"the layout overrides in {folder}/ ({', '.join(p.name for p in overrides)})"
            )
        else:
            parts.append("the built-in layouts")
        return "watching " + ", ".join(parts) + " (Ctrl-C to stop)"


def watched_roots(paths: Sequence[Path]) -> list[Path]:
    """The folders whose events wake the loop: the lessons' folders and the layout folders.
    (A ``./layouts/`` created later, or a folder restored, is found by the once-a-second look.)"""
    roots: list[Path] = []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        roots.append(folder.absolute())
    roots.extend(default_search_path())
    unique: list[Path] = []
    for root in roots:
        if root.is_dir() and root not in unique:
            unique.append(root)
    return unique


def _wake_ups(roots: Sequence[Path], stop: threading.Event, debounce_ms: int) -> Iterator[bool]:
    """Yields after file-system events under ``roots`` or after :data:`POLL_SECONDS` with
    none; ends on ``stop`` or Ctrl-C. A watcher that fails (a root deleted) falls back to
    plain polling."""
    from watchfiles import watch as watch_changes

    try:
        for _changes in watch_changes(
            *roots,
            debounce=debounce_ms,
            step=50,
            stop_event=stop,
            rust_timeout=int(POLL_SECONDS * 1000),
            yield_on_timeout=True,
            raise_interrupt=True,
        ):
            yield True
    except KeyboardInterrupt:
        stop.set()
    except Exception:  # the watcher lost its folders: look on a timer until they are back
        while not stop.wait(POLL_SECONDS):
            yield True


def watch(
    paths: Sequence[Path],
    options: BuildOptions,
    echo: Echo,
    stop: threading.Event | None = None,
    debounce_ms: int = 150,
) -> None:
    """Build, then rebuild after every change until ``stop`` is set or Ctrl-C."""
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise BuildFailed(f"nothing to watch: no such file or folder: {', '.join(missing)}")
    stop = stop or threading.Event()
    session = _Session(paths, options, echo)
    builder = Builder()
    try:
        built = session.build(builder)
        echo(session.describe())
        watching = session.describe()
        while not stop.is_set():
            roots = watched_roots(paths)
            identity = [(root, _stat(root)) for root in roots]
            with contextlib.closing(_wake_ups(roots, stop, debounce_ms)) as wake_ups:
                for _ in wake_ups:
                    current = session.fingerprint()
                    if current != built:
                        if builder.layouts.folders != default_search_path() or _layouts_changed(
                            built, current
                        ):
                            # Templates, CSS or the theme changed (or ./layouts/ came or
                            # went): fresh writers, so nothing stale survives.
                            builder.close()
                            builder = Builder()
                        built = session.build(builder)
                        now = session.describe()
                        if now != watching:
                            echo(now)
                            watching = now
                    if [(root, _stat(root)) for root in watched_roots(paths)] != identity:
                        break  # a folder came, went or was replaced: watch the new ones
    except KeyboardInterrupt:
        pass
    finally:
        builder.close()  # WeasyPrint's temporary font files


def _layouts_changed(before: Fingerprint, after: Fingerprint) -> bool:
    """True when a file in a layout folder changed, came or went."""
    folders = default_search_path()
    return any(
        before.get(path) != after.get(path)
        for path in before.keys() | after.keys()
        if any(folder in path.parents for folder in folders)
    )
