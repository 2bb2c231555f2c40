"""Import WeasyPrint without its slow search for shared libraries.

WeasyPrint opens Pango, HarfBuzz and friends through cffi, trying several names per library
(Windows and macOS names first). On Linux every name that misses goes through
``ctypes.util.find_library``, which starts ``ldconfig``, then ``gcc`` and ``ld``: about 10 ms
per miss and some twenty misses, about 0.2 s of every build. While WeasyPrint is imported, the
lookup here answers from one ``ldconfig -p`` listing instead, exactly as ``find_library``'s
first step would. Where the listing is unavailable, or the import fails with it, WeasyPrint is
imported the ordinary way.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

# find_library's first step on glibc matches "libNAME.<version> (<abi>" in the listing; the ABI
# tag is the one ctypes uses (a prefix such as "libc6" matches "libc6,AArch64" too).
_ABI = {"x86_64": "libc6,x86-64"}


def load_weasyprint() -> ModuleType:
    """The ``weasyprint`` module, imported once per process, with pydyf's page references
    cached (:mod:`coursepack.writers.pydyf_pages`: the same bytes, faster long PDFs) and
    Arabic text given its own text for copying (:mod:`coursepack.writers.rtl_text`)."""
    module = sys.modules.get("weasyprint") or _import_weasyprint()
    # Every time, not only at the first import: WeasyPrint may have been imported by other
    # code first (each install is done once and then only checks its mark).
    from coursepack.writers.pdf_tags import install as install_header_scopes
    from coursepack.writers.pydyf_pages import cache_page_references
    from coursepack.writers.rtl_text import install as install_glyph_aliases

    cache_page_references()
    install_glyph_aliases()
    install_header_scopes()
    return module


def _import_weasyprint() -> ModuleType:
    """Import WeasyPrint, its library lookups answered from ``ldconfig -p`` where possible."""
    listing = _ldconfig_listing() if sys.platform.startswith("linux") else None
    if listing:
        try:
            with _find_library_from(listing):
                return importlib.import_module("weasyprint")
        except (OSError, ImportError):
            # A library known only to gcc or LD_LIBRARY_PATH: forget the half-done import.
            for name in [m for m in sys.modules if m.partition(".")[0] == "weasyprint"]:
                del sys.modules[name]
    return importlib.import_module("weasyprint")


def _ldconfig_listing() -> str | None:
    """The dynamic linker's cache as ``ldconfig -p`` prints it, or None."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            result = subprocess.run(
                [ldconfig, "-p"],
                capture_output=True,
                env={"LC_ALL": "C", "LANG": "C"},
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if result.returncode == 0 and result.stdout:
            return os.fsdecode(result.stdout)
    return None


@contextlib.contextmanager
def _find_library_from(listing: str) -> Iterator[None]:
    """Make ``ctypes.util.find_library`` answer from ``listing`` for the duration."""
    import ctypes.util

    abi = _ABI.get(os.uname().machine, "libc6")
    original: Callable[[str], str | None] = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        match = re.search(rf"\s+(lib{re.escape(name)}\.\S+)\s+\({re.escape(abi)}", listing)
        return match.group(1) if match else None

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original
