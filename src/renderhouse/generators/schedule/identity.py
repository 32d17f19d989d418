"""Stable event identities: the UID a calendar keeps for an event across re-runs and across
new versions of the same document, so a re-sync changes nothing and a moved kick-off
updates its event instead of adding a second one.

A UID is a hash of the source (the document's name, or a key the caller chooses), the
title, the location and the day (the weekday for a weekly series): the time is left out,
so a changed time updates the event; a changed day is a different event. Events sharing
all of these are numbered in document order. The digest is everything else, to tell
whether a calendar's copy is current."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from renderhouse.generators.schedule.events import Event

DOMAIN = "renderhouse"


def uids(events: list[Event], source: str) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for e in events:
        day = f"weekly-{e.start.weekday()}" if e.rrule else e.start.strftime("%Y-%m-%d")
        key = "|".join([source, e.title.casefold().strip(), (e.location or "").casefold(), day])
        n = seen.get(key, 0)
        seen[key] = n + 1
        digest = hashlib.sha256(f"{key}|{n}".encode()).hexdigest()[:32]
        out.append(f"{digest}@{DOMAIN}")
    return out


def digest(e: Event) -> str:
    """What a calendar's copy must match to count as unchanged (no confidence, no box)."""
    d = e.to_dict()
    for volatile in ("confidence", "source"):
        d.pop(volatile)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:24]


def is_timed(e: Event) -> bool:
    return isinstance(e.start, datetime)
