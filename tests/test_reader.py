"""Reader tests: each ``tests/fixtures/reader/NAME.md`` must read into the model in ``NAME.json``.

The JSON holds the whole model as plain dicts (every node with its ``line``) and the reader's
diagnostics as ``"line: severity: message"``. After a deliberate change of the model, regenerate
with ``COURSEPACK_REGEN=1 pytest tests/test_reader.py`` and review the diff before committing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from coursepack.model import Cloze, Image, Lesson, Paragraph, Text
from coursepack.reader import read_lesson, read_text

FIXTURES = Path(__file__).parent / "fixtures" / "reader"
CASES = sorted(FIXTURES.glob("*.md"))


def to_plain(node: Any, folder: Path) -> Any:
    """The model as JSON-able data: dataclasses become dicts with their ``kind`` first."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        data: dict[str, Any] = {}
        kind = getattr(type(node), "kind", None)
        if kind:
            data["kind"] = kind
        for f in dataclasses.fields(node):
            if isinstance(node, Lesson) and f.name in ("path", "source_hash"):
                continue
            data[f.name] = to_plain(getattr(node, f.name), folder)
        return data
    if isinstance(node, (tuple, list)):
        return [to_plain(item, folder) for item in node]
    if isinstance(node, Path):
        try:
            return node.relative_to(folder.resolve()).as_posix()
        except ValueError:
            return str(node)
    return node


def describe(path: Path) -> dict[str, Any]:
    """Read ``path``; return the model and diagnostics as plain data."""
    lesson, diagnostics = read_lesson(path)
    return {
        "lesson": to_plain(lesson, path.parent),
        "diagnostics": [f"{d.line}: {d.severity}: {d.message}" for d in diagnostics],
    }


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture(case: Path) -> None:
    expected_file = case.with_suffix(".json")
    actual = describe(case)
    if os.environ.get("COURSEPACK_REGEN"):
        text = json.dumps(actual, indent=1, ensure_ascii=False) + "\n"
        expected_file.write_text(text, encoding="utf-8")
    assert expected_file.exists(), f"missing {expected_file.name} (run with COURSEPACK_REGEN=1)"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert actual == expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_crlf_and_bom_keep_lines(case: Path, tmp_path: Path) -> None:
    """Windows line endings and a UTF-8 BOM change nothing, lines included."""
    text = case.read_text(encoding="utf-8-sig")
    copy = tmp_path / case.name
    copy.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    for extra in case.parent.glob(case.stem + ".*"):
        if extra.suffix not in (".md", ".json"):
            (tmp_path / extra.name).write_bytes(extra.read_bytes())
    actual = describe(copy)
    expected = describe(case)
    # Image paths resolve against the folder, which differs; compare them relative.
    assert json.dumps(actual) == json.dumps(expected)


def test_source_hash_and_path(tmp_path: Path) -> None:
    data = b"---\ntitle: Hash\n---\n\ntext\n"
    path = tmp_path / "hash.md"
    path.write_bytes(data)
    lesson, diagnostics = read_lesson(path)
    assert diagnostics == []
    assert lesson is not None
    assert lesson.source_hash == hashlib.sha256(data).hexdigest()
    assert lesson.path == path
    assert lesson.stem == "hash"


def test_images_are_collected_resolved(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Images\n---\n\n![a](one.png)\n\n# S\n\n## T\n\n::: question\n"
        "![b](sub/two.png)\n\nWhich?\n\n- [x] one\n:::\n\n![c](one.png)\n\n![d](https://x/y.png)\n"
    )
    lesson, _ = read_text(text, tmp_path / "lesson.md")
    assert lesson is not None
    assert lesson.images == (
        (tmp_path / "one.png").resolve(),
        (tmp_path / "sub" / "two.png").resolve(),
    )


def test_lone_cr_line_endings_keep_lines(tmp_path: Path) -> None:
    lesson, diagnostics = read_text("---\rtitle: Old Mac\r---\r\r# Section\r", tmp_path / "a.md")
    assert diagnostics == []
    assert lesson is not None
    assert lesson.sections[0].line == 5


def test_read_text_equals_read_lesson(tmp_path: Path) -> None:
    case = FIXTURES / "open-question.md"
    from_text, _ = read_text(case.read_text(encoding="utf-8"), case)
    from_file, _ = read_lesson(case)
    assert from_text == from_file


def test_raw_html_is_literal_text() -> None:
    lesson, _ = read_text("---\ntitle: t\n---\n\n<b>x</b> {{ y }}\n", Path("x.md"))
    assert lesson is not None
    assert lesson.intro == (Paragraph((Text("<b>x</b> {{ y }}", 5),), 5),)


def test_cloze_inside_emphasis_and_heading() -> None:
    lesson, diagnostics = read_text(
        "---\ntitle: t\n---\n# The [[UN]]\n\n## *[[1945]]*\n", Path("x.md")
    )
    assert diagnostics == []
    assert lesson is not None
    assert lesson.sections[0].title[1] == Cloze("UN", 4)
    assert lesson.sections[0].topics[0].title[0].children == (Cloze("1945", 6),)


def test_image_block_fields() -> None:
    lesson, _ = read_text(
        "---\ntitle: t\n---\n\n![Alt **text**](a%20b.png 'Cap')\n", Path("d/x.md")
    )
    assert lesson is not None
    image = lesson.intro[0]
    assert isinstance(image, Image)
    assert (image.src, image.alt, image.caption, image.line) == ("a b.png", "Alt text", "Cap", 5)
    assert image.path == Path("d/a b.png").resolve()


def test_no_front_matter_is_still_a_lesson() -> None:
    lesson, diagnostics = read_text("# Section\n\n## Topic\n", Path("x.md"))
    assert [(d.line, d.message[:13]) for d in diagnostics] == [(1, "missing title")]
    assert lesson is not None
    assert lesson.meta.title == ""
    assert lesson.sections[0].line == 1
    assert lesson.sections[0].topics[0].line == 3


def test_crlf_fixture_really_has_crlf_and_bom() -> None:
    """Guard against an editor or git setting normalising the Windows fixture."""
    data = (FIXTURES / "crlf-bom.md").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert data.count(b"\r\n") == data.count(b"\n")
