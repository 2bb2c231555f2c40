"""The layout CSS with its document-wide var() values written in: the same PDFs, cheaper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coursepack.layouts import LayoutSearch, default_search_path
from coursepack.reader import read_lesson
from coursepack.writers import css_vars
from coursepack.writers.handout import HandoutWriter

ROOT = Path(__file__).resolve().parent.parent

GENERATED = """
:root { --ink: #111111; --paper: #ffffff; --font: "A", sans-serif; --both: 1pt; }
@page { --ink: #111111; --font: "A", sans-serif; --page-only: 2pt; }
"""


def values(*sheets: str) -> tuple[dict[str, str], dict[str, str]]:
    return css_vars.document_values([GENERATED, *sheets])


def test_only_properties_declared_for_the_whole_document_are_written_in() -> None:
    root, page = values(
        """
        :root { --rule: 24pt; --both: 1pt; }
        aside { --paper: #eeeeee; }           /* set on some elements: stays a var() */
        @media print { :root { --media: 1pt; } }
        :root { --loud: 1pt !important; }
        :root { --alias: var(--ink); }
        :root, html { --listed: 1pt; }
        """
    )
    assert root == {
        "--ink": "#111111",
        "--font": '"A", sans-serif',
        "--both": "1pt",
        "--rule": "24pt",
    }
    # The page margins see what @page declares, not :root's.
    assert page == {"--ink": "#111111", "--font": '"A", sans-serif', "--page-only": "2pt"}


def test_a_property_declared_with_two_values_is_not_written_in() -> None:
    root, _ = values(":root { --ink: #222222; }")
    assert "--ink" not in root


def test_var_calls_are_replaced_only_in_style_and_page_rules() -> None:
    text = (
        "h2 { color: var(--ink); border: 1pt solid var( --ink ); }\n"
        'p::before { content: "var(--ink)"; } /* var(--ink) */\n'
        "p { letter-spacing: var(--font, 1em); color: var(--unknown); }\n"
        "@page { color: var(--ink); margin: var(--rule);"
        " @top-left { padding: var(--page-only); } }\n"
        "@media print { h3 { color: var(--ink); } }\n"
        "div { height: var(--rule); }\r\n"
    )
    written = css_vars.written_in(text, values(":root { --rule: 24pt; }"))
    assert written.splitlines() == [
        "h2 { color: #111111; border: 1pt solid #111111; }",
        'p::before { content: "var(--ink)"; } /* var(--ink) */',
        "p { letter-spacing: var(--font, 1em); color: var(--unknown); }",
        # --rule is the elements' only: in a page rule it stays as the page would see it.
        "@page { color: #111111; margin: var(--rule); @top-left { padding: 2pt; } }",
        "@media print { h3 { color: var(--ink); } }",
        "div { height: 24pt; }",
    ]


def test_mentions() -> None:
    assert css_vars.mentions('<p style="--ink: red">', {"--ink"})
    assert not css_vars.mentions("<p>ink</p>", {"--ink"})


# --------------------------------------------------------------------------- the PDFs


@pytest.fixture(scope="module")
def writers() -> Iterator[tuple[HandoutWriter, HandoutWriter]]:
    """A writer as built, and one that writes nothing in (the layout CSS as written)."""
    layouts = LayoutSearch(default_search_path(ROOT / "no-such-folder"))
    written, plain = HandoutWriter(layouts), HandoutWriter(layouts)
    plain._written_css = (plain._layout_css_texts(), frozenset())
    yield written, plain
    written.close()
    plain.close()


@pytest.mark.parametrize(
    "lesson",
    ["tests/fixtures/lessons/every-construct.md", "tests/fixtures/intl/arabic.md"],
)
def test_the_same_pdfs_as_with_the_css_as_written(writers, lesson) -> None:
    written, plain = writers
    model, diagnostics = read_lesson(ROOT / lesson)
    assert model is not None, diagnostics
    assert written._written_layout_css()[1] >= {"--ink", "--accent", "--muted", "--rule"}
    for audience in ("handout", "key"):
        assert written.render(model, audience) == plain.render(model, audience), audience


def test_a_document_that_names_a_written_in_property_gets_the_css_as_written(writers) -> None:
    written, _ = writers
    _, usual = written._font_set("<p>plain</p>", [])
    _, as_written = written._font_set('<p style="--ink: #ff0000">red?</p>', [])
    assert as_written[0] is usual[0]  # the same fonts and generated CSS
    assert as_written[1] is not usual[1]
    _, again = written._font_set("<p>x</p>", [], extra_css="@page { --muted: red; }")
    assert again[1] is as_written[1]  # parsed once per font set
