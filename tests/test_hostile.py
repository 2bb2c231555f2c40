"""Hostile lessons and layouts (issue 7): nothing is fetched, nothing local leaks out.

A local HTTP server records every request it gets, and a secret file outside the lesson's folder
holds a unique marker. Lessons and a layout override then reference both in every way we know
(raw HTML tags, Markdown pictures and links, CSS ``@import``/``url()``/``@font-face``...). After
every build: the server got no request, and the marker is in no output (PDF text, every
decompressed PDF stream and attachment, every part of the deck, the raw bytes).

Lessons with such content either fail ``check`` with a ``path:line`` error per reference
(pictures that are not files in the lesson's folder, links to ``file:``...) or build with the
HTML and template syntax printed as text.
"""

from __future__ import annotations

import http.server
import io
import re
import shutil
import subprocess
import threading
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, deck_texts, pdf_text, run_cli

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
MAP_PNG = Path(__file__).parent / "fixtures" / "lessons" / "map.png"


# --------------------------------------------------------------------------- the trap


@dataclass
class Trap:
    """A recording HTTP server and a secret file outside every lesson folder."""

    url: str
    netloc: str
    secret: Path
    marker: str
    requests: list[str] = field(default_factory=list)

    def fill(self, text: str) -> str:
        """A fixture's text with the placeholders replaced."""
        return (
            text.replace("@URL@", self.url)
            .replace("@NETLOC@", self.netloc)
            .replace("@SECRET@", str(self.secret))
        )


@pytest.fixture(scope="module")
def trap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trap]:
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            requests.append(f"{self.command} {self.path}")
            body = b"body { background: red }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _record

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    marker = f"COURSEPACK-SECRET-{uuid.uuid4().hex}"
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text(f"{marker}\n" * 50, encoding="utf-8")
    found = Trap(f"http://{host}:{port}", f"{host}:{port}", secret, marker, requests)
    # The trap works: a request is recorded (so "no request" below can fail).
    with urllib.request.urlopen(f"{found.url}/self-test", timeout=5) as response:
        assert response.status == 200
    assert requests == ["GET /self-test"]
    requests.clear()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def project(tmp_path: Path, trap: Trap) -> Path:
    """A project folder (``source/``) with a picture; ``../../outside.png`` exists too."""
    (tmp_path / "source").mkdir()
    shutil.copyfile(MAP_PNG, tmp_path / "source" / "map.png")
    shutil.copyfile(MAP_PNG, tmp_path.parent / "outside.png")
    return tmp_path


