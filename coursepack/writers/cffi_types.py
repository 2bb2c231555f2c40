"""Spare WeasyPrint's cffi the C parser it runs on a render's type names.

cffi turns each new C type name it is given (``ffi.new("PangoRectangle *")``) into a type by
parsing it with pycparser, in pure Python: about 3 ms a name, then cached by the exact string.
WeasyPrint 70 names about ten fixed types on the first render of a process, and its font
subsetting (``weasyprint.pdf.fonts.Font._harfbuzz_subset``) names arrays by their length,
``hb_codepoint_t[134]``: a new length is a new name, parsed again, two or three per font of
every PDF. Together 0.05-0.1 s of CPU per render, in each forked worker.

:func:`install` gives WeasyPrint's font module a view of its ``ffi`` whose ``new`` makes such
an array as ``hb_codepoint_t[]`` with the same items (cffi sizes an open array by its
initializer: the same array, the same calls into HarfBuzz, the same PDF), and :func:`warm`
parses the fixed names once before the workers fork, so they inherit them.
"""

from __future__ import annotations

import re
from typing import Any

_MARK = "_coursepack_open_arrays"
#: ``T[N]``: an array type named by its length.
_SIZED_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_ ]*)\[(\d+)\]")
#: The C types WeasyPrint 70 names in a render (text layout, fonts, PDF streams). A name
#: another version no longer uses only costs its parse.
RENDER_TYPES = (
    "PangoRectangle *",
    "PangoLogAttr[]",
    "unsigned int *",
    "char[]",
    "char[4]",
    "hb_tag_t[100]",
    "hb_codepoint_t[]",
    "FcChar8 **",
    "FcResult *",
)


class OpenArrays:
    """An ``ffi`` whose ``new("T[N]", items)`` is ``new("T[]", items)`` when ``items`` has
    ``N`` of them; everything else is the wrapped ``ffi``'s."""

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: Any, init: Any = None) -> Any:
        """``ffi.new``, an array sized by its initializer named without its length."""
        if isinstance(cdecl, str) and isinstance(init, (list, tuple)):
            match = _SIZED_ARRAY.fullmatch(cdecl)
            if match and int(match[2]) == len(init):
                cdecl = f"{match[1]}[]"
        return self._ffi.new(cdecl, init)


def install() -> bool:
    """Give ``weasyprint.pdf.fonts`` the :class:`OpenArrays` view of its ``ffi`` (once);
    False if WeasyPrint has changed shape and nothing is done."""
    from weasyprint.pdf import fonts

    current = getattr(fonts, "ffi", None)
    if current is None:
        return False
    if getattr(current, _MARK, False):
        return True
    view = OpenArrays(current)
    setattr(view, _MARK, True)
    fonts.ffi = view
    return True


def warm() -> None:
    """Parse :data:`RENDER_TYPES` now (cffi keeps them for the process and its forks)."""
    from weasyprint.text.ffi import ffi

    for name in RENDER_TYPES:
        try:
            ffi.typeof(name)
        except Exception:  # noqa: BLE001 (a type this WeasyPrint does not declare: unused)
            continue
