"""Print the SHA-256 of every output of the sample lessons, to prove a refactor byte-identical.

Builds ``source/unamir.md``, every lesson under ``tests/fixtures/lessons`` and
``tests/fixtures/deck``, and the course fixture (with its copy of ``unamir.md``) into one
fixed folder, then prints ``digest  output`` lines. Run it before and after a change that must
not change any output, and compare::

    python scripts/output_digests.py > /tmp/before.txt
    # ... change the code ...
    python scripts/output_digests.py | diff /tmp/before.txt - && echo identical

The work folder is fixed (not random) because a stamp or a PDF could name it.
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
WORK = Path(tempfile.gettempdir()) / "coursepack-output-digests"


def _build(paths: list[str], out: Path, cwd: Path) -> None:
    command = [sys.executable, "-c", "from cli import main; main()", "build", *paths]
    command += ["-o", str(out), "--force", "-q", "-j", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"build of {paths} failed:\n{result.stderr}")


def main() -> None:
    """Build the samples into WORK and print one digest line per output."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    lessons = ["source/unamir.md"]
    for folder in ("tests/fixtures/lessons", "tests/fixtures/deck"):
        lessons += sorted(str(p.relative_to(ROOT)) for p in (ROOT / folder).glob("*.md"))
    for lesson in lessons:
        _build([lesson], WORK / "out" / Path(lesson).parent, ROOT)
    course = WORK / "course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", course)
    shutil.copyfile(ROOT / "source" / "unamir.md", course / "unamir.md")
    _build(["."], WORK / "out" / "course", course)
    for path in sorted((WORK / "out").rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            print(f"{digest}  {path.relative_to(WORK / 'out')}")


if __name__ == "__main__":
    main()
