"""Make tinyhtml5 remember the regular expressions it reads HTML with (the same ones).

WeasyPrint parses a document's HTML with tinyhtml5, whose input stream reads runs of
characters (an attribute's name, its value, text up to the next tag) with a regular
expression per set of stop characters, meant to be made once and kept in
``characters_until_regex``. tinyhtml5 2.1.0 keeps it under the wrong key (``characters =
cache[key] = regex`` assigns ``characters`` first, so the key it stores is the expression
itself): every run builds its expression again, an ``ord`` and a format per stop character
(52 for an attribute's name). That was half of parsing a lesson's HTML, more with 200
formulas' ``<img>`` attributes (0.021 → 0.011 s per PDF). :func:`install` puts each
expression under the key tinyhtml5 looks it up by, made exactly as tinyhtml5 makes it, so the
parse and the PDF are the same.
"""

from __future__ import annotations

import re
from typing import Any

#: The tinyhtml5 whose ``chars_until`` this was read against; another is left alone.
TINYHTML5 = "2.1.0"
_MARK = "_coursepack_remembered"


def install() -> bool:
    """Remember tinyhtml5's expressions under the right key (once); False when tinyhtml5 is
    not the version read (nothing is changed then)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        if version("tinyhtml5") != TINYHTML5:
            return False
        from tinyhtml5 import inputstream
    except (PackageNotFoundError, ImportError):
        return False
    stream = getattr(inputstream, "HTMLUnicodeInputStream", None)
    cache = getattr(inputstream, "characters_until_regex", None)
    original = getattr(stream, "chars_until", None)
    if original is None or not isinstance(cache, dict):
        return False
    if getattr(original, _MARK, False):
        return True

    def chars_until(self: Any, characters: Any, opposite: bool = False) -> str:
        if (characters, opposite) not in cache:
            # tinyhtml5's own expression for these stop characters, under its own key
            escaped = "".join([f"\\x{ord(character):02x}" for character in characters])
            cache[(characters, opposite)] = re.compile(
                f"[{escaped}]+" if opposite else f"[^{escaped}]+"
            )
        return original(self, characters, opposite)

    chars_until.__doc__ = original.__doc__
    setattr(chars_until, _MARK, True)
    stream.chars_until = chars_until
    return True
