"""Regenerating after edits: incremental, atomic and reproducible builds (issue 6)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_coursepack, write_lesson

from coursepack.outputs import STAMP_FILE

OUTPUTS = ("unamir-handout.pdf", "unamir-answer-key.pdf", "unamir-slides.pptx")


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every output file in ``folder`` (stamp file excluded)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != STAMP_FILE
    }


def statuses(output: str) -> dict[str, str]:
    """Parse the build summary lines ("   written  build/x.pdf") into {file name: status}."""
    found = {}
    for line in output.splitlines():
        for status in ("written", "up to date", "failed", "not rebuilt"):
            prefix = line.strip()
            if prefix.startswith(status + "  "):
                found[Path(prefix[len(status) :].strip()).name] = status
    return found


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with the UNAMIR lesson and an image lesson, built once."""
    project = tmp_path_factory.mktemp("project")
    source = project / "source"
    source.mkdir()
    shutil.copyfile(ROOT / "source" / "unamir.md", source / "unamir.md")
    from PIL import Image

    Image.new("RGB", (40, 20), (200, 30, 30)).save(source / "flag.png")
    write_lesson(
        source,
        "pictures.md",
        '# Part\n## Picture\n![A red flag](flag.png "A flag")\n',
        title="Pictures",
    )
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=project)
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    """A private copy of the built project (stamps included): each test edits its own, so no
    test depends on what another one did to a shared folder."""
    project = tmp_path / "project"
    shutil.copytree(built_once, project)
    return project


def test_build_writes_three_outputs_per_lesson(built: Path) -> None:
    names = set(digests(built / "build"))
    assert set(OUTPUTS) <= names
    assert {"pictures-handout.pdf", "pictures-answer-key.pdf", "pictures-slides.pptx"} <= names
    stamps = json.loads((built / "build" / STAMP_FILE).read_text())
    assert set(OUTPUTS) <= set(stamps)


def test_noop_rebuild_writes_nothing(built: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (built / "build").iterdir()}
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
    assert result.exit_code == 0, result.output
    assert set(statuses(result.output).values()) == {"up to date"}
    after = {p.name: p.stat().st_mtime_ns for p in (built / "build").iterdir()}
    assert before == after


def test_edits_rebuild_exactly_what_they_affect(built: Path) -> None:
    build = built / "build"
    # An edit to one lesson rebuilds that lesson's three outputs only.
    lesson = built / "source" / "pictures.md"
    lesson.write_text(lesson.read_text() + "- one more bullet\n", encoding="utf-8")
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
    changed = {n for n, s in statuses(result.output).items() if s == "written"}
    assert changed == {"pictures-handout.pdf", "pictures-answer-key.pdf", "pictures-slides.pptx"}

    # An edit to an image rebuilds the outputs of the lesson that uses it.
    from PIL import Image

    Image.new("RGB", (40, 20), (30, 30, 200)).save(built / "source" / "flag.png")
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
    changed = {n for n, s in statuses(result.output).items() if s == "written"}
    assert changed == {"pictures-handout.pdf", "pictures-answer-key.pdf", "pictures-slides.pptx"}

    # A CSS override in ./layouts rebuilds every handout and key, and no deck.
    layouts = built / "layouts"
    layouts.mkdir()
    css = ROOT / "layouts" / "handout.css"
    (layouts / "handout.css").write_text(
        css.read_text(encoding="utf-8") + "\nh1 { letter-spacing: 0.01em; }\n", encoding="utf-8"
    )
    before = digests(build)
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
    assert result.exit_code == 0, result.output
    changed = {n for n, s in statuses(result.output).items() if s == "written"}
    assert changed == {
        "unamir-handout.pdf",
        "unamir-answer-key.pdf",
        "pictures-handout.pdf",
        "pictures-answer-key.pdf",
    }
    after = digests(build)
    assert before["unamir-slides.pptx"] == after["unamir-slides.pptx"]
    assert before["unamir-handout.pdf"] != after["unamir-handout.pdf"]
    shutil.rmtree(layouts)

    # An option that changes the output (paper) rebuilds the PDFs, not the decks.
    result = run_cli("build", "source", "-o", "build", "--paper", "a4", "--jobs", "1", cwd=built)
    changed = {n for n, s in statuses(result.output).items() if s == "written"}
    assert all(name.endswith(".pdf") for name in changed) and len(changed) == 4


