"""Colour difference: sRGB (IEC 61966-2-1, D65) → CIELAB → CIEDE2000 (CIE 142-2001), from
colour-science. Images hold far fewer distinct colours than pixels, so the conversions run
on the distinct colours only and the counts carry the weights."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

with warnings.catch_warnings():
    # colour-science warns at import that SciPy/Matplotlib features are absent; we use neither
    warnings.filterwarnings("ignore", module=r"colour(\..*)?$")
    import colour


def delta_e00(lab1: Any, lab2: Any) -> np.ndarray:
    """CIEDE2000 between Lab arrays (broadcasting, last axis L*, a*, b*)."""
    return np.asarray(colour.difference.delta_E_CIE2000(lab1, lab2), np.float64)


def srgb_to_lab(rgb: Any) -> np.ndarray:
    """8-bit sRGB (..., 3) → CIELAB under D65."""
    x = np.asarray(rgb, np.float64) / 255.0
    return np.asarray(colour.XYZ_to_Lab(colour.sRGB_to_XYZ(x)), np.float64)


def hex_to_lab(hex_colour: str) -> np.ndarray:
    return srgb_to_lab(hex_to_rgb(hex_colour))


def hex_to_rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def rgb_to_hex(rgb: Any) -> str:
    r, g, b = (round(float(c)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def distinct_colours(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct RGB colours (K, 3) uint8, their pixel counts (K,)) of (N, 3) uint8 pixels."""
    p = pixels.astype(np.uint32)
    packed = (p[:, 0] << 16) | (p[:, 1] << 8) | p[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    rgb = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1)
    return rgb.astype(np.uint8), counts


def shifted_by(hex_colour: str, delta: float) -> str:
    """A colour whose CIEDE2000 distance from ``hex_colour`` is ``delta`` (to 8-bit rounding),
    found along the a* axis by bisection: the violation suite's "colour off by ΔE00 = 3"."""
    lab = hex_to_lab(hex_colour)
    lo, hi = 0.0, 40.0
    best = hex_colour
    for _ in range(40):
        mid = (lo + hi) / 2
        cand = lab + np.array([0.0, mid, 0.0])
        rgb = np.clip(colour.XYZ_to_sRGB(colour.Lab_to_XYZ(cand)), 0, 1) * 255
        d = float(delta_e00(srgb_to_lab(np.round(rgb)), lab))
        best = rgb_to_hex(rgb)
        if d < delta:
            lo = mid
        else:
            hi = mid
    return best
