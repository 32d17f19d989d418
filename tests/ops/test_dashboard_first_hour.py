"""The dashboard's rough edges a new user met (issue 19, item 8), in Debian's Chromium against
a real ``renderhouse serve``: the Log in button stays on one line, the submit form is built
from the kind's input schema (GET /v1/kinds), a finished noop job shows 100 %, and the queue
panel says nothing is queued instead of "oldest 0 s"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.test_dashboard_browser import ARGS, CHROMIUM, server  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_first_hour_in_the_dashboard(server: tuple[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, key = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width in (1300, 420):
            narrow = browser.new_page(viewport={"width": width, "height": 700})
            narrow.goto(url + "/")
            button = narrow.locator("#login-form button")
            expect(button).to_have_text("Log in")
            box = button.bounding_box()
            line = narrow.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('#login-form button'))"
                ".lineHeight) || 20"
            )
            assert box and box["height"] < 2 * line, (width, box, line)  # one line of text
            narrow.close()

        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url + "/")
        page.fill("#api-key", key)
        page.click("#login-form button")
        expect(page.locator("#live")).to_have_text("● live")

        # The form follows the chosen kind's schema.
        expect(page.locator("#kind option")).not_to_have_count(0)
        kinds = page.locator("#kind option").all_inner_texts()
        assert "turntable" in kinds and "noop" in kinds and "backup" not in kinds
        page.select_option("#kind", "turntable")
        assert page.get_attribute("#field-model", "type") == "file"
        assert page.get_attribute("#field-frames", "type") == "number"
        assert page.get_attribute("#field-frames", "max") == "720"
        assert page.input_value("#field-frames") == "36"
        assert page.locator("#field-direction option").all_inner_texts() == ["cw", "ccw"]
        # An upload field with presets: pick a preset, or upload a file of your own.
        assert "studio" in page.locator("#field-lighting option").all_inner_texts()
        assert page.get_attribute("#field-lighting-file", "type") == "file"
        page.screenshot(path=str(tmp_path / "form-turntable.png"), full_page=True)
        page.select_option("#kind", "noop")
        assert page.input_value("#field-message") == "hello"
        assert page.locator("#field-model").count() == 0
        page.fill("#field-message", "from the form")

        page.click("#submit-form button")
        expect(page.locator("#job-state")).to_have_text("succeeded", timeout=30_000)
        expect(page.locator("#job-percent")).to_have_text("100%")
        job_id = page.locator("#job-id").inner_text()
        expect(page.locator("#events")).to_contain_text("state")
        assert "Invalid Date" not in page.locator("#events").inner_text()

        page.goto(url + "/#/")
        recent = page.locator("#recent li").filter(has_text=job_id[-8:])
        expect(recent).to_contain_text("succeeded")
        expect(recent).to_contain_text("100%")
        row = page.locator("#queue tbody tr").filter(has_text="noop")
        expect(row).to_contain_text("nothing queued")
        assert " 0 s" not in row.inner_text()
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        browser.close()
