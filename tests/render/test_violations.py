"""The synthetic violation suite, made with our own renderer: compliant pictures and one
picture per kind of violation. The report must flag exactly the rules each picture breaks
and nothing on the compliant ones: precision = recall = 1.0, per rule and per picture."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from renderhouse.generators.render import composite
from renderhouse.generators.render.canon import Canon, Output
from renderhouse.generators.render.delta_e import hex_to_rgb, shifted_by
from renderhouse.generators.render.job import compose_output, decode, encode
from renderhouse.generators.render.plan import rules_plan
from renderhouse.generators.render.product_render import load_product, model_digest
from renderhouse.generators.render.report import Report, check
from tests.render.conftest import MODEL

SQUARE = Output(width=640, height=640, format="png")
WIDE = Output(width=800, height=420, format="jpeg")
BRIEF = "a calm three-quarter product shot"


def warped(scene: Any) -> Any:
    """The product altered: its mesh sheared sideways by 35 % of its height, as an image
    model that "improves" a product might bend it."""
    lo, hi = (np.asarray(b, np.float64) for b in scene.bounds)
    cy, height = (lo[1] + hi[1]) / 2, hi[1] - lo[1]
    prims = []
    for p in scene.primitives:
        pos = p.positions.copy()
        pos[:, 0] += 0.35 * (pos[:, 1] - cy) / height * (hi[0] - lo[0])
        prims.append(replace(p, positions=pos))
    allpos = np.concatenate([p.positions for p in prims])
    return replace(scene, primitives=prims, bounds=(allpos.min(axis=0), allpos.max(axis=0)))


def recoloured(logo: np.ndarray, pairs: dict[str, str]) -> np.ndarray:
    """The logo with each canon colour replaced, edges included (by nearest colour)."""
    out = logo.copy()
    rgb = logo[..., :3].astype(np.int32)
    for old, new in pairs.items():
        o, n = np.array(hex_to_rgb(old)), np.array(hex_to_rgb(new))
        near = np.abs(rgb - o).max(axis=2) <= 40
        out[..., :3][near] = np.clip(rgb[near] + (n - o), 0, 255)
    return out


def delivered(rgb: np.ndarray, fmt: str) -> np.ndarray:
    return decode(encode(rgb, fmt))


@pytest.fixture(scope="module")
def suite(canon: Canon, logo: np.ndarray) -> dict[str, tuple[Any, ...]]:
    """name → (picture as delivered, the rules it must fail, the reference for the
    preservation check or None[, the canon it is checked against if not the example's])."""
    scene = load_product(MODEL, model_digest(MODEL))
    plan = rules_plan(BRIEF, canon)
    base, layout = compose_output(scene, plan, canon, logo, SQUARE)
    w, h = SQUARE.width, SQUARE.height
    bg = composite.background_rgb(canon.background, w, h)
    cases: dict[str, tuple[Any, ...]] = {}
    cases["compliant"] = (delivered(base, "png"), set(), None)
    wide, _ = compose_output(scene, plan, canon, logo, WIDE)
    cases["compliant wide jpeg"] = (delivered(wide, "jpeg"), set(), None)
    right = canon.model_copy(deep=True)
    right.logo.placement = "top-right"
    cases["compliant logo top-right"] = (
        delivered(compose_output(scene, plan, right, logo, SQUARE)[0], "png"),
        set(),
        None,
    )
    gradient = canon.model_copy(deep=True)
    gradient.background = gradient.background.model_copy(
        update={"kind": "gradient", "colour": "#f7f4ee", "bottom": "#e4dccb"}
    )
    grad_plan = plan.model_copy(update={"background": gradient.background})
    grad_img = compose_output(scene, grad_plan, gradient, logo, SQUARE)[0]
    cases["compliant gradient"] = (delivered(grad_img, "webp"), set(), None, gradient)
    # product preservation: an honest re-encode keeps the product; a warped mesh does not
    cases["preserved (jpeg re-encode)"] = (delivered(base, "jpeg"), set(), base)

    bg_hex = canon.background.colour
    assert bg_hex is not None
    shifted_bg = canon.background.model_copy(update={"colour": shifted_by(bg_hex, 3.0)})
    shifted_logo = recoloured(logo, {"#d22630": shifted_by("#d22630", 3.0)})
    cases["colour shifted by dE00 = 3"] = (
        delivered(
            compose_output(
                scene,
                plan.model_copy(update={"background": shifted_bg}),
                canon,
                shifted_logo,
                SQUARE,
            )[0],
            "png",
        ),
        {"background_colour", "palette:#d22630"},
        None,
    )
    badge = Image.fromarray(base.copy())
    px0, py0, px1, py1 = layout.product
    cx, cy, r = (px0 + px1) // 2, (py0 + py1) // 2, 0.04 * w
    ImageDraw.Draw(badge).ellipse((cx - r, cy - r, cx + r, cy + r), fill="#ff00ff")
    cases["forbidden colour"] = (delivered(np.asarray(badge), "png"), {"forbidden:#ff00ff"}, None)

    product_cut = _product_cut(scene, plan)
    lbox = composite.logo_box(canon.logo, logo.shape[:2], w, h)
    lw, lh = lbox[2] - lbox[0], lbox[3] - lbox[1]
    centre_box = (w // 2 - lw // 2, lbox[1], w // 2 - lw // 2 + lw, lbox[3])
    cases["logo outside its safe zones"] = (
        delivered(composite.compose(bg, product_cut, layout.product, logo, centre_box), "png"),
        {"logo_position"},
        None,
    )
    sw = round(0.08 * w)
    small_box = (lbox[0], lbox[1], lbox[0] + sw, lbox[1] + round(sw * lh / lw))
    cases["logo below minimum size"] = (
        delivered(composite.compose(bg, product_cut, layout.product, logo, small_box), "png"),
        {"logo_size"},
        None,
    )
    cases["logo missing"] = (
        delivered(composite.compose(bg, product_cut, layout.product, None, None), "png"),
        {"logo_found", "logo_position", "logo_size", "logo_clear_space", "palette:#d22630"},
        None,
    )
    off = plan.model_copy(update={"centre": (0.62, plan.centre[1])})
    cases["product off-centre"] = (
        delivered(compose_output(scene, off, canon, logo, SQUARE)[0], "png"),
        {"product_centre"},
        None,
    )
    tiny = plan.model_copy(update={"fill": 0.4})
    cases["product too small"] = (
        delivered(compose_output(scene, tiny, canon, logo, SQUARE)[0], "png"),
        {"product_fill"},
        None,
    )
    # the logo still inside its zone, but lowered and moved right onto the product's handle
    zx1, zy1 = round(0.34 * w), round(0.25 * h)
    crowded = (zx1 - lw, zy1 - lh, zx1, zy1)
    cases["product inside the logo's clear space"] = (
        delivered(composite.compose(bg, product_cut, layout.product, logo, crowded), "png"),
        {"logo_clear_space"},
        None,
    )
    cases["product altered (warped mesh)"] = (
        delivered(compose_output(warped(scene), plan, canon, logo, SQUARE)[0], "png"),
        {"preservation_iou"},
        base,
    )
    return cases


def _product_cut(scene: Any, plan: Any) -> np.ndarray:
    from renderhouse.generators.render.product_render import render_product

    return render_product(scene, plan, SQUARE.width, SQUARE.height)


@pytest.fixture(scope="module")
def reports(
    suite: dict[str, tuple], canon: Canon, logo: np.ndarray
) -> dict[str, tuple[Report, set[str]]]:
    out = {}
    for name, case in suite.items():
        rgb, expected, reference = case[:3]
        case_canon = case[3] if len(case) > 3 else canon
        out[name] = (check(rgb, case_canon, logo, reference=reference), expected)
    return out


def test_every_violation_is_flagged_and_nothing_else(
    reports: dict[str, tuple[Report, set[str]]], tmp_path: Path
) -> None:
    wrong = {
        name: {"flagged": sorted(rep.failed()), "expected": sorted(expected)}
        for name, (rep, expected) in reports.items()
        if rep.failed() != expected
    }
    assert not wrong, wrong


def test_precision_and_recall_are_one(reports: dict[str, tuple[Report, set[str]]]) -> None:
    tp = fp = fn = 0
    for rep, expected in reports.values():
        flagged = rep.failed()
        tp += len(flagged & expected)
        fp += len(flagged - expected)
        fn += len(expected - flagged)
    assert tp >= 10
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert (precision, recall) == (1.0, 1.0)
    images = [(bool(rep.failed()), bool(expected)) for rep, expected in reports.values()]
    assert sum(e for _, e in images) >= 9 and sum(not e for _, e in images) >= 5
    assert all(flag == exp for flag, exp in images)


def test_scores_summarise_the_rules(reports: dict[str, tuple[Report, set[str]]]) -> None:
    for rep, expected in reports.values():
        assert (rep.score == 100.0) == (not expected)
        assert rep.passed == (not expected)
    assert reports["logo missing"][0].score < reports["logo below minimum size"][0].score


def test_measured_values_are_the_violations(reports: dict[str, tuple[Report, set[str]]]) -> None:
    def measured(name: str, rule: str) -> float:
        (value,) = [r.measured for r in reports[name][0].rules if r.id == rule]
        assert value is not None
        return value

    assert 2.6 <= measured("colour shifted by dE00 = 3", "background_colour") <= 3.4
    assert measured("compliant", "background_colour") == 0.0
    assert abs(measured("logo below minimum size", "logo_size") - 0.08) < 0.01
    assert abs(measured("product off-centre", "product_centre") - 0.12) < 0.02
    assert abs(measured("product too small", "product_fill") - 0.4) < 0.03
    assert measured("product altered (warped mesh)", "preservation_iou") < 0.9
    assert measured("preserved (jpeg re-encode)", "preservation_iou") >= 0.98
    assert measured("preserved (jpeg re-encode)", "preservation_colour") <= 1.0
