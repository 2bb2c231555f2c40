"""The output registry: the build plans, stamps and writes any registered output.

A toy output registered here (one class, one line in a registry) is written, stamped and left
alone when up to date, with no change to the build: that is the whole promise of the registry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_lesson

import coursepack.build as build_module
from coursepack.build import Builder, BuildOptions, check_and_build
from coursepack.outputs import Output, Target, remove_stale_temporaries
from coursepack.registry import OUTPUTS, Registry


class TitleWriter:
    """A writer whose renders are the lesson title (counts its renders)."""

    renders = 0

    def __init__(self, layouts: Any) -> None:
        self.layouts = layouts

    def layout_files(self) -> list[Path]:
        return []

    def layout_problems(self) -> list:
        return []

    def keep_between_builds(self, folder: Path) -> None:
        pass

    def prepare(self) -> None:
        pass

    def prepare_lessons(self, lessons: Any) -> None:
        pass

    def close(self) -> None:
        pass


class TitleOutput(Output):
    name = "toy"
    suffix = "-title.txt"
    default = False
    writer = TitleWriter

    def render(self, writer: TitleWriter, target: Target, settings: Mapping[str, Any]) -> bytes:
        TitleWriter.renders += 1
        return target.lesson.meta.title.encode()


@pytest.fixture
def with_toy(monkeypatch: pytest.MonkeyPatch) -> Registry:
    registry = Registry([*OUTPUTS, TitleOutput()])
    monkeypatch.setattr(build_module, "OUTPUTS", registry)
    monkeypatch.setattr("coursepack.registry.OUTPUTS", registry)
    TitleWriter.renders = 0
    return registry


def test_a_registered_output_is_planned_written_and_stamped(
    tmp_path: Path, with_toy: Registry
) -> None:
    lesson = write_lesson(tmp_path, "toy.md", "# S\n\n## T\n\n- a bullet\n", title="Toy Title")
    options = BuildOptions(out_dir=tmp_path / "out", only=frozenset({"toy"}))
    report = check_and_build(Builder(), [lesson], options)
    assert not report.failed, report.diagnostics
    assert (tmp_path / "out" / "toy-title.txt").read_text() == "Toy Title"
    assert [status for _, status in report.outputs] == ["written"]
    again = check_and_build(Builder(), [lesson], options)
    assert [status for _, status in again.outputs] == ["up to date"]
    assert TitleWriter.renders == 1


def test_an_optional_output_is_written_when_the_lesson_exports_it(
    tmp_path: Path, with_toy: Registry
) -> None:
    plain = write_lesson(tmp_path, "plain.md", "# S\n\n## T\n\n- a\n")
    exporting = tmp_path / "exporting.md"
    exporting.write_text(
        "---\ntitle: Exports\nexports: [toy]\n---\n\n# S\n\n## T\n\n- a\n", encoding="utf-8"
    )
    builder = Builder()
    planned, problems = builder.plan(
        [check_and_read(plain), check_and_read(exporting)], BuildOptions(out_dir=tmp_path)
    )
    assert not problems
    names = {(item.lesson.stem, item.kind) for item in planned}
    assert ("exporting", "toy") in names
    assert ("plain", "toy") not in names
    assert {kind for stem, kind in names if stem == "plain"} == set(OUTPUTS.default_words())


def check_and_read(path: Path):
    from coursepack.check import check_lesson

    lesson, diagnostics = check_lesson(path)
    assert lesson is not None, diagnostics
    return lesson


def test_an_unknown_export_is_an_error_at_its_line(tmp_path: Path) -> None:
    lesson = tmp_path / "x.md"
    lesson.write_text(
        "---\ntitle: X\nexports: [moodel]\n---\n\n# S\n\n## T\n\n- a\n", encoding="utf-8"
    )
    result = run_cli("check", str(lesson))
    assert result.exit_code == 1
    assert "x.md:3: error: unknown export 'moodel'" in result.output


def test_the_registry_refuses_a_second_output_with_a_name_or_suffix() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        Registry([*OUTPUTS, OUTPUTS.get("handout")])

    class SameSuffix(TitleOutput):
        name = "other"
        suffix = "-handout.pdf"

    with pytest.raises(ValueError, match="share a suffix"):
        Registry([*OUTPUTS, SameSuffix()])


def test_only_offers_every_registered_output() -> None:
    result = run_cli("build", "--help")
    for word in OUTPUTS.words():
        assert word in result.output
    result = run_cli("build", "--only", "nonsense", "x.md")
    assert result.exit_code == 2


def test_the_clean_up_deletes_only_temporaries_of_registered_outputs(tmp_path: Path) -> None:
    ours = [f".lesson{output.file_suffix('A')}.abcd1234.tmp" for output in OUTPUTS]
    ours.append("..coursepack-stamps.json.abcd1234.tmp")
    theirs = [".notes.pdf.abcd1234.tmp", ".draft.tmp", ".lesson-handout.pdf.tmp"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    for name in ours + theirs:  # left by a killed build of an earlier version, hours ago
        os.utime(tmp_path / name, (time.time() - 7200, time.time() - 7200))
    remove_stale_temporaries(tmp_path, OUTPUTS.endings())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs)
