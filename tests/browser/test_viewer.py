"""Drive the offline turntable viewer in Debian's chromium with Playwright.

A synthetic two-row, twelve-frame spin is drawn with Pillow (each frame shows its row
and angle in a different colour), written out with the real manifest and viewer code,
and opened from file:// with the network switched off.
"""

from __future__ import annotations

import colorsys
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from renderhouse.generators.turntable.frames import encode_frame
from renderhouse.generators.turntable.manifest import build_manifest
from renderhouse.generators.turntable.viewer import write_viewer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FRAMES = 12
ELEVATIONS = [0.0, 30.0]
SIZE = (480, 360)
API = "window.renderhouseViewer"
# Resolves after n animation frames: lets time pass without sleeping in Python.
AFTER_FRAMES = (
    "n => new Promise(done => {"
    " const f = () => (n-- > 0 ? requestAnimationFrame(f) : done()); f(); })"
)


def draw_frame(row: int, index: int) -> Image.Image:
    angle = index * 360 // FRAMES
    r, g, b = colorsys.hsv_to_rgb(index / FRAMES, 0.55 + 0.3 * row, 0.92)
    im = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    pen = ImageDraw.Draw(im)
    cx, cy = SIZE[0] // 2, SIZE[1] // 2
    pen.rounded_rectangle(
        (cx - 130, cy - 110, cx + 130, cy + 110),
        radius=28,
        fill=(int(r * 255), int(g * 255), int(b * 255), 255),
    )
    font = ImageFont.load_default(size=44)
    pen.text((cx, cy - 20), f"{angle}°", font=font, fill=(20, 24, 32, 255), anchor="mm")
    small = ImageFont.load_default(size=22)
    pen.text(
        (cx, cy + 40),
        f"row {row} · elev {ELEVATIONS[row]:g}°",
        font=small,
        fill=(20, 24, 32, 255),
        anchor="mm",
    )
    return im


