"""The deck's packaged fonts on the presenting computer: ``coursepack fonts install``.

A deck names its fonts and embeds none. The check warns (once per lesson, at the first line
concerned) when a slide names a packaged font this computer does not have, naming the command
that installs it; after that command LibreOffice draws the line with the named font. Every run
uses a temporary home folder (and fontconfig's folders under it), never the machine's own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, libreoffice_convert, write_lesson

from coursepack import font_install

HAS_CJK = importlib.util.find_spec("justmytype_intl_cjk") is not None
KOREAN = "김치와 밥을 먹어요"


def _env(home: Path) -> dict[str, str]:
    """The environment of a teacher whose home folder is ``home`` (fontconfig included)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "FONTCONFIG_")) and key != "HOME"
    }
    return {**env, "HOME": str(home), "PYTHONPATH": str(ROOT)}


def _coursepack(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(home),
    )


def _render(home: Path, deck: Path, out: Path) -> Path:
    """The deck as LibreOffice prints it, for the teacher whose home is ``home``."""
    libreoffice_convert([deck], out, env=_env(home))
    return out / f"{deck.stem}.pdf"


def _fonts(pdf: Path) -> list[str]:
    rows = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    return [line.split()[0].split("+", 1)[-1] for line in rows.stdout.splitlines()[2:]]


def test_user_font_folders() -> None:
    home = Path.home()
    assert font_install.user_font_folder("darwin") == home / "Library" / "Fonts"
    assert font_install.user_font_folder("win32").parts[-3:] == ("Microsoft", "Windows", "Fonts")


