"""Google Calendar sync against a local server speaking the provider's protocol (OAuth 2
token endpoint, Calendar v3 events), first proved faithful by Google's own SDK
(google-api-python-client with google-auth), then driving our client: re-sync changes
nothing, a new document version patches/inserts/deletes only ours, an expired token is
refreshed once, rate limits back off, 404/410 on delete mean already gone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from renderhouse.generators.schedule import google_sync
from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.google_calendar import GoogleCalendar, GoogleError, Token
from tests.schedule.corpus import make_sample
from tests.schedule.fake_google import FakeGoogle
from tests.threaded_server import serving

_open: list[GoogleCalendar] = []


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogle, str]]:
    fake = FakeGoogle()
    with serving(fake.app()) as url:
        yield fake, url
        while _open:
            _open.pop().close()


def _client(fake: FakeGoogle, url: str, **kw) -> GoogleCalendar:  # type: ignore[no-untyped-def]
    client = GoogleCalendar(
        fake.client_id, fake.client_secret, Token("", "refresh-1", expires_at=1.0),
        api=url + "/calendar/v3", token_url=url + "/token", **kw,
    )  # fmt: skip
    _open.append(client)
    return client


def test_the_official_sdk_works_against_the_fake(google: tuple[FakeGoogle, str]) -> None:
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError

    fake, url = google
    creds = Credentials(
        token=None, refresh_token="refresh-1", token_uri=url + "/token",
        client_id=fake.client_id, client_secret=fake.client_secret,
    )  # fmt: skip
    service = build("calendar", "v3", credentials=creds, static_discovery=True,
                    client_options={"api_endpoint": url + "/calendar/v3/"})  # fmt: skip
    events = service.events()
    body = {"id": "abc123def", "summary": "Standup",
            "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-02T09:15:00", "timeZone": "Europe/Berlin"},
            "extendedProperties": {"private": {"renderhouseSource": "x.pdf"}}}  # fmt: skip
    assert events.insert(calendarId="primary", body=body).execute()["id"] == "abc123def"
    with pytest.raises(HttpError) as dup:
        events.insert(calendarId="primary", body=body).execute()
    assert dup.value.resp.status == 409
    found = events.list(calendarId="primary",
                        privateExtendedProperty="renderhouseSource=x.pdf").execute()  # fmt: skip
    assert [e["summary"] for e in found["items"]] == ["Standup"]
    patched = events.patch(calendarId="primary", eventId="abc123def",
                           body={"summary": "Stand-up"}).execute()  # fmt: skip
    assert patched["summary"] == "Stand-up"
    fake.expire_tokens()  # the SDK refreshes on 401 by itself, as it does against Google
    events.delete(calendarId="primary", eventId="abc123def").execute()
    with pytest.raises(HttpError) as gone:
        events.delete(calendarId="primary", eventId="abc123def").execute()
    assert gone.value.resp.status == 410
    assert events.list(calendarId="primary").execute()["items"] == []
    service.close()


def _events(tmp_path: Path, template: str, seed: int):  # type: ignore[no-untyped-def]
    path = tmp_path / f"{template}-{seed}.pdf"
    path.write_bytes(make_sample(template, "de", seed).pdf)
    return extract(path).events


def test_sync_touches_only_ours_and_is_idempotent(
    google: tuple[FakeGoogle, str], tmp_path: Path
) -> None:
    fake, url = google
    fake.calendars["team"] = {"mine12345": {"id": "mine12345", "summary": "Dentist",
                                            "status": "confirmed"}}  # fmt: skip
    api = _client(fake, url)
    events = _events(tmp_path, "term_compact", 3) + _events(tmp_path, "timetable_columns", 3)
    first = google_sync.sync(api, "team", events, "plan.pdf", "Europe/Berlin")
    assert len(first.created) == len(events)
    stored = fake.calendars["team"]
    assert len(stored) == len(events) + 1
    series = [e for e in stored.values() if "recurrence" in e]
    assert series and all(r.startswith(("RRULE:", "EXDATE;TZID=")) for e in series
                          for r in e["recurrence"])  # fmt: skip
    all_day = [e for e in stored.values() if "date" in e.get("start", {})]
    assert all_day and all(e["end"]["date"] > e["start"]["date"] for e in all_day)

    fake.requests.clear()
    again = google_sync.sync(api, "team", events, "plan.pdf", "Europe/Berlin")
    assert again.unchanged == len(events)
    assert {m for m, _ in fake.requests} == {"GET"}, "a re-sync writes nothing"

    changed = list(events)
    moved = next(e for e in changed if e.rrule)  # a lesson moved by an hour: same weekday
    moved.start += timedelta(hours=1)  # type: ignore[operator]
    gone = changed.pop(0)
    third = google_sync.sync(api, "team", changed, "plan.pdf", "Europe/Berlin")
    assert (len(third.updated), len(third.deleted), len(third.created)) == (1, 1, 0)
    assert stored["mine12345"]["status"] == "confirmed"
    assert sum(e["status"] == "confirmed" for e in stored.values()) == len(changed) + 1
    # the dropped event comes back: its id is reused (Google keeps deleted ids: 409 on insert)
    fourth = google_sync.sync(api, "team", [gone, *changed], "plan.pdf", "Europe/Berlin")
    assert len(fourth.created) == 1 and not fourth.updated and not fourth.deleted


def test_expired_token_is_refreshed_once(google: tuple[FakeGoogle, str], tmp_path: Path) -> None:
    fake, url = google
    seen: list[Token] = []
    api = _client(fake, url, on_token=seen.append)
    api.insert("c", {"id": "aaaaa1", "summary": "x", "start": {"date": "2026-01-01"},
                     "end": {"date": "2026-01-02"}})  # fmt: skip
    fake.expire_tokens()
    api.insert("c", {"id": "aaaaa2", "summary": "y", "start": {"date": "2026-01-01"},
                     "end": {"date": "2026-01-02"}})  # fmt: skip
    assert len(seen) == 2 and seen[0].access_token != seen[1].access_token
    fake.refresh_tokens.clear()  # revoked by the user
    fake.expire_tokens()
    with pytest.raises(GoogleError) as info:
        api.delete("c", "aaaaa1")
    assert info.value.code == "google_auth_revoked"


def test_rate_limits_back_off_then_succeed(google: tuple[FakeGoogle, str]) -> None:
    fake, url = google
    slept: list[float] = []
    api = _client(fake, url, sleep=slept.append)
    fake.rate_limited = 3
    api.insert("c", {"id": "bbbbb1", "summary": "x", "start": {"date": "2026-01-01"},
                     "end": {"date": "2026-01-02"}})  # fmt: skip
    assert len(slept) == 3 and slept[0] < slept[1] < slept[2]
    assert fake.calendars["c"]["bbbbb1"]["summary"] == "x"
    fake.rate_limited = 100
    with pytest.raises(GoogleError):
        api.insert("c", {"id": "bbbbb2", "summary": "y", "start": {"date": "2026-01-01"},
                         "end": {"date": "2026-01-02"}})  # fmt: skip
    assert len(slept) == 3 + api.max_tries - 1


def test_delete_of_a_gone_event_is_not_an_error(google: tuple[FakeGoogle, str]) -> None:
    fake, url = google
    api = _client(fake, url)
    api.insert("c", {"id": "ccccc1", "summary": "x", "start": {"date": "2026-01-01"},
                     "end": {"date": "2026-01-02"}})  # fmt: skip
    assert api.delete("c", "ccccc1") is True
    assert api.delete("c", "ccccc1") is False  # 410
    assert api.delete("c", "nosuch99") is False  # 404
