"""The tagged PDFs pass the machine-checkable rules of PDF/UA-1 (the ``pdfua`` checker).

The sample lesson and the language fixtures (Spanish with CJK, chemistry, Greek, Arabic,
Hebrew), handout and answer key: no finding of any severity. What the checker covers and
what it cannot decide (reading order, alt text that makes sense) is in docs/lesson-format.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, UNAMIR, run_cli

pdfua = pytest.importorskip("pdfua", reason="pdfua is in the test extra")

INTL = ROOT / "tests" / "fixtures" / "intl"
LESSONS = [UNAMIR, *(INTL / f"{name}.md" for name in
                     ("spanish-food", "chemistry", "greek", "arabic", "hebrew"))]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdfua")
    result = run_cli("build", *map(str, LESSONS), "-o", str(out), "--only", "handout",
                     "--only", "key")  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
@pytest.mark.parametrize("kind", ["handout", "answer-key"])
def test_pdf_ua_rules(built: Path, lesson: Path, kind: str) -> None:
    report = pdfua.validate(str(built / f"{lesson.stem}-{kind}.pdf"))
    findings = [(f.rule_id, f.severity.name, f.message) for f in report.findings]
    assert findings == []
    assert report.exit_code == 0


def test_the_checker_finds_what_it_should(built: Path, tmp_path: Path) -> None:
    """The check is not vacuous: the same key without its XMP metadata (where the PDF
    declares PDF/UA) is reported."""
    import pikepdf

    with pikepdf.open(built / "unamir-answer-key.pdf") as pdf:
        del pdf.Root.Metadata
        pdf.save(tmp_path / "no-xmp.pdf")
    report = pdfua.validate(str(tmp_path / "no-xmp.pdf"))
    assert "UA-28-004" in {f.rule_id for f in report.findings}
