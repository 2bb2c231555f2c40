"""The ``coursepack`` command: a thin Click layer over read → check → write.

Exit codes: 0 success, 1 a problem in a lesson or the output folder (reported as
``path:line: error: message``), 2 a usage error (Click's), 3 an internal error (a bug: the
traceback is shown only with ``--debug``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import click

from coursepack import __version__
from coursepack.model import PAPERS

DEFAULT_SOURCE = Path("source")


def _echo_diagnostics(diagnostics: Sequence[Any]) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=True)


class Terminated(BaseException):
    """SIGTERM or SIGHUP (the terminal closed) arrived: unwind, so that every ``finally``
    runs (WeasyPrint's 11 MB font folder in /tmp is removed, temporaries are deleted)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def _cleanup_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while a command runs (in the main
    thread only: signal handlers can be set nowhere else)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, stop) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def guarded(func: Callable[..., int | None]) -> Callable[..., None]:
    """Run a command; turn user problems into exit 1 and bugs into a one-line exit 3."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from coursepack.build import BuildFailed
        from coursepack.diagnostics import LessonError
        from coursepack.layouts import LayoutNotFound

        ctx = click.get_current_context()
        try:
            with _cleanup_on_termination():
                code = func(*args, **kwargs)
        except LessonError as exc:  # also a theme.yaml with errors (ThemeError)
            _echo_diagnostics(exc.diagnostics)
            code = 1
        except (BuildFailed, LayoutNotFound) as exc:
            click.echo(f"error: {exc}", err=True)
            code = 1
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            code = 130
        except Terminated as exc:
            click.echo(f"stopped ({exc.name})", err=True)
            code = 128 + exc.signum
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:  # a bug in coursepack, not the user's fault
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from coursepack.diagnostics import InternalError, display_path

            if isinstance(exc, InternalError):
                where, what = f" while building {display_path(exc.where)}", str(exc)
            else:
                where, what = "", f"{type(exc).__name__}: {exc}"
            click.echo(
                f"internal error{where}: {what}. This is a bug in coursepack {__version__}; "
                "please report it to the coursepack project with the lesson file "
                "(run with --debug for the traceback).",
                err=True,
            )
            code = 3
        ctx.exit(code or 0)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="coursepack")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn Markdown lessons into a handout PDF, an answer key PDF and a PowerPoint deck."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@guarded
def check(paths: tuple[Path, ...], strict: bool) -> int:
    """Check lessons (files or folders, with their course.yaml; default: source/) and report
    every problem."""
    from coursepack.build import collect
    from coursepack.check import check_paths

    # The same lessons a build would take: folders, their course.yaml and the lessons it lists.
    from coursepack.layouts import LayoutSearch

    # The theme's problems as a build reports them (a font nothing provides, an unknown key);
    # a theme.yaml with errors stops here, as it stops a build.
    theme_problems = list(LayoutSearch().theme_warnings)
    lesson_paths, _courses, course_problems = collect(paths or (DEFAULT_SOURCE,))
    course_problems = theme_problems + list(course_problems)
    _echo_diagnostics(course_problems)
    failed = any(d.fails(strict) for d in course_problems)
    results = check_paths(lesson_paths)
    for _path, (_lesson, diagnostics) in results.items():
        _echo_diagnostics(diagnostics)
        failed |= any(d.fails(strict) for d in diagnostics)
    if not failed:
        count = len(results)
        click.echo(f"{count} lesson{'s' if count != 1 else ''} OK", err=True)
    return 1 if failed else 0


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@guarded
def new(path: Path, force: bool) -> int:
    """Write a starter lesson that shows every construct."""
    from coursepack.build import BuildFailed
    from coursepack.check import starter_text
    from coursepack.outputs import write_atomic

    if path.suffix.lower() != ".md":
        raise click.BadParameter("the lesson file name must end in .md", param_hint="PATH")
    if path.exists() and not force:
        raise BuildFailed(f"{path} already exists (use --force to overwrite it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, starter_text().encode("utf-8"))
    except OSError as exc:
        raise BuildFailed(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {path}; edit it, then run: coursepack build {path}")
    return 0


def _build_options(
    out_dir: Path,
    only: tuple[str, ...],
    paper: str | None,
    pptx_template: Path | None,
    force: bool,
    strict: bool,
    jobs: int = 1,
    versions: int | None = None,
    seed: int = 0,
    answer_sheet: bool = False,
) -> Any:
    from coursepack.build import BuildOptions

    return BuildOptions(
        out_dir=out_dir,
        only=frozenset(only) if only else None,
        paper=paper,
        pptx_template=pptx_template,
        force=force,
        strict=strict,
        jobs=jobs,
        versions=versions,
        seed=seed,
        also=frozenset({"answer-sheet"}) if answer_sheet else frozenset(),
    )


def _output_words() -> tuple[str, ...]:
    """The outputs ``--only`` can name, from the output registry."""
    from coursepack.registry import OUTPUTS

    return OUTPUTS.words()


def build_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by ``build`` and ``watch``."""
    decorators = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option(
            "-o",
            "--output",
            "out_dir",
            type=click.Path(path_type=Path),
            default=Path("build"),
            show_default=True,
            help="Folder for the outputs.",
        ),
        click.option(
            "--only",
            multiple=True,
            type=click.Choice(_output_words()),
            help="Write only these outputs (repeatable; the default is every output but the "
            "optional exports, plus the exports a lesson's or course's 'exports:' names).",
        ),
        click.option(
            "--paper",
            type=click.Choice(PAPERS, case_sensitive=False),
            help="Override the lessons' paper.",
        ),
        click.option(
            "--pptx-template",
            type=click.Path(path_type=Path, dir_okay=False),
            help="A school .pptx or .potx to use for the deck.",
        ),
        click.option("--strict", is_flag=True, help="Treat warnings as errors."),
        click.option(
            "--versions",
            type=click.IntRange(1, 26),
            help="Also write test versions A, B, C… (shuffled questions and options, a key "
            "each); overrides the lessons' 'versions:'.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Change every test version's order (the same seed gives the same versions).",
        ),
        click.option(
            "--answer-sheet",
            is_flag=True,
            help="Also write an answer sheet (one per test version) for the choice questions.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@main.command()
@build_options
@click.option("--force", is_flag=True, help="Rebuild every output, even if up to date.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="number of CPUs",
    help="Lessons to build in parallel.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@guarded
def build(
    paths: tuple[Path, ...],
    out_dir: Path,
    only: tuple[str, ...],
    paper: str | None,
    pptx_template: Path | None,
    strict: bool,
    versions: int | None,
    seed: int,
    answer_sheet: bool,
    force: bool,
    jobs: int,
    quiet: bool,
) -> int:
    """Build lessons (files or folders; default: source/) into DIR."""
    from coursepack.build import Builder, check_and_build

    options = _build_options(
        out_dir, only, paper, pptx_template, force, strict, jobs, versions, seed, answer_sheet
    )
    progress = None if quiet else _progress
    builder = Builder()
    if not quiet:
        _say_overrides(builder.layouts)
    try:
        report = check_and_build(builder, paths or (DEFAULT_SOURCE,), options, progress)
    finally:
        builder.close()  # WeasyPrint's temporary font files
    for notice in [] if quiet else report.notices:
        click.echo(notice, err=True)
    _echo_diagnostics(report.diagnostics)
    if not quiet:
        _summary(report)
    return 1 if report.failed else 0


def _say_overrides(layouts: Any) -> None:
    """One line naming the ``./layouts/`` files in use, so a shared folder's overrides are
    never used unseen."""
    from coursepack.diagnostics import display_path

    overrides = layouts.overrides()
    if overrides:
        folder = display_path(overrides[0].parent)
        names = ", ".join(path.name for path in overrides)
        click.echo(f"using layout overrides from {folder}/: {names}", err=True)


def _summary(report: Any) -> None:
    """One line per output, then a count: what was written and where (nothing when a
    problem stopped the build before any output was planned: the errors say it all)."""
    if not report.outputs:
        return
    for path, status in report.outputs:
        click.echo(f"{status:>11}  {path}")
    written = sum(status == "written" for _, status in report.outputs)
    current = sum(status == "up to date" for _, status in report.outputs)
    # "kept": the previous file stays, because its lesson's set could not all be written.
    kept = sum(status in ("kept", "not rebuilt") for _, status in report.outputs)
    folders = sorted({str(path.parent) for path, _ in report.outputs})
    counts = f"{written} written, " + (f"{kept} kept as they were, " if kept else "")
    click.echo(f"{counts}{current} up to date in {', '.join(folders) or '-'}")


@main.command()
@build_options
@guarded
def watch(
    paths: tuple[Path, ...],
    out_dir: Path,
    only: tuple[str, ...],
    paper: str | None,
    pptx_template: Path | None,
    strict: bool,
    versions: int | None,
    seed: int,
    answer_sheet: bool,
) -> int:
    """Build, then rebuild whatever changes on every save (Ctrl-C to stop)."""
    from coursepack.watch import watch as watch_lessons

    options = _build_options(
        out_dir, only, paper, pptx_template, False, strict, 1, versions, seed, answer_sheet
    )
    watch_lessons(paths or (DEFAULT_SOURCE,), options, lambda line: click.echo(line, err=True))
    click.echo("stopped watching", err=True)
    return 0


@main.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path), default=Path("layouts"))
@click.option("--force", is_flag=True, help="Overwrite files that already exist in FOLDER.")
@guarded
def layouts(folder: Path, force: bool) -> int:
    """Copy the built-in layouts into FOLDER (default ./layouts) for editing."""
    from coursepack.layouts import copy_builtin_layouts

    written, skipped = copy_builtin_layouts(folder, overwrite=force)
    for path in written:
        click.echo(f"   copied  {path}")
    for path in skipped:
        click.echo(f"     kept  {path} (exists; --force overwrites)")
    click.echo(
        f"edit the files in {folder}; coursepack uses them in place of the built-in ones "
        "when run from the folder that contains it (delete a file to go back to the built-in one)"
        if folder.name == "layouts"
        else f"copied for reference; coursepack only reads a folder named 'layouts' in the "
        f"folder it runs from, so rename {folder} to layouts to use your edits"
    )
    return 0


