"""Step 1, decode: bytes to text (UTF-8 only, a BOM dropped, Windows line endings
made ``\\n``); control characters are removed with a warning."""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, error, warning
from .syntax import _BAD_CHARS_RE, _MAX_CHAR_WARNINGS

# --------------------------------------------------------------------------- decoding


def _decode(data: bytes, path: Path) -> tuple[str | None, list[Diagnostic]]:
    """Bytes to text: UTF-8 only (BOM dropped); other encodings are one clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [
            error(path, 1, 'the file is UTF-16 ("Unicode"), not UTF-8 (save it as UTF-8)')
        ]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:2000]
    if len(head) >= 8 and head.count(b"\x00") * 4 > len(head):
        return None, [
            error(path, 1, 'the file looks like UTF-16 ("Unicode"), not UTF-8 (save it as UTF-8)')
        ]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        return None, [
            error(
                path,
                line,
                f"the file is not UTF-8 (save it as UTF-8): byte 0x{byte:02x} at column "
                f"{column} of this line cannot be read (a file saved as Latin-1 or "
                "Windows-1252?)",
            )
        ]


def _clean_lines(text: str, path: Path) -> tuple[list[str], list[Diagnostic]]:
    """Split into lines (``\\r\\n``, ``\\r`` and ``\\n`` all end a line) and drop bad characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    diagnostics: list[Diagnostic] = []
    if not _BAD_CHARS_RE.search(text):
        return lines, diagnostics
    bad_lines = 0
    first_unreported = 0
    for index, line in enumerate(lines):
        found = _BAD_CHARS_RE.findall(line)
        if not found:
            continue
        bad_lines += 1
        lines[index] = _BAD_CHARS_RE.sub("", line)
        if bad_lines == _MAX_CHAR_WARNINGS + 1:
            first_unreported = index + 1
        if bad_lines <= _MAX_CHAR_WARNINGS:
            names = ", ".join(dict.fromkeys(_char_name(c) for c in found))
            diagnostics.append(
                warning(
                    path,
                    index + 1,
                    f"removed {len(found)} invisible control character(s) ({names})",
                )
            )
    if bad_lines > _MAX_CHAR_WARNINGS:
        diagnostics.append(
            warning(
                path,
                first_unreported,
                f"removed control characters on {bad_lines - _MAX_CHAR_WARNINGS} more line(s), "
                "from this one on",
            )
        )
    return lines, diagnostics


def _char_name(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "NUL"
    return f"U+{code:04X}"
