"""Step 3, fenced divs: a pre-scan of the body lines finds the ``:::`` fences (skipping
code fences) and builds a tree of regions, so an unclosed div is reported where it opened;
div kinds and attributes are read here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, error, warning
from ..model import DIV_KINDS
from .front_matter import _suggest
from .syntax import (
    _ATTR_TOKEN_RE,
    _CODE_FENCE_RE,
    _DIV_FENCE_RE,
    DIV_ATTRIBUTES,
    MAX_DIV_DEPTH,
    MAX_LINES,
)

# --------------------------------------------------------------------------- div pre-scan


@dataclass
class _Chunk:
    """Consecutive Markdown lines between fences; ``start`` is the file line of the first."""

    start: int
    lines: list[str]


@dataclass
class _DivRegion:
    """A ``:::`` div found by the pre-scan."""

    line: int
    colons: int
    spec: str
    children: list[_Chunk | _DivRegion] = field(default_factory=list)
    closed: bool = False


def _prescan(
    lines: list[str], first_line: int, path: Path
) -> tuple[list[_Chunk | _DivRegion], list[Diagnostic]]:
    """Find ``:::`` fences (outside code fences) and group the lines into a region tree."""
    diagnostics: list[Diagnostic] = []
    root: list[_Chunk | _DivRegion] = []
    stack: list[_DivRegion] = []
    code_fence: tuple[str, int, int] | None = None  # (char, length, line)
    too_deep = 0  # fences opened beyond MAX_DIV_DEPTH (ignored, and so are their closers)

    def children() -> list[_Chunk | _DivRegion]:
        return stack[-1].children if stack else root

    def add_line(number: int, text: str) -> None:
        siblings = children()
        if siblings and isinstance(siblings[-1], _Chunk):
            siblings[-1].lines.append(text)
        else:
            siblings.append(_Chunk(number, [text]))

    for index, text in enumerate(lines):
        number = first_line + index
        if code_fence is not None:
            match = _CODE_FENCE_RE.match(text)
            if (
                match
                and match.group(1)[0] == code_fence[0]
                and len(match.group(1)) >= code_fence[1]
                and not match.group(2).strip()
            ):
                code_fence = None
            add_line(number, text)
            continue
        match = _CODE_FENCE_RE.match(text)
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            code_fence = (match.group(1)[0], len(match.group(1)), number)
            add_line(number, text)
            continue
        match = _DIV_FENCE_RE.match(text)
        if match is None:
            add_line(number, text)
            continue
        spec = match.group(2).strip().rstrip(":").strip()
        if spec and len(stack) >= MAX_DIV_DEPTH:
            too_deep += 1
            diagnostics.append(
                error(
                    path,
                    number,
                    f"'::: {spec}' is nested too deeply (at most {MAX_DIV_DEPTH} ':::' blocks "
                    "inside each other; close some with ':::')",
                )
            )
        elif spec:
            region = _DivRegion(number, len(match.group(1)), spec)
            children().append(region)
            stack.append(region)
        elif too_deep:
            too_deep -= 1
        elif stack:
            stack.pop().closed = True
        else:
            diagnostics.append(
                error(
                    path,
                    number,
                    "this ':::' closes nothing (no block is open here; delete it, "
                    "or check the ':::' lines above)",
                )
            )
    if code_fence is not None:
        diagnostics.append(
            warning(
                path,
                code_fence[2],
                f"the code block opened with '{code_fence[0] * 3}' is never closed, so the rest "
                f"of the file is shown as code (add a line with '{code_fence[0] * code_fence[1]}')",
            )
        )
    for region in stack:
        diagnostics.append(
            error(
                path,
                region.line,
                f"'{':' * region.colons} {region.spec}' opened here is never closed "
                "(add a line with ':::' where the block ends)",
            )
        )
    return root, diagnostics


@dataclass(frozen=True)
class _DivSpec:
    kind: str
    attrs: dict[str, str]


def _parse_div_spec(region: _DivRegion, path: Path) -> tuple[_DivSpec | None, list[Diagnostic]]:
    """``question points=2`` or ``{.question points=2}`` into kind and attributes."""
    diagnostics: list[Diagnostic] = []
    spec = region.spec
    line = region.line
    kind = ""
    if not spec.startswith("{"):
        word, _, spec = spec.partition(" ")
        kind = word.strip()
        spec = spec.strip()
        if kind.startswith("{"):  # "{.question}" without a space
            spec, kind = kind + " " + spec, ""
    if spec.startswith("{"):
        if not spec.endswith("}"):
            diagnostics.append(
                error(path, line, "the '{' of the block's attributes is never closed (add '}')")
            )
            spec = spec[1:]
        else:
            spec = spec[1:-1]
    attrs: dict[str, str] = {}
    extras: list[str] = []
    for match in _ATTR_TOKEN_RE.finditer(spec):
        name, value, cls, ident, other = match.groups()
        if name:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            attrs[name.lower()] = value
        elif cls:
            if not kind:
                kind = cls[1:]
            else:
                extras.append(cls)
        elif ident:
            extras.append(ident)
        elif other:
            if not kind and not other.startswith(("{", "}")):
                kind = other
            else:
                extras.append(other)
    if not kind:
        diagnostics.append(
            error(
                path,
                line,
                "this ':::' block has no kind (write e.g. '::: question' or '::: notes')",
            )
        )
        return None, diagnostics
    kind_lower = kind.lower()
    if kind_lower not in DIV_KINDS:
        diagnostics.append(
            error(
                path,
                line,
                f"unknown block kind '{kind}'{_suggest(kind_lower, DIV_KINDS)} "
                f"(the kinds are: {', '.join(DIV_KINDS)})",
            )
        )
        return None, diagnostics
    allowed = DIV_ATTRIBUTES[kind_lower]
    for extra in extras:
        diagnostics.append(
            warning(
                path, line, f"unknown attribute '{extra}' on '::: {kind_lower}' (it is ignored)"
            )
        )
    for name in list(attrs):
        if name not in allowed:
            takes = " and ".join(a + "=" for a in allowed) or "no attributes"
            diagnostics.append(
                warning(
                    path,
                    line,
                    f"unknown attribute '{name}' on '::: {kind_lower}' is ignored "
                    f"(a {kind_lower} block takes {takes})",
                )
            )
            del attrs[name]
    return _DivSpec(kind_lower, attrs), diagnostics


def _yes_no(
    attrs: dict[str, str], name: str, line: int, path: Path, diagnostics: list[Diagnostic]
) -> bool:
    """A true/false attribute (``shuffle=false``); true when absent or invalid."""
    if name not in attrs:
        return True
    raw = attrs[name].strip().lower()
    if raw in ("true", "yes"):
        return True
    if raw in ("false", "no"):
        return False
    diagnostics.append(
        error(path, line, f"{name}={attrs[name]} must be {name}=true or {name}=false")
    )
    return True


def _whole_number(
    attrs: dict[str, str], name: str, line: int, path: Path, diagnostics: list[Diagnostic]
) -> int | None:
    """A positive whole-number attribute (``points=2``), or None when absent or invalid."""
    if name not in attrs:
        return None
    raw = attrs[name].strip()
    # At most 9 digits: int() of thousands of digits fails (Python's 4300-digit limit).
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > 9 or int(raw) < 1:
        diagnostics.append(
            error(
                path,
                line,
                f"{name}={attrs[name]!s} is not a positive whole number (write e.g. {name}=2)",
            )
        )
        return None
    value = int(raw)
    if name == "lines" and value > MAX_LINES:
        diagnostics.append(
            error(path, line, f"lines={value} is too many (at most {MAX_LINES} writing lines)")
        )
        return None
    return value