def test_force_rebuilds_everything(built: Path) -> None:
    result = run_cli("build", "source", "-o", "build", "--force", "--jobs", "1", cwd=built)
    assert result.exit_code == 0, result.output
    assert set(statuses(result.output).values()) == {"written"}


def test_deleted_or_edited_output_is_rebuilt(built: Path) -> None:
    build = built / "build"
    (build / "unamir-handout.pdf").unlink()
    (build / "unamir-slides.pptx").write_bytes(b"scribbled over")
    result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
    changed = {n for n, s in statuses(result.output).items() if s == "written"}
    assert changed == {"unamir-handout.pdf", "unamir-slides.pptx"}


def test_two_builds_are_byte_identical(tmp_path: Path, built: Path) -> None:
    other = tmp_path / "again"
    result = run_cli(
        "build", str(built / "source"), "-o", str(other), "--force", "--jobs", "1", cwd=built
    )
    assert result.exit_code == 0, result.output
    first = digests(built / "build")
    second = digests(other)
    for name in OUTPUTS:
        assert first[name] == second[name], name


def test_failed_build_leaves_outputs_untouched(built: Path) -> None:
    build = built / "build"
    before = digests(build)
    lesson = built / "source" / "pictures.md"
    good = lesson.read_text(encoding="utf-8")
    lesson.write_text(good + "\n::: question\n:::\n", encoding="utf-8")
    try:
        result = run_cli("build", "source", "-o", "build", "--jobs", "1", cwd=built)
        assert result.exit_code == 1
        assert "pictures.md:" in result.output and "error:" in result.output
        assert digests(build) == before
    finally:
        lesson.write_text(good, encoding="utf-8")


