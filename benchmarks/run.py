"""Benchmark coursepack against a Pandoc baseline, side by side, on the same content.

Run from the project root after ``pip install -e '.[bench]'``::

    python benchmarks/run.py            # prints a table; --markdown for docs/benchmarks.md
    python benchmarks/run.py --root DIR # measure another checkout (e.g. main, for "before")

Every timing is a fresh process, as a teacher runs it, and gives two figures: wall-clock
seconds and CPU seconds (user + system of the process and every child it waited for, from
``getrusage(RUSAGE_CHILDREN)``). CPU time is the steadier figure on a shared machine: other
programs' load slows the wall clock, not our CPU seconds. Runs of the things compared are
interleaved (ours, baseline, ours, baseline…) so drifting load hits both alike, and each
figure is a median. Measures:

1. a full build of ``source/unamir.md`` (handout, key, deck) against the baseline: pandoc
   Markdown → PPTX, Markdown → HTML, then WeasyPrint HTML → PDF twice (handout and key);
   targets: CPU ≤ 1.0 × the baseline's, wall ≤ 0.6 ×;
2. a no-op rebuild against a full build (target ≤ 0.15);
3. watch latency: from saving the lesson to a new handout PDF (target ≤ 1 s);
4. a course of 30 generated lessons with ``--jobs 1`` and ``--jobs 2``: time and peak memory
   (targets: linear in lessons, ``--jobs 2`` ≥ 1.6× faster, peak memory < 600 MB), and the
   time to write its two packs alone (``course.yaml`` edited, so only the packs are stale);
5. with ``--edit-lessons N`` (N > 0): one word of one lesson edited in a course of N lessons,
   the rebuild's wall time (target for N = 100: ≤ 20 s);
6. a lesson of 200 formulas against the same lesson with words in their place, its first
   build (empty formula cache) and later ones (benchmarks/formulas.py; target: not
   noticeably slower, a ratio near 1).

Not a test: CI times nothing. The figures live in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(os.environ.get("COURSEPACK_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
LESSON = ROOT / "source" / "unamir.md"
COURSEPACK = [sys.executable, "-c", "from cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

BASELINE_SCRIPT = textwrap.dedent(
    """
    import subprocess, sys, pypandoc, weasyprint
    lesson, out = sys.argv[1], sys.argv[2]
    pandoc = pypandoc.get_pandoc_path()
    subprocess.run([pandoc, lesson, "-o", out + "/slides.pptx"], check=True)
    subprocess.run([pandoc, lesson, "-s", "-o", out + "/lesson.html",
                    "--metadata", "pagetitle=lesson"], check=True)
    for name in ("handout", "key"):
        weasyprint.HTML(out + "/lesson.html").write_pdf(out + f"/{name}.pdf")
    """
)


class Timing(tuple):
    """``(wall, cpu)`` seconds of one command."""

    @property
    def wall(self) -> float:
        return self[0]

    @property
    def cpu(self) -> float:
        return self[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path) -> Timing:
    """Wall-clock and CPU seconds of one command (which must succeed). CPU counts the
    command and every descendant it waited for (forked workers, pandoc)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)
    return Timing((time.perf_counter() - start, _children_cpu() - cpu))


def interleaved(runs: int, *actions) -> list[list[Timing]]:
    """``runs`` timings of each action, taken in turn (a, b, a, b…) so load drifts alike."""
    results: list[list[Timing]] = [[] for _ in actions]
    for _ in range(runs):
        for timings, action in zip(results, actions, strict=True):
            timings.append(action())
    return results


def median(timings: list[Timing]) -> Timing:
    """The median wall and the median CPU (each on its own)."""
    return Timing(
        (statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))
    )


def spread(ours: list[Timing], theirs: list[Timing], field: str) -> str:
    """The lowest and highest ratio of paired runs: how noisy the ratio is."""
    pairs = zip(ours, theirs, strict=True)
    ratios = sorted(getattr(a, field) / getattr(b, field) for a, b in pairs)
    return f"{ratios[0]:.2f}–{ratios[-1]:.2f}"


