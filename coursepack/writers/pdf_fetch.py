"""A WeasyPrint URL fetcher that reads only local files inside allowed folders.

WeasyPrint would happily fetch ``http://`` stylesheets or ``file:///etc/passwd`` if a layout
override or a lesson asked for it. This fetcher allows ``data:`` URLs and ``file:`` URLs whose
real path (symlinks resolved) lies inside one of the allowed roots, and refuses everything else.
Refusals are recorded, so the writer can turn them into one clear :class:`LessonError` after
rendering instead of the warning WeasyPrint would log.

This module imports WeasyPrint at import time; import it lazily.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import tinycss2
from weasyprint.urls import URLFetcher, URLFetcherResponse, get_url_tuple, path2url

from coursepack.images import MAX_IMAGE_BYTES, SCHEME, image_address, printable


@dataclass(frozen=True)
class Refusal:
    """One URL the fetcher would not load, and why."""

    url: str
    reason: str
    unreadable: bool = False  # allowed, but missing or unreadable


def _short(url: str) -> str:
    """The URL as shown in a message (``data:`` URLs can be huge)."""
    return url if len(url) <= 120 else url[:117] + "..."


class SafeURLFetcher(URLFetcher):
    """Fetch ``data:`` URLs and ``file:`` URLs inside ``roots``; refuse and record the rest."""

    def __init__(self, roots: Iterable[Path]) -> None:
        super().__init__(timeout=5, allowed_protocols=("file", "data"), allow_redirects=False)
        self._base_roots = tuple(_real(root) for root in roots)
        self._extra_roots: tuple[Path, ...] = ()
        self.refused: list[Refusal] = []
        self._images: dict[str, Path] = {}

    def image(self, path: Path) -> str:
        """The address a lesson's picture has in the HTML: named by its content, so the PDF
        does not depend on the folder the lesson is in (see :mod:`coursepack.images`)."""
        try:
            address = image_address(path)
        except OSError:
            return path.absolute().as_uri()  # reported as unreadable when fetched
        self._images[address] = path
        return address

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every folder currently allowed."""
        return self._base_roots + self._extra_roots

    @contextlib.contextmanager
    def allowing(self, extra_roots: Iterable[Path]) -> Iterator[list[Refusal]]:
        """Allow ``extra_roots`` too (the lesson's folder) and collect refusals for one render."""
        saved_roots, saved_refused = self._extra_roots, self.refused
        self._extra_roots = tuple(_real(root) for root in extra_roots)
        self.refused = []
        try:
            yield self.refused
        finally:
            self._extra_roots, self.refused = saved_roots, saved_refused

    def check(self, url: str) -> str | None:
        """Why ``url`` may not be loaded, or None when it may."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return None
        if scheme == SCHEME and url in self._images:
            path = _real(self._images[url])
        elif scheme != "file":
            return f"only local files may be used, not {scheme or 'relative'} URLs"
        else:
            # url2pathname decodes the %-escapes itself: decode once, as urllib does when it
            # opens the file (twice would turn "100%41" into "100A", outside the lesson).
            path = _real(Path(url2pathname(urlsplit(url).path)))
        if any(path == root or root in path.parents for root in self.roots):
            return None
        return "the file is outside the lesson's folder and the layout folders"

    def _picture(self, url: str) -> URLFetcherResponse:
        """A lesson's picture, converted if WeasyPrint cannot print it as it is."""
        path = self._images[url]
        with path.open("rb") as handle:
            data = printable(handle.read(MAX_IMAGE_BYTES + 1))
        if len(data) > MAX_IMAGE_BYTES:
            raise ValueError(f"the picture is bigger than {MAX_IMAGE_BYTES // 2**20} MB")
        return URLFetcherResponse(url, body=data, headers={"Content-Type": _mime(data)})

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Load ``url`` when :meth:`check` allows it; otherwise record it and raise."""
        reason = self.check(url)
        if reason is not None:
            self.refused.append(Refusal(url, reason))
            raise ValueError(f"refused to load {_short(url)}: {reason}")
        try:
            if url in self._images:
                return self._picture(url)
            return super().fetch(url, headers)
        except (OSError, ValueError) as exc:
            # A missing or unreadable file would otherwise print as a blank space.
            reason = getattr(exc, "reason", None) or exc
            detail = getattr(reason, "strerror", None) or str(reason)
            refusal = Refusal(url, detail, unreadable=True)
            self.refused.append(refusal)
            raise ValueError(describe(refusal)) from exc


def _mime(data: bytes) -> str:
    for magic, mime in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ):
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


def _real(path: Path) -> Path:
    """The absolute path with symlinks resolved (so a link cannot point outside)."""
    return Path(path).expanduser().resolve()


def describe(refusal: Refusal) -> str:
    """A one-line message for a refusal."""
    if refusal.unreadable:
        return f"cannot read {_short(refusal.url)}: {refusal.reason}"
    return f"refused to load {_short(refusal.url)}: {refusal.reason}"


def css_url_lines(path: Path) -> dict[str, int]:
    """Every URL a stylesheet file loads (``url()``, ``@import``), resolved as WeasyPrint
    resolves it, and the line it is written on (the first line, if written twice).

    A refused URL can then be blamed on the layout file and line that asked for it.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    rules, _ = tinycss2.parse_stylesheet_bytes(data, skip_comments=True)
    base = path2url(str(path))  # what CSS(filename=...) uses as the base URL
    found: dict[str, int] = {}

    def add(value: str, line: int) -> None:
        kind, url = get_url_tuple(value, base) or ("", "")
        if kind == "external":
            found.setdefault(url, line)

    def walk(tokens: Iterable | None, at_import: bool = False) -> None:
        for token in tokens or ():
            kind = getattr(token, "type", "")
            if kind == "url" or (kind == "string" and at_import):
                add(token.value, token.source_line)
            elif kind == "function":
                strings = [a for a in token.arguments if a.type == "string"]
                if token.lower_name == "url" and strings:
                    add(strings[0].value, token.source_line)
                walk(token.arguments)
            elif kind in ("() block", "[] block", "{} block"):
                walk(token.content)
            elif kind in ("qualified-rule", "at-rule"):
                walk(token.prelude, kind == "at-rule" and token.lower_at_keyword == "import")
                walk(token.content)

    walk(rules)
    return found