def test_only_limits_outputs(tmp_path: Path, unamir_copy: Path) -> None:
    result = run_cli("build", str(unamir_copy), "-o", "out", "--only", "handout", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(digests(tmp_path / "out")) == ["unamir-handout.pdf"]


def test_two_outputs_never_share_a_path(tmp_path: Path) -> None:
    write_lesson(tmp_path / "a", "same.md", "# S\n## T\n- x\n")
    write_lesson(tmp_path / "b", "same.md", "# S\n## T\n- y\n")
    result = run_cli("build", "a", "b", "-o", "out", cwd=tmp_path)
    assert result.exit_code == 1
    assert "also writes" in result.output
    assert not any((tmp_path / "out").glob("*.pdf"))


def test_output_folder_that_is_a_file(tmp_path: Path, unamir_copy: Path) -> None:
    (tmp_path / "out").write_text("in the way")
    result = run_cli("build", str(unamir_copy), "-o", "out", cwd=tmp_path)
    assert result.exit_code == 1
    assert "error: output folder out is a file" in result.output
    assert "Traceback" not in result.output


def processes_in(folder: Path) -> list[int]:
    """The processes whose current folder is ``folder`` (Linux /proc; elsewhere none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_killed_build_leaves_complete_files(tmp_path: Path, unamir_copy: Path) -> None:
    """Kill builds at many instants; every output is always a complete file."""
    project = unamir_copy.parent.parent
    first = run_coursepack("build", "source", "-o", "out", "--jobs", "1", cwd=project)
    assert first.returncode == 0, first.stderr
    lesson = unamir_copy.read_text(encoding="utf-8")
    for round_, delay in enumerate((0.3, 0.8, 1.3, 1.8, 2.5, 3.5)):
        unamir_copy.write_text(lesson + f"\nEdit {round_}.\n", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "build", "source"]
            + ["-o", "out", "--jobs", "2"],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name in OUTPUTS:
            data = (project / "out" / name).read_bytes()
            if name.endswith(".pdf"):
                assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF"), name
            else:
                with zipfile.ZipFile(project / "out" / name) as deck:
                    assert deck.testzip() is None
    # The killed builds' worker processes end too (they would wait for work forever).
    deadline = time.monotonic() + 10
    while processes_in(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_in(project)
    # The next build cleans up temporary files left by killed builds and completes.
    final = run_coursepack("build", "source", "-o", "out", cwd=project)
    assert final.returncode == 0, final.stderr
    assert not [p for p in (project / "out").iterdir() if p.name.endswith(".tmp")]


def test_partial_theme_override_changes_handout_and_deck(tmp_path: Path, unamir_copy: Path) -> None:
    """A ./layouts/theme.yaml with one colour is merged over the built-in theme, everywhere."""
    project = unamir_copy.parent.parent
    only = ("--only", "handout", "--only", "slides")
    plain = run_cli("build", "source", "-o", "plain", *only, cwd=project)
    assert plain.exit_code == 0, plain.output
    (project / "layouts").mkdir()
    (project / "layouts" / "theme.yaml").write_text('colours:\n  accent: "#8b1e1e"\n')
    red = run_cli("build", "source", "-o", "red", *only, cwd=project)
    assert red.exit_code == 0, red.output
    plain_pdf = (project / "plain" / "unamir-handout.pdf").read_bytes()
    red_pdf = (project / "red" / "unamir-handout.pdf").read_bytes()
    assert plain_pdf != red_pdf
    with zipfile.ZipFile(project / "red" / "unamir-slides.pptx") as deck:
        theme = deck.read("ppt/theme/theme1.xml").decode()
    assert '<a:accent1><a:srgbClr val="8B1E1E"/>' in theme
    (project / "layouts" / "theme.yaml").write_text("colours: [oops\n")
    broken = run_cli("build", "source", "-o", "red", "--only", "handout", "--force", cwd=project)
    assert broken.exit_code == 1
    assert "theme.yaml:" in broken.output and "Traceback" not in broken.output


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_builds_leave_no_temporary_files(tmp_path: Path, unamir_copy: Path, jobs: str) -> None:
    # WeasyPrint copies the fonts to a temporary folder and removes it when its font
    # configuration is collected, which a worker process that simply exits never does.
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = run_coursepack(
        "build", str(unamir_copy), "-o", str(tmp_path / "out"), "--jobs", jobs,
        cwd=tmp_path, env={"TMPDIR": str(tmp)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "out").glob("unamir-*"))) == 3
    assert list(tmp.iterdir()) == []


def test_noop_rebuild_compiles_no_template(built: Path) -> None:
    """Nothing to write, no layout to check: compiling the Jinja templates was about 40% of a
    no-op rebuild. An edit to a template makes what reads it outdated, and it is checked."""
    probe = (
        "import sys, jinja2\n"
        "compiled = []\n"
        "original = jinja2.Environment.compile\n"
        "def counting(self, *args, **kwargs):\n"
        "    compiled.append(1)\n"
        "    return original(self, *args, **kwargs)\n"
        "jinja2.Environment.compile = counting\n"
        "import atexit\n"
        "atexit.register(lambda: print('COMPILED', len(compiled), file=sys.stderr))\n"
        "from cli import main\n"
        "main()\n"
    )

    def build() -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe, "build", "source", "-o", "build", "-j", "1"],
            cwd=built,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert "COMPILED 0" in build()
    layouts = built / "layouts"
    layouts.mkdir()
    shutil.copyfile(ROOT / "layouts" / "blocks.html.j2", layouts / "blocks.html.j2")
    with (layouts / "blocks.html.j2").open("a", encoding="utf-8") as handle:
        handle.write("{% if %}\n")  # broken: the build must say so, not skip it
    result = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "build", "source", "-o", "build"],
        cwd=built,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert result.returncode == 1
    assert "blocks.html.j2:" in result.stderr + result.stdout


def test_noop_rebuild_imports_no_writer_library(built: Path) -> None:
    """Deciding that nothing changed must not load WeasyPrint or python-pptx."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', [m for m in ('weasyprint', 'pptx')"
        " if m in sys.modules], file=sys.stderr))\n"
        "from cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "build", "source", "-o", "build"],
        cwd=built,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "0 written" in result.stdout
    assert "LOADED []" in result.stderr
    # The probe itself works: a real build does load them.
    (built / "source" / "pictures.md").write_text(
        (built / "source" / "pictures.md").read_text() + "- changed\n", encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "build", "source", "-o", "build", "-j", "1"],
        cwd=built,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert "LOADED ['weasyprint', 'pptx']" in result.stderr


def test_a_broken_template_is_found_before_anything_is_written(
    tmp_path: Path, unamir_copy: Path
) -> None:
    bad = tmp_path / "bad.pptx"
    bad.write_text("not a presentation")
    result = run_cli(
        "build", str(unamir_copy), "-o", "out", "--pptx-template", str(bad), cwd=tmp_path
    )
    assert result.exit_code == 1
    assert "is not a PowerPoint .pptx or .potx file" in result.output
    assert not list((tmp_path / "out").glob("*.pdf"))