class PeakMemory:
    """Samples the memory of a process and its descendants (Linux /proc) in a thread.

    Two sums: RSS, which counts pages that forked workers share with their parent once per
    process, and PSS, which shares them out (the memory the tree really uses).
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self, pid: int) -> list[int]:
        pids = [pid]
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                for child in task.read_text().split():
                    pids.extend(self._tree(int(child)))
            except OSError:
                pass
        return pids

    @staticmethod
    def _field(path: str, name: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = pss = 0
            for pid in self._tree(self.pid):
                rss += self._field(f"/proc/{pid}/status", "VmRSS:")
                pss += self._field(f"/proc/{pid}/smaps_rollup", "Pss:")
            self.peak_kib = max(self.peak_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            time.sleep(0.02)


def course_build(folder: Path, out: Path, jobs: int, memory: bool = True) -> tuple[Timing, str]:
    """Wall and CPU seconds of a forced build with ``jobs`` workers, then (``memory``) the peak
    memory (RSS and PSS sums) of a second one. Two runs: sampling /proc (smaps_rollup walks the
    page tables of a big process every 20 ms) slows the build it watches by up to a third."""
    command = [*COURSEPACK, "build", str(folder), "-o", str(out), "--force", "--jobs", str(jobs)]
    elapsed = timed([*command, "-q"], ROOT)
    if not memory:
        return elapsed, ""
    process = subprocess.Popen(
        [*command, "-q"], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    with PeakMemory(process.pid) as memory:
        _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"course build failed:\n{stderr.decode()}")
    return elapsed, f"{memory.peak_kib / 1024:.0f} MB RSS ({memory.peak_pss_kib / 1024:.0f} PSS)"


def rebuilds(edit, folder: Path, out: Path, jobs: int, runs: int) -> Timing:
    """Median wall and CPU seconds of ordinary (not forced) rebuilds, each after
    ``edit(index)``."""
    command = [*COURSEPACK, "build", str(folder), "-o", str(out), "--jobs", str(jobs), "-q"]
    timings = []
    for index in range(max(1, runs)):
        edit(index)
        timings.append(timed(command, ROOT))
    return median(timings)


def new_subtitle(course_yaml: Path):
    """An edit: the course's subtitle changed (only the packs read course.yaml)."""
    return lambda index: course_yaml.write_text(
        f"title: Benchmark Course\nsubtitle: Run {index}\n", encoding="utf-8"
    )


def one_word_edit(path: Path):
    """An edit: a word put in the lesson's first bullet (a new word each time)."""

    def edit(index: int) -> None:
        text = path.read_text(encoding="utf-8")
        at = text.index("\n- ") + 3
        path.write_text(text[:at] + f"Edit{index} " + text[at:], encoding="utf-8")

    return edit


def make_course(folder: Path, count: int) -> None:
    """``count`` lessons made from the UNAMIR lesson (distinct titles), with a course.yaml."""
    folder.mkdir(parents=True)
    text = LESSON.read_text(encoding="utf-8")
    for index in range(1, count + 1):
        lesson = text.replace("title: ", f"title: Lesson {index} — ", 1)
        (folder / f"lesson-{index:02d}.md").write_text(lesson, encoding="utf-8")
    (folder / "course.yaml").write_text("title: Benchmark Course\n", encoding="utf-8")


