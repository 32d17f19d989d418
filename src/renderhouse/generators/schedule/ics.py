"""events → ``calendar.ics`` (RFC 5545) with icalendar: a stable UID per event, DTSTAMP,
a VTIMEZONE for every zone used, RRULE/EXDATE for weekly series, and all-day events as
DATE values whose DTEND is the day after the last (exclusive, RFC 5545 §3.6.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, vRecur
from icalendar import Event as VEvent

from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.identity import digest, uids


def calendar(
    events: list[Event], *, document: str, name: str | None = None, now: datetime | None = None
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Renderhouse//schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    zones = sorted({e.timezone for e in events if e.timezone and not e.all_day})
    for zone in zones:
        used = [e.start for e in events if e.timezone == zone and isinstance(e.start, datetime)]
        # transitions for the years the events use only (the full history is kilobytes)
        first, last = min(used).date(), max(used).date()
        cal.add_component(
            Timezone.from_tzinfo(
                ZoneInfo(zone),
                tzid=zone,
                first_date=first.replace(month=1, day=1),
                last_date=last.replace(year=last.year + 2, month=1, day=1),
            )
        )
    for e, uid in zip(events, uids(events, document), strict=True):
        cal.add_component(vevent(e, uid, stamp, source=document))
    return cal.to_ical()


def vevent(e: Event, uid: str, stamp: datetime, *, source: str) -> VEvent:
    """One VEVENT; ``X-RENDERHOUSE-SOURCE``/``-DIGEST`` let a sync find its own events and
    skip the unchanged ones."""
    v = VEvent()
    v.add("uid", uid)
    v.add("dtstamp", stamp)
    v.add("summary", e.title)
    if e.location:
        v.add("location", e.location)
    if e.all_day:
        assert isinstance(e.start, date)
        last = e.end if isinstance(e.end, date) else e.start
        v.add("dtstart", e.start)
        v.add("dtend", last + timedelta(days=1))
    else:
        assert isinstance(e.start, datetime)
        tz = ZoneInfo(e.timezone) if e.timezone else None
        v.add("dtstart", e.start.replace(tzinfo=tz))
        if isinstance(e.end, datetime):
            v.add("dtend", e.end.replace(tzinfo=tz))
        if e.rrule:
            v.add("rrule", vRecur.from_ical(e.rrule))
        if e.exdate:
            v.add("exdate", [d.replace(tzinfo=tz) for d in e.exdate])
    v.add("x-renderhouse-confidence", f"{e.confidence:.3f}")
    v.add("x-renderhouse-source", source)
    v.add("x-renderhouse-digest", digest(e))
    return v


def single(e: Event, uid: str, *, source: str, now: datetime | None = None) -> bytes:
    """A VCALENDAR holding one event (and its VTIMEZONE): one CalDAV resource."""
    cal = Calendar()
    cal.add("prodid", "-//Renderhouse//schedule//EN")
    cal.add("version", "2.0")
    if e.timezone and isinstance(e.start, datetime):
        year = e.start.date().replace(month=1, day=1)
        cal.add_component(
            Timezone.from_tzinfo(
                ZoneInfo(e.timezone), tzid=e.timezone, first_date=year,
                last_date=year.replace(year=year.year + 2),
            )
        )  # fmt: skip
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    cal.add_component(vevent(e, uid, stamp, source=source))
    return cal.to_ical()
