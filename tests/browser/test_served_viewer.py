"""The turntable's spin viewer served by the API, in Debian's chromium (issue 19, item 1).

A real ``renderhouse serve`` process (local storage, then S3 through moto's server) renders
BoomBox.glb submitted over HTTP; the viewer is opened from its signed URL and from the
dashboard's job page, and must load every frame (no 4xx), draw pixels and turn when dragged.
Before shares, the served viewer asked for ``frames/row0_0000.png`` unsigned and got 422."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ASSETS
from tests.storage.conftest import aws_env, free_port, s3_endpoint, s3_url  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
KEY = re.compile(r"\brh_[A-Za-z0-9_\-]{10,}")
API = "window.renderhouseViewer"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


@pytest.fixture(params=["local", "s3"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERHOUSE_")}
    env.update(RENDERHOUSE_SECRET_KEY="k" * 40, PYTHONUNBUFFERED="1")
    if request.param == "s3":
        env["RENDERHOUSE_STORAGE_URL"] = request.getfixturevalue("s3_url")
        env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    port = free_port()
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-c", "from renderhouse.cli import main; main()",
           "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(url + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        key = KEY.search(log.read_text(errors="replace"))
        assert key, log.read_text()
        yield url, key.group(0)
    finally:
        proc.terminate()
        proc.wait(30)


def _render(url: str, key: str) -> tuple[str, str]:
    """Submit a small turntable over HTTP; returns its id and the viewer's signed URL."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as c:
        glb = (ASSETS / "BoomBox.glb").read_bytes()
        up = c.post("/v1/uploads", files={"file": ("BoomBox.glb", glb, "model/gltf-binary")})
        assert up.status_code == 201, up.text
        body = {"model": up.json()["ref"], "frames": 8, "size": 128, "formats": ["png", "viewer"]}
        job = c.post("/v1/jobs", json={"kind": "turntable", "input": body})
        assert job.status_code == 201, job.text
        job_id = job.json()["id"]
        deadline = time.monotonic() + 240
        while (state := c.get(f"/v1/jobs/{job_id}").json())["state"] not in (
            "succeeded", "failed", "cancelled"
        ):  # fmt: skip
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        assert state["state"] == "succeeded", state
        listing = c.get(f"/v1/jobs/{job_id}/artifacts").json()
    viewers = [a for a in listing if a["name"] == "viewer.html"]
    assert len(viewers) == 1, (state, [a["name"] for a in listing])
    viewer = viewers[0]
    # No server path anywhere a user sees: the job (its input echo), nor its artifacts.
    seen = json.dumps([state, listing])
    assert "/data/artifacts" not in seen and "upload:" in json.dumps(state["input"]), seen
    return job_id, viewer["url"]


def _assert_spins(frame: Any, page: Any) -> None:
    """The viewer in ``frame`` loaded every frame, shows pixels and turns when dragged."""
    frame.wait_for_function(f"() => {API} && {API}.phase === 'ready'", timeout=30_000)
    frame.wait_for_function(f"() => {API}.loaded === {API}.total", timeout=30_000)
    assert frame.evaluate(f"() => {API}.total") == 8
    assert frame.evaluate(f"() => {API}.phase") == "ready"
    # Distinct colours on the canvas: a model was drawn, not a flat background or a message.
    colours = frame.evaluate(
        """() => {
          const c = document.querySelector('.rh-canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const seen = new Set();
          for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] << 16 | d[i+1] << 8 | d[i+2]);
          return seen.size;
        }"""
    )
    assert colours > 50, colours
    frame.evaluate(f"() => {API}.pause()")
    before = frame.evaluate(f"() => {API}.frame")
    stage = frame.locator(".rh-stage")
    stage.scroll_into_view_if_needed()  # the page's mouse reaches only what is in view
    box = stage.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=12)
    # Hold still before letting go: a release while moving starts the inertial glide, which
    # may pass through any frame (the one it started from too) by the time it is read.
    page.wait_for_timeout(200)
    page.mouse.up()
    assert frame.evaluate(f"() => {API}.frame") != before


def test_served_viewer_loads_its_frames(server: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import Response, Route, sync_playwright

    url, key = server
    job_id, viewer_url = _render(url, key)
    assert viewer_url.startswith(f"/v1/shares/{job_id}/")
    refused: list[str] = []

    def check(response: Response) -> None:
        if response.status >= 400:
            refused.append(f"{response.status} {response.url}")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.on("response", check)

        page.goto(url + viewer_url)  # the signed URL on its own
        _assert_spins(page, page)
        page.screenshot(path=str(tmp_path / "viewer.png"))

        page.goto(url + "/")  # the dashboard's job page
        page.fill("#api-key", key)
        page.click("#login-form button")
        page.wait_for_selector("#overview:not([hidden])")
        # The page lists the artifacts again as the job's events replay, each listing with
        # freshly signed URLs. Hold every listing after the first until the viewer is up,
        # then let them through a second later (new signatures): the viewer must stay the
        # page it is, not reload under the user's hands (it did, detaching the stage).
        held: list[Route] = []
        listings = 0

        def hold_later_listings(route: Route) -> None:
            nonlocal listings
            listings += 1
            if listings == 1:
                route.continue_()
            else:
                held.append(route)

        page.route(f"**/v1/jobs/{job_id}/artifacts", hold_later_listings)
        page.goto(f"{url}/#/jobs/{job_id}")
        page.wait_for_selector("#viewer-panel:not([hidden])")
        page.locator("#viewer").scroll_into_view_if_needed()
        viewer = page.frame_locator("#viewer").locator(".rh-stage")
        viewer.wait_for()
        frame = next(f for f in page.frames if "/v1/shares/" in f.url)
        frame.evaluate("() => { window.keptAcrossListings = true; }")
        page.wait_for_timeout(1100)  # a second later: the next listing signs anew
        for _ in range(100):  # the sync API runs the route handler while it waits
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the replayed events listed the artifacts only once"
        for route in held:
            route.continue_()
        page.wait_for_timeout(500)
        assert frame.evaluate("() => window.keptAcrossListings === true")
        _assert_spins(frame, page)
        page.screenshot(path=str(tmp_path / "dashboard-viewer.png"), full_page=True)
        browser.close()
    assert refused == []
