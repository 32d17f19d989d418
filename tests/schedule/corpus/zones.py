# ruff: noqa: RUF001
"""Per-row time zones: a zone column, or the zone written beside each time."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def zones_column(rng: random.Random, loc: str) -> Sample:
    p = Page()
    w = L.WORDS[loc]
    p.text(40, 30, "Webinars", 16, True)
    cols = [40, 150, 210, 340]
    for x, h in zip(
        cols, [w["date"], w["time"].replace(w["time"], "Time"), w["zone"], w["title"]], strict=True
    ):
        p.text(x, 60, h, 9, True)
    d = date(2026, rng.randint(1, 10), rng.randint(1, 20))
    events, y = [], 80.0
    for _ in range(rng.randint(8, 14)):
        d += timedelta(days=rng.randint(1, 5))
        t = time(rng.randint(8, 20), rng.choice([0, 30]))
        zone = rng.choice(C.ZONES)
        title = rng.choice(C.WEBINARS)
        for x, c in zip(
            cols, [L.numeric_date(loc, d), L.clock(loc, t, 0), zone, title], strict=True
        ):
            p.text(x, y, c, 8)
        events.append(
            ev(title, datetime.combine(d, t), datetime.combine(d, t) + timedelta(hours=1), tz=zone)
        )
        y += 18
    p.text(
        40,
        y + 10,
        {
            "en": "Each webinar lasts one hour.",
            "de": "Jedes Webinar dauert eine Stunde.",
            "fr": "Chaque webinaire dure une heure.",
            "es": "Cada seminario dura una hora.",
        }[loc],
        8,
    )
    for e in events:
        e["end"] = None  # the duration is prose, not a cell: the extractor need not infer it
    return Sample("", "zones", "zones_column", loc, p.finish(), events)


def zones_inline(rng: random.Random, loc: str) -> Sample:
    p = Page()
    p.text(40, 30, "Office hours", 16, True)
    d = date(2026, rng.randint(1, 10), rng.randint(1, 20))
    events, y = [], 70.0
    for _ in range(rng.randint(8, 14)):
        d += timedelta(days=rng.randint(1, 5))
        t0 = time(rng.randint(8, 18), rng.choice([0, 30]))
        t1 = (datetime.combine(d, t0) + timedelta(minutes=rng.choice([30, 60, 90]))).time()
        zone = rng.choice(C.ZONES)
        title = rng.choice(C.WEBINARS)
        p.text(40, y, title, 9)
        p.text(200, y, L.long_date(loc, d, True), 9)
        p.text(380, y, f"{L.clock(loc, t0, 0)}–{L.clock(loc, t1, 0)} ({zone})", 9)
        events.append(ev(title, datetime.combine(d, t0), datetime.combine(d, t1), tz=zone))
        y += 18
    return Sample("", "zones", "zones_inline", loc, p.finish(), events)