def watch_latency(work: Path, runs: int) -> float:
    """Median seconds from saving the lesson to a new handout PDF, with ``coursepack watch``."""
    lesson = work / "watched.md"
    shutil.copyfile(LESSON, lesson)
    out = work / "watch-out"
    handout = out / "watched-handout.pdf"
    process = subprocess.Popen(
        [*COURSEPACK, "watch", str(lesson), "-o", str(out)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while not (out / "watched-slides.pptx").exists():
            if time.time() > deadline:
                raise SystemExit("watch did not build the lesson")
            time.sleep(0.05)
        time.sleep(1.0)
        latencies = []
        original = lesson.read_text(encoding="utf-8")
        for index in range(runs):
            before = handout.stat().st_mtime_ns
            start = time.perf_counter()
            lesson.write_text(original + f"\nA new line {index}.\n", encoding="utf-8")
            while handout.stat().st_mtime_ns == before:
                if time.perf_counter() - start > 30:
                    raise SystemExit("watch did not rebuild the handout")
                time.sleep(0.005)
            latencies.append(time.perf_counter() - start)
            time.sleep(2.5)  # let the key and deck finish before the next save
        return statistics.median(latencies)
    finally:
        process.terminate()
        process.wait(timeout=30)


def as_installed(folder: Path) -> str:
    """Run every measured command with Python's bytecode cache, as an installed coursepack
    runs: pip compiles a package's modules when it installs them (WeasyPrint's, pypandoc's),
    and Python writes the ``.pyc`` files of an editable install on its first start. A machine
    that sets ``PYTHONDONTWRITEBYTECODE`` (this project's shared one does) would otherwise
    compile our modules from source on every start, about 0.3 s of CPU, and not the
    baseline's. The cache goes to a folder of this run (``PYTHONPYCACHEPREFIX``), filled by
    the warm-up runs, not into the checkout (``--no-bytecode``: as the environment is)."""
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(folder)
    return "cached (as installed)"


def ratio(ours: Timing, theirs: Timing) -> str:
    """``cpu / wall`` ratios of two timings."""
    return f"{ours.cpu / theirs.cpu:.2f} / {ours.wall / theirs.wall:.2f}"


def figures(ours: Timing, theirs: Timing | None = None) -> str:
    """``cpu / wall`` seconds (and the other side's)."""
    text = f"{ours.cpu:.2f} / {ours.wall:.2f} s"
    if theirs is not None:
        text += f" vs {theirs.cpu:.2f} / {theirs.wall:.2f} s"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per timing (median)")
    parser.add_argument("--lessons", type=int, default=30, help="lessons in the course")
    parser.add_argument(
        "--edit-lessons",
        type=int,
        default=100,
        help="lessons in the course for the one-word-edit rebuild (0: skip)",
    )
    parser.add_argument("--no-watch", action="store_true", help="skip the watch latency")
    parser.add_argument("--no-jobs", action="store_true", help="skip the course --jobs runs")
    parser.add_argument("--no-formulas", action="store_true", help="skip the 200 formulas")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE as it is set (modules compiled on every start)",
    )
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    bytecode = "as this environment sets it"
    if not args.no_bytecode:
        bytecode = as_installed(Path(tempfile.mkdtemp(prefix="coursepack-bench-pyc-")))
    try:
        measure_all(args, rows, notes)
    finally:
        if not args.no_bytecode:
            shutil.rmtree(ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)
    print_table(args, rows, notes, bytecode)


def measure_all(args: argparse.Namespace, rows: list, notes: list) -> None:
    """Every measure ``args`` asks for, as table rows and notes."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline_script = work / "baseline.py"
        baseline_script.write_text(BASELINE_SCRIPT, encoding="utf-8")
        (work / "base").mkdir()

        def ours_full() -> Timing:
            cmd = [*COURSEPACK, "build", str(LESSON), "-o", str(work / "ours"), "--force", "-q"]
            return timed(cmd, ROOT)

        def baseline() -> Timing:
            cmd = [sys.executable, str(baseline_script), str(LESSON), str(work / "base")]
            return timed(cmd, ROOT)

        def ours_noop() -> Timing:
            return timed([*COURSEPACK, "build", str(LESSON), "-o", str(work / "ours"), "-q"], ROOT)

        ours_full()  # warm the disk cache and write the stamps
        baseline()
        fulls, bases, noops = interleaved(args.runs, ours_full, baseline, ours_noop)
        full, base, noop = median(fulls), median(bases), median(noops)
        rows.append(
            (
                "full build of unamir.md vs Pandoc baseline",
                figures(full, base),
                ratio(full, base),
                "CPU ≤ 1.0, wall ≤ 0.6",
            )
        )
        notes.append(
            f"full build / baseline, paired runs: CPU {spread(fulls, bases, 'cpu')}, "
            f"wall {spread(fulls, bases, 'wall')}"
        )
        rows.append(("no-op rebuild vs full build", figures(noop), ratio(noop, full), "≤ 0.15"))

        if not args.no_watch:
            latency = watch_latency(work, max(3, args.runs))
            rows.append(("watch: save → new handout PDF", f"{latency:.2f} s", "", "≤ 1 s"))

        n = args.lessons
        make_course(work / "course", n)
        if not args.no_jobs:
            small = max(2, n // 3)
            make_course(work / "course-small", small)
            small_time, _ = course_build(work / "course-small", work / "out-small", 1, False)
            one_time, one_mem = course_build(work / "course", work / "out-1", 1)
            two_time, two_mem = course_build(work / "course", work / "out-2", 2)
            per_small = small_time.cpu / small
            per_large = one_time.cpu / n
            rows.append(
                (
                    f"course: {small} vs {n} lessons, --jobs 1 (CPU s per lesson)",
                    f"{per_small:.2f} vs {per_large:.2f}",
                    f"{per_large / per_small:.2f}",
                    "≈ 1 (linear)",
                )
            )
            rows.append(
                (
                    f"course of {n}: --jobs 1 vs --jobs 2 (wall)",
                    f"{one_time.wall:.1f} s vs {two_time.wall:.1f} s",
                    f"{one_time.wall / two_time.wall:.2f}×",
                    "≥ 1.6×",
                )
            )
            rows.append(
                (
                    f"course of {n}: peak memory, --jobs 1 / --jobs 2",
                    f"{one_mem} / {two_mem}",
                    "",
                    "< 600 MB",
                )
            )
        else:
            course_build(work / "course", work / "out-1", 1, memory=False)
        # Only the packs are stale when course.yaml changes (lessons do not read it).
        edit = new_subtitle(work / "course" / "course.yaml")
        packs = rebuilds(edit, work / "course", work / "out-1", 1, args.runs // 2)
        rows.append(
            (
                f"course of {n}: write both packs (course.yaml edited), --jobs 1",
                figures(packs),
                "",
                "−30% vs before",
            )
        )

        if args.edit_lessons:
            make_course(work / "edit-course", args.edit_lessons)
            course_build(work / "edit-course", work / "edit-out", 2, memory=False)
            edit = one_word_edit(work / "edit-course" / "lesson-01.md")
            edited = rebuilds(edit, work / "edit-course", work / "edit-out", 2, args.runs // 3)
            rows.append(
                (
                    f"course of {args.edit_lessons}: one word of one lesson edited, rebuild",
                    figures(edited),
                    "",
                    "wall ≤ 20 s",
                )
            )

    if not args.no_formulas:
        from formulas import measure  # benchmarks/formulas.py, beside this file

        for measure_name, figs, rat in measure(args.runs):
            rows.append((measure_name, figs, rat, "≈ 1 (not noticeably slower)"))


def print_table(args: argparse.Namespace, rows: list, notes: list, bytecode: str) -> None:
    """The figures, as text or as a Markdown table."""
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    header = (
        f"Machine: {machine}; median of {args.runs} runs; {load} at the end; bytecode {bytecode}"
    )
    if args.markdown:
        print(header + ".\n")
        print("| measure | CPU / wall | ratio (CPU / wall) | target |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for note in notes:
            print(f"- {note}")
    else:
        print(header)
        for measure, figs, rat, target in rows:
            print(f"{measure:<62} {figs:<34} {rat:>12}  target {target}")
        for note in notes:
            print(note)


if __name__ == "__main__":
    main()
