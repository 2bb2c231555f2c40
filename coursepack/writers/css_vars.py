"""Write the layout stylesheet's document-wide ``var()`` values in before WeasyPrint parses it.

WeasyPrint 70 keeps a declaration that uses ``var()`` as pending and solves it again for
each element style that uses it: the ``var()`` looked up, the value tokens validated, a
shorthand (``border: 1pt solid var(--ink)``) expanded again, on every element. handout.css
has about a hundred of them, nearly all theme colours, the fonts and the box sizes, which are
declared once for the whole document (``:root``, and ``@page`` for the margin boxes) and
never anywhere else: every element sees the same value. Written into the stylesheet the
values are parsed once, the computed values are the same, and so is the PDF
(``scripts/output_digests.py``), for about 3% less CPU per render.

Only a property declared nowhere but ``:root`` and a bare ``@page``, everywhere with the
same value, is written in, and only where the stylesheet asks for it without a fallback
(``var(--ink)``, not ``var(--x, 1em)``): a property that a rule, a language's words or a
lesson's own HTML sets (``--callout``, ``--t-page-before``) stays a ``var()``. The caller
checks the HTML (:func:`mentions`) and keeps the stylesheet as written for a document that
names one of the written-in properties.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: ``var(--name)``: a custom property asked for without a fallback.
_VAR = re.compile(r"var\(\s*(--[A-Za-z0-9_-]+)\s*\)")
#: Anything that may declare a custom property (also in a string or a comment: counted, it
#: can only keep a property from being written in).
_DECLARED = re.compile(r"(--[A-Za-z0-9_-]+)\s*:")

# The elements' values (``:root``) and the page margins' (a bare ``@page``).
Values = tuple[dict[str, str], dict[str, str]]


def _normalised(text: str) -> str:
    """Line breaks as CSS reads them (``\\r\\n``, ``\\r``, ``\\f`` → ``\\n``)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")


def _significant(tokens: Iterable[Any]) -> list[Any]:
    return [t for t in tokens if t.type not in ("whitespace", "comment")]


def _is_root(prelude: list[Any]) -> bool:
    """Whether a rule's selector is exactly ``:root``."""
    tokens = _significant(prelude)
    return (
        len(tokens) == 2
        and tokens[0].type == "literal"
        and tokens[0].value == ":"
        and tokens[1].type == "ident"
        and tokens[1].lower_value == "root"
    )


def _document_declarations(rules: list[Any], found: list[tuple[str, str, str]]) -> None:
    """Append ``(name, value, place)`` for the custom properties that the top-level ``:root``
    rules and bare ``@page`` rules of ``rules`` declare (place ``:root`` or ``@page``; a
    declaration marked ``!important`` or in a margin rule is ``other``)."""
    import tinycss2

    for rule in rules:
        if rule.type == "qualified-rule" and _is_root(rule.prelude):
            place = ":root"
        elif (
            rule.type == "at-rule"
            and rule.lower_at_keyword == "page"
            and rule.content is not None
            and not _significant(rule.prelude)
        ):
            place = "@page"
        else:
            continue
        for item in tinycss2.parse_blocks_contents(
            rule.content, skip_comments=True, skip_whitespace=True
        ):
            if item.type == "declaration" and item.name.startswith("--"):
                value = tinycss2.serialize(item.value).strip()
                found.append((item.name, value, "other" if item.important else place))
            elif item.type in ("at-rule", "qualified-rule"):  # a margin rule, nesting
                found.extend(
                    (name, "", "other")
                    for name in _DECLARED.findall(tinycss2.serialize(item.content or []))
                )


