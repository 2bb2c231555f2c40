"""The WeasyPrint loader: same module, library lookups answered from ldconfig, safe fallback."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (WeasyPrint must not be imported yet) and return
    its output."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_loader_imports_weasyprint_and_restores_find_library() -> None:
    out = run_python(
        """
        import ctypes.util
        before = ctypes.util.find_library
        from coursepack.writers.weasyprint_loader import load_weasyprint
        module = load_weasyprint()
        import weasyprint
        print(module is weasyprint, ctypes.util.find_library is before, hasattr(module, "HTML"))
        """
    )
    assert out == "True True True"


def test_loader_falls_back_when_the_fast_import_fails() -> None:
    # The fast import breaks half-way (as when a library is known only to gcc): the loader
    # must forget the half-done import and import WeasyPrint the ordinary way.
    out = run_python(
        """
        import contextlib, sys
        from coursepack.writers import weasyprint_loader

        @contextlib.contextmanager
        def broken(listing):
            sys.modules["weasyprint.text.ffi"] = None  # importing it now raises ImportError
            yield

        weasyprint_loader._find_library_from = broken
        module = weasyprint_loader.load_weasyprint()
        from weasyprint import HTML
        pdf = HTML(string="<p>hello</p>").write_pdf()
        print(module.__name__, pdf[:5])
        """
    )
    assert out == "weasyprint b'%PDF-'"
