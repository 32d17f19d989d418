"""The extracted event and the ``events.json`` document (the job's result contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from renderhouse.generators.schedule.layout import Box

LOW_CONFIDENCE = 0.6


@dataclass
class Event:
    title: str
    start: date | datetime
    end: date | datetime | None
    page: int
    bbox: Box
    location: str | None = None
    timezone: str | None = None
    rrule: str | None = None
    exdate: list[datetime] = field(default_factory=list)
    confidence: float = 1.0
    reasons: list[str] = field(default_factory=list)
    """Why the confidence is below 1 (shown on the review page)."""

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    def lower(self, factor: float, reason: str) -> None:
        self.confidence *= factor
        self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end is not None else None,
            "all_day": self.all_day,
            "location": self.location,
            "timezone": self.timezone,
            "rrule": self.rrule,
            "exdate": [d.isoformat() for d in self.exdate],
            "confidence": round(self.confidence, 3),
            "source": {"page": self.page, "bbox": [round(v, 1) for v in self.bbox]},
        }


def document(name: str, timezone: str | None, date_order: str, events: list[Event]) -> dict:
    return {
        "document": name,
        "timezone": timezone,
        "date_order": date_order,
        "events": [e.to_dict() for e in events],
    }


def from_dict(d: dict[str, Any]) -> Event:
    """The inverse of ``to_dict`` (sync jobs read events.json back)."""

    def parse(v: str | None) -> date | datetime | None:
        if v is None:
            return None
        return datetime.fromisoformat(v) if "T" in v else date.fromisoformat(v)

    start = parse(d["start"])
    assert start is not None
    src = d.get("source") or {"page": 0, "bbox": [0, 0, 0, 0]}
    return Event(
        title=d["title"], start=start, end=parse(d.get("end")), page=src["page"],
        bbox=tuple(src["bbox"]), location=d.get("location"), timezone=d.get("timezone"),
        rrule=d.get("rrule"), exdate=[datetime.fromisoformat(x) for x in d.get("exdate", [])],
        confidence=d.get("confidence", 1.0),
    )  # fmt: skip
