"""Sync extracted events to Google Calendar: the same rules as the CalDAV sync (only our
events, found by a private extended property; unchanged ones skipped by digest; a new
version of the document patches, inserts and deletes), with event ids derived from our
UIDs (hex is valid base32hex, as Calendar v3 requires of client-chosen ids)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from renderhouse.generators.schedule.caldav_sync import SyncReport
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.google_calendar import GoogleCalendar
from renderhouse.generators.schedule.identity import digest, uids


def event_id(uid: str) -> str:
    return uid.split("@", 1)[0]


def body(e: Event, source: str, default_zone: str) -> dict[str, Any]:
    zone = e.timezone or default_zone
    if e.all_day:
        last = e.end or e.start
        start: dict[str, Any] = {"date": e.start.isoformat()}
        end: dict[str, Any] = {"date": (last + timedelta(days=1)).isoformat()}  # exclusive
    else:
        assert isinstance(e.start, datetime)
        stop = e.end if isinstance(e.end, datetime) else e.start
        start = {"dateTime": e.start.isoformat(), "timeZone": zone}
        end = {"dateTime": stop.isoformat(), "timeZone": zone}
    out: dict[str, Any] = {
        "summary": e.title, "start": start, "end": end,
        "extendedProperties": {"private": {"renderhouseSource": source,
                                           "renderhouseDigest": digest(e)}},
    }  # fmt: skip
    if e.location:
        out["location"] = e.location
    if e.rrule:
        rules = [f"RRULE:{e.rrule}"]
        if e.exdate:
            stamps = ",".join(d.strftime("%Y%m%dT%H%M%S") for d in e.exdate)
            rules.append(f"EXDATE;TZID={zone}:{stamps}")
        out["recurrence"] = rules
    return out


def sync(
    api: GoogleCalendar, calendar: str, events: list[Event], source: str, default_zone: str
) -> SyncReport:
    report = SyncReport()
    ours: dict[str, str] = {}
    cancelled: set[str] = set()  # ids Google keeps after a delete: insert would say 409
    for item in api.list_events(calendar, source):
        if item.get("status") == "cancelled":
            cancelled.add(item["id"])
        else:
            ours[item["id"]] = item["extendedProperties"]["private"].get("renderhouseDigest", "")
    wanted = {event_id(u): e for u, e in zip(uids(events, source), events, strict=True)}
    for eid, event in wanted.items():
        if ours.get(eid) == digest(event):
            report.unchanged += 1
            continue
        payload = body(event, source, default_zone)
        if eid in ours:
            api.patch(calendar, eid, payload)
            report.updated.append(eid)
        elif eid in cancelled:
            api.patch(calendar, eid, {**payload, "status": "confirmed"})
            report.created.append(eid)
        else:
            api.insert(calendar, {"id": eid, **payload})
            report.created.append(eid)
    for eid in ours.keys() - wanted.keys():
        api.delete(calendar, eid)
        report.deleted.append(eid)
    return report
