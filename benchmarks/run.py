"""Benchmark coursepack against a Pandoc baseline, side by side, on the same content.

Run from the project root after ``pip install -e '.[bench]'``::

    python benchmarks/run.py            # prints a table; --markdown for docs/benchmarks.md

Measures (each a median of several runs, each run a fresh process, as a teacher runs it):

1. a full build of ``source/unamir.md`` (handout, key, deck) against the baseline: pandoc
   Markdown → PPTX, Markdown → HTML, then WeasyPrint HTML → PDF twice (handout and key);
   target: ours ≤ 0.6 × baseline;
2. a no-op rebuild against a full build (target ≤ 0.3);
3. watch latency: from saving the lesson to a new handout PDF (target ≤ 1 s);
4. a course of 30 generated lessons with ``--jobs 1`` and ``--jobs 2``: time and peak memory
   (targets: linear in lessons, ``--jobs 2`` ≥ 1.6× faster, peak memory < 600 MB).

Not a test: CI times nothing. The figures live in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def timed(command: list[str], cwd: Path) -> float:
    """Wall-clock seconds of one command (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(runs: int, action) -> float:
    """The median of ``runs`` timings of ``action()``."""
    return statistics.median(action() for _ in range(runs))


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


def course_build(folder: Path, out: Path, jobs: int, memory: bool = True) -> tuple[float, str]:
    """Seconds of a forced build with ``jobs`` workers, then (``memory``) the peak memory (RSS
    and PSS sums) of a second one. Two runs: sampling /proc (smaps_rollup walks the page tables of a
    big process every 20 ms) slows the build it watches by up to a third."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--lessons", type=int, default=30, help="lessons in the course")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline_script = work / "baseline.py"
        baseline_script.write_text(BASELINE_SCRIPT, encoding="utf-8")
        (work / "base").mkdir()

        def ours_full() -> float:
            cmd = [*COURSEPACK, "build", str(LESSON), "-o", str(work / "ours"), "--force", "-q"]
            return timed(cmd, ROOT)

        def baseline() -> float:
            cmd = [sys.executable, str(baseline_script), str(LESSON), str(work / "base")]
            return timed(cmd, ROOT)

        def ours_noop() -> float:
            return timed([*COURSEPACK, "build", str(LESSON), "-o", str(work / "ours"), "-q"], ROOT)

        ours_full()  # warm the disk cache and write the stamps
        baseline()
        full = median_of(args.runs, ours_full)
        base = median_of(args.runs, baseline)
        noop = median_of(args.runs, ours_noop)
        rows.append(
            (
                "full build of unamir.md vs Pandoc baseline",
                f"{full:.2f} s vs {base:.2f} s",
                f"{full / base:.2f}",
                "≤ 0.6",
            )
        )
        rows.append(("no-op rebuild vs full build", f"{noop:.2f} s", f"{noop / full:.2f}", "≤ 0.3"))

        latency = watch_latency(work, max(3, args.runs))
        rows.append(("watch: save → new handout PDF", f"{latency:.2f} s", "", "≤ 1 s"))

        small = max(2, args.lessons // 3)
        make_course(work / "course-small", small)
        make_course(work / "course", args.lessons)
        small_time, _ = course_build(work / "course-small", work / "out-small", 1, memory=False)
        one_time, one_mem = course_build(work / "course", work / "out-1", 1)
        two_time, two_mem = course_build(work / "course", work / "out-2", 2)
        per_small = small_time / small
        per_large = one_time / args.lessons
        rows.append(
            (
                f"course: {small} vs {args.lessons} lessons, --jobs 1 (s per lesson)",
                f"{per_small:.2f} vs {per_large:.2f}",
                f"{per_large / per_small:.2f}",
                "≈ 1 (linear)",
            )
        )
        rows.append(
            (
                f"course of {args.lessons}: --jobs 1 vs --jobs 2",
                f"{one_time:.1f} s vs {two_time:.1f} s",
                f"{one_time / two_time:.2f}×",
                "≥ 1.6×",
            )
        )
        rows.append(
            (
                f"course of {args.lessons}: peak memory, --jobs 1 / --jobs 2",
                f"{one_mem} / {two_mem}",
                "",
                "< 600 MB",
            )
        )

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if args.markdown:
        print(f"Machine: {machine}; median of {args.runs} runs.\n")
        print("| measure | figures | ratio | target |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        print(f"Machine: {machine}; median of {args.runs} runs")
        for measure, figures, ratio, target in rows:
            print(f"{measure:<58} {figures:<24} {ratio:>7}  target {target}")


if __name__ == "__main__":
    main()