@main.group()
def fonts() -> None:
    """The fonts coursepack prints with."""


@fonts.command("install")
@click.argument("families", nargs=-1)
@click.option("--force", is_flag=True, help="Write the font files again even if they exist.")
@guarded
def fonts_install(families: tuple[str, ...], force: bool) -> int:
    """Install the packaged fonts (or only FAMILIES, e.g. "Noto Sans KR") as this user's fonts,
    so that PowerPoint and LibreOffice draw the slides' Arabic, Hebrew, CJK... lines with them.
    Without FAMILIES, the families this computer already has from elsewhere are left alone."""
    from coursepack.build import BuildFailed
    from coursepack.font_install import (
        INSTALL_COMMAND,
        install_fonts,
        installable_families,
        missing_families,
        user_font_folder,
    )
    from coursepack.fonts import font_stack, system_families
    from coursepack.layouts import LayoutSearch

    theme = LayoutSearch().theme
    stack = font_stack(theme)
    available = installable_families(stack, system_families(theme))
    folder = user_font_folder()
    wanted = list(families)
    if not wanted:
        wanted, skipped = missing_families(available, folder)
        if skipped:
            _say(
                f"not installing {', '.join(skipped)}: this computer has them already "
                f'(name one to install coursepack\'s copy, e.g. {INSTALL_COMMAND} "{skipped[0]}")'
            )
    unknown = [name for name in wanted if name not in available]
    if unknown:
        missing = {item.family: item.hint for item in stack.unavailable}
        reasons = [
            f"{name}: {missing[name]}" if name in missing else f"{name}: not a font of theme.yaml"
            for name in unknown
        ]
        raise BuildFailed(
            "cannot install " + "; ".join(reasons) + f" (the fonts it has: {', '.join(available)})"
        )
    try:
        result = install_fonts(stack, wanted, folder, force, _say)
    except OSError as exc:
        raise BuildFailed(f"cannot write fonts into {folder}: {exc.strerror or exc}") from exc
    click.echo(
        f"{len(result.written)} font files written, {len(result.kept)} already there "
        f"(--force writes them again), in {folder}; restart PowerPoint or LibreOffice to use them"
    )
    return 0


def _say(message: str) -> None:
    click.echo(message, err=True)


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        click.echo(message, err=True)


if __name__ == "__main__":
    main()
