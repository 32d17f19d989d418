"""A contact sheet: every posed render of a job on one labelled grid (PNG)."""

from __future__ import annotations

import io
import math


def contact_sheet(tiles: list[tuple[str, bytes]], tile: int = 256, columns: int = 0) -> bytes:
    """``tiles`` are (label, encoded image) pairs, laid out row by row."""
    from PIL import Image, ImageDraw

    columns = columns or min(len(tiles), max(1, math.ceil(math.sqrt(len(tiles) * 1.5))))
    rows = math.ceil(len(tiles) / columns)
    label_h = 18
    sheet = Image.new("RGB", (columns * tile, rows * (tile + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (label, data) in enumerate(tiles):
        with Image.open(io.BytesIO(data)) as src:
            im = src.convert("RGBA")
        im.thumbnail((tile, tile))
        x, y = (k % columns) * tile, (k // columns) * (tile + label_h)
        sheet.paste(im, (x + (tile - im.width) // 2, y), im)
        draw.text((x + 4, y + tile + 3), label[:40], fill=(40, 40, 40))
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=False, compress_level=3)
    return out.getvalue()
