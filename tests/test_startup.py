"""What a build pays before it writes anything (issue 18): font coverage read once per font
file and kept on disk, so that a no-op rebuild's check does not import fontTools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, UNAMIR

from coursepack import fonts
from coursepack.layouts import LayoutSearch


def _theme_font_files() -> list[Path]:
    return sorted({face.path for face in fonts.font_stack(LayoutSearch().theme).faces})


def _full_cmap(path: Path) -> frozenset[int]:
    """The code points as fontTools reads them with every glyph name."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSEPACK_CACHE", str(folder))
    fonts._cmap.cache_clear()
    yield folder
    fonts._cmap.cache_clear()


def test_cached_and_unnamed_cmaps_have_the_same_code_points(cache: Path) -> None:
    files = _theme_font_files()
    assert files
    for path in files:
        expected = _full_cmap(path)
        assert fonts._read_cmap(path) == expected, path  # without the glyph names
        assert fonts._cmap(path) == expected, path  # read, then written to the cache
    fonts._cmap.cache_clear()
    for path in files:
        assert fonts._cmap(path) == _full_cmap(path), path  # read back from the cache
    assert len(list((cache / "cmaps").glob("*.json"))) == len(files)


def test_a_damaged_or_stale_cache_entry_is_read_again(cache: Path, tmp_path: Path) -> None:
    font = tmp_path / "font.ttf"
    font.write_bytes(_theme_font_files()[0].read_bytes())
    expected = _full_cmap(font)
    assert fonts._cmap(font) == expected
    (entry,) = (cache / "cmaps").glob("*.json")
    for damaged in ("[[1, 0]]", "{", '[["a", 1]]', "[[0, 1114112]]", "[1]"):
        entry.write_text(damaged, encoding="utf-8")
        fonts._cmap.cache_clear()
        assert fonts._cmap(font) == expected, damaged
    # Another file in the same place (a font package upgraded): another entry.
    os.utime(font, ns=(1, 1))
    fonts._cmap.cache_clear()
    assert fonts._cmap(font) == expected
    assert len(list((cache / "cmaps").glob("*.json"))) == 2


def test_no_cache_folder_writes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURSEPACK_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fonts._cmap.cache_clear()
    try:
        path = _theme_font_files()[0]
        assert fonts._cmap(path) == _full_cmap(path)
    finally:
        fonts._cmap.cache_clear()
    assert not (tmp_path / "xdg").exists()


def test_noop_rebuild_does_not_import_fonttools(tmp_path: Path) -> None:
    """The check reads the theme fonts' coverage on every build; from the cache, a no-op
    rebuild of a lesson with non-ASCII text (unamir: accents, dashes, quotes) loads no font."""
    lesson = tmp_path / "unamir.md"
    lesson.write_bytes(UNAMIR.read_bytes())
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', sorted({m.split('.')[0] for m in sys.modules}"
        " & {'fontTools', 'weasyprint', 'pptx', 'jinja2'}), file=sys.stderr))\n"
        "from cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COURSEPACK_CACHE": str(tmp_path / "cache")}

    def build() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", probe, "build", "unamir.md", "-o", "out", "-j", "1"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    first = build()
    assert first.returncode == 0, first.stderr
    assert "'fontTools'" in first.stderr  # the probe works: a real build loads it
    again = build()
    assert again.returncode == 0, again.stderr
    assert "0 written" in again.stdout
    assert "LOADED []" in again.stderr, again.stderr


def test_planning_hashes_no_font_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The theme's font files (120 MB) are layout files of the handout: planning identifies
    them by size and modification time instead of hashing them on every build."""
    from coursepack import build
    from coursepack.build import Builder, BuildOptions
    from coursepack.check import check_paths

    lesson = tmp_path / "unamir.md"
    lesson.write_bytes(UNAMIR.read_bytes())
    ((model, _),) = check_paths([lesson]).values()
    hashed: list[Path] = []
    real = build.sha256_file
    monkeypatch.setattr(build, "sha256_file", lambda path: hashed.append(path) or real(path))
    planned, problems = Builder().plan([model], BuildOptions(out_dir=tmp_path / "out"))
    assert planned and not [d for d in problems if d.is_error]
    assert hashed  # the templates, stylesheets, theme, messages and small fonts still are
    big = {p for p in _theme_font_files() if p.stat().st_size >= build.IDENTIFIED_BY_STAT}
    assert big and not big & set(hashed)
    assert sum(path.stat().st_size for path in set(hashed)) < 10_000_000


def test_a_big_layout_file_is_known_by_size_and_time(tmp_path: Path) -> None:
    from coursepack.build import IDENTIFIED_BY_STAT, _layout_identity
    from coursepack.outputs import sha256_file

    small, big = tmp_path / "small.css", tmp_path / "big.ttf"
    small.write_bytes(b"p {}")
    big.write_bytes(b"\0" * IDENTIFIED_BY_STAT)
    assert _layout_identity(small) == sha256_file(small)
    first = _layout_identity(big)
    big.write_bytes(b"\1" * IDENTIFIED_BY_STAT)  # replaced: a new modification time
    os.utime(big, ns=(1, 1))
    assert _layout_identity(big) != first
