"""Fitting pictures: scaled into the content area with their aspect kept, caption under them."""

from __future__ import annotations

from pathlib import Path

from coursepack.model import Image
from coursepack.writers.deck_plan.slides import (
    EMU_PER_PT,
    Box,
    FitRules,
    Insets,
    PicturePlan,
    clean,
)
from coursepack.writers.deck_plan.text_fit import text_width_pt
from coursepack.writers.text_metrics import Piece, TextMetrics


def image_size(path: Path) -> tuple[int, int]:
    """The pixel size of an image file (Pillow reads only the header)."""
    from PIL import Image as PILImage

    with PILImage.open(path) as img:
        return img.size


def fit_picture(
    image: Image,
    box: Box,
    insets: Insets,
    metrics: TextMetrics,
    rules: FitRules,
    pixel_size: tuple[int, int],
) -> PicturePlan:
    """Scale a picture into the area (aspect kept, centred), leaving room for its caption."""
    caption = clean(image.caption)
    cap_box = None
    cap_h = 0
    if caption:
        width = text_width_pt(box, insets)
        lines = metrics.count_lines([Piece(caption, italic=True)], width, rules.caption)
        cap_h = int(
            lines * metrics.line_height(rules.caption) * EMU_PER_PT + insets.top + insets.bottom + 1
        )
    avail_h = box.height - cap_h
    px_w, px_h = pixel_size
    scale = min(box.width / max(px_w, 1), avail_h / max(px_h, 1))
    w, h = int(px_w * scale), int(px_h * scale)
    pic = Box(box.left + (box.width - w) // 2, box.top, w, h)
    if caption:
        cap_box = Box(box.left, box.top + h, box.width, cap_h)
    alt = clean(image.alt) or caption
    return PicturePlan(image.path, alt, pic, caption, cap_box, rules.caption)
