"""Watch mode: build, then rebuild on every save, keeping the writers warm.

One :class:`~coursepack.build.Builder` lives for the whole session, so WeasyPrint's fonts, the
parsed CSS and the Jinja templates are loaded once; each save re-reads the lessons (cheap) and
the stamps decide which outputs really changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from coursepack.build import (
    OUTPUT_SUFFIXES,
    Builder,
    BuildFailed,
    BuildOptions,
    BuildReport,
    check_and_build,
)
from coursepack.layouts import LayoutNotFound, ThemeError

Echo = Callable[[str], None]


def build_once(
    builder: Builder, paths: Sequence[Path], options: BuildOptions, echo: Echo
) -> BuildReport:
    """Check and build, printing the diagnostics and the outputs that changed.

    Problems that stop a build (a broken theme, an unusable output folder) are printed and
    watching goes on: the last good outputs stay.
    """
    try:
        report = check_and_build(builder, paths, options)
    except (BuildFailed, LayoutNotFound, ThemeError) as exc:
        echo(f"error: {exc}")
        return BuildReport()
    for diagnostic in report.diagnostics:
        echo(diagnostic.format())
    for path, status in report.outputs:
        if status != "up to date":
            echo(f"{status:>10}  {path}")
    return report


def watched_roots(paths: Sequence[Path], builder: Builder) -> list[Path]:
    """The folders to watch: the lessons' folders and every layout folder."""
    roots: list[Path] = []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        roots.append(folder.resolve())
    roots.extend(builder.layouts.folders)
    unique: list[Path] = []
    for root in roots:
        if root.is_dir() and root not in unique:
            unique.append(root)
    return unique


def watch(
    paths: Sequence[Path],
    options: BuildOptions,
    echo: Echo,
    stop: threading.Event | None = None,
    debounce_ms: int = 150,
) -> None:
    """Build, then rebuild after every change until ``stop`` is set or Ctrl-C."""
    from watchfiles import watch as watch_changes

    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise BuildFailed(f"nothing to watch: no such file or folder: {', '.join(missing)}")
    builder = Builder()
    try:
        build_once(builder, paths, options, echo)
    except BaseException:
        builder.close()
        raise
    out_dir = options.out_dir.resolve()
    output_suffixes = tuple(OUTPUT_SUFFIXES.values())
    roots = watched_roots(paths, builder)
    echo(f"watching {', '.join(str(r) for r in roots)} (Ctrl-C to stop)")

    def relevant(_change: object, changed: str) -> bool:
        # Our own outputs, stamps and temporaries, and editor swap files, must not trigger
        # rebuilds; a lesson saved in the output folder itself (``-o .``) still does.
        path = Path(changed)
        if path.name.startswith(".") or path.name.endswith("~"):
            return False
        return not (path.parent == out_dir and path.name.endswith(output_suffixes))

    layout_roots = builder.layouts.folders
    try:
        for changes in watch_changes(
            *roots,
            watch_filter=relevant,
            debounce=debounce_ms,
            step=50,
            stop_event=stop,
            raise_interrupt=False,
            yield_on_timeout=False,
        ):
            changed = [Path(path) for _change, path in changes]
            if any(root in path.parents for path in changed for root in layout_roots):
                # Templates, CSS or the theme changed: start with fresh writers so nothing
                # stale (parsed CSS, the merged theme) survives. Lesson edits keep them warm.
                builder.close()
                builder = Builder()
            build_once(builder, paths, options, echo)
    finally:
        builder.close()  # WeasyPrint's temporary font files
