"""Benchmark: what 200 formulas cost a build (time and peak memory), side by side.

Run from the project root::

    python benchmarks/formulas.py            # --markdown for docs/benchmarks.md

Two lessons with the same text: one with 200 distinct formulas (``$…$`` and ``$$…$$``), one
with each formula replaced by its TeX source as plain text of the same length. Each is built
(handout, key and deck, ``--force``, the default jobs) in a fresh process several times: the
formula lesson once with an empty formula cache (its first build) and once with the cache its
first build left (every later build); the peak memory (RSS of the process tree) comes from a
run of its own, as in benchmarks/run.py.

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
from run import COURSEPACK, ENV, ROOT, PeakMemory, median_of, timed  # noqa: E402

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


def build(path: Path, out: Path, runs: int, cache: Path, cold: bool) -> tuple[float, float]:
    """(median seconds, peak MB RSS) of forced builds of one lesson; ``cold``: each with an
    empty formula cache."""
    command = [*COURSEPACK, "build", str(path), "-o", str(out), "--force", "-q"]
    os.environ["COURSEPACK_CACHE"] = str(cache)  # ENV is os.environ's copy: set both
    ENV["COURSEPACK_CACHE"] = str(cache)

    def once() -> float:
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        return timed(command, ROOT)

    seconds = median_of(runs, once)
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stderr=subprocess.PIPE)
    with PeakMemory(process.pid) as memory:
        _, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(stderr.decode())
    return seconds, memory.peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {}
        cache = work / "cache"
        for name, with_math, cold in (
            ("without", False, True),
            ("first", True, True),
            ("later", True, False),
        ):
            path = work / name / "lesson.md"
            path.parent.mkdir()
            path.write_text(lesson(args.count, with_math), encoding="utf-8")
            results[name] = build(path, work / f"out-{name}", args.runs, cache, cold)
    (t0, m0), (t1, _), (t2, m2) = results["without"], results["first"], results["later"]
    n = args.count
    rows = [
        (f"first build, {n} formulas vs the same text", f"{t1:.2f} s vs {t0:.2f} s", t1 / t0),
        (f"later builds, {n} formulas vs the same text", f"{t2:.2f} s vs {t0:.2f} s", t2 / t0),
        ("peak memory, with vs without", f"{m2:.0f} MB vs {m0:.0f} MB RSS", m2 / m0),
    ]
    if args.markdown:
        print(f"Machine: {platform.machine()}, Python {platform.python_version()}; ")
        print(f"median of {args.runs} runs.\n")
        print("| measure | figures | ratio |\n|---|---|---|")
        for measure, figures, ratio in rows:
            print(f"| {measure} | {figures} | {ratio:.2f} |")
    else:
        for measure, figures, ratio in rows:
            print(f"{measure:45} {figures:30} {ratio:.2f}")


if __name__ == "__main__":
    main()
