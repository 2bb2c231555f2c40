"""Print the SHA-256 of every output of the sample lessons, to prove a refactor byte-identical.

Builds ``source/unamir.md``, every lesson of the fixture folders in :data:`FOLDERS`, and the
course fixture (with its copy of ``unamir.md``) into a fresh temporary folder, then prints
``digest  output`` lines. Run it before and after a change that must not change any output,
and compare::

    python scripts/output_digests.py > /tmp/before.txt
    # ... change the code ...
    python scripts/output_digests.py | diff /tmp/before.txt - && echo identical

Outputs do not depend on the folder they are built in (tests/test_trust.py shows it), so each
run takes its own temporary folder and two people can run the script at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The fixture folders whose lessons are built one by one (every script the fonts cover, the
#: subjects' formulas and code, test versions).
FOLDERS = (
    "tests/fixtures/lessons",
    "tests/fixtures/deck",
    "tests/fixtures/intl",
    "tests/fixtures/subjects",
    "tests/fixtures/versions",
)


def _build(paths: list[str], out: Path, cwd: Path) -> None:
    command = [sys.executable, "-c", "from cli import main; main()", "build", *paths]
    command += ["-o", str(out), "--force", "-q", "-j", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"build of {paths} failed:\n{result.stderr}")


def main() -> None:
    """Build the samples into a temporary folder and print one digest line per output."""
    with tempfile.TemporaryDirectory(prefix="coursepack-digests-") as work:
        _print_digests(Path(work))


def _print_digests(work: Path) -> None:
    """Build every sample under ``work`` and print ``digest  output`` lines."""
    lessons = ["source/unamir.md"]
    for folder in FOLDERS:
        lessons += sorted(str(p.relative_to(ROOT)) for p in (ROOT / folder).glob("*.md"))
    for lesson in lessons:
        _build([lesson], work / "out" / Path(lesson).parent, ROOT)
    course = work / "course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", course)
    shutil.copyfile(ROOT / "source" / "unamir.md", course / "unamir.md")
    _build(["."], work / "out" / "course", course)
    for path in sorted((work / "out").rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            print(f"{digest}  {path.relative_to(work / 'out')}")


if __name__ == "__main__":
    main()
