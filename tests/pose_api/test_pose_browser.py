"""The pose library in the dashboard, in Debian's Chromium against a real ``serve``: browse
thumbnails by category and search, pick two poses, upload the mannequin as an avatar and
submit a pose job that runs to the end. Screenshots land in the test's tmp dir."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.ops.test_dashboard_browser import ARGS, CHROMIUM, server  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_browse_poses_and_submit_a_pose_job(server: tuple[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, key = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url + "/")
        page.fill("#api-key", key)
        page.click("#login-form button")
        expect(page.locator("#live")).to_have_text("● live")
        page.click("#poses-link")
        expect(page.locator("#poses")).to_be_visible()
        figures = page.locator("#pose-grid figure")
        expect(figures).to_have_count(49)
        page.select_option("#pose-category", "sitting")
        expect(figures).to_have_count(7)
        page.select_option("#pose-category", "")
        page.fill("#pose-search", "thumbs")
        expect(figures).to_have_count(1)
        # The thumbnail came from the API (rendered on the mannequin) as a blob.
        img = page.locator('#pose-grid figure[data-pose="thumbs-up"] img')
        expect(img).to_have_attribute("src", re.compile("^blob:"), timeout=60_000)
        assert img.evaluate("i => i.complete && i.naturalWidth") == 256
        page.click('#pose-grid figure[data-pose="thumbs-up"]')
        page.fill("#pose-search", "wave")
        page.click('#pose-grid figure[data-pose="wave-left"]')
        expect(page.locator("#pose-picked")).to_have_text("thumbs-up, wave-left")
        page.screenshot(path=str(tmp_path / "poses.png"), full_page=True)
        page.set_input_files("#pose-upload", str(REPO / "examples" / "avatars" / "Mannequin.glb"))
        page.fill("#pose-size", "128")
        page.click("#pose-form button")
        expect(page.locator("#job")).to_be_visible(timeout=30_000)
        expect(page.locator("#job-kind")).to_have_text("pose")
        expect(page.locator("#job-state")).to_have_text("succeeded", timeout=180_000)
        expect(page.locator("#artifacts a", has_text="01-wave-left.png")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "pose_job.png"), full_page=True)
        browser.close()
