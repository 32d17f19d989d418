"""Measurements taken from a finished picture and the canon alone (so a customer's own
picture can be checked too): what is background, where the logo is, where the product is.

- Foreground: pixels differing from the canon's background by more than ``FOREGROUND``
  (8-bit, any channel) after removing the picture's overall offset from it (median over a
  border strip), so a colour-cast background still separates from the product.
- Logo: normalised cross-correlation (OpenCV ``TM_CCOEFF_NORMED``) of the canon's logo,
  over the canon background colour, at widths from 0.4x the canon's minimum to 1.5x its
  planned width: a coarse search in grey on the image reduced to about ``COARSE_SIDE``
  pixels and blurred (widths 8 % apart), then for the ``CANDIDATES`` best places a
  refinement in colour at full resolution (±10 %, widths 2.5 % apart).
- Product: the foreground's connected components of at least ``MIN_PART`` of the image
  and ``MIN_SHARE`` of the largest one, outside the logo's box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from renderhouse.generators.render.composite import Box

FOREGROUND = 20
BORDER = 4
MIN_PART = 0.0002
MIN_SHARE = 0.02
COARSE_SIDE = 320
CANDIDATES = 3
COARSE_BLUR = 1.0
LOGO_WIDTHS = (0.05, 0.6)
STEP = 1.08


@dataclass(frozen=True)
class LogoMatch:
    box: Box
    score: float


def foreground(rgb: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(foreground mask, the picture's per-channel offset from the expected background)."""
    b = BORDER

    def strips(a: np.ndarray) -> np.ndarray:
        parts = (a[:b], a[-b:], a[:, :b], a[:, -b:])
        return np.concatenate([p.reshape(-1, 3) for p in parts]).astype(np.int16)

    offset = np.median(strips(rgb) - strips(expected), axis=0).astype(np.int16)
    shifted = np.clip(expected.astype(np.int16) + offset, 0, 255).astype(np.uint8)
    r, g, b_ = cv2.split(cv2.absdiff(np.ascontiguousarray(rgb), shifted))
    diff = cv2.max(cv2.max(r, g), b_)
    above = (diff > FOREGROUND).astype(np.uint8)
    opened = cv2.morphologyEx(above, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return np.asarray(opened, bool), offset


def _template(logo: np.ndarray, over: np.ndarray, width: int) -> np.ndarray:
    h = max(1, round(width * logo.shape[0] / logo.shape[1]))
    small = cv2.resize(logo, (width, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = small[..., 3:4] / 255.0
    return np.round(small[..., :3] * a + over * (1 - a)).astype(np.uint8)


def _candidates(
    image: np.ndarray, logo: np.ndarray, over: np.ndarray, widths: list[int], keep: int
) -> list[tuple[float, tuple[int, int], int]]:
    """The ``keep`` best (score, top-left, width) matches at different places (grey images
    match grey templates)."""
    found: list[tuple[float, tuple[int, int], int]] = []
    for w in widths:
        t = _template(logo, over, w)
        if image.ndim == 2:
            t = cv2.GaussianBlur(cv2.cvtColor(t, cv2.COLOR_RGB2GRAY), (0, 0), COARSE_BLUR)
        if min(t.shape[:2]) < 3 or t.shape[0] > image.shape[0] or t.shape[1] > image.shape[1]:
            continue
        res = cv2.matchTemplate(image, t, cv2.TM_CCOEFF_NORMED)
        _, score, _, loc = cv2.minMaxLoc(res)
        if np.isfinite(score):
            found.append((float(score), (int(loc[0]), int(loc[1])), w))
    found.sort(reverse=True)
    distinct: list[tuple[float, tuple[int, int], int]] = []
    for cand in found:
        (x, y), w = cand[1], cand[2]
        if all(abs(x - d[1][0]) > d[2] / 2 or abs(y - d[1][1]) > d[2] / 4 for d in distinct):
            distinct.append(cand)
        if len(distinct) == keep:
            break
    return distinct


def find_logo(
    rgb: np.ndarray,
    logo: np.ndarray,
    over: tuple[int, int, int],
    widths: tuple[float, float] = LOGO_WIDTHS,
) -> LogoMatch | None:
    """The best match of ``logo`` (trimmed RGBA) in ``rgb`` at ``widths`` (fractions of the
    image width), or None if nothing matched."""
    h, w = rgb.shape[:2]
    bg = np.array(over, np.float32)
    f = max(1, round(max(w, h) / COARSE_SIDE))
    small = cv2.resize(rgb, (w // f, h // f), interpolation=cv2.INTER_AREA)
    # the coarse search: shape, not colour, and blurred so the score changes smoothly with
    # width (thin stripes at a few pixels alias, and the best width would jump)
    small = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (0, 0), COARSE_BLUR)
    lo, hi = (frac * w / f for frac in widths)
    coarse, x = [], lo
    while x <= hi * STEP:
        coarse.append(round(x))
        x *= STEP
    best: LogoMatch | None = None
    for _, loc, cw in _candidates(small, logo, bg, sorted(set(coarse)), CANDIDATES):
        # refine in colour at full resolution, in a window around the coarse match
        fw = cw * f
        fh = round(fw * logo.shape[0] / logo.shape[1])
        pad = 2 * f + round(0.1 * fw)
        x0, y0 = max(0, loc[0] * f - pad), max(0, loc[1] * f - pad)
        x1, y1 = min(w, loc[0] * f + fw + pad), min(h, loc[1] * f + fh + pad)
        window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        fine = sorted({max(3, round(fw * s)) for s in np.linspace(0.9, 1.1, 9)})
        for score, (lx, ly), w2 in _candidates(window, logo, bg, fine, 1):
            h2 = max(1, round(w2 * logo.shape[0] / logo.shape[1]))
            if best is None or score > best.score:
                best = LogoMatch((x0 + lx, y0 + ly, x0 + lx + w2, y0 + ly + h2), score)
    return best


def without_box(mask: np.ndarray, box: Box | None, pad: int = 8) -> np.ndarray:
    """``mask`` with ``box`` and ``pad`` pixels around it cleared (8: a JPEG block, whose
    ringing around a sharp logo edge must not count as product)."""
    if box is None:
        return mask
    out = mask.copy()
    x0, y0, x1, y1 = box
    out[max(0, y0 - pad) : max(0, y1 + pad), max(0, x0 - pad) : max(0, x1 + pad)] = False
    return out


def product_mask(fg: np.ndarray, logo: Box | None) -> np.ndarray:
    """Foreground outside the logo, without specks: parts smaller than ``MIN_PART`` of the
    image or ``MIN_SHARE`` of the largest part (compression noise, dust)."""
    mask = without_box(fg, logo).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(n, bool)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep[1:] = (areas >= MIN_PART * mask.size) & (areas >= MIN_SHARE * areas.max())
    return keep[labels]


def bounding_box(mask: np.ndarray) -> Box | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def clearance(mask: np.ndarray, box: Box, reach: int) -> int | None:
    """Chebyshev distance in pixels from ``box`` to the nearest ``mask`` pixel within
    ``reach`` of it; None when there is none that close."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    wx0, wy0 = max(0, x0 - reach), max(0, y0 - reach)
    wx1, wy1 = min(w, x1 + reach), min(h, y1 + reach)
    ys, xs = np.nonzero(mask[wy0:wy1, wx0:wx1])
    if not len(xs):
        return None
    xs, ys = xs + wx0, ys + wy0
    dx = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), 0)
    dy = np.maximum(np.maximum(y0 - ys, ys - (y1 - 1)), 0)
    d = int(np.maximum(dx, dy).min())
    return d if d <= reach else None
