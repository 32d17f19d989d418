"""The brand-canon report: every rule of the canon, measured on the picture, with its
measured value, its threshold and pass/fail. The 0-100 score is the weighted share of rules
passed; it summarises the rules and never decides alone (``passed`` is all rules passing).

Colour rules sample every ``STRIDE``-th pixel in both directions (a quarter of them): the
coverage fractions they report are the same to well under a percent, at a quarter the cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from renderhouse.generators.render import measure
from renderhouse.generators.render.canon import Background, Canon
from renderhouse.generators.render.composite import Box, background_rgb
from renderhouse.generators.render.delta_e import (
    delta_e00,
    distinct_colours,
    hex_to_lab,
    hex_to_rgb,
    srgb_to_lab,
)

STRIDE = 2
WEIGHTS = {
    "logo_found": 2.0,
    "forbidden": 2.0,
    "preservation_iou": 2.0,
    "preservation_colour": 2.0,
}


class Rule(BaseModel):
    id: str
    title: str
    passed: bool
    measured: float | None
    threshold: str
    detail: str = ""


class Report(BaseModel):
    width: int
    height: int
    passed: bool
    score: float
    rules: list[Rule]
    boxes: dict[str, list[int] | None]
    """Measured boxes (x0, y0, x1, y1 pixels) for the overlays: product, logo."""

    def failed(self) -> set[str]:
        return {r.id for r in self.rules if not r.passed}


def pair_differences(got: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ΔE00 of each distinct (got, want) pair of (N, 3) uint8 pixels, and the pairs' counts
    (a background has a few hundred distinct pairs among hundreds of thousands of pixels)."""
    g, w = got.astype(np.uint64), want.astype(np.uint64)
    packed = (g[:, 0] << 40) | (g[:, 1] << 32) | (g[:, 2] << 24)
    packed |= (w[:, 0] << 16) | (w[:, 1] << 8) | w[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    cols = [(values >> np.uint64(k)) & np.uint64(255) for k in (40, 32, 24, 16, 8, 0)]
    pairs = np.stack(cols, axis=1).astype(np.uint8)
    return delta_e00(srgb_to_lab(pairs[:, :3]), srgb_to_lab(pairs[:, 3:])), counts


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value with at least ``q`` of the total weight at or below it."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1])])


def _over_colour(bg: Background, expected: np.ndarray) -> tuple[int, int, int]:
    if bg.kind == "solid" and bg.colour:
        return hex_to_rgb(bg.colour)
    m = expected.reshape(-1, 3).mean(axis=0)
    return int(m[0]), int(m[1]), int(m[2])


def check(
    rgb: np.ndarray,
    canon: Canon,
    logo: np.ndarray,
    reference: np.ndarray | None = None,
) -> Report:
    """Measure ``rgb`` (H, W, 3 uint8) against ``canon``; ``logo`` is its trimmed RGBA.
    With ``reference`` (our own render of the same plan), product preservation too."""
    h, w = rgb.shape[:2]
    th = canon.thresholds
    expected = background_rgb(canon.background, w, h)
    fg, _ = measure.foreground(rgb, expected)
    lg = canon.logo
    widths = (0.4 * lg.min_width, min(0.9, 1.5 * lg.width))
    match = measure.find_logo(rgb, logo, _over_colour(canon.background, expected), widths)
    found = match is not None and match.score >= canon.logo.min_score
    logo_box: Box | None = match.box if (match and found) else None
    product = measure.product_mask(fg, logo_box)
    pbox = measure.bounding_box(product)
    rules: list[Rule] = []
    rules += _colour_rules(rgb, fg, expected, logo_box, pbox, canon)
    rules += _logo_rules(match, found, product, canon, w, h)
    rules += _framing_rules(pbox, canon, w, h)
    if reference is not None:
        rules += _preservation_rules(rgb, product, reference, expected, logo_box, th)
    weight = sum(WEIGHTS.get(r.id.split(":")[0], 1.0) for r in rules)
    got = sum(WEIGHTS.get(r.id.split(":")[0], 1.0) for r in rules if r.passed)
    return Report(
        width=w,
        height=h,
        passed=all(r.passed for r in rules),
        score=round(100.0 * got / weight, 1),
        rules=rules,
        boxes={
            "product": list(pbox) if pbox else None,
            "logo": list(match.box) if match else None,
        },
    )


def _colour_rules(
    rgb: np.ndarray,
    fg: np.ndarray,
    expected: np.ndarray,
    logo_box: Box | None,
    pbox: Box | None,
    canon: Canon,
) -> list[Rule]:
    th = canon.thresholds
    s = STRIDE
    sub_fg = fg[::s, ::s]
    pixels = rgb[::s, ::s][sub_fg]
    rules = []
    if len(pixels):
        colours, counts = distinct_colours(pixels)
        lab = srgb_to_lab(colours)
        total = counts.sum()
    for c in canon.palette:
        if c.role not in ("primary", "accent", "neutral", "forbidden"):
            continue
        if len(pixels):
            d = delta_e00(lab, hex_to_lab(c.hex))
            tight = float(counts[d <= th.palette_tight].sum() / total)
            loose = float(counts[d <= th.palette_loose].sum() / total)
            near = float(counts[d <= th.forbidden_delta_e].sum() / total)
        else:
            tight = loose = near = 0.0
        label = f"{c.name or c.hex} ({c.role})"
        if c.role == "forbidden":
            rules.append(
                Rule(
                    id=f"forbidden:{c.hex}",
                    title=f"Forbidden colour {label} absent",
                    passed=near <= th.forbidden_max_fraction,
                    measured=round(near, 5),
                    threshold=f"≤ {th.forbidden_max_fraction} of non-background pixels "
                    f"within ΔE00 {th.forbidden_delta_e}",
                )
            )
            continue
        rules.append(
            Rule(
                id=f"palette:{c.hex}",
                title=f"Palette colour {label} coverage",
                passed=tight >= c.min_coverage,
                measured=round(tight, 5),
                threshold=f"≥ {c.min_coverage} of non-background pixels within ΔE00 "
                f"{th.palette_tight}",
                detail=f"within ΔE00 {th.palette_loose}: {loose:.4f}",
            )
        )
    # background: outside the product's and the logo's boxes (with a margin), never the
    # foreground mask alone, so a blotch on the background counts against uniformity
    region = np.ones(fg.shape, bool)
    for box in (pbox, logo_box):
        if box is not None:
            region = measure.without_box(region, box, pad=6)
    sub = region[::s, ::s]
    if sub.any():
        d, weights = pair_differences(rgb[::s, ::s][sub], expected[::s, ::s][sub])
        median, p95 = weighted_quantile(d, weights, 0.5), weighted_quantile(d, weights, 0.95)
    else:
        median = p95 = float("inf")
    rules.append(
        Rule(
            id="background_colour",
            title="Background colour",
            passed=median <= th.background_delta_e,
            measured=round(median, 3),
            threshold=f"median ΔE00 ≤ {th.background_delta_e}",
        )
    )
    rules.append(
        Rule(
            id="background_uniformity",
            title="Background uniformity",
            passed=p95 <= th.background_uniformity,
            measured=round(p95, 3),
            threshold=f"95th percentile ΔE00 ≤ {th.background_uniformity}",
        )
    )
    return rules


def _logo_rules(
    match: measure.LogoMatch | None,
    found: bool,
    product: np.ndarray,
    canon: Canon,
    w: int,
    h: int,
) -> list[Rule]:
    lg = canon.logo
    score = match.score if match else 0.0
    rules = [
        Rule(
            id="logo_found",
            title="Logo present",
            passed=found,
            measured=round(score, 4),
            threshold=f"template match score ≥ {lg.min_score}",
        )
    ]
    if not found or match is None:
        for rid, title in (
            ("logo_position", "Logo inside a safe zone"),
            ("logo_size", "Logo size"),
            ("logo_clear_space", "Logo clear space"),
        ):
            rules.append(
                Rule(
                    id=rid,
                    title=title,
                    passed=False,
                    measured=None,
                    threshold="needs the logo",
                    detail="not measured: logo not found",
                )
            )
        return rules
    x0, y0, x1, y1 = match.box
    fx0, fy0, fx1, fy1 = x0 / w, y0 / h, x1 / w, y1 / h
    slack = 1.5 / min(w, h)  # a pixel and a half of rounding
    inside = [z.name for z in lg.safe_zones if z.contains(fx0, fy0, fx1, fy1, slack)]
    rules.append(
        Rule(
            id="logo_position",
            title="Logo inside a safe zone",
            passed=bool(inside) or not lg.safe_zones,
            measured=None,
            threshold="inside one of: " + (", ".join(z.name for z in lg.safe_zones) or "any"),
            detail=f"box ({fx0:.3f}, {fy0:.3f})-({fx1:.3f}, {fy1:.3f})"
            + (f" in {inside[0]}" if inside else ""),
        )
    )
    width = (x1 - x0) / w
    rules.append(
        Rule(
            id="logo_size",
            title="Logo size",
            passed=width + 1.5 / w >= lg.min_width,
            measured=round(width, 4),
            threshold=f"width ≥ {lg.min_width} of the image",
        )
    )
    lh = max(1, y1 - y0)
    reach = int(np.ceil((lg.clear_space + 0.25) * lh))
    d = measure.clearance(product, match.box, reach)
    space = reach / lh if d is None else d / lh
    rules.append(
        Rule(
            id="logo_clear_space",
            title="Logo clear space",
            passed=space >= lg.clear_space,
            measured=round(space, 3),
            threshold=f"≥ {lg.clear_space} logo heights to the product",
            detail="nothing within reach" if d is None else "",
        )
    )
    return rules


def _framing_rules(pbox: Box | None, canon: Canon, w: int, h: int) -> list[Rule]:
    fr = canon.framing
    if pbox is None:
        return [
            Rule(id=rid, title=t, passed=False, measured=None, threshold="needs the product")
            for rid, t in (("product_fill", "Product fill"), ("product_centre", "Centring"))
        ]
    x0, y0, x1, y1 = pbox
    fill = max((x1 - x0) / w, (y1 - y0) / h)
    cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
    off = max(abs(cx - fr.centre[0]), abs(cy - fr.centre[1]))
    return [
        Rule(
            id="product_fill",
            title="Product fill",
            passed=fr.fill_min <= fill <= fr.fill_max,
            measured=round(fill, 4),
            threshold=f"{fr.fill_min}-{fr.fill_max} of the frame (box's larger side)",
        ),
        Rule(
            id="product_centre",
            title="Product centring",
            passed=off <= fr.centre_tolerance,
            measured=round(off, 4),
            threshold=f"box centre within {fr.centre_tolerance} of ({fr.centre[0]}, "
            f"{fr.centre[1]})",
            detail=f"centre ({cx:.3f}, {cy:.3f})",
        ),
    ]


def _preservation_rules(
    rgb: np.ndarray,
    cand: np.ndarray,
    reference: np.ndarray,
    expected: np.ndarray,
    logo_box: Box | None,
    th: Any,
) -> list[Rule]:
    """The picture still shows our product: its silhouette overlaps ours (IoU) and the
    colours inside it stay close (median ΔE00 over the shared pixels)."""
    ref_fg, _ = measure.foreground(reference, expected)
    ref = measure.product_mask(ref_fg, logo_box)
    union = (ref | cand).sum()
    iou = float((ref & cand).sum() / union) if union else 0.0
    both = (ref & cand)[::STRIDE, ::STRIDE]
    if both.any():
        d = delta_e00(
            srgb_to_lab(rgb[::STRIDE, ::STRIDE][both]),
            srgb_to_lab(reference[::STRIDE, ::STRIDE][both]),
        )
        median = float(np.median(d))
    else:
        median = float("inf")
    return [
        Rule(
            id="preservation_iou",
            title="Product shape preserved",
            passed=iou >= th.preservation_iou,
            measured=round(iou, 4),
            threshold=f"mask IoU with our render ≥ {th.preservation_iou}",
        ),
        Rule(
            id="preservation_colour",
            title="Product colours preserved",
            passed=median <= th.preservation_delta_e,
            measured=round(median, 3),
            threshold=f"median ΔE00 inside the product ≤ {th.preservation_delta_e}",
        ),
    ]