@pytest.mark.skipif(
    not HAS_CJK or not all(shutil.which(t) for t in ("soffice", "pdffonts", "fc-list")),
    reason="needs the cjk extra, LibreOffice, poppler-utils and fontconfig",
)
def test_fonts_install_lets_libreoffice_draw_a_korean_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    lesson = write_lesson(tmp_path / "src", "korean.md", f"{KOREAN}.\n\n# Vocabulary\n\n- ok\n")

    checked = _coursepack(home, tmp_path, "check", str(lesson))
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if "note:" in line]
    assert len(warnings) == 1, checked.stderr
    assert warnings[0].startswith("src/korean.md:5: note: the slides name the font Noto Sans KR")
    # About this computer, not the lesson: --strict does not fail on it.
    strict = _coursepack(home, tmp_path, "check", "--strict", str(lesson))
    assert strict.returncode == 0, strict.stderr
    command = re.search(r"Run: (coursepack fonts install .+?) \(", warnings[0]).group(1)
    assert command == 'coursepack fonts install "Noto Sans KR"'

    built = _coursepack(home, tmp_path, "build", str(lesson), "-o", "out", "--only", "slides")
    assert built.returncode == 0, built.stderr
    deck = tmp_path / "out" / "korean-slides.pptx"
    before = _fonts(_render(home, deck, tmp_path / "before"))
    assert not any(name.startswith("NotoSansKR") for name in before)  # boxes: not Korean

    installed = _coursepack(home, tmp_path, "fonts", "install", "Noto Sans KR")
    assert installed.returncode == 0, installed.stderr
    folder = home / ".local" / "share" / "fonts"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".coursepack-fonts.json",
        "coursepack-NotoSansKR-Bold.ttf",
        "coursepack-NotoSansKR-Regular.ttf",
    ]
    again = _coursepack(home, tmp_path, "check", str(lesson))
    assert "note:" not in again.stderr and "warning" not in again.stderr, again.stderr

    pdf = _render(home, deck, tmp_path / "after")
    # The static regular instance (the variable font's default would be drawn Thin).
    assert "NotoSansKR-Regular" in _fonts(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert KOREAN in " ".join(text.split())


def test_unknown_family_is_refused_with_the_list(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = _coursepack(home, tmp_path, "fonts", "install", "Comic Sans MS")
    assert result.returncode == 1
    assert "cannot install Comic Sans MS: not a font of theme.yaml" in result.stderr
    assert "Noto Sans Hebrew" in result.stderr
    assert not (home / ".local" / "share" / "fonts").exists()


def test_fonts_install_rewrites_what_it_did_not_finish_and_never_writes_through_a_link(
    tmp_path: Path,
) -> None:
    """A font file cut short (a stopped run) or made from an older package is written again;
    an up-to-date one is kept; a link at a font's name is replaced, its target untouched."""
    from coursepack.fonts import font_stack
    from coursepack.layouts import LayoutSearch

    stack = font_stack(LayoutSearch().theme)
    folder = tmp_path / "fonts"
    families = ["Atkinson Hyperlegible", "Noto Sans Hebrew"]  # one static, one variable
    first = font_install.install_fonts(stack, families, folder=folder)
    assert not first.kept and not first.unknown
    names = sorted(p.name for p in folder.iterdir())
    assert all(re.fullmatch(r"coursepack-[A-Za-z0-9]+-[A-Za-z0-9]+\.ttf", n) for n in names[1:])
    assert names[0] == ".coursepack-fonts.json"  # and no temporary left

    again = font_install.install_fonts(stack, families, folder=folder)
    assert not again.written and len(again.kept) == len(first.written)

    regular = folder / "coursepack-NotoSansHebrew-Regular.ttf"
    whole = regular.read_bytes()
    regular.write_bytes(whole[:100])  # cut short, as by a stopped copy
    manifest = folder / ".coursepack-fonts.json"
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    del entries[regular.name]
    manifest.write_text(json.dumps(entries), encoding="utf-8")
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me", encoding="utf-8")
    bold = folder / "coursepack-NotoSansHebrew-Bold.ttf"
    bold.unlink()
    bold.symlink_to(outside)

    third = font_install.install_fonts(stack, ["Noto Sans Hebrew"], folder=folder, force=False)
    assert sorted(path.name for _, path in third.written) == [bold.name, regular.name]
    assert len(regular.read_bytes()) == len(whole)  # whole again (the head table's date differs)
    assert outside.read_text(encoding="utf-8") == "keep me"
    assert not bold.is_symlink() and bold.stat().st_size > 1000


def test_fonts_install_without_names_leaves_the_systems_own_families_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A family the computer has from elsewhere (the distribution's Noto Sans) is not copied
    into the user's folder, where it would shadow the system's; one coursepack installed
    itself is kept up to date; the rest is installed."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "coursepack-NotoSansHebrew-Regular.ttf").write_bytes(b"ours")
    have = frozenset({"Noto Sans", "Noto Sans Hebrew", "DejaVu Sans"})
    monkeypatch.setattr(font_install, "installed_families", lambda: have)
    available = ["Atkinson Hyperlegible", "Noto Sans", "Noto Sans Hebrew", "Noto Sans KR"]
    wanted, skipped = font_install.missing_families(available, folder)
    assert wanted == ["Atkinson Hyperlegible", "Noto Sans Hebrew", "Noto Sans KR"]
    assert skipped == ["Noto Sans"]
    # without fontconfig to ask (macOS, Windows), everything is installed
    monkeypatch.setattr(font_install, "installed_families", lambda: None)
    assert font_install.missing_families(available, folder) == (available, [])


def test_installed_families_are_asked_again_after_the_font_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running watch learns of fonts installed meanwhile: fontconfig is asked once per state
    of the user's font folder, not once per process."""
    if shutil.which("fc-list") is None:
        pytest.skip("needs fontconfig")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args, *rest, **kwargs):
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(font_install.subprocess, "run", counting_run)
    font_install._fc_families.cache_clear()
    font_install.installed_families()
    font_install.installed_families()
    assert len(calls) == 1  # cached while nothing changed
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "coursepack-X-Regular.ttf").write_bytes(b"")
    font_install.installed_families()
    assert len(calls) == 2
    font_install._fc_families.cache_clear()
