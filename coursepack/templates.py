"""Reading a PowerPoint template (a school's ``.potx``/``.pptx``, or ours) safely.

A template comes from a shared folder like the lesson, so it is read as untrusted input:

- bounded: a zip member may not unpack to more than :data:`MAX_MEMBER_BYTES` (a 1 MB file can
  declare a 1 GB member), the whole package not to more than :data:`MAX_PACKAGE_BYTES`;
- no XML tricks: Office parts never carry a DTD, so a part that declares one (entities that
  expand a billion times, or read a file off the disk) is refused before any parser sees it;
- no macros: a macro-enabled template's VBA project is dropped, with a note, so the deck is a
  plain ``.pptx`` that PowerPoint opens (it refuses a ``.pptx`` that holds a VBA project);
- whole: the parts a deck needs (presentation, slide master, its theme) exist and parse.

:func:`read_template` returns package bytes python-pptx opens (a template's main content type
made a presentation's), or raises :class:`TemplateProblem` with a one-line reason. ``check``
uses the same function, so a template that cannot be used fails ``check``, not the build.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

#: The most one zip member of a template may unpack to (pictures, fonts, a theme).
MAX_MEMBER_BYTES = 64 * 1024 * 1024
#: The most a whole template may unpack to.
MAX_PACKAGE_BYTES = 256 * 1024 * 1024
#: The most members a template may have.
MAX_MEMBERS = 5000

CT_PRESENTATION = (
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)
# Main-part content types python-pptx refuses (or that carry macros), and what they become.
_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": (
        CT_PRESENTATION
    ),
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": CT_PRESENTATION,
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": CT_PRESENTATION,
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": (
        CT_PRESENTATION
    ),
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": CT_PRESENTATION,
}
CT_PRINTER_SETTINGS = "application/vnd.openxmlformats-officedocument.presentationml.printerSettings"
_VBA_TYPES = (
    "application/vnd.ms-office.vbaProject",
    "application/vnd.ms-office.vbaProjectSignature",
)
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_RT_MS = "http://schemas.microsoft.com/office/2006/relationships/"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_THEME_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"


_DOCTYPE_MARKS = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
MB = 1024 * 1024


class TemplateProblem(Exception):
    """A template that cannot be used, with a one-line reason (no path: the caller names it)."""


@dataclass(frozen=True)
class TemplatePackage:
    """A template's bytes, ready for python-pptx, and notes on what was changed (warnings)."""

    data: bytes
    notes: tuple[str, ...] = ()


def _parser() -> etree.XMLParser:
    # No entities, no DTD, no network, no huge trees: the parts were checked for a DTD already,
    # this is the second lock.
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def parse_part(name: str, body: bytes) -> etree._Element:
    """Parse one XML part of a package, refusing any DTD (entity tricks) and broken XML."""
    dtd = f"its part {name} declares a DTD (entities), which Office files never do"
    if any(mark in body[:2048] for mark in _DOCTYPE_MARKS):
        raise TemplateProblem(dtd)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        reason = _first_line(str(exc))
        raise TemplateProblem(f"its part {name} is not valid XML ({reason})") from None
    if root.getroottree().docinfo.doctype:
        raise TemplateProblem(dtd)
    return root


