"""report.html in Debian's chromium (Playwright): the picture loads, the measured boxes sit
where the report measured them, and the table shows every rule with its verdict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.job import decode, encode, run_render
from renderhouse.generators.render.plan import rules_plan
from renderhouse.generators.render.plan_cache import PlanCache
from renderhouse.generators.render.report import check
from renderhouse.generators.render.report_html import report_page
from tests.render.conftest import MODEL

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/install.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def test_report_page_shows_image_overlays_and_rules(
    browser: Any, canon_data: dict[str, Any], canon: Canon, logo: np.ndarray, tmp_path: Path
) -> None:
    canon_data["outputs"] = [{"width": 512, "height": 512, "format": "png"}]
    inp = RenderGenerator().parse_input({"brief": "calm", "model": str(MODEL), "canon": canon_data})
    out = tmp_path / "out"
    run_render(LocalContext(out), inp, PlanCache(tmp_path / "plans"))
    good_rgb = decode((out / "render_512x512.png").read_bytes())
    good = check(good_rgb, inp.canon, logo)
    bad_rgb = good_rgb.copy()
    bad_rgb[: bad_rgb.shape[0] // 4] = bad_rgb[-1, -1]  # paint the logo out
    (out / "bad.png").write_bytes(encode(bad_rgb, "png"))
    bad = check(bad_rgb, inp.canon, logo)
    assert bad.failed() and not good.failed()
    page = out / "page.html"
    plan = rules_plan("calm", inp.canon)
    page.write_text(report_page(inp.canon, plan, [("render_512x512.png", good), ("bad.png", bad)]))

    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    tab.goto(page.as_uri())
    tab.wait_for_load_state("load")
    sizes = tab.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.complete])")
    assert sizes == [[512, True], [512, True]]
    shot = tab.locator(".shot").first
    img, box = shot.locator("img").bounding_box(), shot.locator(".product").bounding_box()
    assert img is not None and box is not None
    product = good.boxes["product"]
    assert product is not None
    x0, y0, x1, y1 = product
    scale = img["width"] / 512
    assert abs(box["x"] - (img["x"] + x0 * scale)) <= 2
    assert abs(box["y"] - (img["y"] + y0 * scale)) <= 2
    assert abs(box["width"] - (x1 - x0) * scale) <= 2
    assert abs(box["height"] - (y1 - y0) * scale) <= 2
    rows = tab.locator("tbody tr")
    assert rows.count() == len(good.rules) + len(bad.rules)
    assert tab.locator("td.fail").count() == len(bad.failed())
    assert tab.locator(".score").all_inner_texts() == [
        f"{good.score:.0f}/100",
        f"{bad.score:.0f}/100",
    ]
    tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000
    tab.close()
