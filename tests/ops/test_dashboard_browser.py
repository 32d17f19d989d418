"""The dashboard end to end in Debian's Chromium: a real server process on a free port with
a temporary data directory; log in, submit a turntable of BoomBox.glb (128², 8 frames),
watch its progress reach 100 %, open an artifact. Screenshots land in the test's tmp dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ASSETS
from tests.storage.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
KEY = re.compile(r"\brh_[A-Za-z0-9_\-]{10,}")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def _start(cmd: list[str], tmp: Path, port: int) -> tuple[subprocess.Popen[bytes], str | None]:
    log = tmp / "server.log"
    env = {**os.environ, "RENDERHOUSE_SECRET_KEY": "k" * 40, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                key = KEY.search(log.read_text(errors="replace"))
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                    return proc, key.group(0) if key else None
                break  # an API without the dashboard mounted (create_app not wired yet)
        except httpx.HTTPError:
            pass
        if "HTTP API is not in this build" in log.read_text(errors="replace"):
            break
        time.sleep(0.2)
    proc.terminate()
    proc.wait(15)
    return proc, None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    data = tmp_path / "data"
    serve = [sys.executable, "-m", "renderhouse.cli", "--data-dir", str(data), "serve",
             "--port", str(port)]  # fmt: skip
    serve[1:3] = ["-c", "from renderhouse.cli import main; main()"]
    proc, key = _start(serve, tmp_path, port)
    if key is None:  # `serve` without the dashboard yet: the same pieces, assembled here
        stand_in = [sys.executable, str(Path(__file__).with_name("dashboard_server.py")),
                    str(data), str(port)]  # fmt: skip
        proc, key = _start(stand_in, tmp_path, port)
    if key is None:
        pytest.fail("the server did not start; see server.log: " + str(tmp_path))
    yield f"http://127.0.0.1:{port}", key
    proc.terminate()
    proc.wait(30)


def test_dashboard_runs_a_turntable(server: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, key = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url + "/")
        page.fill("#api-key", "rh_wrong_key_0000000000")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_contain_text("refused")
        page.fill("#api-key", key)
        page.click("#login-form button")
        expect(page.locator("#resources .card")).to_have_count(4)
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

        page.fill("#kind", "turntable")
        page.set_input_files("#model-file", str(ASSETS / "BoomBox.glb"))
        page.fill("#job-input", '{"frames": 8, "size": 128}')
        page.click("#submit-form button")
        expect(page.locator("#job")).to_be_visible()
        expect(page.locator("#job-percent")).to_have_text("100%", timeout=180_000)
        expect(page.locator("#job-state")).to_have_text("succeeded", timeout=30_000)
        expect(page.locator("#events li").first).to_be_visible()
        expect(page.locator("#artifacts a")).to_have_count(8, timeout=10_000)
        page.screenshot(path=str(tmp_path / "job.png"), full_page=True)

        href = page.locator("#artifacts a").first.get_attribute("href")
        assert href
        frame = page.context.request.get(url + href)
        assert frame.status == 200 and frame.body()[:8] == b"\x89PNG\r\n\x1a\n"
        artifact = browser.new_page()
        artifact.goto(url + href)
        artifact.screenshot(path=str(tmp_path / "artifact.png"))

        page.goto(url + "/#/")
        expect(page.locator("#queue tbody tr")).not_to_have_count(0)
        expect(page.locator("#recent a").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "overview-after.png"), full_page=True)
        browser.close()
