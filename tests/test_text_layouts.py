"""WeasyPrint's text layouts set up from shared Pango parts: fewer made, the same PDF."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (WeasyPrint not yet imported); its output."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


# Text that takes every branch of setup: languages (and none), both directions, underlines
# and strike-through (the metrics), OpenType features, small caps, letter spacing, sizes.
HTML = (
    """
<html lang="en"><body>
<p>Plain text, <u>underlined</u>, <s>struck</s>, <a href="#x" id="x">a link</a>.</p>
<p lang="fr" style="font-variant: small-caps">Texte en français, « guillemets ».</p>
<p lang="" style="letter-spacing: 1pt">No language at all, spaced out.</p>
<p dir="rtl" lang="ar">نص عربي <u>مسطر</u></p>
<p style="font-feature-settings: 'tnum' 1; font-kerning: none">0123456789 AVAW</p>
<p style="font-language-override: 'TRK'">fi fl ffi</p>
<h1>Heading</h1><small>small</small> <b>bold</b> <i>italic</i>
"""
    + "<p>Again and again, the same style, the same words.</p>" * 30
)


def test_the_patch_applies_to_the_installed_weasyprint() -> None:
    out = run_python(
        """
        from weasyprint.text import line_break
        own = line_break.Layout.setup
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers import text_layouts
        load_weasyprint()
        print(text_layouts.install(), text_layouts.install(), line_break.Layout.setup is not own)
        """
    )
    assert out == "True True True"  # a second install keeps the first


def test_layouts_of_one_style_share_one_context_and_font() -> None:
    out = run_python(
        f"""
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from weasyprint.text.fonts import FontConfiguration
        weasyprint = load_weasyprint()
        config = FontConfiguration()
        weasyprint.HTML(string={HTML!r}).write_pdf(font_config=config)
        contexts, fonts, _, _ = config.__dict__["_coursepack_layout_parts"]
        # en, fr, ar (rtl) and the override's Turkish ("" inherits): not one per layout.
        print(sorted(contexts), len(fonts) < 10)
        """
    )
    assert out == "[('ltr', 'en'), ('ltr', 'fr'), ('ltr', 'tur'), ('rtl', 'ar')] True"


def test_the_same_pdf_with_and_without_the_patch() -> None:
    out = run_python(
        f"""
        import hashlib
        from weasyprint.text import line_break
        own = line_break.Layout.setup
        from coursepack.writers.weasyprint_loader import load_weasyprint
        weasyprint = load_weasyprint()
        shared = line_break.Layout.setup

        def digest(setup):
            line_break.Layout.setup = setup
            return hashlib.sha256(weasyprint.HTML(string={HTML!r}).write_pdf()).hexdigest()

        print(shared is not own, digest(own) == digest(shared) == digest(own))
        """
    )
    assert out == "True True"
