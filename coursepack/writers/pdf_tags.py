"""Table header cells say what they head: ``/Scope`` on every ``/TH`` of the tagged PDFs.

WeasyPrint 70 tags a table's header cells as ``/TH`` with an ``/ID`` and gives every data cell
``/Headers`` naming its header cells, which is one of the two ways PDF/UA-1 (7.5) accepts to
make a table's structure determinable. Checkers and some screen readers look for the other
way, ``/Scope`` on the header cell (the ``pdfua`` checker reports a table whose ``/TH`` cells
have neither as "not machine-determinable"). :func:`install` wraps WeasyPrint's structure
tree builder so that each ``/TH`` also gets the ``/Scope`` that matches WeasyPrint's own
``/Headers``: ``/Row`` for ``<th scope="row">``, ``/Column`` for every other header cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_MARK = "_coursepack_scope"


def install() -> bool:
    """Wrap ``weasyprint.pdf.tags._build_box_tree`` (once); False if WeasyPrint has changed
    shape and nothing is wrapped."""
    from weasyprint.pdf import tags

    original = getattr(tags, "_build_box_tree", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def build_box_tree(box: Any, *args: Any) -> Iterator[Any]:
        for element in original(box, *args):
            if isinstance(element, dict) and element.get("S") == "/TH":
                attributes = element.get("A")
                html = getattr(getattr(box, "_box", box), "element", None)
                if isinstance(attributes, dict) and "Scope" not in attributes:
                    row = html is not None and html.attrib.get("scope") == "row"
                    attributes["Scope"] = "/Row" if row else "/Column"
            yield element

    setattr(build_box_tree, _MARK, True)
    tags._build_box_tree = build_box_tree
    return True
