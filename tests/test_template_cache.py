"""The layout templates are compiled once and kept, like the drawn formulas, between builds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import jinja2
import pytest

from coursepack.layouts import LayoutSearch, builtin_layouts_dir
from coursepack.writers.handout import TEMPLATE, HandoutWriter


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from source (not read from its cache)."""
    names: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        names.append(name)
        return compile_(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def _primed(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``cache`` made the cache folder, with the main template compiled into it."""
    monkeypatch.setenv("COURSEPACK_CACHE", str(cache))
    HandoutWriter()._environment().get_template(TEMPLATE)
    return cache


def _compiled_again(compiles: list[str]) -> bool:
    """Whether a new writer (a new build's) compiles the main template from its source."""
    compiles.clear()
    HandoutWriter()._environment().get_template(TEMPLATE)
    return TEMPLATE in compiles


def test_a_second_process_reads_the_compiled_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path / "cache"))
    assert HandoutWriter().layout_problems() == []
    first = list(compiles)
    assert TEMPLATE in first
    compiles.clear()
    # A new writer (as in the next build's process) compiles nothing and renders the same.
    assert HandoutWriter().layout_problems() == []
    assert compiles == []


def test_an_edited_template_is_compiled_again_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    monkeypatch.setenv("COURSEPACK_CACHE", str(tmp_path / "cache"))
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    shutil.copyfile(builtin_layouts_dir() / TEMPLATE, layouts / TEMPLATE)
    search = LayoutSearch([layouts, builtin_layouts_dir()])
    HandoutWriter(search)._environment().get_template(TEMPLATE)
    text = (layouts / TEMPLATE).read_text(encoding="utf-8")
    (layouts / TEMPLATE).write_text(text + "<!-- edited -->\n", encoding="utf-8")
    compiles.clear()
    template = HandoutWriter(search)._environment().get_template(TEMPLATE)
    assert compiles == [TEMPLATE]
    assert template.filename == str(layouts / TEMPLATE)


def test_a_damaged_cache_file_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    cache = _primed(tmp_path / "cache", monkeypatch)
    for file in cache.rglob("*.cache"):
        file.write_bytes(file.read_bytes()[:40] + b"\x00garbage")
    assert _compiled_again(compiles)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_folder_others_may_write_to_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    """The cache holds code that is run: one that another user could have written is not."""
    (folder,) = _primed(tmp_path / "cache", monkeypatch).iterdir()
    folder.chmod(0o777)
    assert _compiled_again(compiles)


def test_no_cache_when_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    monkeypatch.setenv("COURSEPACK_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    HandoutWriter()._environment().get_template(TEMPLATE)
    assert _compiled_again(compiles)
    assert list(tmp_path.iterdir()) == []
