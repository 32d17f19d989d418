"""``/v1/calendars``: CalDAV connections and the Google OAuth 2 flow against the fake
Google server, owner-scoped, secrets sealed at rest and never returned."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from renderhouse.calendars import sealing
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.schema_calendars import calendar_connections
from renderhouse.timestamps import parse as parse_timestamp
from tests.api.conftest import assert_error, client_for
from tests.calendars.conftest import Users
from tests.schedule.fake_google import FakeGoogle

pytestmark = pytest.mark.anyio
CALDAV = {
    "kind": "caldav", "name": "Work", "url": "http://127.0.0.1:5232/",
    "username": "alice", "password": "hunter2-not-stored-plainly", "calendar": "Rota",
}  # fmt: skip


def _stored(rt: Runtime, cid: str) -> str:
    with rt.store.read() as conn:
        row = conn.execute(
            select(calendar_connections.c.secret).where(calendar_connections.c.id == cid)
        ).one()
    return str(row.secret)


async def test_caldav_connection_lifecycle(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    runtime: Runtime,
    cal_settings: Settings,
) -> None:
    r = await alice.post("/v1/calendars", json=CALDAV)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["kind"] == "caldav" and made["calendar"] == "Rota"
    assert "password" not in made and "secret" not in made
    assert CALDAV["password"] not in r.text
    assert parse_timestamp(made["created_at"]) > 0  # RFC 3339
    sealed = _stored(runtime, made["id"])
    assert CALDAV["password"] not in sealed
    assert sealing.unseal(cal_settings.secret_key, made["id"], sealed) == CALDAV["password"]

    listed = (await alice.get("/v1/calendars")).json()["calendars"]
    assert [c["id"] for c in listed] == [made["id"]]
    assert (await alice.get(f"/v1/calendars/{made['id']}")).json() == made
    # another user's id is an unknown one
    assert_error(await bob.get(f"/v1/calendars/{made['id']}"), 404, "not_found")
    assert_error(await bob.delete(f"/v1/calendars/{made['id']}"), 404, "not_found")
    assert (await bob.get("/v1/calendars")).json() == {"calendars": []}

    assert (await alice.delete(f"/v1/calendars/{made['id']}")).status_code == 204
    assert_error(await alice.get(f"/v1/calendars/{made['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://127.0.0.1:5232/", "loopback"),
        ("http://169.254.169.254/", "metadata"),
        ("http://user:pw@cal.example.org/", "credentials"),
        ("ftp://cal.example.org/", "scheme"),
    ],
)
async def test_caldav_url_refused(
    settings: Settings,
    runtime: Runtime,
    users: Users,
    url: str,
    reason: str,
) -> None:
    from renderhouse.api import create_app

    app = create_app(settings, runtime)  # calendar_allow_private off: the default
    async with client_for(app, users.alice) as client:
        r = await client.post("/v1/calendars", json={**CALDAV, "url": url})
    err = assert_error(r, 422, "calendar_url_forbidden")
    assert err["details"]["reason"] == reason
    await app.state.rh.close()


async def _consent(alice: httpx.AsyncClient, body: dict | None = None) -> tuple[str, str]:
    r = await alice.post("/v1/calendars/google/authorize", json=body or {})
    assert r.status_code == 200, r.text
    out = r.json()
    query = parse_qs(urlsplit(out["authorization_url"]).query)
    assert query["access_type"] == ["offline"] and query["response_type"] == ["code"]
    assert query["state"] == [out["state"]]
    assert query["redirect_uri"] == [out["redirect_url"]]
    assert out["redirect_url"].endswith("/v1/calendars/google/callback")
    # the user's browser at Google's consent page, sent back with a code
    back = httpx.get(out["authorization_url"], follow_redirects=False)
    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert location.path == "/v1/calendars/google/callback"
    return location.query, out["state"]


async def test_google_oauth_flow(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    runtime: Runtime,
    cal_settings: Settings,
    google: tuple[FakeGoogle, str],
) -> None:
    fake, _ = google
    query, state = await _consent(alice, {"name": "Family", "calendar": "family@group"})
    # bob cannot finish alice's flow (nor attach his account to her consent)
    assert_error(
        await bob.get(f"/v1/calendars/google/callback?{query}"), 422, "oauth_state_invalid"
    )
    r = await alice.get(f"/v1/calendars/google/callback?{query}")
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["kind"], made["name"], made["calendar"]) == ("google", "Family", "family@group")
    refresh = sealing.unseal(cal_settings.secret_key, made["id"], _stored(runtime, made["id"]))
    assert refresh in fake.refresh_tokens and refresh.startswith("1//")
    assert refresh not in r.text and refresh not in _stored(runtime, made["id"])
    # the same callback again: the flow was used
    assert_error(await alice.get(f"/v1/calendars/google/callback?{query}"), 409, "oauth_state_used")
    assert [c["id"] for c in (await alice.get("/v1/calendars")).json()["calendars"]] == [made["id"]]

    tampered = state[:-2] + ("00" if not state.endswith("00") else "11")
    r = await alice.get("/v1/calendars/google/callback", params={"state": tampered, "code": "x"})
    assert_error(r, 422, "oauth_state_invalid")
    # a code Google does not know
    _, fresh = await _consent(alice)
    r = await alice.get("/v1/calendars/google/callback", params={"state": fresh, "code": "4/no"})
    assert_error(r, 422, "oauth_code_invalid")


async def test_google_consent_refused(
    alice: httpx.AsyncClient,
    google: tuple[FakeGoogle, str],
) -> None:
    google[0].deny_consent = True
    query, _ = await _consent(alice)
    assert "error=access_denied" in query
    assert_error(await alice.get(f"/v1/calendars/google/callback?{query}"), 400, "oauth_denied")
    assert (await alice.get("/v1/calendars")).json() == {"calendars": []}


async def test_google_not_configured(
    settings: Settings,
    runtime: Runtime,
    users: Users,
) -> None:
    from renderhouse.api import create_app

    app = create_app(settings, runtime)
    async with client_for(app, users.alice) as client:
        r = await client.post("/v1/calendars/google/authorize", json={})
    assert_error(r, 503, "google_not_configured")
    await app.state.rh.close()


async def test_sync_refuses_foreign_and_non_schedule_jobs(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
) -> None:
    cid = (await alice.post("/v1/calendars", json=CALDAV)).json()["id"]
    noop = (await alice.post("/v1/jobs", json={"kind": "noop", "input": {}})).json()["id"]
    r = await alice.post(f"/v1/calendars/{cid}/sync", json={"job": noop})
    assert_error(r, 422, "not_a_schedule_job")
    assert_error(await alice.post(f"/v1/calendars/{cid}/sync", json={"job": "nope"}), 404)
    assert_error(await bob.post(f"/v1/calendars/{cid}/sync", json={"job": noop}), 404)
    # bob's own calendar and alice's job: her job is unknown to him
    own = (await bob.post("/v1/calendars", json=CALDAV)).json()["id"]
    r = await bob.post(f"/v1/calendars/{own}/sync", json={"job": noop})
    assert_error(r, 404, "not_found")
    # the sync kind is the platform's: not a kind callers may submit
    r = await alice.post("/v1/jobs", json={"kind": "calendar_sync", "input": {}})
    assert r.status_code == 422, r.text
