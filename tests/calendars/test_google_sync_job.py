"""Google Calendar through the platform: Google's own OAuth library (google-auth-oauthlib)
first drives the fake's consent and token endpoints, proving them faithful; then a
connection made through /v1/calendars/google/* syncs a schedule job's events with the
calendar_sync job, and a revoked authorisation fails that job for good."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from renderhouse.queue.jobs import SUCCEEDED, TERMINAL
from renderhouse.runtime import Runtime
from tests.calendars.conftest import job, working
from tests.schedule.corpus import make_sample
from tests.schedule.fake_google import FakeGoogle

pytestmark = pytest.mark.anyio


def test_official_oauth_library_against_the_fake(
    google: tuple[FakeGoogle, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from google_auth_oauthlib.flow import Flow

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake is plain http
    fake, url = google
    config = {"web": {"client_id": fake.client_id, "client_secret": fake.client_secret,
                      "auth_uri": url + "/auth", "token_uri": url + "/token"}}  # fmt: skip
    redirect = "http://127.0.0.1:9/callback"
    flow = Flow.from_client_config(
        config, scopes=["https://www.googleapis.com/auth/calendar.events"],
        redirect_uri=redirect,
    )  # fmt: skip
    auth_url, state = flow.authorization_url(access_type="offline", prompt="consent")
    back = httpx.get(auth_url, follow_redirects=False)
    assert back.status_code == 302 and back.headers["location"].startswith(redirect)
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["state"] == [state]
    flow.fetch_token(code=query["code"][0])
    assert flow.credentials.refresh_token in fake.refresh_tokens
    assert flow.credentials.token in fake.access_tokens
    # a code is good once
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(code=query["code"][0])


async def _connect(alice: httpx.AsyncClient) -> str:
    r = await alice.post("/v1/calendars/google/authorize", json={"calendar": "primary"})
    back = httpx.get(r.json()["authorization_url"], follow_redirects=False)
    r = await alice.get(f"/v1/calendars/google/callback?{urlsplit(back.headers['location']).query}")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_sync_job_to_google(
    alice: httpx.AsyncClient, runtime: Runtime, google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    fake, _ = google
    cid = await _connect(alice)
    pdf = make_sample("fixtures_shuffled", "de", 2).pdf
    upload = await alice.post("/v1/uploads", files={"file": ("spiele.pdf", pdf, "application/pdf")})
    ref = upload.json()["ref"]
    extraction = (
        await alice.post("/v1/jobs", json={"kind": "schedule", "input": {"pdf": ref}})
    ).json()["id"]
    first = (await alice.post(f"/v1/calendars/{cid}/sync", json={"job": extraction})).json()["id"]
    async with working(runtime, tmp_path) as w:
        await w.until(lambda: job(runtime, first).state in TERMINAL)
        done = job(runtime, first)
        assert done.state == SUCCEEDED, (done.error_code, done.error_message)
        events = job(runtime, extraction).result["events"]  # type: ignore[index]
        stored = fake.calendars["primary"]
        assert sorted(e["summary"] for e in stored.values()) == sorted(e["title"] for e in events)
        assert {e["extendedProperties"]["private"]["renderhouseSource"] for e in stored.values()} \
            == {"spiele.pdf"}  # fmt: skip

        fake.expire_tokens()  # the next sync refreshes with the stored token, then changes nothing
        again = (await alice.post(f"/v1/calendars/{cid}/sync", json={"job": extraction})).json()
        await w.until(lambda: job(runtime, again["id"]).state in TERMINAL)
        report = job(runtime, again["id"]).result
        assert report is not None and report["unchanged"] == len(events)
        assert (report["created"], report["updated"], report["deleted"]) == (0, 0, 0)

        fake.refresh_tokens.clear()  # the user revoked our access in their Google account
        fake.expire_tokens()
        revoked = (await alice.post(f"/v1/calendars/{cid}/sync", json={"job": extraction})).json()
        await w.until(lambda: job(runtime, revoked["id"]).state in TERMINAL)
        ended = job(runtime, revoked["id"])
        assert ended.state == "failed" and ended.error_code == "calendar_refused"
        assert ended.attempts_spent == 1, "a revoked authorisation is not retried"
        assert "connect the calendar again" in (ended.error_message or "")
