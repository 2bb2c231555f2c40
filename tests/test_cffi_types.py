"""WeasyPrint's cffi without a C parse per array length: the same arrays, the same PDF."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing installed or parsed yet); its output."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_patch_applies_to_the_installed_weasyprint() -> None:
    out = run_python(
        """
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers import cffi_types
        load_weasyprint()
        from weasyprint.pdf import fonts
        from weasyprint.text.ffi import ffi
        print(cffi_types.install(), cffi_types.install(), fonts.ffi is not ffi)
        """
    )
    assert out == "True True True"  # a second install keeps the first


def test_sized_arrays_are_the_same_arrays_without_a_new_type() -> None:
    out = run_python(
        """
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers.cffi_types import OpenArrays
        load_weasyprint()
        from weasyprint.text.ffi import ffi
        view = OpenArrays(ffi)
        items = [3, 1, 4, 1, 5, 9, 2, 6]
        array = view.new(f"hb_codepoint_t[{len(items)}]", items)
        plain = ffi.new(f"hb_codepoint_t[{len(items)}]", items)
        same = list(array) == list(plain) and ffi.sizeof(array) == ffi.sizeof(plain)
        before = len(ffi._parsed_types)
        view.new("hb_codepoint_t[5]", (1, 2, 3, 4, 5))
        view.new("hb_codepoint_t[7]", list(range(7)))
        # No length of its own for sized arrays; other uses are left to ffi as they are.
        fixed = view.new("hb_tag_t[100]")
        print(same, len(ffi._parsed_types) - before, len(fixed), view.NULL is ffi.NULL)
        """
    )
    assert out == "True 1 100 True"  # the one new type is hb_tag_t[100]


def test_the_same_pdf_with_and_without_the_patch() -> None:
    out = run_python(
        """
        import hashlib
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers import cffi_types
        weasyprint = load_weasyprint()
        from weasyprint.pdf import fonts
        html = "<p>Subsetting: ŵ ŷ ĉ ĝ, <b>bold</b> <i>italic</i> 0123456789</p>" * 20

        def digest():
            return hashlib.sha256(weasyprint.HTML(string=html).write_pdf()).hexdigest()

        original = fonts.ffi
        without = digest()
        cffi_types.install()
        cffi_types.warm()
        with_view = digest()
        print(fonts.ffi is not original, without == with_view)
        """
    )
    assert out == "True True"
