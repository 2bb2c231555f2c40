"""Trust (issue 12): shared lesson folders and templates run no code and read nothing outside,
every user mistake is ``path:line`` and exit 1, images print as they are or fail.

Each test reproduces one point of the issue as a teacher (or a careful tester) would meet it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_coursepack, start_coursepack, write_lesson

DECK = ROOT / "layouts" / "deck.pptx"

LESSON_BODY = "# Part\n## Topic\n- A fact.\n"


# --------------------------------------------------------------------------- templates


def rewrite_package(source: Path, target: Path, change) -> Path:
    """Copy the package ``source`` to ``target`` with ``change(members)`` applied to its
    members (a dict name → bytes; the function edits it in place)."""
    with zipfile.ZipFile(source) as src:
        members = {name: src.read(name) for name in src.namelist()}
    change(members)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, body in members.items():
            dst.writestr(name, body)
    return target


def build_with_template(lesson: Path, template: Path, cwd: Path, out: str, *args: str):
    """``coursepack build LESSON -o OUT ... --pptx-template TEMPLATE``."""
    return run_cli(
        "build", str(lesson), "-o", out, *args, "--pptx-template", str(template), cwd=cwd
    )


def _macro_enabled(members: dict[str, bytes]) -> None:
    types = (
        members["[Content_Types].xml"]
        .decode()
        .replace(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
            "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
        )
    )
    types = types.replace(
        '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.'
        'presentationml.printerSettings"/>',
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        '<Override PartName="/ppt/printerSettings/printerSettings1.bin" ContentType="application/'
        'vnd.openxmlformats-officedocument.presentationml.printerSettings"/>',
    )
    members["[Content_Types].xml"] = types.encode()
    rels = members["ppt/_rels/presentation.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/relationships/'
        'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    members["ppt/_rels/presentation.xml.rels"] = rels.encode()
    members["ppt/vbaProject.bin"] = b"\xd0\xcf\x11\xe0VBA-PROJECT-MARKER" + b"\0" * 512


def test_a_macro_enabled_template_gives_a_deck_without_macros(tmp_path: Path) -> None:
    template = rewrite_package(DECK, tmp_path / "school.potm", _macro_enabled)
    with zipfile.ZipFile(template) as package:
        assert "ppt/vbaProject.bin" in package.namelist()  # the fixture has macros
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    result = build_with_template(lesson, template, tmp_path, "out", "--only", "slides", "-j", "1")
    assert result.exit_code == 0, result.output
    deck = tmp_path / "out" / "l-slides.pptx"
    with zipfile.ZipFile(deck) as package:
        names = package.namelist()
        types = package.read("[Content_Types].xml")
        rels = package.read("ppt/_rels/presentation.xml.rels")
    assert not [n for n in names if "vba" in n.lower()], names
    assert b"vbaProject" not in types and b"macroEnabled" not in types
    assert b"vbaProject" not in rels
    assert b"VBA-PROJECT-MARKER" not in deck.read_bytes()
    from pptx import Presentation

    assert len(Presentation(str(deck)).slides) >= 2


def test_check_warns_that_a_front_matter_templates_macros_are_dropped(tmp_path: Path) -> None:
    rewrite_package(DECK, tmp_path / "school.pptm", _macro_enabled)
    lesson = tmp_path / "l.md"
    lesson.write_text(f"---\ntitle: T\npptx-template: school.pptm\n---\n\n{LESSON_BODY}", "utf-8")
    result = run_cli("check", "l.md", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "l.md:3: warning: pptx-template 'school.pptm': its macros" in result.stderr


def _template_lesson(tmp_path: Path, template_name: str) -> Path:
    lesson = tmp_path / "l.md"
    lesson.write_text(
        f"---\ntitle: T\npptx-template: {template_name}\n---\n\n{LESSON_BODY}", "utf-8"
    )
    return lesson


def _drop_theme(members: dict[str, bytes]) -> None:
    del members["ppt/theme/theme1.xml"]
    rels = members["ppt/slideMasters/_rels/slideMaster1.xml.rels"].decode()
    start = rels.rindex("<Relationship ", 0, rels.index("relationships/theme"))
    end = rels.index("/>", start) + 2
    members["ppt/slideMasters/_rels/slideMaster1.xml.rels"] = (rels[:start] + rels[end:]).encode()


def _broken_theme(members: dict[str, bytes]) -> None:
    members["ppt/theme/theme1.xml"] = members["ppt/theme/theme1.xml"][:200]


def _entity_theme(members: dict[str, bytes]) -> None:
    theme = members["ppt/theme/theme1.xml"].decode()
    head, rest = theme.split("?>", 1)
    laughs = '<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    laughs += '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY f SYSTEM "file:///etc/passwd">'
    members["ppt/theme/theme1.xml"] = (
        head
        + "?>"
        + f"<!DOCTYPE a:theme [{laughs}]>"
        + rest.replace('typeface="', 'typeface="&c;&f;', 1)
    ).encode()


def _no_master(members: dict[str, bytes]) -> None:
    rels = members["ppt/_rels/presentation.xml.rels"].decode()
    start = rels.rindex("<Relationship ", 0, rels.index("relationships/slideMaster"))
    end = rels.index("/>", start) + 2
    members["ppt/_rels/presentation.xml.rels"] = (rels[:start] + rels[end:]).encode()


def _huge_member(members: dict[str, bytes]) -> None:
    members["ppt/media/huge.bin"] = b"\0" * (100 * 1024 * 1024)


BROKEN_TEMPLATES = {
    "no theme part": (_drop_theme, "has no theme"),
    "broken theme XML": (_broken_theme, "is not valid XML"),
    "entities in the theme": (_entity_theme, "declares a DTD"),
    "no slide master": (_no_master, "has no slide master"),
    "a member of 100 MB": (_huge_member, "unpacks to 100 MB"),
}


@pytest.mark.parametrize("case", list(BROKEN_TEMPLATES))
def test_a_broken_template_is_a_path_line_error_in_check_and_build(
    tmp_path: Path, case: str
) -> None:
    change, reason = BROKEN_TEMPLATES[case]
    template = rewrite_package(DECK, tmp_path / "school.pptx", change)
    _template_lesson(tmp_path, "school.pptx")
    checked = run_cli("check", "l.md", cwd=tmp_path)
    assert checked.exit_code == 1, checked.output
    assert "Traceback" not in checked.output and "internal error" not in checked.output
    assert checked.stderr.startswith("l.md:3: error: pptx-template 'school.pptx' cannot be used")
    assert reason in checked.stderr
    built = run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert built.exit_code == 1 and "internal error" not in built.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    plain = write_lesson(tmp_path / "other", "l.md", LESSON_BODY)
    option = build_with_template(
        plain, template, tmp_path / "..", "out2", "-j", "1", "--only", "slides"
    )
    assert option.exit_code == 1, option.output
    assert "internal error" not in option.output
    assert f"--pptx-template: {template} cannot be used" in option.stderr
    assert reason in option.stderr


def test_not_a_powerpoint_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "school.pptx").write_bytes(b"PK\x03\x04 this is not a zip")
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    result = build_with_template(
        lesson, tmp_path / "school.pptx", tmp_path, "out", "--only", "slides"
    )
    assert result.exit_code == 1
    assert "school.pptx" in result.stderr and " at 0x" not in result.stderr


def test_the_built_in_template_is_passed_through_unchanged() -> None:
    from coursepack.templates import read_template

    assert read_template(DECK).data == DECK.read_bytes()
    assert read_template(DECK).notes == ()


def test_a_member_that_lies_about_its_size_is_not_read_whole(tmp_path: Path) -> None:
    """The declared size bounds what is unpacked (zipfile stops there), and a lie is a clear
    problem, not a crash."""
    from coursepack.templates import TemplateProblem, clean_package

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", b"<Types/>")
        package.writestr("big.bin", b"\0" * 100_000)
    raw = bytearray(data.getvalue())
    # Patch the central directory's uncompressed size of big.bin to 10 bytes.
    at = raw.rindex(b"PK\x01\x02")
    raw[at + 24 : at + 28] = (10).to_bytes(4, "little")
    with pytest.raises(TemplateProblem, match="cannot be unpacked|not a zip"):
        clean_package(bytes(raw))
    shutil.rmtree(tmp_path, ignore_errors=True)


# --------------------------------------------------------------------------- exit 1, not 3


def _no_internal_error(result) -> None:
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert result.exit_code != 3, result.output


def _course(tmp_path: Path, yaml_text: str) -> Path:
    folder = tmp_path / "course"
    write_lesson(folder, "a.md", LESSON_BODY)
    (folder / "course.yaml").write_text(yaml_text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "title: C\nterm: 2027-02-30\n",
            "course.yaml:2: error: term 2027-02-30 is not a real date",
        ),
        (f"title: C\npaper: {'9' * 5000}\n", "course.yaml:2: error: paper must be letter or a4"),
        ("title: C\nterm: !!int " + "9" * 5000 + "\n", "course.yaml:2: error: invalid value"),
    ],
    ids=["impossible date", "thousands of digits", "explicit int of thousands of digits"],
)
def test_course_yaml_values_are_path_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    folder = _course(tmp_path, text)
    result = run_cli("check", str(folder), cwd=tmp_path)
    _no_internal_error(result)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"course/{expected}"), result.stderr
    assert len(result.stderr) < 2000


def test_course_yaml_thousands_of_digits_as_text_are_fine(tmp_path: Path) -> None:
    folder = _course(tmp_path, f"title: C\nterm: {'9' * 5000}\n")
    result = run_cli("check", str(folder), cwd=tmp_path)
    assert result.exit_code == 0, result.output


def test_a_yaml_alias_bomb_is_one_short_error(tmp_path: Path) -> None:
    """400 bytes of nested aliases expand to 9**9 values: refused at the line, not expanded
    (today: 312 MB of error messages)."""
    text = "title: C\na: &a [x,x,x,x,x,x,x,x,x]\n"
    for level in range(1, 9):
        name, previous = chr(97 + level), chr(96 + level)
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    text += "lessons: *i\n"
    assert len(text) < 400
    folder = _course(tmp_path, text)
    result = run_cli("check", str(folder), cwd=tmp_path)
    _no_internal_error(result)
    assert result.exit_code == 1
    assert "course/course.yaml:2: error: this value is used again through a YAML alias" in (
        result.stderr
    )
    assert len(result.output) < 2000


@pytest.mark.parametrize("date", ["2027-02-30", "2027-13-01", "2027-00-10"])
def test_an_impossible_front_matter_date_is_an_error_at_its_line(tmp_path: Path, date: str):
    lesson = tmp_path / "l.md"
    lesson.write_text(f"---\ntitle: T\ndate: {date}\n---\n\n{LESSON_BODY}", encoding="utf-8")
    result = run_cli("check", "l.md", cwd=tmp_path)
    _no_internal_error(result)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"l.md:3: error: date {date} is not a real date")


def test_free_text_dates_stay_fine(tmp_path: Path) -> None:
    lesson = tmp_path / "l.md"
    lesson.write_text(f"---\ntitle: T\ndate: Spring 2027\n---\n\n{LESSON_BODY}", encoding="utf-8")
    assert run_cli("check", "l.md", cwd=tmp_path).exit_code == 0


def test_points_of_thousands_of_digits_is_an_error_at_its_line(tmp_path: Path) -> None:
    body = LESSON_BODY + f"\n::: question points={'9' * 5000}\nWhy?\n- [x] a\n- [ ] b\n:::\n"
    write_lesson(tmp_path, "l.md", body)
    result = run_cli("check", "l.md", cwd=tmp_path)
    _no_internal_error(result)
    assert result.exit_code == 1
    assert result.stderr.startswith("l.md:9: error: points=999")
    assert len(result.stderr) < 1200


def test_a_nul_in_an_image_name_is_an_error_and_the_other_lessons_build(tmp_path: Path) -> None:
    folder = tmp_path / "source"
    write_lesson(folder, "bad.md", LESSON_BODY + "\n![A map](map%00.png)\n")
    write_lesson(folder, "good.md", LESSON_BODY)
    checked = run_cli("check", "source", cwd=tmp_path)
    _no_internal_error(checked)
    assert "source/bad.md:9: error: image 'map\\x00.png' has a NUL" in checked.stderr
    built = run_cli("build", "source", "-o", "out", "-j", "1", cwd=tmp_path)
    _no_internal_error(built)
    assert built.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").glob("*.p*")) == [
        "good-answer-key.pdf",
        "good-handout.pdf",
        "good-slides.pptx",
    ]


def test_a_newline_in_an_image_name_keeps_the_message_on_one_line(tmp_path: Path) -> None:
    write_lesson(tmp_path, "l.md", LESSON_BODY + "\n![A map](map%0Ax.png)\n")
    result = run_cli("check", "l.md", cwd=tmp_path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("l.md:9: error: image 'map\\nx.png'"), lines


def test_a_lesson_linked_to_itself_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "self.md").symlink_to("self.md")
    for command in ("check", "build"):
        result = (
            run_cli(command, "self.md", "-o", "out", cwd=tmp_path)
            if command == "build"
            else (run_cli(command, "self.md", cwd=tmp_path))
        )
        _no_internal_error(result)
        assert result.exit_code == 1
        assert "self.md: error: a link that leads to no file (or back to itself)" in result.stderr


def test_a_stamp_file_nested_too_deep_is_treated_as_no_stamps(tmp_path: Path) -> None:
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".coursepack-stamps.json").write_text("[" * 100_000 + "]" * 100_000)
    result = run_cli("build", str(lesson), "-o", "out", "--only", "handout", cwd=tmp_path)
    _no_internal_error(result)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "l-handout.pdf").is_file()


def test_a_failing_option_creates_no_output_folder(tmp_path: Path) -> None:
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    result = run_cli(
        "build", str(lesson), "-o", "newdir", "--pptx-template", "nope.pptx", cwd=tmp_path
    )
    assert result.exit_code == 1
    assert "--pptx-template: file not found: nope.pptx" in result.stderr
    assert not (tmp_path / "newdir").exists()


# --------------------------------------------------------------------------- the student's file

TEACHER_ONLY = """
# Part

