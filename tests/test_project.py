"""The project keeps its promises to newcomers: the README's commands and CI agree."""

from __future__ import annotations

import re

from conftest import ROOT, run_cli


def readme_commands() -> list[str]:
    """The shell commands of the README's first two code blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)[:2]]


def test_readme_starts_with_the_two_newcomer_commands() -> None:
    setup_and_build, setup_and_test = readme_commands()
    assert "pip install -e ." in setup_and_build
    assert "coursepack build source/unamir.md" in setup_and_build
    assert "pytest" in setup_and_test
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")[:12]
    assert any("coursepack build source/unamir.md" in line for line in head)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, setup_and_test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip() and line[0] != "#"]
    assert commands[-1] == setup_and_test


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("build", "check", "new", "watch", "layouts"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command


def test_build_folder_is_git_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "build/" in ignored
