"""A lesson's pictures as the handout prints them: named by content, converted when needed.

- A picture's address in the handout's HTML is ``coursepack-image:<digest>/<name>``, made from
  its bytes, not its place on the disk: WeasyPrint names each image in the PDF after its
  address, and the PDF's ``/ID`` is a digest of the file, so a ``file:`` address made the same
  lesson give different PDFs in different folders.
- WeasyPrint copies a PNG's pixel data into the PDF as it is; with 16 bits a sample (a 16-bit
  grayscale scan) that stream is malformed and prints as a black box. Such a picture is
  converted to an 8-bit PNG (same pixels, same size) before WeasyPrint sees it.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

SCHEME = "coursepack-image"
#: Pictures bigger than this are not read into memory whole (check refuses bigger pixel counts).
MAX_IMAGE_BYTES = 256 * 1024 * 1024


def image_address(path: Path) -> str:
    """The handout's address of the picture at ``path`` (its digest and file name)."""
    stat = path.stat()
    return f"{SCHEME}:{_digest(str(path), stat.st_mtime_ns, stat.st_size)}/{quote(path.name)}"


@lru_cache(maxsize=1024)
def _digest(name: str, _mtime: int, _size: int) -> str:
    digest = hashlib.sha256()
    with open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def needs_conversion(data: bytes) -> bool:
    """True for a PNG with 16 bits a sample (IHDR bit depth), which WeasyPrint cannot embed."""
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def printable(data: bytes) -> bytes:
    """``data`` as WeasyPrint can print it: an 8-bit PNG for a 16-bit one, else unchanged."""
    if not needs_conversion(data):
        return data
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        if picture.mode.startswith(("I", "F")):  # 16-bit grayscale: scale to 8 bits
            converted = picture.convert("I").point(lambda value: value / 257).convert("L")
        else:  # 16-bit colour or grey with alpha: Pillow reads it as 8 bits already
            converted = picture.copy()
    out = io.BytesIO()
    converted.save(out, "PNG", optimize=False)
    return out.getvalue()
