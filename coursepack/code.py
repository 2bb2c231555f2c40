"""Syntax highlighting for fenced code: Pygments tokens folded into a few kinds.

Every output colours code from the same kinds (keyword, string, comment, number, name,
builtin, operator, plain); the theme (``code:`` in theme.yaml) gives each kind a colour and,
so that it still reads in a grayscale print, a weight or slant. A block without a language,
or with one Pygments does not know, is one plain token per line: printed as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

CodeKind = Literal["keyword", "string", "comment", "number", "name", "builtin", "operator", "plain"]
CODE_KINDS: tuple[CodeKind, ...] = (
    "keyword",
    "string",
    "comment",
    "number",
    "name",
    "builtin",
    "operator",
    "plain",
)


@dataclass(frozen=True)
class CodeToken:
    """A run of code text of one kind (may hold newlines only as whole ``"\\n"`` tokens)."""

    kind: CodeKind
    text: str


def _kind(token_type: object) -> CodeKind:
    from pygments import token as t

    if token_type in t.Comment:
        return "comment"
    if token_type in t.String:
        return "string"
    if token_type in t.Number:
        return "number"
    if token_type in t.Keyword or token_type in t.Operator.Word:
        return "keyword"
    if token_type in t.Name.Builtin:
        return "builtin"
    if any(token_type in kind for kind in (t.Name.Function, t.Name.Class, t.Name.Decorator)):
        return "name"
    if token_type in t.Operator:
        return "operator"
    return "plain"


def language(info: str) -> str:
    """The language of a fence's info string (```` ```python ```` → ``python``)."""
    words = info.strip().split()
    return words[0].strip("{}.").lower() if words else ""


@lru_cache(maxsize=1024)
def tokens(text: str, info: str) -> tuple[CodeToken, ...]:
    """The code's tokens in order; joined, their texts give ``text`` back exactly."""
    lexer = None
    name = language(info)
    if name:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            # stripnl/ensurenl off: leading blank lines and spaces stay as written.
            lexer = get_lexer_by_name(name, stripnl=False, stripall=False, ensurenl=False)
        except ClassNotFound:
            lexer = None
    if lexer is None:
        return _split_lines([CodeToken("plain", text)])
    runs: list[CodeToken] = []
    for token_type, value in lexer.get_tokens(text):
        kind = _kind(token_type)
        if runs and runs[-1].kind == kind:
            runs[-1] = CodeToken(kind, runs[-1].text + value)
        else:
            runs.append(CodeToken(kind, value))
    return _split_lines(runs)


def _split_lines(runs: list[CodeToken]) -> tuple[CodeToken, ...]:
    """Newlines as tokens of their own, so writers can break lines and slides between them."""
    out: list[CodeToken] = []
    for run in runs:
        for index, piece in enumerate(run.text.split("\n")):
            if index:
                out.append(CodeToken("plain", "\n"))
            if piece:
                out.append(CodeToken(run.kind, piece))
    return tuple(out)


def lines(text: str, info: str) -> tuple[tuple[CodeToken, ...], ...]:
    """The code's tokens line by line (no newline tokens)."""
    result: list[list[CodeToken]] = [[]]
    for token in tokens(text, info):
        if token.text == "\n":
            result.append([])
        else:
            result[-1].append(token)
    return tuple(tuple(line) for line in result)


@dataclass(frozen=True)
class CodeStyle:
    """How one kind of code token is printed (from theme.yaml's ``code:``)."""

    colour: str
    bold: bool = False
    italic: bool = False


def code_styles(theme: dict) -> dict[CodeKind, CodeStyle]:
    """Each kind's style from a theme; kinds the theme leaves out print like plain code."""
    ink = str((theme.get("colours") or {}).get("ink", "#000000"))
    given = theme.get("code") or {}
    styles: dict[CodeKind, CodeStyle] = {}
    for kind in CODE_KINDS:
        entry = given.get(kind) or {}
        styles[kind] = CodeStyle(
            colour=str(entry.get("colour", ink)),
            bold=bool(entry.get("bold", False)),
            italic=bool(entry.get("italic", False)),
        )
    return styles
