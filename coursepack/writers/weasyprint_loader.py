"""Import WeasyPrint without its slow search for shared libraries.

WeasyPrint opens Pango, HarfBuzz and friends through cffi, trying several names per library
(Windows and macOS names first). On Linux every name that misses goes through
``ctypes.util.find_library``, which starts ``ldconfig``, then ``gcc`` and ``ld``: about 10 ms
per miss and some twenty misses, about 0.2 s of every build. While WeasyPrint is imported, the
lookup here answers from one ``ldconfig -p`` listing instead, exactly as ``find_library``'s
first step would. Where the listing is unavailable, or the import fails with it, WeasyPrint is
imported the ordinary way.

WeasyPrint also declares those libraries' C functions to cffi, which parses the declarations
(some 450 lines of C) with pycparser on every import: about a sixth of importing WeasyPrint.
What cffi makes of them is kept in a private cache folder (:func:`_cached_declarations`) and
read back by the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

# find_library's first step on glibc matches "libNAME.<version> (<abi>" in the listing; the ABI
# tag is the one ctypes uses (a prefix such as "libc6" matches "libc6,AArch64" too).
_ABI = {"x86_64": "libc6,x86-64"}


def load_weasyprint() -> ModuleType:
    """The ``weasyprint`` module, imported once per process, with pydyf's page references
    cached (:mod:`coursepack.writers.pydyf_pages`: the same bytes, faster long PDFs),
    tinyhtml5's expressions remembered (:mod:`coursepack.writers.html_regexes`: the same
    parse, faster), text layouts set up from shared Pango parts
    (:mod:`coursepack.writers.text_layouts`: the same bytes, cheaper text), the properties an
    element does not set computed by the plain rules first
    (:mod:`coursepack.writers.style_defaults`: the same values) and Arabic text given its own
    text for copying (:mod:`coursepack.writers.rtl_text`)."""
    module = sys.modules.get("weasyprint") or _import_weasyprint()
    # Every time, not only at the first import: WeasyPrint may have been imported by other
    # code first (each install is done once and then only checks its mark).
    from coursepack.writers.html_regexes import install as install_html_regexes
    from coursepack.writers.pdf_tags import install as install_header_scopes
    from coursepack.writers.pydyf_pages import cache_page_references
    from coursepack.writers.rtl_text import install as install_glyph_aliases
    from coursepack.writers.style_defaults import install as plain_style_rules_first
    from coursepack.writers.text_layouts import install as share_layout_parts

    cache_page_references()
    install_html_regexes()
    share_layout_parts()
    plain_style_rules_first()
    install_glyph_aliases()
    install_header_scopes()
    return module


def _import_weasyprint() -> ModuleType:
    """Import WeasyPrint, its library lookups answered from ``ldconfig -p`` where possible."""
    listing = _ldconfig_listing() if sys.platform.startswith("linux") else None
    if listing:
        try:
            with _find_library_from(listing), _cached_declarations():
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


# What cffi's parser keeps of a parse (its other attribute maps the AST's nodes: weak, empty).
_PARSER_STATE = (
    "_declarations",
    "_included_declarations",
    "_anonymous_counter",
    "_int_constants",
    "_recomplete",
    "_uses_new_feature",
)


@contextlib.contextmanager
def _cached_declarations() -> Iterator[None]:
    """While WeasyPrint is imported, cffi's parse of a set of C declarations into a fresh
    parser is read from the cache when it was made before (by this cffi and pycparser, from
    the same text and options), and written there otherwise. Without a usable cache folder,
    or with a cffi whose parser looks different, cffi parses as usual."""
    folder = _declarations_folder()
    original = _cffi_parser() if folder is not None else None
    parse = getattr(original, "parse", None)
    if folder is None or original is None or parse is None:
        yield
        return

    def cached_parse(parser: Any, csource: str, *args: Any, **kwargs: Any) -> None:
        fresh = all(hasattr(parser, name) for name in _PARSER_STATE) and not (
            parser._declarations or parser._int_constants
        )
        if not fresh:
            return parse(parser, csource, *args, **kwargs)
        key = repr((_cffi_versions(), csource, args, sorted(kwargs.items())))
        path = folder / f"{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}.pickle"
        state = _read_state(path)
        if state is not None:
            parser.__dict__.update(state)
            return None
        parse(parser, csource, *args, **kwargs)
        _write_state(path, {name: getattr(parser, name) for name in _PARSER_STATE})
        return None

    original.parse = cached_parse
    try:
        yield
    finally:
        original.parse = parse


def _cffi_parser() -> type | None:
    """cffi's parser class, or None."""
    try:
        from cffi.cparser import Parser
    except ImportError:
        return None
    return Parser


def _cffi_versions() -> str:
    import cffi
    import pycparser

    return f"cffi {cffi.__version__} pycparser {pycparser.__version__} {sys.version}"


def _declarations_folder() -> Path | None:
    """The cache folder of cffi's parses, or None. What is read there is unpickled (code
    runs), so, as for the compiled templates, only a folder that this user owns and nobody
    else may write to is used (``COURSEPACK_CACHE``: another base folder, "" none)."""
    from coursepack.cache import private_folder

    return private_folder("cffi-declarations")


def _read_state(path: Path) -> dict[str, Any] | None:
    """A parser's state as written by :func:`_write_state`, or None (none, or damaged)."""
    try:
        state = pickle.loads(path.read_bytes())  # noqa: S301 - our own private folder
    except Exception:  # a damaged file: pickle says so in many ways
        return None
    if not isinstance(state, dict) or set(state) != set(_PARSER_STATE):
        return None
    if not isinstance(state["_declarations"], dict) or not state["_declarations"]:
        return None
    return state


def _write_state(path: Path, state: dict[str, Any]) -> None:
    """Keep a parser's state in ``path`` (anything that fails is skipped)."""
    from coursepack.cache import write_whole

    try:
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something cffi made that pickle cannot write
        return
    write_whole(path, data)
