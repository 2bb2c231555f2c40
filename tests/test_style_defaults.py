"""Unset CSS properties computed by the plain rules first: the same values, the same PDF."""

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


# Every rule the plain path must leave to WeasyPrint's: an inherited calc() with a percentage
# (solved per element), logical properties, text decorations, named pages, float / position /
# display, custom properties, the root element, and plenty of plain inheritance.
HTML = (
    """
<html style="font-size: calc(10pt + 2px); --gap: 3pt"><head><style>
  @page wide { size: A5 landscape; }
  .indent { text-indent: calc(10% + 1em); line-height: calc(1em + 4pt); }
  .logical { margin-inline-start: 2em; padding-block-end: var(--gap); }
  .wide { page: wide; }
  .float { float: right; width: 30%; }
  .abs { position: absolute; top: 1cm; display: block; }
  u, .deco { text-decoration: underline wavy red; }
  li::marker { color: blue; }
</style></head><body>
<div class="indent"><p>Inherited calc() with a percentage, <b>bold</b>.</p>
  <div style="width: 50%"><p>Narrower: its own 10%.</p></div></div>
<p class="logical">Logical margins and padding, <span class="deco">decorated <i>text</i></span>.</p>
<div class="float">Floated</div><div class="abs">Absolute</div>
<ul><li>One</li><li>Two <u>three</u></li><li><ol><li>Nested</li></ol></li></ul>
<table><tr><td>A cell</td><td style="border: 1pt solid">Another</td></tr></table>
<section class="wide"><h2>On a wide page</h2><p>With text.</p></section>
"""
    + "<p>Plain paragraphs, plain inheritance, <em>again</em>.</p>" * 20
)


def test_the_patch_applies_to_the_installed_weasyprint() -> None:
    out = run_python(
        """
        from weasyprint import css
        own = css.ComputedStyle.__missing__
        from coursepack.writers.weasyprint_loader import load_weasyprint
        from coursepack.writers import style_defaults
        load_weasyprint()
        print(style_defaults.install(), style_defaults.install(),
              css.ComputedStyle.__missing__ is not own)
        """
    )
    assert out == "True True True"  # a second install keeps the first


def test_most_unset_properties_skip_the_general_path() -> None:
    out = run_python(
        f"""
        from weasyprint import css
        own = css.ComputedStyle.__missing__
        from coursepack.writers.style_defaults import _plain_first
        calls = {{"general": 0, "all": 0}}

        def counted(self, key):
            calls["general"] += 1
            return own(self, key)

        plain = _plain_first(counted)

        def counting(self, key):
            calls["all"] += 1
            return plain(self, key)

        css.ComputedStyle.__missing__ = counting
        import weasyprint
        weasyprint.HTML(string={HTML!r}).render()
        print(calls["general"] < calls["all"] / 2)
        """
    )
    assert out == "True"


def test_the_same_pdf_with_and_without_the_patch() -> None:
    out = run_python(
        f"""
        import hashlib
        from weasyprint import css
        own = css.ComputedStyle.__missing__
        from coursepack.writers.weasyprint_loader import load_weasyprint
        weasyprint = load_weasyprint()
        plain = css.ComputedStyle.__missing__

        def digest(missing):
            css.ComputedStyle.__missing__ = missing
            return hashlib.sha256(weasyprint.HTML(string={HTML!r}).write_pdf()).hexdigest()

        print(plain is not own, digest(own) == digest(plain) == digest(own))
        """
    )
    assert out == "True True"
