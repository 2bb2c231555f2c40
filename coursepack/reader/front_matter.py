"""Step 2, front matter: the ``---`` block parsed with PyYAML's safe loader, the raw
text of each scalar kept, each key with its line."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from ..diagnostics import Diagnostic, error, warning
from ..model import PAPERS, Meta, paper_name
from .syntax import _CURLY_QUOTES, FRONT_MATTER_KEYS, LIST_KEYS

# --------------------------------------------------------------------------- front matter


def _split_front_matter(
    lines: list[str], path: Path
) -> tuple[list[str] | None, int, list[Diagnostic]]:
    """Return (front matter lines or None, index of the first body line, diagnostics).

    Front matter starts with ``---`` on the first line and ends with ``---`` or ``...``.
    """
    if not lines or lines[0].rstrip() != "---":
        return None, 0, []
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return lines[1:index], index + 1, []
    return (
        None,
        -1,
        [
            error(
                path,
                1,
                "front matter opened with '---' on line 1 is never closed "
                "(add a line with '---' after the last 'key: value' line)",
            )
        ],
    )


def _parse_meta(fm_lines: list[str] | None, path: Path) -> tuple[Meta | None, list[Diagnostic]]:
    """Parse the front matter into :class:`Meta` (``None`` when it cannot be read at all)."""
    diagnostics: list[Diagnostic] = []
    if fm_lines is None:
        return Meta(title=""), [
            error(
                path,
                1,
                "missing title (start the file with front matter: a '---' line, "
                "'title: Your lesson title', and another '---' line)",
            )
        ]
    source = "\n".join(fm_lines)
    try:
        # Parse with the safe loader but keep the nodes: values stay the text as written
        # (``lang: no`` is "no", not False; ``date: 2026-13-45`` is no error), and each key
        # keeps its line.
        node = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context_mark", None)
        if context is not None and mark is not None and context.line != mark.line:
            problem += f" (in the value that starts on line {context.line + 2})"
        bad_line = (
            fm_lines[min(line, len(fm_lines) + 1) - 2] if 2 <= line <= len(fm_lines) + 1 else ""
        )
        if "'\\t'" in problem:
            hint = "use spaces, not tabs, at the start of a line"
        elif any(quote in bad_line for quote in _CURLY_QUOTES):
            hint = (
                "the value is in curly quotes (“ ” or ‘ ’), which YAML does not read as quotes: "
                'type straight quotes, "like this"'
            )
        else:
            hint = "write one 'key: value' per line; put quotes around a value that contains ': '"
        message = f"the front matter is not valid YAML: {problem} ({hint})"
        return None, [error(path, min(line, len(fm_lines) + 1), message)]
    except RecursionError:
        return None, [error(path, 1, "the front matter is nested too deeply to be read")]
    except ValueError as exc:  # pragma: no cover - exotic YAML failures
        return None, [error(path, 1, f"the front matter cannot be read: {exc}")]
    if node is None:
        return Meta(title=""), [
            error(
                path, 1, "missing title (add a line 'title: Your lesson title' to the front matter)"
            )
        ]
    if not isinstance(node, yaml.MappingNode):
        return None, [
            error(
                path,
                node.start_mark.line + 2,
                "the front matter must be 'key: value' lines (for example 'title: My lesson')",
            )
        ]
    values: dict[str, str] = {}
    lists: dict[str, tuple[str, ...]] = {}
    key_lines: list[tuple[str, int]] = []
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 2
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        if not isinstance(key, str) or not key:
            diagnostics.append(error(path, line, "a front matter key must be a plain word"))
            continue
        if key not in FRONT_MATTER_KEYS:
            diagnostics.append(
                warning(
                    path,
                    line,
                    f"unknown front matter key '{key}'{_suggest(key, FRONT_MATTER_KEYS)}",
                )
            )
            continue
        if key in values:
            diagnostics.append(
                warning(
                    path, line, f"front matter key '{key}' appears twice (the last one is used)"
                )
            )
        key_lines.append((key, line))
        if key in LIST_KEYS:
            words, problem = yaml_words(value_node)
            if problem:
                diagnostics.append(error(path, line, f"'{key}' {problem}"))
            lists[key] = words
            continue
        if isinstance(value_node, yaml.ScalarNode):
            raw = value_node.value
            if value_node.tag == "tag:yaml.org,2002:null" and value_node.style is None:
                raw = ""
            values[key] = raw.strip()
            if (
                value_node.style is None
                and len(values[key]) >= 2
                and values[key][0] in "“‘„«"
                and values[key][-1] in "”’“»"
            ):
                diagnostics.append(
                    warning(
                        path,
                        line,
                        f"'{key}' is written in curly quotes (“…”), which are printed as part of "
                        'it: type straight quotes, "like this", or none',
                    )
                )
        else:
            kind = "a list" if isinstance(value_node, yaml.SequenceNode) else "a group of keys"
            diagnostics.append(
                error(
                    path,
                    line,
                    f"'{key}' must be plain text, not {kind} (write it on one line after '{key}:')",
                )
            )
            values[key] = ""
    title_line = dict(key_lines).get("title")
    if not values.get("title") and not any(d.line == title_line for d in diagnostics):
        where = "to the front matter" if fm_lines else "in front matter at the top of the file"
        diagnostics.append(
            error(
                path,
                title_line or 1,
                f"missing title (add a line 'title: Your lesson title' {where})",
            )
        )
    paper = paper_name(values.get("paper") or "letter")
    if paper is None:
        diagnostics.append(
            error(
                path,
                dict(key_lines)["paper"],
                f"paper '{values['paper']}' is not known (use {' or '.join(map(repr, PAPERS))})",
            )
        )
        paper = "letter"
    moodle_ordering = _one_of(
        values,
        "moodle-ordering",
        ("ordering", "matching"),
        "use 'ordering' for Moodle 4.4 and later, or 'matching' for an older Moodle",
        key_lines,
        path,
        diagnostics,
    )
    slide_math = _one_of(
        values,
        "slide-math",
        ("equations", "pictures"),
        "use 'equations' or 'pictures'",
        key_lines,
        path,
        diagnostics,
    )
    flags = {}
    for key, default in (("incremental", False), ("reveal-answers", True)):
        raw = values.get(key, "").lower()
        flags[key] = default
        if raw in ("true", "yes", "on"):
            flags[key] = True
        elif raw in ("false", "no", "off"):
            flags[key] = False
        elif raw:
            diagnostics.append(
                error(
                    path,
                    dict(key_lines)[key],
                    f"{key} '{values[key]}' is not known (use 'true' or 'false')",
                )
            )
    blanks = values.get("blanks", "fixed").lower() or "fixed"
    if blanks not in ("fixed", "answer"):
        diagnostics.append(
            error(
                path,
                dict(key_lines)["blanks"],
                f"blanks '{values['blanks']}' is not known (use 'fixed': a few set widths that "
                "do not tell the answer's length, or 'answer': each blank as wide as its answer)",
            )
        )
        blanks = "fixed"
    meta = Meta(
        title=values.get("title", ""),
        subtitle=values.get("subtitle", ""),
        course=values.get("course", ""),
        author=values.get("author", ""),
        date=values.get("date", ""),
        lang=values.get("lang", "") or "en",
        paper=paper,  # type: ignore[arg-type]
        pptx_template=values.get("pptx-template", ""),
        slide_math=slide_math,  # type: ignore[arg-type]
        moodle_ordering=moodle_ordering,
        incremental=flags["incremental"],
        reveal_answers=flags["reveal-answers"],
        exports=lists.get("exports", ()),
        versions=version_count(values.get("versions", ""), path, dict(key_lines), diagnostics),
        blanks=blanks,  # type: ignore[arg-type]
        key_lines=tuple(key_lines),
    )
    return meta, diagnostics


def _one_of(
    values: dict[str, str],
    key: str,
    words: tuple[str, ...],
    hint: str,
    key_lines: list[tuple[str, int]],
    path: Path,
    diagnostics: list[Diagnostic],
) -> str:
    """A front-matter key that takes one of ``words`` (any case): the word, ``""`` when the key
    is absent, and an error at the key's line (and ``""``) for anything else."""
    word = values.get(key, "").lower()
    if word in ("", *words):
        return word
    diagnostics.append(
        error(path, dict(key_lines)[key], f"{key} '{values[key]}' is not known ({hint})")
    )
    return ""


def version_count(
    raw: str, path: Path, key_lines: dict[str, int], diagnostics: list[Diagnostic]
) -> int:
    """``versions: 3`` as a number of test versions (0 when absent or wrong, with an error)."""
    from ..versions import MAX_VERSIONS

    if not raw:
        return 0
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_VERSIONS:
        return int(text)
    diagnostics.append(
        error(
            path,
            key_lines.get("versions", 1),
            f"versions: {raw[:40]} must be a number of test versions from 1 to {MAX_VERSIONS}",
        )
    )
    return 0


def yaml_words(node: yaml.Node) -> tuple[tuple[str, ...], str]:
    """A list of words from a YAML node: ``[a, b]``, ``- a`` lines or ``a, b``; with the
    problem (``""`` when none) for anything else."""
    if isinstance(node, yaml.ScalarNode):
        return tuple(word.strip() for word in node.value.split(",") if word.strip()), ""
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        return tuple(item.value.strip() for item in node.value if item.value.strip()), ""
    return (), "must be a list of words, for example [moodle, qti]"


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest choice, or ``""``."""
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
