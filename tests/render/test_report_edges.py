"""The report on any picture a customer might send: tiny, blank, noisy, all product, the
logo alone. It always answers every rule (no exception), and fails what is not there."""

from __future__ import annotations

import numpy as np
import pytest

from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.composite import background_rgb
from renderhouse.generators.render.report import check


def pictures(canon: Canon) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    bg = np.ascontiguousarray(background_rgb(canon.background, 320, 240))
    return {
        "blank background": bg.copy(),
        "tiny": np.ascontiguousarray(background_rgb(canon.background, 64, 64)),
        "black": np.zeros((200, 300, 3), np.uint8),
        "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "tall strip": np.ascontiguousarray(background_rgb(canon.background, 64, 900)),
    }


@pytest.mark.parametrize("name", ["blank background", "tiny", "black", "noise", "tall strip"])
def test_every_rule_is_answered_and_absent_things_fail(
    canon: Canon, logo: np.ndarray, name: str
) -> None:
    rgb = pictures(canon)[name]
    report = check(rgb, canon, logo)
    ids = {r.id for r in report.rules}
    assert {"logo_found", "product_fill", "product_centre", "background_colour"} <= ids
    assert not report.passed and 0 <= report.score < 100
    assert "logo_found" in report.failed()
    if name in ("blank background", "tiny", "tall strip"):
        assert {"product_fill", "product_centre"} <= report.failed()  # no product at all
        assert "background_colour" not in report.failed()
    if name == "black":
        assert "background_colour" in report.failed()


def test_the_logo_alone_is_found_and_no_product(canon: Canon, logo: np.ndarray) -> None:
    from renderhouse.generators.render.composite import compose, logo_box

    w = h = 512
    bg = np.ascontiguousarray(background_rgb(canon.background, w, h))
    box = logo_box(canon.logo, logo.shape[:2], w, h)
    empty = np.zeros((1, 1, 4), np.uint8)
    rgb = compose(bg, empty, (0, 0, 1, 1), logo, box)
    report = check(rgb, canon, logo)
    assert report.failed() == {"product_fill", "product_centre"}
    assert report.boxes["logo"] is not None
    assert abs(report.boxes["logo"][0] - box[0]) <= 2 and abs(report.boxes["logo"][2] - box[2]) <= 3
