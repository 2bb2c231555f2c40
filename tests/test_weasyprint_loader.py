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
        import contextlib, ctypes.util, sys
        from coursepack.writers import weasyprint_loader as loader
        before = ctypes.util.find_library
        used = []
        real = loader._find_library_from

        @contextlib.contextmanager
        def spy(listing):
            with real(listing):
                used.append(ctypes.util.find_library("harfbuzz"))
                yield

        loader._find_library_from = spy
        module = loader.load_weasyprint()
        import weasyprint
        fast = bool(used and used[0]) or not sys.platform.startswith("linux")
        print(module is weasyprint, ctypes.util.find_library is before, fast)
        """
    )
    # The fast lookup was used (on Linux, where ldconfig lists HarfBuzz) and then put back.
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