## Topic

- Fill [[CLOZEANSWERMARK]] here.

::: teacher
Teacher text TEACHERTEXTMARK with a [link TEACHERLINKMARK](https://example.com/TEACHERURLMARK)
and **TEACHERBOLDMARK** and `TEACHERCODEMARK`.

![TEACHERALTMARK picture](teacherpicture.png "TEACHERCAPTIONMARK")

- TEACHERBULLETMARK with <https://example.com/TEACHERAUTOLINKMARK>
:::

::: notes
NOTESTEXTMARK [notes link](https://example.com/NOTESURLMARK)
:::

::: slides
SLIDESTEXTMARK [slides link](https://example.com/SLIDESURLMARK)
:::

::: question points=2
Why?

Answer: MODELANSWERMARK, see [the source](https://example.com/ANSWERURLMARK)
:::
"""
TEACHER_MARKERS = [
    "CLOZEANSWERMARK",
    "TEACHERTEXTMARK",
    "TEACHERLINKMARK",
    "TEACHERURLMARK",
    "TEACHERBOLDMARK",
    "TEACHERCODEMARK",
    "TEACHERALTMARK",
    "teacherpicture",
    "TEACHERCAPTIONMARK",
    "TEACHERBULLETMARK",
    "TEACHERAUTOLINKMARK",
    "NOTESTEXTMARK",
    "NOTESURLMARK",
    "SLIDESTEXTMARK",
    "SLIDESURLMARK",
    "MODELANSWERMARK",
    "ANSWERURLMARK",
]


def _uncompressed(pdf: Path) -> bytes:
    """The PDF as ``qpdf --qdf`` writes it: every stream uncompressed, no object streams."""
    import subprocess

    out = pdf.with_suffix(".qdf.pdf")
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(pdf), str(out)], check=True)
    return out.read_bytes()


def _found(data: bytes, marker: str) -> bool:
    """``marker`` in the bytes in any form a PDF string takes: literal, UTF-16, hex."""
    utf16 = marker.encode("utf-16-be")
    forms = (marker.encode(), utf16, utf16.hex().encode(), utf16.hex().upper().encode())
    return any(form in data for form in forms) or marker.encode().hex().encode() in data.lower()


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="needs qpdf")
def test_the_handout_holds_no_byte_of_teacher_only_content(tmp_path: Path) -> None:
    """A marker in every teacher-only, notes-only and answer construct: none is in the student
    handout (or its course pack) in any form (text, link, alt text, tags, bookmarks,
    metadata, picture), while the key has the note's link and alt text (so the search works)."""
    import subprocess

    folder = tmp_path / "source"
    write_lesson(folder, "l.md", TEACHER_ONLY, title="Leak test")
    shutil.copyfile(
        ROOT / "tests" / "fixtures" / "lessons" / "map.png", folder / "teacherpicture.png"
    )
    (folder / "course.yaml").write_text("title: Leak course\n", encoding="utf-8")
    result = run_cli("build", "source", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    key = _uncompressed(out / "l-answer-key.pdf")
    for marker in ("TEACHERURLMARK", "TEACHERALTMARK", "TEACHERAUTOLINKMARK", "ANSWERURLMARK"):
        assert _found(key, marker), marker  # the search finds what is there
    for handout in (out / "l-handout.pdf", out / "leak-course-coursepack.pdf"):
        data = _uncompressed(handout)
        leaked = [marker for marker in TEACHER_MARKERS if _found(data, marker)]
        assert leaked == [], (handout.name, leaked)
        text = subprocess.run(
            ["pdftotext", str(handout), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert not [marker for marker in TEACHER_MARKERS if marker in text]
        assert b"/URI" not in data  # no web link at all (the pack's contents link inside)
        # The note's picture is not in the file (the only image is the notes-line tile).
        assert set(re.findall(rb"/Width (\d+)", data)) <= {b"4"}, handout.name


# --------------------------------------------------------------------------- images


def _picture_lesson(folder: Path, picture: Path) -> Path:
    return write_lesson(folder, "l.md", LESSON_BODY + f"\n![A picture]({picture.name})\n")


def test_a_truncated_png_fails_check_at_its_line(tmp_path: Path) -> None:
    from PIL import Image

    whole = io.BytesIO()
    Image.new("RGB", (200, 120), (200, 30, 30)).save(whole, "PNG")
    (tmp_path / "cut.png").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    _picture_lesson(tmp_path, tmp_path / "cut.png")
    result = run_cli("check", "l.md", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("l.md:9: error: image 'cut.png' is damaged or incomplete")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm")
def test_a_16_bit_grayscale_png_prints_as_it_is(tmp_path: Path) -> None:
    """A 16-bit grayscale gradient (a scanner's output) prints as the gradient, not as the
    black box WeasyPrint makes of its 16-bit samples."""
    import subprocess

    from PIL import Image

    rows = [[int(65535 * y / 119)] * 200 for y in range(120)]
    picture = Image.new("I;16", (200, 120))
    picture.putdata([value for row in rows for value in row])
    picture.save(tmp_path / "scan.png")
    assert (tmp_path / "scan.png").read_bytes()[24] == 16  # 16 bits a sample
    _picture_lesson(tmp_path, tmp_path / "scan.png")
    result = run_cli("build", "l.md", "-o", "out", "--only", "handout", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "50",
            str(tmp_path / "out" / "l-handout.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    page = Image.open(tmp_path / "page-1.png").convert("L")
    # The picture's box: the darkest pixels on the page are its top rows; its bottom rows
    # must be near white, and its middle grey.
    dark = [
        (x, y) for y in range(page.height) for x in range(page.width) if page.getpixel((x, y)) < 20
    ]
    assert dark, "the picture is not on the page"
    left = min(x for x, _ in dark)
    top = min(y for _, y in dark)
    column = [page.getpixel((left + 5, y)) for y in range(top, top + 120 * 50 // 72 - 2)]
    assert max(column) > 200, column  # light at the bottom: a gradient, not a black box
    assert any(80 < value < 180 for value in column)


def test_the_same_lesson_in_another_folder_gives_the_same_bytes(tmp_path: Path) -> None:
    """Image names and the PDF's /ID came from the absolute path: now only the lesson's
    content and its relative paths count."""
    from PIL import Image

    outputs = []
    for folder in (tmp_path / "a", tmp_path / "deeper" / "folder" / "b"):
        folder.mkdir(parents=True)
        Image.new("RGB", (60, 40), (20, 120, 200)).save(folder / "pic.png")
        _picture_lesson(folder, folder / "pic.png")
        (folder / "course.yaml").write_text("title: C\n", encoding="utf-8")
        result = run_cli("build", ".", "-o", "out", "-j", "1", cwd=folder)
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in (folder / "out").glob("*.p*")})
    assert sorted(outputs[0]) == sorted(outputs[1]) and len(outputs[0]) == 5
    assert [name for name in outputs[0] if outputs[0][name] != outputs[1][name]] == []


def _bare_template(path: Path) -> Path:
    """A template with no layout that has a title and a body (only Title Only and Blank)."""
    from pptx import Presentation

    prs = Presentation()
    for layout in list(prs.slide_layouts):
        if layout.name not in ("Title Only", "Blank"):
            prs.slide_layouts.remove(layout)
    prs.save(path)
    return path


def test_a_template_with_no_usable_layout_fails_check(tmp_path: Path) -> None:
    """It passed check and failed after the handout and key were written."""
    _bare_template(tmp_path / "school.pptx")
    _template_lesson(tmp_path, "school.pptx")
    result = run_cli("check", "l.md", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        "l.md:3: error: pptx-template 'school.pptx' cannot be used: it has no layout with a "
        "title and a body placeholder"
    ), result.stderr


def test_a_template_option_with_no_usable_layout_writes_nothing(tmp_path: Path) -> None:
    template = _bare_template(tmp_path / "school.pptx")
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    result = build_with_template(lesson, template, tmp_path, "out", "-j", "1")
    assert result.exit_code == 1, result.output
    assert "--pptx-template: " in result.stderr and "has no layout with a title" in result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_remove_weasyprints_font_folder(tmp_path: Path, signame: str) -> None:
    """Closing the terminal (SIGHUP) or ``kill`` (SIGTERM) mid-build left WeasyPrint's 11 MB
    font folder in /tmp every time."""
    import signal
    import time

    temp = tmp_path / "tmp"
    temp.mkdir()
    shutil.copyfile(ROOT / "source" / "unamir.md", tmp_path / "unamir.md")
    process = start_coursepack(
        "build", "unamir.md", "-j", "1", cwd=tmp_path, env={"TMPDIR": str(temp)}
    )
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("weasyprint-*")) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert process.poll() is None, "the build ended before its fonts were loaded"
        process.send_signal(getattr(signal, signame))
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + getattr(signal, signame), err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == f"stopped ({signame})", err
    assert list(temp.iterdir()) == [], err  # no font folder, no temporary left


# --------------------------------------------------------------------------- all or nothing


def _run_build(cwd: Path, *args: str, prelude: str = ""):
    """``coursepack build`` in its own process."""
    return start_coursepack("build", *args, cwd=cwd, prelude=prelude)


def test_two_builds_into_one_folder_at_once_keep_each_others_stamps(tmp_path: Path) -> None:
    """``make -j``: one coursepack per lesson, one output folder. Both succeed, and the stamps
    remember both (the last one to finish overwrote the other's)."""
    for name in ("one", "two"):
        write_lesson(tmp_path, f"{name}.md", LESSON_BODY + f"- Only in {name}.\n")
    builds = [_run_build(tmp_path, f"{name}.md", "-o", "out", "-j", "1") for name in ("one", "two")]
    results = [process.communicate(timeout=300) for process in builds]
    assert [process.returncode for process in builds] == [0, 0], results
    again = run_cli("build", "one.md", "two.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert again.exit_code == 0, again.output
    assert "6 up to date" in again.stdout and "0 written" in again.stdout, again.stdout


ON_SECOND_MOVE = """
import os, pathlib, signal, time
_moves = []
_real_replace = os.replace
def _replace(source, target, *args, **kwargs):
    if str(target).endswith((".pdf", ".pptx")):
        _moves.append(target)
        if len(_moves) == 2:  # between the first output's move and the second's
            {action}
    return _real_replace(source, target, *args, **kwargs)
os.replace = _replace
"""
KILL_ON_SECOND_MOVE = ON_SECOND_MOVE.format(action="os.kill(os.getpid(), signal.SIGTERM)")
# Waits to be killed from outside (SIGKILL), once the first output is in place.
PAUSE_ON_SECOND_MOVE = ON_SECOND_MOVE.format(
    action='pathlib.Path(os.environ["PAUSED"]).write_text("paused"); time.sleep(600)'
)


def test_a_build_killed_between_two_outputs_moves_keeps_the_previous_set(tmp_path: Path):
    """A teacher must never print a new handout with an old key: a build stopped after it
    moved the new handout into place puts the previous one back."""
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY + "- First version.\n")
    first = run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert first.exit_code == 0, first.output
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.glob("l-*")}
    lesson.write_text(lesson.read_text() + "- Second version.\n", encoding="utf-8")
    process = _run_build(tmp_path, "l.md", "-o", "out", "-j", "1", prelude=KILL_ON_SECOND_MOVE)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 143, err
    after = {p.name: p.read_bytes() for p in out.glob("l-*")}
    assert after == before  # every output of the previous version, none of the new one
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_build_sigkilled_between_two_moves_is_put_right_by_the_next_build(tmp_path: Path):
    """SIGKILL runs no handler: the killed build leaves the new handout beside the old key.
    The next build finds its journal, puts the previous files back before anything else (so
    the previous version is "up to date" again) and says so in one line."""
    import signal
    import time

    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY + "- First version.\n")
    first_text = lesson.read_text()
    first = run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert first.exit_code == 0, first.output
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    lesson.write_text(first_text + "- Second version.\n", encoding="utf-8")
    paused = tmp_path / "paused"
    process = start_coursepack(
        "build",
        "l.md",
        "-o",
        "out",
        "-j",
        "1",
        cwd=tmp_path,
        env={"PAUSED": str(paused)},
        prelude=PAUSE_ON_SECOND_MOVE,
    )
    try:
        while not paused.exists():
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    mixed = {p.name: p.read_bytes() for p in out.glob("l-*")}
    changed = sorted(name for name in mixed if mixed[name] != before[name])
    assert len(changed) == 1, changed  # the new handout beside the old key and deck
    # The lesson is put back as it was: the previous outputs are current again.
    lesson.write_text(first_text, encoding="utf-8")
    again = run_coursepack("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    notice = [line for line in again.stderr.splitlines() if "was stopped while" in line]
    assert notice == [
        f"out: a build (process {process.pid}) was stopped while it put {changed[0]} in "
        "place; the previous files are back"
    ], again.stderr
    assert "0 written" in again.stdout and "3 up to date" in again.stdout, again.stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing left over


def test_a_journal_naming_files_outside_its_folder_moves_nothing(tmp_path: Path) -> None:
    """A journal is a file in a shared folder: one that names another folder's files, a file
    no build writes (the lesson, with ``-o .``), or is damaged, is deleted and moves nothing."""
    import json

    from coursepack import transaction
    from coursepack.registry import OUTPUTS

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    secret = tmp_path / "secret.txt"
    secret.write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / "l.md").write_text("my lesson")
    host = transaction._HOST

    def journal(token: str, target: str) -> None:
        entry = {"target": target, "temporary": f".{target}.{host}-{gone.pid}.{token}.tmp"}
        text = json.dumps({"files": [{**entry, "previous": None}]})
        (out / f".coursepack-moving.{host}-{gone.pid}.{token}.json").write_text(text)

    journal("abcdefgh", "../secret.txt")
    journal("qrstuvwx", "l.md")
    (out / f".coursepack-moving.{host}-{gone.pid}.ijklmnop.json").write_text("[[[")
    assert transaction.recover_interrupted(out, OUTPUTS.is_output_name) == []
    assert secret.read_text() == "mine"
    assert [p.name for p in out.iterdir()] == ["l.md"]


def test_a_journal_whose_files_were_replaced_since_puts_nothing_back(tmp_path: Path) -> None:
    """A journal followed late (on Windows, or another computer's on a shared drive) must not
    put a killed build's previous files over the outputs of the builds since; and a crafted
    journal naming an output in the folder cannot delete or replace it, since it cannot name
    the file that is there now (nor temporaries of another process than its own)."""
    import json

    from coursepack import transaction
    from coursepack.registry import OUTPUTS

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = transaction._HOST
    out = tmp_path / "out"
    out.mkdir()
    handout, key = out / "l-handout.pdf", out / "l-answer-key.pdf"
    handout.write_bytes(b"today's handout")
    key.write_bytes(b"today's key")
    old = out / f".l-handout.pdf.{host}-{gone.pid}.abcdefgh.old"
    old.write_bytes(b"the handout of two days ago")
    stranger = out / f".l-answer-key.pdf.{host}-1.abcdefgh.old"  # another process's file
    stranger.write_bytes(b"planted")

    def journal(token: str, *entries: dict) -> Path:
        path = out / f".coursepack-moving.{host}-{gone.pid}.{token}.json"
        path.write_text(json.dumps({"files": list(entries)}))
        return path

    def entry(target: Path, previous: Path | None, identity: list[int]) -> dict:
        temporary = f".{target.name}.{host}-{gone.pid}.qrstuvwx.tmp"  # moved: not there
        return {"target": target.name, "temporary": temporary,
                "previous": previous and previous.name, "file": identity}  # fmt: skip

    elsewhere = [1, 2, 3]  # not the file at the target now
    journal("aaaaaaaa", entry(handout, old, elsewhere), entry(key, None, elsewhere))
    journal("bbbbbbbb", entry(key, stranger, transaction._identity(key)))
    assert transaction.recover_interrupted(out, OUTPUTS.is_output_name) == []
    assert handout.read_bytes() == b"today's handout" and key.read_bytes() == b"today's key"
    assert not old.exists()  # the stale journal's own backup is dropped with it
    assert stranger.read_bytes() == b"planted"  # not its file: neither used nor deleted
    assert not list(out.glob(".coursepack-moving.*"))


def test_the_folder_lock_is_fcntl_else_msvcrt_else_none(monkeypatch) -> None:
    """Windows has no fcntl: the lock falls back to msvcrt (before, nothing guarded two
    builds into one folder there). Only the choice can run here, not Windows itself."""
    import types

    from coursepack import transaction

    assert transaction.lock_kind() == "fcntl"
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", types.ModuleType("msvcrt"))
    assert transaction.lock_kind() == "msvcrt"
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    assert transaction.lock_kind() is None


def test_the_windows_lock_waits_for_its_byte_and_leaves_nothing_in_the_folder(
    tmp_path: Path, monkeypatch
) -> None:
    """The msvcrt path, with a stand-in for msvcrt: one byte of a lock file in the temporary
    folder (named after the output folder) is locked, asked again while another build holds
    it (LK_LOCK gives up after ten seconds), and unlocked at the end."""
    import tempfile
    import types

    from coursepack import transaction

    calls: list[tuple[str, int, int]] = []
    fake = types.ModuleType("msvcrt")
    fake.LK_LOCK, fake.LK_UNLCK = 1, 0  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, nbytes: int) -> None:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), mode, os.lseek(fd, 0, os.SEEK_CUR)))
        if len(calls) <= 2:
            raise OSError(36, "Resource deadlock avoided")  # held by another build

    fake.locking = locking  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    out = tmp_path / "out"
    out.mkdir()
    with transaction.folder_lock(out):
        assert [mode for _path, mode, _at in calls] == [1, 1, 1]
    lock = transaction.windows_lock_file(out)
    assert lock.parent == tmp_path / "temp" / "coursepack-locks"
    assert calls == [(str(lock), 1, 0)] * 3 + [(str(lock), 0, 0)]
    assert transaction.windows_lock_file(out / ".") == lock  # one file per folder
    assert transaction.windows_lock_file(tmp_path) != lock
    assert list(out.iterdir()) == []


def test_a_stamp_file_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    """A folder where the stamp file goes (or an immutable file): the outputs are written,
    then one clear error (exit 1, not 3); the next build still knows what it wrote."""
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY)
    (tmp_path / "out" / ".coursepack-stamps.json").mkdir(parents=True)
    result = run_cli("build", str(lesson), "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "out/.coursepack-stamps.json: error: cannot be written" in result.stderr, result.stderr
    assert (tmp_path / "out" / "l-handout.pdf").is_file()


def test_a_running_builds_temporaries_survive_another_builds_clean_up(tmp_path: Path) -> None:
    """The clean-up deleted ``.*.pdf.*.tmp`` of any process, so two builds into one folder
    deleted each other's files: now only those of a process that is gone."""
    import subprocess
    import sys

    from coursepack.transaction import remove_abandoned_temporaries, temporary_path

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        target = tmp_path / "l-handout.pdf"
        mine = temporary_path(target)
        theirs = Path(str(mine).replace(f"-{os.getpid()}.", f"-{alive.pid}."))
        abandoned = Path(str(mine).replace(f"-{os.getpid()}.", f"-{gone.pid}."))
        unrelated = tmp_path / ".notes.tmp"
        for path in (mine, theirs, abandoned, unrelated):
            path.write_bytes(b"x")
        remove_abandoned_temporaries(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in (mine, theirs, unrelated)
        )
    finally:
        alive.kill()
        alive.wait()


def test_a_failed_move_puts_the_previous_files_back(tmp_path: Path, monkeypatch) -> None:
    import coursepack.transaction as transaction

    old = {"a.pdf": b"old a", "b.pdf": b"old b"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    staged = transaction.Staged()
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        staged.add(tmp_path / name, f"new {name}".encode())
    real = os.replace
    calls = []

    def failing(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(transaction.os, "replace", failing)
    with pytest.raises(OSError):
        staged.commit()
    monkeypatch.setattr(transaction.os, "replace", real)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


def test_a_lesson_whose_handout_fails_keeps_its_previous_deck(tmp_path: Path) -> None:
    """The handout cannot be made (a layout asks for a web address): the deck, which could,
    is not written either, so the lesson's files stay one version; the summary says so."""
    lesson = write_lesson(tmp_path, "l.md", LESSON_BODY + "- First version.\n")
    assert run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("l-*")}
    (tmp_path / "layouts").mkdir()
    css = (ROOT / "layouts" / "handout.css").read_text(encoding="utf-8")
    (tmp_path / "layouts" / "handout.css").write_text(
        css + "\nbody { background: url(https://example.invalid/x.png) }\n", encoding="utf-8"
    )
    lesson.write_text(lesson.read_text() + "- Second version.\n", encoding="utf-8")
    result = run_cli("build", "l.md", "-o", "out", "-j", "1", cwd=tmp_path)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "refused to load" in errors[0], errors  # said once, not twice
    assert "kept  out/l-slides.pptx" in result.stdout, result.stdout
    assert "0 written, 1 kept as they were, 0 up to date" in result.stdout, result.stdout
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").glob("l-*")} == before