def lesson_from(project: Path, trap: Trap, name: str) -> Path:
    target = project / "source" / name
    target.write_text(trap.fill((HOSTILE / name).read_text(encoding="utf-8")), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- reading outputs


def _pdf_streams(data: bytes) -> Iterator[bytes]:
    """Every stream of a PDF, decompressed (content, fonts, images, embedded files...)."""
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject, StreamObject

    reader = PdfReader(io.BytesIO(data))
    numbers = {(num, gen) for gen, objects in reader.xref.items() for num in objects}
    numbers |= {(num, 0) for num in reader.xref_objStm}
    for num, gen in sorted(numbers):
        try:
            obj = IndirectObject(num, gen, reader).get_object()
        except Exception:  # a free or damaged entry is not content
            continue
        if isinstance(obj, StreamObject):
            try:
                yield obj.get_data()
            except Exception:
                yield obj._data


def deck_text(path: Path) -> str:
    return "\n".join(deck_texts(path))


def squeeze(text: str) -> str:
    """Text without any whitespace (line wrapping in a PDF may split anywhere)."""
    return re.sub(r"\s+", "", text)


def assert_nothing_leaked(trap: Trap, folder: Path) -> None:
    """No request reached the server; the secret is in no output, in no form."""
    from pypdf import PdfReader

    assert trap.requests == [], trap.requests
    passwd = Path("/etc/passwd")
    passwd_line = passwd.read_text().splitlines()[0].encode() if passwd.is_file() else None
    marker = trap.marker.encode()
    outputs = [p for p in folder.iterdir() if p.is_file()]
    assert outputs
    for path in outputs:
        data = path.read_bytes()
        assert marker not in data, path
        assert not passwd_line or passwd_line not in data, path
        if path.suffix == ".pdf":
            reader = PdfReader(path)
            assert not reader.attachments, (path, list(reader.attachments))
            assert b"/EmbeddedFile" not in data, path
            for stream in _pdf_streams(data):
                assert marker not in stream, path
                assert not passwd_line or passwd_line not in stream, path
            assert trap.marker not in pdf_text(path)
            if shutil.which("pdftotext"):
                text = subprocess.run(
                    ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
                ).stdout
                assert trap.marker not in text
        elif path.suffix == ".pptx":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    assert marker not in archive.read(name), (path, name)
                    assert not passwd_line or passwd_line not in archive.read(name), (path, name)
            assert trap.marker not in deck_text(path)


def build(project: Path, *args: str):
    return run_cli("build", *args, "-o", "out", "-j", "1", "--force", cwd=project)


# --------------------------------------------------------------------------- the tests


def test_raw_html_is_printed_never_loaded(project: Path, trap: Trap) -> None:
    lesson_from(project, trap, "raw-html.md")
    result = build(project, "source/raw-html.md")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_nothing_leaked(trap, project / "out")

    handout = squeeze(pdf_text(project / "out" / "raw-html-handout.pdf"))
    key = squeeze(pdf_text(project / "out" / "raw-html-answer-key.pdf"))
    deck = squeeze(deck_text(project / "out" / "raw-html-slides.pptx"))
    url, secret = trap.url, trap.secret
    on_the_page = [
        "Raw<b>HTML</b>&friends<script>alert(1)</script>",
        f'<imgsrc="{url}/subtitle.png">',
        f"<imgsrc=file://{secret}>",
        f'<imgsrc="{url}/img.png"onerror="alert(1)">',
        f'<iframesrc="{url}/iframe.html"></iframe>',
        f'<linkrel=attachmenthref="file://{secret}">',
        f"<style>@importurl({url}/style-import.css);body{{background:url({url}/style-bg.png)}}",
        f'<objectdata="{url}/object.pdf"></object>',
        f'<embedsrc="{url}/embed.svg">',
        f'<svg><imagehref="{url}/svg-image.png"/></svg>',
        f'<scriptsrc="{url}/script.js"></script>',
        f'<basehref="{url}/">',
        f'Abulletwith<imgsrc="{url}/bullet.png">and<ahref="file://{secret}">afilelink</a>.',
        f'<imgsrc="{url}/cell.png">',
        f'Whichtagis<iframesrc="{url}/question.html"></iframe>here?',
        f'<imgsrc="{url}/option.png">',
    ]
    for text in on_the_page:
        assert squeeze(text) in handout, text
        assert squeeze(text) in key, text
    # The cloze answer is text too, in the key only.
    assert "<b>bold</b>" in key and "<b>bold</b>" not in handout
    assert squeeze(f'Teachertextwith<imgsrc="{url}/teacher.png">.') in key
    for text in (
        "Raw<b>HTML</b>&friends<script>alert(1)</script>",
        f'<iframesrc="{url}/iframe.html"></iframe>',
        f'Noteswith<imgsrc="{url}/notes.png">',
        f'<imgsrc="{url}/option.png">',
    ):
        assert squeeze(text) in deck, text


def test_web_links_and_pictures_inside_text_are_never_fetched(project: Path, trap: Trap) -> None:
    lesson_from(project, trap, "links-and-inline-images.md")
    result = build(project, "source/links-and-inline-images.md")
    assert result.exit_code == 0, result.output
    # A picture inside text is shown as its description, with a warning at its line.
    warned = sorted(
        int(m) for m in re.findall(r"images\.md:(\d+): warning: an image", result.output)
    )
    assert warned == [11, 15, 15, 19, 21], result.output
    assert_nothing_leaked(trap, project / "out")
    handout = squeeze(pdf_text(project / "out" / "links-and-inline-images-handout.pdf"))
    assert "descriptiononly:inlinehere." in handout and "quotedinaquote" in handout
    # Web links stay links (annotations), pointing at the address as written.
    from pypdf import PdfReader

    reader = PdfReader(project / "out" / "links-and-inline-images-handout.pdf")
    uris = {
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    }
    assert f"{trap.url}/link.html" in uris and f"{trap.url}/reference.html" in uris


# (line, start of the message) for every reference in references.md, in order.
REFERENCE_ERRORS = [
    (7, "image '{url}/remote.png' is not a file"),
    (9, "image 'file://{secret}"),
    (11, "image '../../outside.png' is outside the lesson's folder"),
    (13, "image 'data:image/png;base64,"),
    (15, "image '//{netloc}/protocol-relative.png' is outside the lesson's folder"),
    (17, "image '{secret}' is outside the lesson's folder"),
    (19, "image '{url}/reference.png' is not a file"),
    (21, "image '../../outside.png' is outside the lesson's folder"),  # %2e%2e decoded
    (25, "a link to a 'file:' address cannot work"),
    (26, "a link to a 'javascript:' address cannot work"),
    (27, "a link to a 'javascript:' address cannot work"),
    (28, "a link to a 'data:' address cannot work"),
]


def test_markdown_references_outside_are_path_line_errors(project: Path, trap: Trap) -> None:
    lesson_from(project, trap, "references.md")
    expected = [
        (line, trap.fill(text.replace("{url}", "@URL@").replace("{secret}", "@SECRET@")))
        for line, text in REFERENCE_ERRORS
    ]
    expected = [(line, text.replace("{netloc}", trap.netloc)) for line, text in expected]
    for command in ("check", "build"):
        result = run_cli(
            command, "source/references.md", *(["-o", "out"] * (command == "build")), cwd=project
        )
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        found = re.findall(r"^source/references\.md:(\d+): error: (.*)$", result.stderr, re.M)
        assert len(found) == len(expected), result.stderr
        for (line, message), (want_line, want) in zip(found, expected, strict=True):
            assert int(line) == want_line and message.startswith(want), (line, message, want)
    assert not (project / "out").exists()
    assert trap.requests == []


def test_jinja_syntax_in_a_lesson_is_text(project: Path, trap: Trap) -> None:
    lesson_from(project, trap, "jinja.md")
    result = build(project, "source/jinja.md")
    assert result.exit_code == 0, result.output
    handout = pdf_text(project / "out" / "jinja-handout.pdf")
    key = pdf_text(project / "out" / "jinja-answer-key.pdf")
    deck = deck_text(project / "out" / "jinja-slides.pptx")
    for text in (handout, key, deck):
        flat = squeeze(text)
        assert squeeze("Jinja {{ 7*7 }} in the title") in flat
        assert squeeze("{{ 7*7 }} stays as written") in flat
        assert squeeze("{% for x in range(3) %}loop{% endfor %}") in flat
        assert squeeze("{{ lesson.path }} and {{ lesson.meta.title|upper }}") in flat
        assert squeeze("{% include '/etc/passwd' %}") in flat
        assert squeeze("{# a comment #}") in flat
        assert squeeze("{{ config.items() }}") in flat and squeeze("${7+7} #{7+7}") in flat
        for evaluated in ("49", "looplooploop", "root:x:0:0", "JINJA{{7*7}}INTHE"):
            assert evaluated not in flat, evaluated
    assert squeeze("{% raw %}{{ 6*6 }}{% endraw %}") in squeeze(handout)
    assert "{{ 8*8 }}" in key and "{{ 8*8 }}" not in handout
    assert_nothing_leaked(trap, project / "out")


@pytest.fixture
def hostile_layouts(project: Path, trap: Trap) -> tuple[Path, str]:
    """``./layouts/handout.css``: the built-in CSS with hostile rules before and after it."""
    folder = project / "layouts"
    folder.mkdir()
    css = (ROOT / "layouts" / "handout.css").read_text(encoding="utf-8")
    return folder / "handout.css", css


@pytest.mark.parametrize("where", ["appended", "prepended"])
def test_layout_override_cannot_fetch(
    project: Path, trap: Trap, hostile_layouts, where: str
) -> None:
    css_path, css = hostile_layouts
    hostile = trap.fill((HOSTILE / f"layout-{where}.css").read_text(encoding="utf-8"))
    css_path.write_text(css + hostile if where == "appended" else hostile + css, encoding="utf-8")
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md")
    assert trap.requests == [], trap.requests
    assert "Traceback" not in result.output
    # The refused addresses are clear one-line errors; no PDF is written with them.
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors and all("refused to load" in line for line in errors), result.stderr
    refused = " ".join(errors)
    assert trap.url in refused or str(trap.secret) in refused
    # None of the lesson's outputs is written (a lesson's files are written together).
    assert not [p.name for p in (project / "out").iterdir() if not p.name.startswith(".")]


def test_template_override_cannot_fetch(project: Path, trap: Trap) -> None:
    """A ``./layouts/handout.html.j2`` that loads things in every HTML way gets nothing."""
    (project / "layouts").mkdir()
    template = (HOSTILE / "layout-handout.html.j2").read_text(encoding="utf-8")
    (project / "layouts" / "handout.html.j2").write_text(trap.fill(template), encoding="utf-8")
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md", "--only", "handout")
    assert trap.requests == [], trap.requests
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors and all("refused to load" in line for line in errors), result.stderr
    assert not (project / "out" / "unamir-handout.pdf").exists()


def test_a_refused_layout_url_names_the_layout_file(project: Path, trap: Trap, hostile_layouts):
    css_path, css = hostile_layouts
    css_path.write_text(css + f"\nbody {{ background: url({trap.url}/bg.png) }}\n", "utf-8")
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors and all(line.startswith("layouts/handout.css") for line in errors), errors


# --------------------------------------------------------------------------- layouts sandbox


ATTACKS = {
    "globals": "{{{{ cycler.__init__.__globals__.os.system('touch {pwned}') }}}}",
    "path methods": "{{{{ lesson.path.with_name('PWNED').write_text(lesson.path.read_text()) }}}}",
    "a path's folder": "{{{{ lesson.path.parent.joinpath('PWNED').touch() }}}}",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_layout_template_cannot_run_code(project: Path, trap: Trap, attack: str) -> None:
    """A ``./layouts/handout.html.j2`` in a shared folder reaching into Python, or into the
    files behind a lesson's paths, runs nothing: the render stops with the template's
    path:line, and nothing was written."""
    pwned = project / "PWNED"
    (project / "layouts").mkdir()
    template = (ROOT / "layouts" / "handout.html.j2").read_text(encoding="utf-8")
    attack = ATTACKS[attack].format(pwned=pwned) + "\n"
    (project / "layouts" / "handout.html.j2").write_text(attack + template, encoding="utf-8")
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md", "--only", "handout")
    assert not pwned.exists() and not (project / "source" / "PWNED").exists()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "layouts/handout.html.j2:1: error: layout template refused" in result.stderr
    assert not (project / "out" / "unamir-handout.pdf").exists()


@pytest.mark.parametrize("how", ["symlink", "absolute", "dotdot"])
def test_a_layout_template_cannot_include_a_file_outside(
    project: Path, trap: Trap, how: str
) -> None:
    """``{% include %}`` of a link out of ``layouts/``, of an absolute path or of ``../``
    reads nothing outside the layouts folder: a path error, no output."""
    folder = project / "layouts"
    folder.mkdir()
    shutil.copyfile(trap.secret, project / "secret.txt")
    name = {"symlink": "leak.txt", "absolute": str(trap.secret), "dotdot": "../secret.txt"}[how]
    if how == "symlink":
        (folder / "leak.txt").symlink_to(trap.secret)
    template = (ROOT / "layouts" / "handout.html.j2").read_text(encoding="utf-8")
    (folder / "handout.html.j2").write_text(
        template.replace("<body", f'{{% include "{name}" %}}<body', 1), encoding="utf-8"
    )
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md", "--only", "handout")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert trap.marker not in result.output
    if how == "symlink":
        assert "layouts/leak.txt: error: layout file 'leak.txt' resolves outside" in result.stderr
    assert not (project / "out" / "unamir-handout.pdf").exists()


@pytest.mark.parametrize("name", ["handout.css", "theme.yaml", "blocks.html.j2", "deck.pptx"])
def test_a_layout_file_linked_outside_the_layouts_folder_is_refused(
    project: Path, trap: Trap, name: str
) -> None:
    """A built-in layout's name in ``layouts/`` as a symlink to a file elsewhere is refused
    before anything is written, however harmless the target."""
    outside = project / "elsewhere" / name
    outside.parent.mkdir()
    shutil.copyfile(ROOT / "layouts" / name, outside)
    (project / "layouts").mkdir()
    (project / "layouts" / name).symlink_to(outside)
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"layouts/{name}: error: layout file {name!r} resolves outside" in result.stderr
    assert not (project / "out").exists() or not list((project / "out").glob("*.p*"))


def test_a_link_inside_the_layouts_folder_is_fine(project: Path) -> None:
    folder = project / "layouts"
    folder.mkdir()
    shutil.copyfile(ROOT / "layouts" / "handout.css", folder / "school.css")
    (folder / "handout.css").symlink_to("school.css")
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    result = build(project, "source/unamir.md", "--only", "handout")
    assert result.exit_code == 0, result.output


def test_every_build_names_the_layout_overrides_in_use(project: Path) -> None:
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    plain = build(project, "source/unamir.md", "--only", "handout")
    assert plain.exit_code == 0 and "layout overrides" not in plain.stderr
    (project / "layouts").mkdir()
    shutil.copyfile(ROOT / "layouts" / "handout.css", project / "layouts" / "handout.css")
    shutil.copyfile(ROOT / "layouts" / "theme.yaml", project / "layouts" / "theme.yaml")
    for _ in range(2):  # also when every output is up to date
        result = run_cli("build", "source/unamir.md", "-o", "out", "--only", "handout", cwd=project)
        assert result.exit_code == 0, result.output
        notices = [line for line in result.stderr.splitlines() if "layout overrides" in line]
        assert notices == ["using layout overrides from layouts/: handout.css, theme.yaml"]


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_front_matter_template_outside_the_lesson_folder_is_refused(
    project: Path, how: str
) -> None:
    """``pptx-template:`` names a file in the lesson's folder, as images do: a school's
    ``secret.pptx`` elsewhere on the disk (its layouts and their text) never reaches a deck.
    The command-line ``--pptx-template`` may still name any file."""
    secret = project / "private" / "secret.pptx"
    secret.parent.mkdir()
    shutil.copyfile(ROOT / "layouts" / "deck.pptx", secret)
    name = {"absolute": str(secret), "dotdot": "../private/secret.pptx", "symlink": "link.pptx"}
    if how == "symlink":
        (project / "source" / "link.pptx").symlink_to(secret)
    lesson = project / "source" / "l.md"
    lesson.write_text(
        f"---\ntitle: T\npptx-template: {name[how]}\n---\n\n# Part\n## Topic\n- A fact.\n",
        encoding="utf-8",
    )
    checked = run_cli("check", "source/l.md", cwd=project)
    assert checked.exit_code == 1, checked.output
    assert "source/l.md:3: error: pptx-template" in checked.stderr
    assert "is outside the lesson's folder" in checked.stderr
    built = build(project, "source/l.md")
    assert built.exit_code == 1
    assert not (project / "out").exists() or not list((project / "out").iterdir())
    option = build(project, "source/l.md", "--only", "slides", "--pptx-template", str(secret))
    assert option.exit_code == 1  # the lesson itself still names a file outside
    lesson.write_text("---\ntitle: T\n---\n\n# Part\n## Topic\n- A fact.\n", encoding="utf-8")
    option = build(project, "source/l.md", "--only", "slides", "--pptx-template", str(secret))
    assert option.exit_code == 0, option.output


def test_layouts_force_replaces_links_and_never_writes_through_them(tmp_path: Path) -> None:
    """``coursepack layouts --force`` in a folder whose ``layouts/`` holds links to files
    elsewhere replaces the links by the built-in files: what they pointed to is untouched, and
    a dangling link creates nothing (without --force it is kept)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.css").write_text("/* a colleague's own file */\n", encoding="utf-8")
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "handout.css").symlink_to(outside / "precious.css")
    (folder / "theme.yaml").symlink_to(outside / "not-there.yaml")
    kept = run_cli("layouts", cwd=tmp_path)
    assert kept.exit_code == 0, kept.output
    assert not (outside / "not-there.yaml").exists()
    assert (folder / "theme.yaml").is_symlink() and (folder / "handout.css").is_symlink()
    forced = run_cli("layouts", "--force", cwd=tmp_path)
    assert forced.exit_code == 0, forced.output
    assert (outside / "precious.css").read_text(
        encoding="utf-8"
    ) == "/* a colleague's own file */\n"
    assert not (outside / "not-there.yaml").exists()
    for name in ("handout.css", "theme.yaml"):
        assert not (folder / name).is_symlink()
        assert (folder / name).read_bytes() == (ROOT / "layouts" / name).read_bytes()
    assert sorted(p.name for p in outside.iterdir()) == ["precious.css"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_a_lesson_in_a_folder_linked_to_a_file_outside_is_not_read(project: Path, trap: Trap):
    """``source/notes.md`` as a link to a private file elsewhere: building the folder does
    not print it (a file named on the command line is the teacher's choice)."""
    private = project / "private.md"
    private.write_text(
        f"---\ntitle: Private\n---\n\n# Part\n## Topic\n- {trap.marker}\n", encoding="utf-8"
    )
    shutil.copyfile(ROOT / "source" / "unamir.md", project / "source" / "unamir.md")
    (project / "source" / "notes.md").symlink_to(private)
    (project / "source" / "course.yaml").symlink_to(project / "elsewhere.yaml")
    (project / "elsewhere.yaml").write_text(f"title: {trap.marker}\n", encoding="utf-8")
    checked = run_cli("check", "source", cwd=project)
    assert "source/notes.md: error: a link to a file outside this folder" in checked.stderr
    assert "source/course.yaml: error: a link to a file outside this folder" in checked.stderr
    assert trap.marker not in checked.output
    result = build(project, "source", "--only", "handout")
    assert result.exit_code == 1
    assert (project / "out" / "unamir-handout.pdf").is_file()
    assert_nothing_leaked(trap, project / "out")
