"""Pack each row of turntable frames into one sprite sheet.

Web players that cannot (or should not) fetch dozens of separate frames use one image
per row and show frame ``i`` by offsetting into it. The layout dict that accompanies
each sheet is everything such a player needs and is JSON-serialisable so it can go
straight into the manifest.

The grid is kept close to square because browsers and GPUs cap texture and image sides
(8192 is a safe common limit; WebP itself stops at 16383). When the full-resolution
grid would exceed ``max_side`` the frames are scaled down uniformly rather than spread
over several sheets, so a player never has to juggle more than one image per row.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from renderhouse.errors import InvalidInput
from renderhouse.generators.turntable.frames import EXTENSIONS, encode_frame


def plan_sheet(count: int, frame_width: int, frame_height: int, max_side: int) -> dict[str, Any]:
    """Work out the grid for ``count`` frames: columns, rows, the (possibly reduced)
    cell size and each frame's top-left corner. Pure arithmetic, no pixels."""
    if count < 1 or frame_width < 1 or frame_height < 1:
        raise InvalidInput("a sprite sheet needs at least one frame of non-zero size")
    if max_side < 1:
        raise InvalidInput(f"max_side must be positive, got {max_side}")
    # The longest side is what max_side limits, so pick the column count that minimises
    # it (then the fewest empty cells): this keeps the most resolution per frame.
    columns = min(
        range(1, count + 1),
        key=lambda c: (
            max(c * frame_width, math.ceil(count / c) * frame_height),
            c * math.ceil(count / c) - count,
        ),
    )
    rows = math.ceil(count / columns)
    scale = min(1.0, max_side / (columns * frame_width), max_side / (rows * frame_height))
    cell_w = max(1, math.floor(frame_width * scale))
    cell_h = max(1, math.floor(frame_height * scale))
    if columns * cell_w > max_side or rows * cell_h > max_side:
        raise InvalidInput(
            f"{count} frames cannot fit a {max_side}px sprite sheet even at 1px each",
            details={"count": count, "max_side": max_side},
        )
    return {
        "columns": columns,
        "rows": rows,
        "frame_count": count,
        "frame_width": cell_w,
        "frame_height": cell_h,
        "source_width": frame_width,
        "source_height": frame_height,
        "scale": round(cell_w / frame_width, 6),
        "width": columns * cell_w,
        "height": rows * cell_h,
        "frames": [
            {"x": (i % columns) * cell_w, "y": (i // columns) * cell_h} for i in range(count)
        ],
    }


def _load_rgba(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGBA")


def build_sprite_sheets(
    frame_paths_by_row: list[list[Path]],
    out_dir: Path,
    *,
    max_side: int = 8192,
    fmt: str = "webp",
    quality: int = 90,
) -> list[tuple[Path, dict]]:
    """Write one sheet per row into ``out_dir`` and return ``(path, layout)`` pairs.

    All frames of a row must share one size (the renderer guarantees it); a mismatch
    is reported rather than silently stretched. The layout gains ``file`` (the sheet's
    file name), ``row`` and ``format``.
    """
    if fmt not in EXTENSIONS:
        raise InvalidInput(f"unknown sprite format {fmt!r}", code="unknown_format")
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[tuple[Path, dict]] = []
    for row_index, paths in enumerate(frame_paths_by_row):
        if not paths:
            raise InvalidInput(f"row {row_index} has no frames to pack")
        with Image.open(paths[0]) as first:
            width, height = first.size
        layout = plan_sheet(len(paths), width, height, max_side)
        sheet = Image.new("RGBA", (layout["width"], layout["height"]), (0, 0, 0, 0))
        cell = (layout["frame_width"], layout["frame_height"])
        for path, spot in zip(paths, layout["frames"], strict=True):
            frame = _load_rgba(path)
            if frame.size != (width, height):
                raise InvalidInput(
                    f"{path.name} is {frame.size[0]}x{frame.size[1]}, expected {width}x{height}",
                    details={"row": row_index, "frame": path.name},
                )
            if frame.size != cell:
                frame = frame.resize(cell, Image.Resampling.LANCZOS, reducing_gap=3.0)
            sheet.paste(frame, (spot["x"], spot["y"]))
        out_path = out_dir / f"sprite_row{row_index}{EXTENSIONS[fmt]}"
        out_path.write_bytes(encode_frame(np.asarray(sheet), fmt, quality=quality))
        layout.update({"file": out_path.name, "row": row_index, "format": fmt})
        results.append((out_path, layout))
    return results
