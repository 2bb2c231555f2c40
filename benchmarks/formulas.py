"""Benchmark: what 200 formulas cost a build (time and peak memory), side by side.

Run from the project root::

    python benchmarks/formulas.py            # --markdown for docs/benchmarks.md

Two lessons with the same text: one with 200 distinct formulas (``$…$`` and ``$$…$$``), one
with each formula replaced by its TeX source as plain text of the same length. Each is built
(handout, key and deck, ``--force``, the default jobs) in a fresh process several times, in
turn: the lesson without formulas, the formula lesson with an empty formula cache (its first
build) and with the cache its first build left (every later build). CPU seconds (the build
and its workers) and wall seconds, as in benchmarks/run.py (which reports the same rows);
the peak memory (RSS of the process tree) comes from runs of its own.

Not a test: CI times nothing. The figures live in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402
    COURSEPACK,
    ENV,
    ROOT,
    PeakMemory,
    Timing,
    figures,
    interleaved,
    median,
    ratio,
    timed,
)

FORMULAS = [
    r"x^{{{i}}} + {i}x - {j} = 0",
    r"\frac{{{i}}}{{{j}}} + \sqrt{{{i}}}",
    r"\sum_{{k=1}}^{{{i}}} k^2",
    r"\int_0^{{{i}}} t\,dt = \frac{{{i}^2}}{{2}}",
    r"\alpha_{{{i}}} \leq \beta^{{{j}}}",
]


def lesson(count: int, with_math: bool) -> str:
    """A lesson of ``count`` formulas in paragraphs of five, under topics of four paragraphs."""
    lines = ["---", "title: Formula benchmark", "---", "", "# Formulas", ""]
    for index in range(count):
        if index % 20 == 0:
            lines += [f"## Topic {index // 20 + 1}", ""]
        tex = FORMULAS[index % len(FORMULAS)].format(i=index + 2, j=index % 7 + 1)
        shown = f"${tex}$" if with_math else tex.replace("\\", "/").replace("_", "-")
        if index % 10 == 9:
            lines += [f"$${tex}$$" if with_math else shown, ""]
        else:
            lines += [f"Step {index + 1}: we know that {shown} holds here.", ""]
    return "\n".join(lines) + "\n"


def measure(runs: int, count: int = 200) -> list[tuple[str, str, str]]:
    """Rows (measure, CPU / wall figures, CPU / wall ratio) for ``count`` formulas: forced
    builds of the lesson without formulas, with them and an empty formula cache (a first
    build), and with them and the cache the first build left (every later build), run in
    turn so that drifting load hits all three alike."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "cache"
        paths = {}
        for name, with_math in (("without", False), ("with", True)):
            paths[name] = work / name / "lesson.md"
            paths[name].parent.mkdir()
            paths[name].write_text(lesson(count, with_math), encoding="utf-8")

        def build(name: str, cold: bool = False):
            def once() -> Timing:
                if cold:
                    shutil.rmtree(cache, ignore_errors=True)
                command = [*COURSEPACK, "build", str(paths[name]), "-o", str(work / f"out-{name}")]
                return timed([*command, "--force", "-q"], ROOT)

            return once

        previous = ENV.get("COURSEPACK_CACHE")
        ENV["COURSEPACK_CACHE"] = str(cache)
        try:
            build("without")()  # warm the disk cache of the machine
            build("with")()
            without, first, later = (
                median(timings)
                for timings in interleaved(
                    runs, build("without"), build("with", cold=True), build("with")
                )
            )
        finally:
            if previous is None:
                ENV.pop("COURSEPACK_CACHE", None)
            else:
                ENV["COURSEPACK_CACHE"] = previous
    return [
        (
            f"first build, {count} formulas vs the same text",
            figures(first, without),
            ratio(first, without),
        ),
        (
            f"later builds, {count} formulas vs the same text",
            figures(later, without),
            ratio(later, without),
        ),
    ]


def peak_memory(count: int = 200) -> tuple[float, float]:
    """Peak RSS (MB) of a forced build of the lesson without and with the formulas."""
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for with_math in (False, True):
            path = Path(tmp) / f"lesson-{with_math}.md"
            path.write_text(lesson(count, with_math), encoding="utf-8")
            command = [*COURSEPACK, "build", str(path), "-o", str(Path(tmp) / "out"), "--force"]
            process = subprocess.Popen([*command, "-q"], cwd=ROOT, env=ENV, stderr=subprocess.PIPE)
            with PeakMemory(process.pid) as memory:
                _, stderr = process.communicate()
            if process.returncode:
                raise SystemExit(stderr.decode())
            peaks.append(memory.peak_kib / 1024)
    return peaks[0], peaks[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = measure(args.runs, args.count)
    without, with_math = peak_memory(args.count)
    rows.append(
        (
            "peak memory, with vs without",
            f"{with_math:.0f} MB vs {without:.0f} MB RSS",
            f"{with_math / without:.2f}",
        )
    )
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    header = (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; median of {args.runs} runs; {load} at the end"
    )
    if args.markdown:
        print(header + ".\n")
        print("| measure | CPU / wall | ratio (CPU / wall) |\n|---|---|---|")
        for name, figs, rat in rows:
            print(f"| {name} | {figs} | {rat} |")
    else:
        print(header)
        for name, figs, rat in rows:
            print(f"{name:45} {figs:38} {rat}")


if __name__ == "__main__":
    main()
