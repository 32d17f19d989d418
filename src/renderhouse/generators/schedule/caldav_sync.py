"""Sync extracted events to a CalDAV calendar with the ``caldav`` client.

Only events we created are touched: each carries ``X-RENDERHOUSE-SOURCE`` (the document or
a key the caller chooses) and a UID from ``identity.uids``. Re-syncing the same events
changes nothing (digests match); a new version of the document updates the events whose
digest changed, adds new ones and deletes ours that are gone. Anything else in the
calendar is left alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.ics import single
from renderhouse.generators.schedule.identity import digest, uids


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created), "updated": len(self.updated),
            "deleted": len(self.deleted), "unchanged": self.unchanged,
        }  # fmt: skip


def open_calendar(url: str, username: str, password: str, name: str) -> Any:
    """The principal's calendar called ``name``, made if missing."""
    import caldav

    dav: Any = caldav.DAVClient
    client = dav(url=url, username=username, password=password, timeout=30)
    principal = client.principal()
    for cal in principal.calendars():
        if cal.get_display_name() == name:
            return cal
    return principal.make_calendar(name=name)


def sync(calendar: Any, events: list[Event], source: str) -> SyncReport:
    report = SyncReport()
    ours: dict[str, tuple[Any, str]] = {}
    for obj in calendar.events():
        comp = obj.icalendar_component
        if str(comp.get("x-renderhouse-source", "")) == source:
            ours[str(comp["uid"])] = (obj, str(comp.get("x-renderhouse-digest", "")))
    wanted = dict(zip(uids(events, source), events, strict=True))
    for uid, event in wanted.items():
        current = ours.get(uid)
        if current is not None and current[1] == digest(event):
            report.unchanged += 1
            continue
        data = single(event, uid, source=source).decode()
        if current is None:
            calendar.save_event(data)
            report.created.append(uid)
        else:
            obj = current[0]
            obj.data = data
            obj.save()
            report.updated.append(uid)
    for uid, (obj, _) in ours.items():
        if uid not in wanted:
            obj.delete()
            report.deleted.append(uid)
    return report
