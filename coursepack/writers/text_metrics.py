"""Measuring slide text with real font metrics, so the deck fits as written.

PowerPoint does not re-fit text when it opens a file, so the deck planner must know how many
lines a paragraph takes before it writes it. We measure with a metric twin of the font the
deck's theme names (Arimo for Arial, Carlito for Calibri): same advance widths, so a line that
fits here fits in PowerPoint and LibreOffice too.

Widths scale linearly with the point size, so each face is loaded once at a large reference size
(cached) and widths are scaled; no ImageFont per size is needed. Monospace text (code) is
measured as Courier New, whose every glyph advances 0.6 em.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

# The reference size the faces are loaded at; widths are scaled from it.
_REF_SIZE = 1000
# Courier New (and its twin Liberation Mono) advance every glyph by 1229/2048 em.
_MONO_ADVANCE = 1229 / 2048

# Lines break at whitespace, but never at a no-break space (U+00A0).
_TOKENS = re.compile(r"[^\S\u00a0]+|(?:[^\s]|\u00a0)+")


@dataclass(frozen=True)
class Piece:
    """A stretch of text in one style, as the wrapper sees it."""

    text: str
    bold: bool = False
    italic: bool = False
    mono: bool = False


@cache
def _face(path: str, weight: int):
    """One FreeType face at the reference size (the wght axis set for variable fonts)."""
    from PIL import ImageFont

    font = ImageFont.truetype(path, _REF_SIZE)
    try:
        axes = font.get_variation_axes()
    except OSError:  # not a variable font: the file already is the right weight
        return font
    values = []
    for axis in axes:
        name = axis["name"]
        name = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        if name.strip().lower() in ("weight", "wght"):
            values.append(float(max(axis["minimum"], min(axis["maximum"], weight))))
        else:
            values.append(float(axis["default"]))
    font.set_variation_by_axes(values)
    return font


@dataclass(frozen=True)
class FontFiles:
    """The files of one family: regular and italic, with bold as a file or a wght value."""

    name: str
    regular: Path
    italic: Path
    bold: Path | None = None
    bold_italic: Path | None = None

    def face(self, bold: bool, italic: bool):
        """The cached face for a style."""
        if bold and not italic and self.bold:
            return _face(str(self.bold), 700)
        if bold and italic and self.bold_italic:
            return _face(str(self.bold_italic), 700)
        base = self.italic if italic else self.regular
        return _face(str(base), 700 if bold else 400)


def arimo_files() -> FontFiles:
    """Arimo (Arial's metrics) from the ``fontpkg-arimo`` package: variable, wght 400-700."""
    import fontpkg

    return FontFiles(
        "Arimo", fontpkg.path("Arimo"), fontpkg.path("Arimo", style="italic", nearest=True)
    )


_CARLITO = Path("/usr/share/fonts/truetype/crosextra")


def carlito_files() -> FontFiles | None:
    """Carlito (Calibri's metrics) when the system has it (Debian: fonts-crosextra-carlito)."""
    names = ("Regular", "Italic", "Bold", "BoldItalic")
    paths = [_CARLITO / f"Carlito-{n}.ttf" for n in names]
    if not all(p.is_file() for p in paths):
        return None
    return FontFiles("Carlito", paths[0], paths[1], paths[2], paths[3])


# Theme fonts we can measure, by the lower-cased name a theme gives, and their metric twin.
_TWINS = {
    "arial": arimo_files,
    "arimo": arimo_files,
    "liberation sans": arimo_files,
    "helvetica": arimo_files,
    "calibri": carlito_files,
    "carlito": carlito_files,
}


# TextMetrics.for_font's instances, by (class, files): FontFiles is frozen, so equal files
# (the same twin found again) give the same instance.
_BY_FILES: dict[tuple[type, FontFiles], TextMetrics] = {}


class TextMetrics:
    """Widths of text in points, and line counts under greedy word wrap.

    ``line_factor`` is the height of one line as a multiple of the size (Arial's ascent, descent
    and gap come to 1.15 em; 1.2 leaves room for renderer differences). ``slack`` shrinks the
    measured-against width a little for the same reason.
    """

    def __init__(
        self, files: FontFiles | None = None, line_factor: float = 1.2, slack: float = 0.97
    ) -> None:
        self.files = files or arimo_files()
        self.line_factor = line_factor
        self.slack = slack

    @property
    def family(self) -> str:
        """The name of the measured family (the metric twin, e.g. ``Arimo``)."""
        return self.files.name

    @classmethod
    def for_font(cls, name: str) -> TextMetrics | None:
        """Metrics for a theme font we have a metric twin of, else None: one instance per
        twin's files and class in a process, so that the widths it has measured (cached per
        instance) serve every deck, not only the one it was made for."""
        loader = _TWINS.get(name.strip().lower())
        files = loader() if loader else None
        if not files:
            return None
        key = (cls, files)
        metrics = _BY_FILES.get(key)
        if metrics is None:
            metrics = _BY_FILES[key] = cls(files)
        return metrics

    def width(
        self, text: str, size: float, bold: bool = False, italic: bool = False, mono: bool = False
    ) -> float:
        """The advance width of ``text`` at ``size`` points, in points."""
        if not text:
            return 0.0
        if mono:
            return len(text) * _MONO_ADVANCE * size
        return self._length(text, bold, italic) * size / _REF_SIZE

    # Keyed without the size: the planner tries each paragraph at up to eleven sizes, and a
    # cache per (word, size) thrashed above ~2,500 bullets (every lookup a miss).
    @lru_cache(maxsize=1 << 17)  # noqa: B019 - instances live as long as the process anyway
    def _length(self, text: str, bold: bool, italic: bool) -> float:
        """The advance of ``text`` at the reference size (FreeType's, via Pillow)."""
        return self.files.face(bold, italic).getlength(text)

    @lru_cache(maxsize=1 << 15)  # noqa: B019 - as _length
    def _tokens(
        self, text: str, bold: bool, italic: bool, mono: bool
    ) -> tuple[tuple[bool, float], ...]:
        """The tokens of ``text`` for :meth:`_wrap`, each as (a space a line may break at, its
        width at the reference size; for monospace, per point): a paragraph is wrapped at up
        to eleven sizes, and its words were split and looked up again at each."""
        out = []
        for match in _TOKENS.finditer(text):
            token = match.group()
            ref = len(token) * _MONO_ADVANCE if mono else self._length(token, bold, italic)
            out.append((token.isspace() and "\u00a0" not in token, ref))
        return tuple(out)

    def line_height(self, size: float) -> float:
        """The height of one line at ``size`` points."""
        return size * self.line_factor

    def count_lines(
        self, pieces: Sequence[Piece], width: float, size: float, most: int | None = None
    ) -> int:
        """How many lines ``pieces`` take when wrapped greedily at spaces into ``width`` points.

        Hard line breaks are ``\\n``. A word wider than the line is broken anywhere (as
        PowerPoint does), which costs the lines it fills. With ``most``, counting stops once the
        text needs more than ``most`` lines (the answer is then some number above ``most``):
        asking whether a 4,000-word title fits in three lines reads only its first lines.
        """
        width = max(1.0, width * self.slack)
        lines = 0
        for hard in _split_hard_lines(pieces):
            lines += self._wrap(hard, width, size, None if most is None else most - lines)
            if most is not None and lines > most:
                break
        return max(1, lines)

    def _wrap(
        self, pieces: Sequence[Piece], width: float, size: float, most: int | None = None
    ) -> int:
        """Greedy wrapping, word by word as the tokens come (see :meth:`count_lines`).

        A word is placed when the next one starts (or at the end), with the spaces after it:
        ``used += word + space``, in that order, as the lines were always counted.
        """
        lines, used = 1, 0.0
        word: float | None = None  # the last complete word's width, not yet placed
        space = 0.0  # the spaces after it
        current = 0.0  # the word being read
        in_word = False

        def place(word: float, space: float) -> None:
            nonlocal lines, used
            if used > 0 and used + word > width:
                lines += 1
                used = 0.0
            if used == 0 and word > width:
                extra = math.ceil(word / width) - 1
                lines += extra
                word -= extra * width
            used += word + space

        for piece in pieces:
            for breaking, ref in self._tokens(piece.text, piece.bold, piece.italic, piece.mono):
                # the token's width as width() gives it, from its width at the reference size
                w = ref * size if piece.mono else ref * size / _REF_SIZE
                if breaking:
                    if in_word:
                        if word is not None:
                            place(word, space)
                            if most is not None and lines > most:
                                return lines
                        word, space = current, 0.0
                        current, in_word = 0.0, False
                    if word is not None:
                        space += w
                else:
                    current += w
                    in_word = True
        if in_word:
            if word is not None:
                place(word, space)
            word, space = current, 0.0
        if word is not None:
            place(word, space)
        return lines


def _split_hard_lines(pieces: Sequence[Piece]) -> list[list[Piece]]:
    out: list[list[Piece]] = [[]]
    for piece in pieces:
        parts = piece.text.split("\n")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part:
                out[-1].append(Piece(part, piece.bold, piece.italic, piece.mono))
    return out


@lru_cache(maxsize=8)
def default_metrics() -> TextMetrics:
    """Arimo metrics, for the default deck whose theme font is Arial."""
    return TextMetrics()