def document_values(sheets: Sequence[str], parsed: Sequence[list[Any]] | None = None) -> Values:
    """The custom properties the stylesheets ``sheets`` (their rules ``parsed``, if already
    parsed) declare for the whole document only: in ``:root`` or a bare ``@page`` and
    nowhere else, always with the same value, a value that uses no ``var()`` itself. Two
    maps of name → value text: the elements' (declared in ``:root``) and the page margins'
    (declared in ``@page``: margin boxes do not inherit from ``:root``)."""
    import tinycss2

    if parsed is None:
        parsed = [tinycss2.parse_stylesheet(_normalised(text)) for text in sheets]
    found: list[tuple[str, str, str]] = []
    for rules in parsed:
        _document_declarations(rules, found)
    # A name that appears declared more often than in those rules is declared elsewhere.
    mentioned: dict[str, int] = {}
    for text in sheets:
        for name in _DECLARED.findall(text):
            mentioned[name] = mentioned.get(name, 0) + 1
    counted: dict[str, int] = {}
    values: dict[str, str] = {}
    refused: set[str] = set()
    for name, value, place in found:
        counted[name] = counted.get(name, 0) + 1
        elsewhere = place == "other" or "var(" in value.lower() or not value
        if elsewhere or values.setdefault(name, value) != value:
            refused.add(name)
    refused.update(name for name, count in mentioned.items() if count > counted.get(name, 0))
    kept = {n: v for n, v in values.items() if n not in refused}
    in_root = {name for name, _, place in found if place == ":root"}
    in_page = {name for name, _, place in found if place == "@page"}
    return (
        {n: v for n, v in kept.items() if n in in_root},
        {n: v for n, v in kept.items() if n in in_page},
    )


def _var_positions(rules: list[Any]) -> dict[tuple[int, int], bool]:
    """Where (line, column, as tinycss2 counts) each ``var(--name)`` function of a
    stylesheet's ``rules`` starts, and whether it is in a page rule: real functions of a
    top-level style rule or page rule, not text in a string, a comment or a URL, nor
    anything in another at-rule."""
    positions: dict[tuple[int, int], bool] = {}

    def walk(tokens: Iterable[Any], page: bool) -> None:
        for token in tokens:
            if token.type == "function":
                if token.lower_name == "var":
                    arguments = _significant(token.arguments)
                    if len(arguments) == 1 and arguments[0].type == "ident":
                        positions[token.source_line, token.source_column] = page
                walk(token.arguments, page)
            elif token.type in ("() block", "[] block", "{} block"):
                walk(token.content, page)

    for rule in rules:
        if rule.type == "qualified-rule":
            walk(rule.content, False)
        elif rule.type == "at-rule" and rule.lower_at_keyword == "page" and rule.content:
            walk(rule.content, True)
    return positions


def written_in(text: str, values: Values, rules: list[Any] | None = None) -> str:
    """``text`` with each ``var(--name)`` of a property of ``values`` (the elements' and the
    page margins', see :func:`document_values`) replaced by its value (``rules``: ``text``
    already parsed). Line breaks are normalised as CSS reads them, so the line of every
    rule stays the same."""
    import tinycss2

    text = _normalised(text)
    if not any(values) or "var(" not in text:
        return text
    positions = _var_positions(tinycss2.parse_stylesheet(text) if rules is None else rules)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def replace(match: re.Match[str]) -> str:
        start = match.start()
        line = bisect.bisect_right(line_starts, start)
        page = positions.get((line, start - line_starts[line - 1] + 1))
        value = None if page is None else values[1 if page else 0].get(match[1])
        return match[0] if value is None else value

    return _VAR.sub(replace, text)


def write_in(generated: str, layout: Sequence[str]) -> tuple[list[str], frozenset[str]]:
    """The ``layout`` stylesheets with the document-wide values of the custom properties
    that ``generated`` (coursepack's own CSS, first in the cascade) and they declare
    written in, and the names written in. Each stylesheet is parsed once."""
    import tinycss2

    texts = [_normalised(text) for text in (generated, *layout)]
    parsed = [tinycss2.parse_stylesheet(text) for text in texts]
    values = document_values(texts, parsed)
    written = [written_in(t, values, r) for t, r in zip(texts[1:], parsed[1:], strict=True)]
    return written, frozenset({*values[0], *values[1]})


def mentions(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` (a document's HTML, a stylesheet) names any of the properties
    ``names``: then it may set one, and the stylesheet as written is used."""
    return any(name in text for name in names)
