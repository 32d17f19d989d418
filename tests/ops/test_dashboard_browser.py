"""The dashboard end to end in Debian's Chromium: a real server process on a free port with
a temporary data directory; log in, see a job submitted elsewhere arrive over the system
stream with no polling, submit a turntable of BoomBox.glb (128², 8 frames), watch its
progress reach 100 % over its event stream, open an artifact, and see the overview fall
back to slow polling while its stream is down. Screenshots land in the test's tmp dir."""

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
FALLBACK_POLL_S = 15  # app.js FALLBACK_POLL_MS

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
    from playwright.sync_api import Request, expect, sync_playwright

    url, key = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        requests: list[tuple[float, str, str]] = []

        def seen(request: Request) -> None:
            requests.append((time.monotonic(), request.method, request.url.removeprefix(url)))

        page.on("request", seen)
        page.goto(url + "/")
        page.fill("#api-key", "rh_wrong_key_0000000000")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_contain_text("refused")
        page.fill("#api-key", key)
        page.click("#login-form button")
        expect(page.locator("#live")).to_have_text("● live")
        expect(page.locator("#resources .card")).to_have_count(4)
        expect(page.locator("#who")).to_contain_text("admin")

        # Live without polling: a job submitted by another client shows up through the
        # stream, and in 5 s (the old poll ran every 2 s) the page asks for nothing.
        since = time.monotonic()
        auth = {"Authorization": f"Bearer {key}"}
        other = httpx.post(url + "/v1/jobs", json={"kind": "noop"}, headers=auth).json()["id"]
        expect(page.locator("#recent li").first).to_contain_text(other[-8:])
        expect(page.locator("#recent li").first).to_contain_text("succeeded")
        page.wait_for_timeout(5000)
        assert [r for r in requests if r[0] > since] == []
        assert [r[2] for r in requests].count("/v1/system/stream") == 1
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

        # The form is generated from GET /v1/kinds (issue 19): one control per input field.
        page.select_option("#kind", "turntable")
        page.set_input_files("#field-model", str(ASSETS / "BoomBox.glb"))
        page.fill("#field-frames", "8")
        page.fill("#field-size", "128")
        page.click("#submit-form button")
        expect(page.locator("#job")).to_be_visible()
        job_id = page.locator("#job-id").inner_text()
        since = time.monotonic()
        expect(page.locator("#job-percent")).to_have_text("100%", timeout=180_000)
        expect(page.locator("#job-state")).to_have_text("succeeded", timeout=30_000)
        expect(page.locator("#live")).to_have_text("● finished")
        expect(page.locator("#artifacts a")).to_have_count(8, timeout=10_000)
        page.screenshot(path=str(tmp_path / "job.png"), full_page=True)
        # Progress came over the event stream: the job was re-read only on state changes.
        during = [r[2] for r in requests if r[0] > since]
        assert page.locator("#events li").count() > 10
        assert during.count(f"/v1/jobs/{job_id}") <= 3, during
        assert not [u for u in during if u.startswith(("/v1/system/", "/v1/jobs?"))], during

        href = page.locator("#artifacts a").first.get_attribute("href")
        assert href
        frame = page.context.request.get(url + href)
        assert frame.status == 200 and frame.body()[:8] == b"\x89PNG\r\n\x1a\n"
        artifact = browser.new_page()
        artifact.goto(url + href)
        artifact.screenshot(path=str(tmp_path / "artifact.png"))

        # The stream is down: the indicator says so and the overview polls, slowly.
        page.route("**/v1/system/stream", lambda route: route.abort())
        since = time.monotonic()
        page.goto(url + "/#/")
        expect(page.locator("#live")).to_have_text("● reconnecting…")
        # Only the fallback poll can have brought the turntable into the lists.
        expect(page.locator("#recent li").first).to_contain_text(job_id[-8:])
        expect(page.locator("#queue tbody tr")).to_have_count(2)
        polled = {r[2] for r in requests if r[0] > since}
        assert {"/v1/jobs?limit=10", "/v1/system/metrics"} <= polled, polled
        page.screenshot(path=str(tmp_path / "overview-reconnecting.png"), full_page=True)
        page.unroute("**/v1/system/stream")
        expect(page.locator("#live")).to_have_text("● live", timeout=15_000)
        since = time.monotonic()
        page.wait_for_timeout(FALLBACK_POLL_S * 1000 + 1000)
        assert [r for r in requests if r[0] > since] == [], "polling went on after reconnecting"
        page.screenshot(path=str(tmp_path / "overview-after.png"), full_page=True)

        # A user key: its own (no) jobs and credits, none of the cluster panels.
        user = browser.new_page(viewport={"width": 1300, "height": 700})
        user.goto(url + "/")
        user.fill("#api-key", _user_key(tmp_path / "data"))
        user.click("#login-form button")
        expect(user.locator("#live")).to_have_text("● live")
        expect(user.locator("#who")).to_have_text("carol")
        expect(user.locator("#recent li")).to_have_text("no jobs yet")
        expect(user.locator("#resources")).to_be_hidden()
        expect(user.locator("#alerts")).to_be_hidden()
        user.screenshot(path=str(tmp_path / "overview-user.png"), full_page=True)
        browser.close()


def _user_key(data: Path) -> str:
    from renderhouse import accounts
    from renderhouse.runtime import Runtime
    from renderhouse.settings import Settings

    rt = Runtime(Settings(data_dir=data))
    try:
        with rt.store.begin() as conn:
            return accounts.create_key(conn, accounts.create_user(conn, "carol"))
    finally:
        rt.close()
