"""The explorer's small curve: p(target) and the target's score over the iterations of one setting, drawn as a
PNG with PIL (no matplotlib: ``import tpviz.widgets`` stays light). Also the text drawing the saved pictures share."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

INK, GRID, MARK = (40, 40, 40), (205, 205, 205), (217, 83, 25)
SERIES = {"p": (31, 119, 180), "score": (44, 160, 44)}


def font(size: int = 12) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's built-in font at ``size`` pixels (its fixed bitmap font on a Pillow too old to scale it)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def curve_png(iterations: Sequence[int], p_target: Sequence[float], score: Sequence[float], *, current: int,
              target: str, width: int = 320, height: int = 150) -> bytes:
    """Two small panels, p(``target``) (0 to 1) over score (its own range), against the iteration counts;
    the points are the grid's snapshots, ``current`` is marked by a vertical line. PNG bytes."""
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    small = font(11)
    half = (height - 14) // 2  # the bottom 14 pixels: the iteration counts
    finite = [s for s in score if math.isfinite(s)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    panels = ((f"p({target})", p_target, 0.0, 1.0, SERIES["p"]), ("score", score, low, high, SERIES["score"]))
    for row, (name, values, bottom, top, colour) in enumerate(panels):
        box = (44, row * half + 16, width - 10, (row + 1) * half - 6)  # plot area: left, top, right, bottom
        draw.rectangle(box, outline=GRID)
        draw.text((box[0], row * half + 2), name, fill=colour, font=small)
        draw.text((2, box[1] - 2), f"{top:.3g}", fill=INK, font=small)
        draw.text((2, box[3] - 10), f"{bottom:.3g}", fill=INK, font=small)
        points = [(_x(k, iterations, box), _y(v, bottom, top, box)) for k, v in zip(iterations, values)
                  if math.isfinite(v)]
        if current in iterations:
            x = _x(current, iterations, box)
            draw.line([(x, box[1]), (x, box[3])], fill=MARK, width=1)
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
    for k in iterations:
        draw.text((_x(k, iterations, box) - 8, height - 13), f"{k}", fill=MARK if k == current else INK, font=small)
    draw.text((2, height - 13), "iter.", fill=INK, font=small)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _x(k: int, iterations: Sequence[int], box: tuple[int, int, int, int]) -> float:
    first, last = min(iterations), max(iterations)
    if last == first:
        return (box[0] + box[2]) / 2
    return box[0] + 6 + (k - first) / (last - first) * (box[2] - box[0] - 12)


def _y(v: float, bottom: float, top: float, box: tuple[int, int, int, int]) -> float:
    share = min(1.0, max(0.0, (v - bottom) / (top - bottom)))
    return box[3] - 4 - share * (box[3] - box[1] - 8)
