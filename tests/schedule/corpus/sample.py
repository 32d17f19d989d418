"""One generated document and its truth, and the helper that writes an expected event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

LOCALES = ("en", "de", "fr", "es")


@dataclass
class Sample:
    name: str
    family: str
    template: str
    locale: str
    pdf: bytes
    events: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 1
    skipped: int = 0
    """Rows that look like events but are not (struck through, postponed)."""


def ev(
    title: str,
    start: date | datetime,
    end: date | datetime | None = None,
    *,
    location: str | None = None,
    tz: str | None = None,
    rrule: str | None = None,
    exdate: list[datetime] | None = None,
) -> dict[str, Any]:
    all_day = not isinstance(start, datetime)
    return {
        "title": title,
        "start": start.isoformat(),
        "end": end.isoformat() if end is not None else None,
        "all_day": all_day,
        "location": location,
        "timezone": tz,
        "rrule": rrule,
        "exdate": [d.isoformat() for d in exdate or []],
    }
