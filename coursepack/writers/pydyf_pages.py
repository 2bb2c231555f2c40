"""Make pydyf's list of page references cheap to ask for (the same list, built once).

WeasyPrint asks ``pdf.page_references[n]`` for every tagged box when it writes the structure
tree, and pydyf (0.11–0.13) answers with a property that rebuilds the tuple of every page's
reference on each call: quadratic in pages, about a third of the time it takes to write a
300-page course pack. :func:`cache_page_references` replaces the property with one that builds
the same tuple once and builds it again only when a page is added, so the PDF's bytes do not
change. pydyf's pages are only ever added by ``add_page``, which appends to ``Kids``; the cache
is keyed by that list and its length, so a list replaced or grown any other way is rebuilt.
Reported upstream with the measurement (see docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

_MARK = "_coursepack_cached"


def cache_page_references() -> bool:
    """Install the cached ``pydyf.PDF.page_references`` (once); False if pydyf has changed
    shape and the original is kept."""
    import pydyf

    current = getattr(pydyf.PDF, "page_references", None)
    if isinstance(current, property) and getattr(current.fget, _MARK, False):
        return True
    if not isinstance(current, property) or current.fget is None:
        return False  # a newer pydyf: leave it alone
    original = current.fget

    def page_references(self: Any) -> tuple[bytes, ...]:
        """Each page's ``N 0 R`` reference, in page order (cached until a page is added)."""
        kids = self.pages["Kids"]
        key = (id(kids), len(kids))
        cached = self.__dict__.get("_page_references_cache")
        if cached is None or cached[0] != key:
            cached = (key, original(self))
            self.__dict__["_page_references_cache"] = cached
        return cached[1]

    setattr(page_references, _MARK, True)
    pydyf.PDF.page_references = property(page_references, doc=current.__doc__)
    return True
