"""theme.yaml and layout files are checked, line by line, before anything is written."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from conftest import UNAMIR, run_cli


def _folder_with_theme(tmp_path: Path, theme: str) -> Path:
    (tmp_path / "layouts").mkdir()
    (tmp_path / "layouts" / "theme.yaml").write_text(theme, encoding="utf-8")
    shutil.copyfile(UNAMIR, tmp_path / "unamir.md")
    return tmp_path


def test_every_theme_problem_has_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    folder = _folder_with_theme(
        tmp_path,
        'colours:\n  accent: red\n  acent: "#112233"\n  muted: #8b1e1e\n'
        "fonts: [a, b]\nhandout: 5\n",
    )
    result = run_cli("build", "unamir.md", "-o", "out", cwd=folder)
    assert result.exit_code == 1
    assert "layouts/theme.yaml:2: error: colour 'accent' must be a hex colour" in result.output
    assert "layouts/theme.yaml:3: warning: unknown colour 'acent' (did you mean 'accent'?)" in (
        result.output
    )
    comment = "layouts/theme.yaml:4: error: colour 'muted' has no value: a '#' starts a comment"
    assert comment in result.output
    assert "layouts/theme.yaml:5: error: 'fonts' must be a group" in result.output
    assert "layouts/theme.yaml:6: warning: unknown theme key 'handout'" in result.output
    assert not (folder / "out").exists()


def test_check_reports_the_theme_a_build_would_stop_on(tmp_path: Path) -> None:
    """``check`` said "1 lesson OK" for a folder whose ./layouts/theme.yaml stops every build."""
    folder = _folder_with_theme(tmp_path, "colours: 5\nhandout: 5\n")
    result = run_cli("check", "unamir.md", cwd=folder)
    assert result.exit_code == 1, result.output
    assert "layouts/theme.yaml:1: error: 'colours' must be a group" in result.output
    assert "layouts/theme.yaml:2: warning: unknown theme key 'handout'" in result.output
    assert "OK" not in result.output
    (folder / "layouts" / "theme.yaml").write_text("handout: 5\n", encoding="utf-8")
    result = run_cli("check", "unamir.md", cwd=folder)
    assert result.exit_code == 0, result.output
    assert "layouts/theme.yaml:1: warning: unknown theme key 'handout'" in result.output
    assert run_cli("check", "--strict", "unamir.md", cwd=folder).exit_code == 1


def test_a_font_that_is_not_a_name_is_reported(tmp_path: Path) -> None:
    folder = _folder_with_theme(tmp_path, "fonts:\n  handout: 5\n  handout_fallbacks: Noto\n")
    result = run_cli("build", "unamir.md", "-o", "out", cwd=folder)
    assert result.exit_code == 1
    assert "theme.yaml:2: error: font 'handout' must be a font name" in result.output
    assert "theme.yaml:3: error: font 'handout_fallbacks' must be a list" in result.output


def test_an_unknown_key_alone_warns_and_builds(tmp_path: Path) -> None:
    folder = _folder_with_theme(tmp_path, 'colours:\n  acent: "#112233"\n')
    result = run_cli("build", "unamir.md", "-o", "out", "--only", "slides", cwd=folder)
    assert result.exit_code == 0, result.output
    assert "theme.yaml:2: warning: unknown colour 'acent'" in result.output
    assert (folder / "out" / "unamir-slides.pptx").is_file()


def test_a_new_accent_recolours_what_is_derived_from_it(tmp_path: Path) -> None:
    folder = _folder_with_theme(tmp_path, 'colours:\n  accent: "#8b1e1e"\n')
    result = run_cli("build", "unamir.md", "-o", "out", "--only", "slides", cwd=folder)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(folder / "out" / "unamir-slides.pptx") as deck:
        theme = deck.read("ppt/theme/theme1.xml").decode()
    assert '<a:dk2><a:srgbClr val="8B1E1E"/>' in theme
    # accent_light follows the accent (it was pale blue whatever the accent).
    assert '<a:lt2><a:srgbClr val="E6EDF5"/>' not in theme
    assert '<a:lt2><a:srgbClr val="F2E6E6"/>' in theme


def test_a_broken_template_is_found_before_any_output_is_written(tmp_path: Path) -> None:
    folder = _folder_with_theme(tmp_path, "")
    (folder / "layouts" / "theme.yaml").unlink()
    (folder / "layouts" / "blocks.html.j2").write_text("{% if %}\n", encoding="utf-8")
    result = run_cli("build", "unamir.md", "-o", "out", cwd=folder)
    assert result.exit_code == 1
    assert "layouts/blocks.html.j2:1: error: template error" in result.output
    assert not (folder / "out").exists()


def test_code_styles_and_slide_math_are_checked_too(tmp_path: Path) -> None:
    folder = _folder_with_theme(
        tmp_path,
        'slide_math: drawings\ncode:\n  keyword: {colour: navy}\n  strng: {colour: "#112233"}\n'
        '  comment: {colour: "#5b6675", italic: maybe}\n',
    )
    result = run_cli("build", "unamir.md", "-o", "out", cwd=folder)
    assert result.exit_code == 1
    assert "theme.yaml:1: error: 'slide_math' must be equations or pictures" in result.output
    assert "theme.yaml:3: error: code keyword: colour must be a hex colour" in result.output
    assert "theme.yaml:4: warning: unknown code kind 'strng' (did you mean 'string'?)" in (
        result.output
    )
    assert "theme.yaml:5: error: code comment: italic must be true or false" in result.output
    assert not (folder / "out").exists()


def test_a_theme_is_parsed_once_per_content_and_each_reader_gets_its_own_values(
    tmp_path: Path, monkeypatch
) -> None:
    """A build reads the same theme.yaml for the command, the check and each writer: parsed
    once (YAML's composer was a third of a no-op rebuild), re-read when its bytes change, and
    a reader changing its values (the theme merge does) changes nobody else's."""
    import yaml

    from coursepack import layouts

    theme = tmp_path / "theme.yaml"
    theme.write_text('colours:\n  accent: "#8b1e1e"\n', encoding="utf-8")
    composed = []
    compose = yaml.compose
    monkeypatch.setattr(yaml, "compose", lambda *a, **k: composed.append(1) or compose(*a, **k))
    first, _ = layouts.load_theme(theme)
    first["colours"]["accent"] = "#000000"
    second, _ = layouts.load_theme(theme)
    assert second == {"colours": {"accent": "#8b1e1e"}}
    assert len(composed) == 1
    theme.write_text('colours:\n  accent: "#1e8b1e"\n', encoding="utf-8")  # same size, new bytes
    third, _ = layouts.load_theme(theme)
    assert third == {"colours": {"accent": "#1e8b1e"}}
    assert len(composed) == 2
