"""The picture: the canon's background, the product cut-out at the plan's fill and centre,
the logo at its anchored corner. Pure Pillow/numpy, so the same plan always gives the same
pixels, and every measured rule holds by construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from renderhouse.generators.render.canon import Background, Logo
from renderhouse.generators.render.canon_images import load_rgba
from renderhouse.generators.render.delta_e import hex_to_rgb

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixels


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    product: Box
    logo: Box | None


def background_rgb(bg: Background, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: solid, top-to-bottom gradient, or an image scaled to cover."""
    if bg.kind == "solid":
        assert bg.colour is not None
        return np.broadcast_to(np.array(hex_to_rgb(bg.colour), np.uint8), (height, width, 3))
    if bg.kind == "gradient":
        assert bg.colour is not None and bg.bottom is not None
        top = np.array(hex_to_rgb(bg.colour), np.float64)
        bottom = np.array(hex_to_rgb(bg.bottom), np.float64)
        t = (np.arange(height, dtype=np.float64) + 0.5) / height
        rows = np.round(top + (bottom - top) * t[:, None]).astype(np.uint8)
        return np.broadcast_to(rows[:, None, :], (height, width, 3))
    assert bg.image is not None
    return cover(load_rgba(bg.image, "background")[..., :3], width, height)


def cover(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height and crop the middle (CSS ``object-fit: cover``)."""
    h, w = rgb.shape[:2]
    s = max(width / w, height / h)
    sw, sh = max(width, round(w * s)), max(height, round(h * s))
    im = Image.fromarray(np.ascontiguousarray(rgb)).resize((sw, sh), Image.Resampling.LANCZOS)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    return np.asarray(im)[y0 : y0 + height, x0 : x0 + width]


def trim(rgba: np.ndarray) -> np.ndarray:
    """A logo without its transparent border (the box measured is the drawn part)."""
    a = rgba[..., 3] > 0
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    if not len(rows):
        return rgba
    return rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def logo_box(logo: Logo, logo_shape: tuple[int, int], width: int, height: int) -> Box:
    """Where the canon puts the logo: ``logo.width`` of the image wide, ``margin`` (of the
    shorter side) in from its anchored corner."""
    lh, lw = logo_shape
    w = max(1, round(logo.width * width))
    h = max(1, round(w * lh / lw))
    m = round(logo.margin * min(width, height))
    x0 = m if logo.placement.endswith("left") else width - m - w
    y0 = m if logo.placement.startswith("top") else height - m - h
    return x0, y0, x0 + w, y0 + h


def product_box(
    cut: np.ndarray, fill: float, centre: tuple[float, float], width: int, height: int
) -> Box:
    ch, cw = cut.shape[:2]
    s = fill / max(cw / width, ch / height)
    w, h = max(1, round(cw * s)), max(1, round(ch * s))
    x0 = round(centre[0] * width - w / 2)
    y0 = round(centre[1] * height - h / 2)
    return x0, y0, x0 + w, y0 + h


def paste(canvas: Image.Image, rgba: np.ndarray, box: Box) -> None:
    """Alpha-composite ``rgba`` resized into ``box`` (may reach past the canvas edges)."""
    w, h = box[2] - box[0], box[3] - box[1]
    layer = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    if layer.size != (w, h):
        layer = layer.resize((w, h), Image.Resampling.LANCZOS)
    full = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    full.paste(layer, box[:2])
    canvas.alpha_composite(full)


def compose(
    background: np.ndarray,
    product: np.ndarray,
    product_at: Box,
    logo: np.ndarray | None,
    logo_at: Box | None,
) -> np.ndarray:
    """(H, W, 3) uint8: background, then product, then logo on top."""
    h, w = background.shape[:2]
    canvas = Image.fromarray(np.ascontiguousarray(background), "RGB").convert("RGBA")
    paste(canvas, product, product_at)
    if logo is not None and logo_at is not None:
        paste(canvas, logo, logo_at)
    assert canvas.size == (w, h)
    return np.asarray(canvas.convert("RGB"))