def _first_line(text: str, limit: int = 120) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def read_template(path: Path) -> TemplatePackage:
    """The template at ``path``, checked and cleaned (see the module docstring).

    Remembered per file version: a build asks once per lesson."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise TemplateProblem(f"it cannot be read ({exc.strerror or exc})") from None
    return _read_template(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_template(name: str, _mtime: int, _size: int) -> TemplatePackage:
    path = Path(name)
    try:
        size = path.stat().st_size
        if size > MAX_PACKAGE_BYTES:
            raise TemplateProblem(f"it is {size // MB} MB (at most {MAX_PACKAGE_BYTES // MB} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateProblem(f"it cannot be read ({exc.strerror or exc})") from None
    return clean_package(data)


def clean_package(data: bytes) -> TemplatePackage:
    """:func:`read_template` on bytes."""
    not_pptx = "it is not a PowerPoint .pptx or .potx file"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise TemplateProblem(f"{not_pptx} (not a zip package)") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise TemplateProblem(f"it has {len(infos)} parts (at most {MAX_MEMBERS})")
        total = 0
        members: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise TemplateProblem(
                    f"its part {info.filename} unpacks to {info.file_size // MB} MB "
                    f"(at most {MAX_MEMBER_BYTES // MB} MB a part)"
                )
            total += info.file_size
            if total > MAX_PACKAGE_BYTES:
                raise TemplateProblem(f"it unpacks to more than {MAX_PACKAGE_BYTES // MB} MB")
            try:
                # zipfile stops reading at the declared size, so this is bounded too.
                members[info.filename] = archive.read(info)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                NotImplementedError,
                OSError,
                EOFError,
                ValueError,
            ) as exc:
                raise TemplateProblem(
                    f"its part {info.filename} cannot be unpacked ({_first_line(str(exc))})"
                ) from None
    if "[Content_Types].xml" not in members:
        raise TemplateProblem(f"{not_pptx} (it has no [Content_Types].xml)")
    for name, body in members.items():
        if name.endswith((".xml", ".rels")):
            parse_part(name, body)
    return _Package(members, data).clean()


class _Package:
    """The members of a package, for the few changes :func:`clean_package` makes."""

    def __init__(self, members: dict[str, bytes], data: bytes):
        self.members = members
        self.data = data
        self.notes: list[str] = []
        self.changed = False
        self.types = parse_part("[Content_Types].xml", members["[Content_Types].xml"])

    def rels_of(self, part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", f"{name}.rels")

    def relationships(self, part: str) -> list[etree._Element]:
        rels = self.rels_of(part)
        if rels not in self.members:
            return []
        root = parse_part(rels, self.members[rels])
        return [r for r in root if r.tag == f"{{{_PKG_RELS}}}Relationship"]

    def target(self, part: str, rel: etree._Element) -> str:
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            return ""
        base = posixpath.dirname(part)
        return posixpath.normpath(
            target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
        )

    def related(self, part: str, kind: str) -> list[str]:
        return [
            self.target(part, rel)
            for rel in self.relationships(part)
            if rel.get("Type", "").rsplit("/", 1)[-1] == kind
        ]

    def main_part(self) -> str:
        mains = self.related("", "officeDocument")
        if not mains or mains[0] not in self.members:
            raise TemplateProblem("it is not a PowerPoint .pptx or .potx file (no main part)")
        return mains[0]

    def clean(self) -> TemplatePackage:
        main = self.main_part()
        self._main_type(main)
        self._drop_macros(main)
        masters = [m for m in self.related(main, "slideMaster") if m in self.members]
        if not masters:
            raise TemplateProblem("it has no slide master (save it from PowerPoint as a template)")
        for master in masters:
            themes = [t for t in self.related(master, "theme") if t in self.members]
            if not themes:
                raise TemplateProblem(f"its slide master {master} has no theme")
            root = parse_part(themes[0], self.members[themes[0]])
            if root.tag != f"{{{_THEME_NS}}}theme":
                raise TemplateProblem(f"its theme {themes[0]} is not a theme")
        if not self.changed:
            return TemplatePackage(self.data, tuple(self.notes))
        self.members["[Content_Types].xml"] = etree.tostring(
            self.types, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for name, body in self.members.items():
                dst.writestr(name, body)
        return TemplatePackage(out.getvalue(), tuple(self.notes))

    def _overrides(self) -> list[etree._Element]:
        return [e for e in self.types if e.tag == f"{{{_CT_NS}}}Override"]

    def _defaults(self) -> list[etree._Element]:
        return [e for e in self.types if e.tag == f"{{{_CT_NS}}}Default"]

    def _main_type(self, main: str) -> None:
        for override in self._overrides():
            if override.get("PartName", "").lstrip("/") == main:
                kind = override.get("ContentType", "")
                if kind in _MAIN_TYPES:
                    override.set("ContentType", _MAIN_TYPES[kind])
                    self.changed = True

    def _drop_macros(self, main: str) -> None:
        """Remove the VBA project (and its signatures) and every mention of it."""
        rels_name = self.rels_of(main)
        dropped: set[str] = set()
        for rel in self.relationships(main):
            if rel.get("Type", "") in (f"{_RT_MS}vbaProject", f"{_RT}vbaProject"):
                part = self.target(main, rel)
                dropped.add(part)
                dropped.update(self.target(part, r) for r in self.relationships(part))
                dropped.add(self.rels_of(part))
        for override in self._overrides():
            if override.get("ContentType", "") in _VBA_TYPES:
                dropped.add(override.get("PartName", "").lstrip("/"))
        dropped = {name for name in dropped if name}
        if not dropped & set(self.members):
            return
        root = parse_part(rels_name, self.members[rels_name])
        for rel in list(root):
            if self.target(main, rel) in dropped:
                root.remove(rel)
        self.members[rels_name] = etree.tostring(
            root, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        for name in dropped:
            self.members.pop(name, None)
        for override in self._overrides():
            if override.get("PartName", "").lstrip("/") in dropped:
                self.types.remove(override)
        for default in self._defaults():
            if default.get("ContentType", "") in _VBA_TYPES:
                self.types.remove(default)
                self._cover_extension(default.get("Extension", ""))
        self.changed = True
        self.notes.append("its macros (a VBA project) are left out: the deck has none")

    def _cover_extension(self, extension: str) -> None:
        """Parts that took their content type from a dropped default get their own."""
        for name in self.members:
            if name.lower().endswith(f".{extension.lower()}"):
                kind = (
                    CT_PRINTER_SETTINGS if "printerSettings" in name else "application/octet-stream"
                )
                etree.SubElement(
                    self.types, f"{{{_CT_NS}}}Override", PartName=f"/{name}", ContentType=kind
                )
