"""CalDAV sync against a real Radicale server: stable UIDs, a re-sync changes nothing, a
changed document updates and deletes only the events we created."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import caldav
import icalendar
import pytest
from caldav.elements import dav

from renderhouse.generators.schedule.caldav_sync import open_calendar, sync
from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.identity import uids
from tests.schedule.corpus import make_sample
from tests.schedule.radicale_server import radicale


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder, radicale(Path(folder)) as url:
        yield url


def _events(tmp_path: Path, template: str, seed: int):  # type: ignore[no-untyped-def]
    path = tmp_path / f"{template}-{seed}.pdf"
    path.write_bytes(make_sample(template, "en", seed).pdf)
    return extract(path).events


def _state(cal: caldav.Calendar) -> dict[str, tuple[str, str]]:
    out = {}
    for obj in cal.events():
        comp = obj.icalendar_component
        etag = obj.get_properties([dav.GetEtag()])[dav.GetEtag.tag]  # the server's version
        out[str(comp["uid"])] = (str(comp["summary"]), str(etag))
    return out


def test_sync_is_idempotent_and_touches_only_ours(server: str, tmp_path: Path) -> None:
    cal = open_calendar(server, "alice", "x", "Fixtures")
    foreign = icalendar.Calendar()
    foreign.add("prodid", "-//someone else//EN")
    foreign.add("version", "2.0")
    ev = icalendar.Event()
    ev.add("uid", "dentist@example.org")
    ev.add("summary", "Dentist")
    ev.add("dtstamp", datetime(2026, 1, 1))
    ev.add("dtstart", datetime(2026, 3, 3, 9))
    foreign.add_component(ev)
    cal.save_event(foreign.to_ical().decode())

    events = _events(tmp_path, "fixtures_shuffled", 1)
    first = sync(cal, events, "fixtures.pdf")
    assert len(first.created) == len(events) and not first.updated and not first.deleted
    before = _state(cal)
    assert len(before) == len(events) + 1

    again = sync(open_calendar(server, "alice", "x", "Fixtures"), events, "fixtures.pdf")
    assert again.as_dict() == {"created": 0, "updated": 0, "deleted": 0,
                               "unchanged": len(events)}  # fmt: skip
    assert _state(cal) == before, "a re-sync must not rewrite anything"

    # a new version of the document: one kick-off moved, one match dropped, one added
    changed = list(events)
    moved = next(e for e in changed if isinstance(e.start, datetime))
    moved.start = moved.start + timedelta(hours=2)  # type: ignore[operator]
    changed.pop(-1)
    extra = _events(tmp_path, "fixtures_shuffled", 2)[0]
    changed.append(extra)
    third = sync(cal, changed, "fixtures.pdf")
    assert (len(third.updated), len(third.deleted), len(third.created)) == (1, 1, 1)
    after = _state(cal)
    assert (
        "dentist@example.org" in after
        and after["dentist@example.org"] == before["dentist@example.org"]
    )
    assert len(after) == len(changed) + 1
    dropped_uid = uids(events, "fixtures.pdf")[-1]
    assert third.deleted == [dropped_uid] and dropped_uid not in after
    updated_uid = third.updated[0]
    assert after[updated_uid][1] != before[updated_uid][1]
    obj = cal.event_by_uid(updated_uid)
    assert obj.icalendar_component["dtstart"].dt.replace(tzinfo=None) == moved.start


def test_weekly_series_sync_with_exdates(server: str, tmp_path: Path) -> None:
    cal = open_calendar(server, "bob", "x", "Timetable")
    events = _events(tmp_path, "timetable_columns", 4)
    report = sync(cal, events, "timetable.pdf")
    assert len(report.created) == len(events)
    stored = {str(o.icalendar_component["uid"]): o.icalendar_component for o in cal.events()}
    assert all("RRULE" in c for c in stored.values())
    with_ex = [e for e in events if e.exdate]
    assert bool(with_ex) == any("EXDATE" in c for c in stored.values())