def build_spin(out: Path) -> Path:
    """Write frames, poster, manifest-driven viewer.html into ``out``; return ``out``."""
    names: list[list[str]] = []
    for row in range(len(ELEVATIONS)):
        row_names = []
        for i in range(FRAMES):
            name = f"frames/row{row}/frame_{i:03d}.png"
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(encode_frame(np.asarray(draw_frame(row, i)), "png"))
            row_names.append(name)
        names.append(row_names)
    poster = Image.new("RGBA", SIZE, (90, 90, 100, 255))
    ImageDraw.Draw(poster).text(
        (SIZE[0] // 2, SIZE[1] // 2), "POSTER", font=ImageFont.load_default(size=40), anchor="mm"
    )
    poster.save(out / "poster.png")
    manifest = build_manifest(
        model_name="Synthetic test spin",
        frames_by_row=names,
        elevations=ELEVATIONS,
        size=SIZE,
        formats=["png"],
        sprites=None,
        videos=None,
        poster="poster.png",
        direction="ccw",
        fps=24,
    )
    write_viewer(manifest, out / "viewer.html")
    return out


@pytest.fixture(scope="module")
def spin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_spin(tmp_path_factory.mktemp("spin"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OfflinePage:
    """A page opened with the network off that records every request it attempts."""

    def __init__(self, browser, spin_dir: Path, *, reduced_motion: str) -> None:
        self.context = browser.new_context(
            viewport={"width": 800, "height": 600}, reduced_motion=reduced_motion
        )
        self.context.set_offline(True)
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on(
            "console",
            lambda msg: (
                self.problems.append(msg.text) if msg.type in ("error", "warning") else None
            ),
        )
        self.page.goto((spin_dir / "viewer.html").as_uri())

    def _only_local(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file://", "data:", "blob:"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def still(browser, spin_dir: Path) -> Iterator[OfflinePage]:
    """Reduced motion: no autoplay, so interaction tests see a still view."""
    page = OfflinePage(browser, spin_dir, reduced_motion="reduce")
    yield page
    page.close()
    assert page.external_requests() == []
    assert page.problems == []


def wait_ready(page) -> None:
    page.wait_for_function(f"() => {API} && {API}.phase === 'ready'")


def js(page, expression: str):
    return page.evaluate(f"() => {API}.{expression}")


def test_loads_offline_showing_poster_then_frame_zero(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    history = js(page, "history")
    assert history[0] == "poster", history
    assert "0:0" in history and history.index("0:0") > 0
    assert js(page, "frame") == 0 and js(page, "row") == 0 and js(page, "shown") == "0:0"
    page.wait_for_function(f"() => {API}.loaded === {API}.total")
    assert js(page, "total") == FRAMES * len(ELEVATIONS)
    assert page.locator(".rh-loading").is_hidden()
    assert any(u.endswith("frames/row1/frame_011.png") for u in still.requests)


def test_horizontal_drag_turns_the_model(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    box = page.locator(".rh-stage").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 300, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, y, steps=12)  # 200px right, no vertical motion
    page.mouse.up()
    frame = js(page, "frame")
    assert 1 <= frame <= 6, f"dragging right should advance a ccw spin, got frame {frame}"
    assert js(page, "row") == 0
    assert js(page, "playing") is False


def test_keyboard_steps_frames_and_rows_and_announces_the_angle(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    stage = page.locator(".rh-stage")
    stage.focus()
    page.keyboard.press("ArrowRight")
    assert js(page, "frame") == 1
    page.wait_for_function(
        "() => document.querySelector('.rh-live').textContent === 'Angle 30°, elevation 0°'"
    )
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert js(page, "frame") == FRAMES - 1
    page.wait_for_function(
        "() => document.querySelector('.rh-live').textContent === 'Angle 330°, elevation 0°'"
    )
    page.keyboard.press("ArrowUp")
    assert js(page, "row") == 1 and js(page, "frame") == FRAMES - 1
    page.wait_for_function(
        "() => document.querySelector('.rh-live').textContent === 'Angle 330°, elevation 30°'"
    )
    page.keyboard.press("ArrowUp")  # already the highest row
    assert js(page, "row") == 1
    page.keyboard.press("+")
    assert js(page, "zoom") > 1
    page.keyboard.press("Home")
    assert (js(page, "frame"), js(page, "row"), js(page, "zoom")) == (0, 0, 1)
    assert page.locator(".rh-live").get_attribute("aria-live") == "polite"


def test_vertical_drag_changes_row(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    box = page.locator(".rh-stage").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 150)
    page.mouse.down()
    page.mouse.move(x, box["y"] + 400, steps=10)  # drag down: camera rises
    page.mouse.up()
    assert js(page, "row") == 1


def test_reduced_motion_does_not_autoplay(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    page.wait_for_function(f"() => {API}.loaded === {API}.total")
    # A few animation frames pass; a 24 fps autoplay would have moved by now.
    page.evaluate(AFTER_FRAMES, 20)
    assert js(page, "playing") is False and js(page, "frame") == 0


def test_autoplay_advances_and_pauses_on_interaction(browser, spin_dir: Path) -> None:
    viewer = OfflinePage(browser, spin_dir, reduced_motion="no-preference")
    try:
        page = viewer.page
        wait_ready(page)
        page.wait_for_function(f"() => {API}.playing && {API}.frame >= 3")
        page.locator(".rh-stage").focus()
        page.keyboard.press("ArrowRight")
        assert js(page, "playing") is False
        held = js(page, "frame")
        page.evaluate(AFTER_FRAMES, 10)
        assert js(page, "frame") == held
        page.keyboard.press("Space")
        assert js(page, "playing") is True
        page.wait_for_function(f"() => {API}.frame !== {held}")
        assert page.locator(".rh-play").get_attribute("aria-pressed") == "true"
    finally:
        viewer.close()
    assert viewer.external_requests() == []
    assert viewer.problems == []


def test_screenshot(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    page.wait_for_function(f"() => {API}.loaded === {API}.total")
    page.locator(".rh-stage").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"() => {API}.shown === '1:2'")
    page.screenshot(path="/tmp/viewer_test.png")
    assert Path("/tmp/viewer_test.png").stat().st_size > 10_000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(spin_dir: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(spin_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_poster_and_loading_indicator_while_frames_are_pending(browser, served: str) -> None:
    """Over HTTP we can hold the frame responses back and look at the waiting state."""
    context = browser.new_context(viewport={"width": 640, "height": 480}, reduced_motion="reduce")
    held = []
    foreign = []
    gate_open = False

    def gate(route) -> None:
        url = route.request.url
        if not url.startswith(served):
            foreign.append(url)
            route.abort()
        elif "/frames/" in url and not gate_open:
            held.append(route)
        else:
            route.continue_()

    try:
        context.route("**/*", gate)
        page = context.new_page()
        with page.expect_request(lambda request: "/frames/" in request.url) as first_frame:
            page.goto(served + "/viewer.html")
        assert first_frame.value.url.endswith("frames/row0/frame_000.png"), (
            "the current frame should be requested first"
        )
        page.wait_for_function(f"() => {API} && {API}.shown === 'poster'")
        stage = page.locator(".rh-stage")
        assert stage.get_attribute("aria-busy") == "true"
        assert js(page, "phase") == "poster"
        assert page.locator(".rh-loading").is_visible()
        assert "Loading" in page.locator(".rh-loading").inner_text()
        gate_open = True
        for route in held:
            route.continue_()
        wait_ready(page)
        assert js(page, "history")[:2] == ["poster", "0:0"]
        assert page.locator(".rh-loading").is_hidden()
        page.wait_for_function(f"() => {API}.loaded === {API}.total")
        assert stage.get_attribute("aria-busy") == "false"
    finally:
        context.close()
    assert foreign == []


def test_policy_blocks_requests_to_other_origins(browser, spin_dir: Path) -> None:
    """Even script injected into the page cannot reach another origin: the page's CSP
    refuses it (independently of the offline context, which would fail it too)."""
    viewer = OfflinePage(browser, spin_dir, reduced_motion="reduce")
    try:
        page = viewer.page
        wait_ready(page)
        outcome = page.evaluate(
            """() => new Promise(done => {
                const img = new Image();
                img.onload = () => done("loaded");
                img.onerror = () => done("blocked");
                img.src = "https://example.com/tracker.png";
            })"""
        )
        assert outcome == "blocked"
        fetched = page.evaluate(
            "() => fetch('https://example.com/').then(() => 'fetched', () => 'blocked')"
        )
        assert fetched == "blocked"
        # Chromium still reports the attempts as requests, then refuses them on policy.
        refused = " ".join(viewer.problems)
        assert "violates the following Content Security Policy directive" in refused
        assert "img-src" in refused and "connect-src 'none'" in refused
    finally:
        viewer.close()


def test_poster_that_is_frame_zero_is_fetched_once(browser, spin_dir: Path) -> None:
    names = [[f"frames/row{r}/frame_{i:03d}.png" for i in range(FRAMES)] for r in range(2)]
    manifest = build_manifest(
        model_name="Same poster",
        frames_by_row=names,
        elevations=ELEVATIONS,
        size=SIZE,
        formats=["png"],
        sprites=None,
        videos=None,
        poster=names[0][0],
        direction="cw",
        fps=24,
    )
    write_viewer(manifest, spin_dir / "viewer_same_poster.html")
    context = browser.new_context(viewport={"width": 640, "height": 480}, reduced_motion="reduce")
    try:
        context.set_offline(True)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto((spin_dir / "viewer_same_poster.html").as_uri())
        page.wait_for_function(f"() => {API}.loaded === {API}.total")
        assert js(page, "history")[0] == "0:0"
        assert sum(url.endswith("row0/frame_000.png") for url in requests) == 1
        # direction "cw": dragging left advances the index
        box = page.locator(".rh-stage").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 400, y)
        page.mouse.down()
        page.mouse.move(box["x"] + 250, y, steps=8)
        page.mouse.up()
        assert 1 <= js(page, "frame") <= 6
    finally:
        context.close()


def test_zoom_and_fullscreen_controls(still: OfflinePage) -> None:
    page = still.page
    wait_ready(page)
    box = page.locator(".rh-stage").bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 200)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"() => {API}.zoom > 1.5")
    assert page.locator(".rh-zoom-out").is_enabled()
    # while zoomed a drag pans instead of turning
    page.mouse.down()
    page.mouse.move(box["x"] + 450, box["y"] + 200, steps=6)
    page.mouse.up()
    assert js(page, "frame") == 0
    page.locator(".rh-reset").click()
    assert js(page, "zoom") == 1 and page.locator(".rh-zoom-out").is_disabled()
    page.locator(".rh-zoom-in").click()
    assert js(page, "zoom") == 1.5
    full = page.locator(".rh-full")
    page.locator(".rh-stage").focus()
    page.keyboard.press("f")
    page.wait_for_function("() => document.querySelector('.rh-full').ariaPressed === 'true'")
    assert full.get_attribute("aria-label") == "Exit full screen"
    page.keyboard.press("f")
    page.wait_for_function("() => document.querySelector('.rh-full').ariaPressed === 'false'")


def test_missing_frames_show_a_message_instead_of_spinning_forever(browser, tmp_path: Path) -> None:
    manifest = build_manifest(
        model_name="Broken",
        frames_by_row=[[f"frames/missing_{i}.png" for i in range(4)]],
        elevations=[0.0],
        size=SIZE,
        formats=["png"],
        sprites=None,
        videos=None,
        poster="frames/missing_0.png",
        direction="ccw",
        fps=24,
    )
    write_viewer(manifest, tmp_path / "viewer.html")
    context = browser.new_context(viewport={"width": 480, "height": 360})
    try:
        context.set_offline(True)
        page = context.new_page()
        page.goto((tmp_path / "viewer.html").as_uri())
        page.wait_for_function(f"() => {API}.phase === 'error'")
        message = page.get_by_role("alert")
        assert message.is_visible() and "could not be loaded" in message.inner_text()
        assert page.locator(".rh-loading").is_hidden()
        assert js(page, "playing") is False
    finally:
        context.close()
