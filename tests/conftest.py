"""Shared test helpers: paths to the sample lessons and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
UNAMIR = ROOT / "source" / "unamir.md"


def run_cli(*args: str, cwd: Path | None = None) -> Result:
    """Run the ``coursepack`` command in-process (``cwd`` as the current folder)."""
    from cli import main

    runner = CliRunner()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def run_coursepack(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``coursepack`` in a subprocess, exactly as a teacher would (``env``: extra
    environment variables)."""
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def start_coursepack(
    *args: str, cwd: Path, env: dict[str, str] | None = None, prelude: str = ""
) -> subprocess.Popen:
    """Start ``coursepack`` in its own process and return at once (to signal it, or to run
    two at a time); ``prelude`` is Python run first, to arrange a failure at a precise
    instant."""
    return subprocess.Popen(
        [sys.executable, "-c", prelude + "\nfrom cli import main; main()", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def libreoffice_convert(
    files: list[Path], outdir: Path, to: str = "pdf", env: dict[str, str] | None = None
) -> None:
    """Convert ``files`` with LibreOffice (``soffice --headless --convert-to``) into
    ``outdir``, in one run with a fresh profile of its own (two runs at once must not share
    one). The timeout only stops a LibreOffice that hangs; it measures nothing."""
    import uuid

    profile = Path("/tmp") / f"coursepack-lo-{uuid.uuid4().hex}"
    try:
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless"]
            + ["--convert-to", to, "--outdir", str(outdir), *map(str, files)],
            check=True,
            capture_output=True,
            timeout=1800,
            env=env,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def unamir_copy(tmp_path: Path) -> Path:
    """A private copy of the UNAMIR lesson in its own folder."""
    folder = tmp_path / "source"
    folder.mkdir()
    target = folder / "unamir.md"
    shutil.copyfile(UNAMIR, target)
    return target


def write_lesson(folder: Path, name: str, body: str, title: str = "A Test Lesson") -> Path:
    """Write a small lesson file with front matter and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"---\ntitle: {title}\n---\n\n{body}", encoding="utf-8")
    return path


def pdf_text(path: Path) -> str:
    """The extracted text of every page of a PDF (pypdf must open it)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def body_runs(deck: Any) -> Iterator[tuple[Any, Any]]:
    """(slide, run) for every text run on a python-pptx deck's slides, in text frames and
    table cells, leaving out the slide number, footer and date placeholders."""
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.is_placeholder and shape.placeholder_format.type in (13, 15, 16):
                continue  # slide number, footer, date
            frames = [shape.text_frame] if shape.has_text_frame else []
            if shape.has_table:
                frames = [c.text_frame for row in shape.table.rows for c in row.cells]
            for frame in frames:
                for paragraph in frame.paragraphs:
                    for run in paragraph.runs:
                        yield slide, run


def deck_texts(path: Path) -> list[str]:
    """Every text of every slide face, table and notes page (python-pptx must open the file)."""
    from pptx import Presentation

    texts = []
    for slide in Presentation(path).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts.extend(c.text for row in shape.table.rows for c in row.cells)
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
    return texts


def pdf_link_targets(path: Path) -> list[str]:
    """The URI of every link annotation of a PDF, page by page."""
    from pypdf import PdfReader

    return [
        annotation.get_object()["/A"]["/URI"]
        for page in PdfReader(path).pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]


def deck_link_targets(path: Path) -> list[str]:
    """The address of every hyperlinked text run of a deck's slides."""
    from pptx import Presentation

    return [
        run.hyperlink.address
        for slide in Presentation(path).slides
        for shape in slide.shapes
        if shape.has_text_frame
        for paragraph in shape.text_frame.paragraphs
        for run in paragraph.runs
        if run.hyperlink.address
    ]
