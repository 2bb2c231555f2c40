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


def test_page_references_are_cached_and_the_same() -> None:
    # pydyf rebuilt every page's reference on each lookup (one per tagged box: quadratic in
    # pages); the cached property gives the same tuple, rebuilt only when a page is added.
    out = run_python(
        """
        import pydyf
        original = pydyf.PDF.page_references.fget
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers.pydyf_pages import cache_page_references
        load_weasyprint()
        assert pydyf.PDF.page_references.fget is not original
        assert cache_page_references()  # a second install keeps the first
        pdf = pydyf.PDF()
        same = []
        for count in range(1, 5):
            pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
            first = pdf.page_references
            same.append(first == original(pdf) and len(first) == count)
            same.append(pdf.page_references is first)  # built once per page count
        print(all(same))
        """
    )
    assert out == "True"


def test_cached_page_references_write_the_same_pdf() -> None:
    out = run_python(
        """
        import hashlib, pydyf
        from coursepack.writers.weasyprint_loader import load_weasyprint
        weasyprint = load_weasyprint()
        cached = pydyf.PDF.page_references
        html = "<html lang=en><body>" + "".join(
            f"<h2>Part {i}</h2><ul><li>one</li><li><a href='#p{i}'>link</a></li></ul>"
            f"<p id='p{i}' style='break-after: page'>Text {i}</p>" for i in range(6)
        ) + "</body></html>"

        def digest():
            document = weasyprint.HTML(string=html).render(pdf_tags=True)
            pdf = document.write_pdf(pdf_tags=True)
            return len(document.pages), hashlib.sha256(pdf).hexdigest()

        with_cache = digest()
        pydyf.PDF.page_references = property(
            lambda self: tuple(
                f"{n} 0 R".encode("ascii") for n in self.pages["Kids"][::3]
            )
        )
        without = digest()
        pydyf.PDF.page_references = cached
        print(with_cache[0] >= 6, with_cache == without)
        """
    )
    assert out == "True True"


def test_every_patch_applies_to_the_installed_weasyprint() -> None:
    """pyproject pins WeasyPrint and pydyf to the versions our patches know; each patch says
    False, and changes nothing, when it no longer fits. Here every one must fit: an upgrade
    that breaks one fails this test instead of quietly making PDFs slower or Arabic text
    copy wrong."""
    out = run_python(
        """
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers import (
            formula_paint, html_regexes, pdf_tags, pydyf_pages, rtl_text, svg_paths
        )
        weasyprint = load_weasyprint()
        print(pydyf_pages.cache_page_references(), rtl_text.install(), pdf_tags.install(),
              svg_paths.install(weasyprint), formula_paint.install(weasyprint),
              html_regexes.install())
        """
    )
    assert out == "True True True True True True"


def test_tinyhtml5_remembers_its_expressions_and_parses_the_same() -> None:
    """tinyhtml5 2.1.0 keeps each expression it reads runs of characters with under the
    wrong key and makes it again for every run; installed, each is made once, under the key
    it is looked up by, and the maths, chemistry and computing handouts' HTML (formulas'
    ``<img>`` attributes, entities, code) parse to the same tree as before."""
    out = run_python(
        """
        import xml.etree.ElementTree as ET
        from pathlib import Path
        import tinyhtml5
        from tinyhtml5 import inputstream
        from tinyhtml5.constants import ascii_letters
        from coursepack.check import check_lesson
        from coursepack.writers.handout import HandoutWriter
        from coursepack.writers import html_regexes

        writer = HandoutWriter()
        pages = []
        for name in ("maths", "chemistry", "computing"):
            lesson, _ = check_lesson(Path("tests/fixtures/subjects") / f"{name}.md")
            pages += [writer.render_html(lesson, view) for view in ("handout", "key")]
        def trees():
            return [ET.tostring(tinyhtml5.parse(page)) for page in pages]
        before = trees()  # tinyhtml5 as it is
        assert html_regexes.install()
        inputstream.characters_until_regex.clear()
        after = trees()
        made = len(inputstream.characters_until_regex)
        trees()
        print(before == after, (ascii_letters, True) in inputstream.characters_until_regex,
              made < 20, len(inputstream.characters_until_regex) == made)
        """
    )
    assert out == "True True True True"


DECLARATIONS = """
    import hashlib, os, sys
    from coursepack.writers.weasyprint_loader import load_weasyprint
    read = []
    from coursepack.writers import weasyprint_loader as loader
    real = loader._read_state
    loader._read_state = lambda path: read.append(real(path) is not None) or real(path)
    load_weasyprint()
    from weasyprint.text.ffi import ffi
    parser = ffi._parser
    def c(tp):
        return tp.get_c_name() if hasattr(tp, "get_c_name") else repr(tp)
    text = repr(sorted((name, c(tp), quals, getattr(tp, "fldnames", None),
                        [c(t) for t in getattr(tp, "fldtypes", None) or ()])
                       for name, (tp, quals) in parser._declarations.items()))
    text += repr(sorted(parser._int_constants.items()))
    print(any(read), "pycparser.c_parser" in sys.modules, hashlib.sha256(text.encode()).hexdigest(),
          ffi.typeof("PangoRectangle").cname, ffi.sizeof("PangoRectangle"))
"""


def _declarations(cache: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DECLARATIONS)],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "COURSEPACK_CACHE": cache},
    )
    return result.stdout.split()


def test_cffi_declarations_read_back_are_the_ones_parsed(tmp_path) -> None:
    """cffi's parse of WeasyPrint's C declarations is kept in the cache folder: the next
    import reads it back instead of parsing, with the same declarations and types."""
    plain = _declarations("")
    assert plain[0] == "False"
    first = _declarations(str(tmp_path))
    again = _declarations(str(tmp_path))
    assert first[0] == "False" and again[0] == "True"  # written, then read back
    assert plain[2:] == first[2:] == again[2:]
    (entry,) = (tmp_path / "cffi-declarations").iterdir()
    entry.write_bytes(b"not a pickle")
    assert _declarations(str(tmp_path))[2:] == plain[2:]  # damaged: parsed again


def test_cffi_declarations_are_not_read_from_a_folder_others_may_write(tmp_path) -> None:
    import os

    _declarations(str(tmp_path))
    folder = tmp_path / "cffi-declarations"
    folder.chmod(0o777)
    try:
        assert _declarations(str(tmp_path))[0] == "False"  # not read: code would run
    finally:
        folder.chmod(0o700)
    assert os.stat(folder).st_mode & 0o777 == 0o700
