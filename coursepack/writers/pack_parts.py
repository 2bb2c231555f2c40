"""A course pack made of parts: each lesson's pages rendered once, kept, and joined.

WeasyPrint lays out a pack as one document, so a one-word edit to one lesson of a 100-lesson
course laid out all of them again (≈ 150 s CPU). Here the pack is made of **parts**:

- the **front** (cover and contents, with the page numbers written in),
- one part per **lesson** (its pages exactly as in the pack, its running title in the footer,
  the place of the page number left empty at a fixed width), and
- the **page numbers** ("Page n of N"): one small document of N pages with only that margin
  box, painted over each page as an artifact.

Each part is a tagged PDF of its own, cached on disk by a digest of everything it is made from
(its HTML, the stylesheets, the paper, the fonts, the versions), so an edit renders one lesson.
:func:`join` puts them together with pikepdf and keeps what a plain join (pypdf, ``qpdf
--pages``) drops: one structure tree (every part's elements under one ``Document``, the
``ParentTree`` renumbered with each page's ``StructParents`` and each link's
``StructParent``), the outline, the named destinations the contents' links go to, ``/Lang``,
the XMP metadata and the fonts of each part. A full build goes through the same parts and the
same join, so it writes the same bytes as an incremental one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The parts' folder inside the output folder's build cache (``.coursepack-cache``).
CACHE_NAME = "pack-parts"
#: Cache entries are named by their digest (hex), never by anything a lesson says.
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
#: The content added to each numbered page: the page number, drawn as a pagination artifact.
_NUMBER_XOBJECT = "/CPPageNumber"


@dataclasses.dataclass(frozen=True)
class Part:
    """One rendered part of a pack: its PDF and what the join needs to know of its pages."""

    pdf: bytes
    pages: int
    #: The index of its first page that is not blank (WeasyPrint adds a blank first page when
    #: a lesson must start on a right-hand page that is not the document's first side).
    first: int
    #: Each anchor (``lesson-3-s2``) and the index of the page it is on.
    anchors: dict[str, int]


class PartCache:
    """Parts on disk in ``folder`` (inside the output folder), by digest; None: no cache.

    An entry is ``<digest>.pdf`` and ``<digest>.json`` (its page facts and the PDF's SHA-256,
    checked on reading, so a torn or edited file is rendered again, never joined)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def get(self, digest: str) -> Part | None:
        """The cached part, or None."""
        if self.folder is None or not _DIGEST.match(digest):
            return None
        try:
            facts = json.loads((self.folder / f"{digest}.json").read_text(encoding="utf-8"))
            pdf = (self.folder / f"{digest}.pdf").read_bytes()
            if hashlib.sha256(pdf).hexdigest() != facts["sha256"]:
                return None
            part = Part(pdf, int(facts["pages"]), int(facts["first"]), dict(facts["anchors"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(digest)
        return part

    def put(self, digest: str, part: Part) -> None:
        """Keep ``part`` (best effort: a full disk only costs the next build a render)."""
        from coursepack.outputs import write_atomic

        if self.folder is None or not _DIGEST.match(digest):
            return
        self.used.add(digest)
        facts = {
            "sha256": hashlib.sha256(part.pdf).hexdigest(),
            "pages": part.pages,
            "first": part.first,
            "anchors": part.anchors,
        }
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / f"{digest}.pdf", part.pdf)
            write_atomic(self.folder / f"{digest}.json", json.dumps(facts, sort_keys=True).encode())

    def prune(self, manifest: str) -> None:
        """Remember the entries this pack used under ``manifest`` (a name of ours, e.g.
        ``<slug>-handout``) and delete the entries no pack's manifest names."""
        if self.folder is None or not self.folder.is_dir():
            return
        from coursepack.outputs import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(
                self.folder / f"{manifest}.parts", "\n".join(sorted(self.used)).encode() + b"\n"
            )
            keep: set[str] = set()
            for listing in self.folder.glob("*.parts"):
                keep.update(listing.read_text(encoding="utf-8").split())
            for entry in self.folder.iterdir():
                stem, _, suffix = entry.name.partition(".")
                if suffix in ("pdf", "json") and _DIGEST.match(stem) and stem not in keep:
                    entry.unlink(missing_ok=True)


def page_facts(document: Any) -> tuple[int, int, dict[str, int]]:
    """Pages, first non-blank page and anchors of a laid-out WeasyPrint document."""
    pages = document.pages
    first = next((i for i, page in enumerate(pages) if not page._page_box.page_type.blank), 0)
    anchors: dict[str, int] = {}
    for index, page in enumerate(pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    return len(pages), first, anchors


def starts(front: Part, lessons: Sequence[Part]) -> list[int]:
    """The index in the pack of each lesson part's first kept page (blank pages added so it
    keeps the side it has in its part: a right-hand page)."""
    at = front.pages
    result = []
    for part in lessons:
        if at % 2 != part.first % 2:
            at += 1  # a blank page
        result.append(at)
        at += part.pages - part.first
    return result


def total_pages(front: Part, lessons: Sequence[Part]) -> int:
    """The pack's number of pages."""
    if not lessons:
        return front.pages
    return starts(front, lessons)[-1] + lessons[-1].pages - lessons[-1].first


def numbered_pages(
    front: Part, lessons: Sequence[Part], front_numbered: Sequence[bool]
) -> list[bool]:
    """For each page of the pack, whether it shows its number (not the cover, not a blank)."""
    numbered = list(front_numbered)
    for start, part in zip(starts(front, lessons), lessons, strict=True):
        numbered += [False] * (start - len(numbered))
        numbered += [True] * (part.pages - part.first)
    return numbered


def join(front: Part, lessons: Sequence[Part], numbers: bytes, numbered: Sequence[bool]) -> bytes:
    """The pack's PDF: ``front`` then each lesson part (with blank pages where a lesson must
    start on a right-hand page), one structure tree, outline and set of destinations, and
    page ``i`` of ``numbers`` painted over each page that is ``numbered``."""
    import pikepdf

    pack = pikepdf.open(io.BytesIO(front.pdf))
    root = pack.Root
    tree = root.StructTreeRoot
    document = tree.K[0]
    nums = list(tree.ParentTree.Nums)
    next_key = _next_key(nums)
    dests: list[tuple[bytes, Any]] = _dest_pairs(root)
    tops: list[Any] = _outline_tops(root)
    outline_count = int(root.Outlines.get("/Count", 0)) if "/Outlines" in root else 0
    role_map = dict(tree.get("/RoleMap", {}).items())

    for part, start in zip(lessons, starts(front, lessons), strict=True):
        source = pikepdf.open(io.BytesIO(part.pdf))
        while len(pack.pages) < start:
            next_key = _add_blank_page(pack, nums, next_key)
        offset = next_key
        kept = list(source.pages)[part.first :]
        for page in kept:  # pages first: the elements' /Pg then point at the copies
            pack.pages.append(page)
        source_tree = source.Root.StructTreeRoot
        source_document = source_tree.K[0]
        # Cut the part's elements from its own Document before copying them, or the copy
        # would bring that Document (and its StructTreeRoot) along.
        children = _children_of(source_document, source_tree)
        for element in children:
            del element["/P"]
        source_nums = source_tree.ParentTree.Nums
        copied_nums = pack.copy_foreign(source_tree.ParentTree).Nums
        highest = -1
        for index in range(0, len(source_nums), 2):
            key = int(source_nums[index])
            highest = max(highest, key)
            if key < part.first:  # a dropped blank page (pages are keyed by their index)
                continue
            nums += [key + offset, copied_nums[index + 1]]
        next_key = offset + highest + 1
        for element in children:
            copy = pack.copy_foreign(element)
            copy.P = document
        for element in source_document.K:
            document.K.append(pack.copy_foreign(element))
        for page in list(pack.pages)[len(pack.pages) - len(kept) :]:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        for name, dest in _dest_pairs(source.Root):
            dests.append((name, _copy(pack, source, dest)))
        if "/Outlines" in source.Root:
            part_tops = _outline_tops(source.Root)
            for item in part_tops:
                del item["/Parent"]
            tops += [pack.copy_foreign(item) for item in part_tops]
            outline_count += int(source.Root.Outlines.get("/Count", 0))
        role_map.update(source_tree.get("/RoleMap", {}).items())

    while len(pack.pages) < len(numbered):
        next_key = _add_blank_page(pack, nums, next_key)
    _paint_numbers(pack, numbers, numbered)
    parent_tree = pikepdf.Dictionary(Nums=pikepdf.Array(_sorted_pairs(nums)))
    tree.ParentTree = pack.make_indirect(parent_tree)
    tree.ParentTreeNextKey = next_key
    if role_map:
        tree.RoleMap = pikepdf.Dictionary(role_map)
    _set_dests(pack, dests)
    _set_outline(pack, tops, outline_count)
    out = io.BytesIO()
    # The same parts give the same bytes: an /ID from the content, no dates, streams kept.
    pack.save(
        out,
        deterministic_id=True,
        compress_streams=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        recompress_flate=False,
        normalize_content=False,
        qdf=False,
    )
    return out.getvalue()


def _copy(pack: Any, source: Any, obj: Any) -> Any:
    """``obj`` of ``source`` copied into ``pack`` (a direct object by way of an indirect one)."""
    return pack.copy_foreign(obj if obj.is_indirect else source.make_indirect(obj))


def _next_key(nums: Sequence[Any]) -> int:
    return max((int(nums[i]) for i in range(0, len(nums), 2)), default=-1) + 1


def _sorted_pairs(nums: Sequence[Any]) -> list[Any]:
    pairs = sorted(
        ((int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2)), key=lambda pair: pair[0]
    )
    return [item for pair in pairs for item in pair]


def _children_of(document: Any, tree: Any) -> list[Any]:
    """Every element whose parent is ``document``: its kids, and the elements WeasyPrint
    makes for the page margins (mapped in the ParentTree, not listed under the Document)."""
    import pikepdf

    found: dict[tuple[int, int], Any] = {}
    doc_id = document.objgen
    for kid in document.K:
        found[kid.objgen] = kid
    nums = tree.ParentTree.Nums
    seen: set[tuple[int, int]] = set()
    for index in range(1, len(nums), 2):
        value = nums[index]
        elements = list(value) if isinstance(value, pikepdf.Array) else [value]
        for element in elements:
            while element.objgen not in seen and "/P" in element:
                seen.add(element.objgen)
                parent = element.P
                if parent.objgen == doc_id:
                    found.setdefault(element.objgen, element)
                    break
                element = parent
    return list(found.values())


def _add_blank_page(pack: Any, nums: list[Any], key: int) -> int:
    """A truly blank page (no number, no footer) like the last one's size; returns the next
    ParentTree key (a blank page has an empty entry, as WeasyPrint gives it)."""
    import pikepdf

    last = pack.pages[-1].obj
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=last.MediaBox,
        Resources=pikepdf.Dictionary(),
        Contents=pack.make_stream(b""),
        StructParents=key,
        Tabs=pikepdf.Name.S,
    )
    for box in ("/TrimBox", "/BleedBox"):
        if box in last:
            page[box] = last[box]
    pack.pages.append(pikepdf.Page(page))
    nums += [key, pack.make_indirect(pikepdf.Array())]
    return key + 1


def _paint_numbers(pack: Any, numbers: bytes, numbered: Sequence[bool]) -> None:
    """Paint page ``i`` of ``numbers`` over page ``i`` of the pack, inside an ``/Artifact``
    sequence (a page number is a pagination artifact, not content to read)."""
    import pikepdf

    source = pikepdf.open(io.BytesIO(numbers))
    for index, (page, show) in enumerate(zip(pack.pages, numbered, strict=True)):
        if not show:
            continue
        form = pack.copy_foreign(source.pages[index].as_form_xobject())
        # A page's resources of its own: WeasyPrint shares one dictionary between pages.
        resources = pikepdf.Dictionary(dict(page.obj.Resources.items()))
        xobjects = dict(resources.XObject.items()) if "/XObject" in resources else {}
        xobjects[_NUMBER_XOBJECT] = form
        resources.XObject = pikepdf.Dictionary(xobjects)
        page.obj.Resources = resources
        page.contents_add(pack.make_stream(b"q\n"), prepend=True)
        draw = f"Q\nq\n/Artifact BMC\n{_NUMBER_XOBJECT} Do\nEMC\nQ\n".encode()
        page.contents_add(pack.make_stream(draw))


def _dest_pairs(root: Any) -> list[tuple[bytes, Any]]:
    """The named destinations of a document (a flat name tree, as WeasyPrint writes it)."""
    if "/Names" not in root or "/Dests" not in root.Names:
        return []
    pairs: list[tuple[bytes, Any]] = []

    def walk(node: Any) -> None:
        names = node.get("/Names", [])
        for i in range(0, len(names), 2):
            pairs.append((bytes(names[i]), names[i + 1]))
        for kid in node.get("/Kids", []):
            walk(kid)

    walk(root.Names.Dests)
    return pairs


def _set_dests(pack: Any, pairs: list[tuple[bytes, Any]]) -> None:
    import pikepdf

    if not pairs:
        return
    unique: dict[bytes, Any] = {}
    for name, dest in pairs:
        unique.setdefault(name, dest)  # the first wins, as in one document
    flat: list[Any] = []
    for name in sorted(unique):
        flat += [pikepdf.String(name), unique[name]]
    if "/Names" not in pack.Root:
        pack.Root.Names = pikepdf.Dictionary()
    pack.Root.Names.Dests = pack.make_indirect(pikepdf.Dictionary(Names=pikepdf.Array(flat)))


def _outline_tops(root: Any) -> list[Any]:
    if "/Outlines" not in root or "/First" not in root.Outlines:
        return []
    tops, item = [], root.Outlines.First
    while True:
        tops.append(item)
        if "/Next" not in item:
            return tops
        item = item.Next


def _set_outline(pack: Any, tops: list[Any], count: int) -> None:
    import pikepdf

    if not tops:
        return
    outlines = pack.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Outlines))
    for before, item, after in zip([None, *tops[:-1]], tops, [*tops[1:], None], strict=True):
        item.Parent = outlines
        if before is None:
            with contextlib.suppress(KeyError):
                del item["/Prev"]
        else:
            item.Prev = before
        if after is None:
            with contextlib.suppress(KeyError):
                del item["/Next"]
        else:
            item.Next = after
    outlines.First, outlines.Last, outlines.Count = tops[0], tops[-1], count
    pack.Root.Outlines = outlines


def digest(*parts: str | bytes) -> str:
    """The cache digest of a part's inputs."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()
