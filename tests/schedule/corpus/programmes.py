# ruff: noqa: RUF001
"""Multi-day programmes: parallel tracks, breaks across tracks, tables over pages."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def _programme_day(
    p: Page, rng: random.Random, loc: str, d: date, top: float, rooms: list[str], style: int
) -> tuple[list[dict[str, Any]], float]:
    w = L.WORDS[loc]
    x0, colw = 130, (520 - 130) / len(rooms)
    heading = L.long_date(loc, d)
    p.text(
        40, top, f"{w['day']} {rng.randint(1, 3)} — {heading}" if style == 0 else heading, 12, True
    )
    top += 26
    p.text(40, top, {"en": "Time", "de": "Zeit", "fr": "Horaire", "es": "Hora"}[loc], 9, True)
    for k, room in enumerate(rooms):
        p.text(x0 + colw * k, top, room, 9, True)
    y = top + 20
    t = datetime.combine(d, time(9))
    events = []
    for slot in range(rng.randint(5, 7)):
        brk = slot in (2, 4)
        length = timedelta(
            minutes=30 if brk and slot == 2 else 60 if brk else rng.choice([45, 60, 90])
        )
        t1 = t + length
        sep = "–" if style == 0 else " - "
        p.text(40, y, L.clock(loc, t.time(), 0) + sep + L.clock(loc, t1.time(), 0), 8)
        if brk:
            title = w["brk"] if slot == 2 else w["lunch"]
            p.centred(x0 + (520 - x0) / 2, y, title, 8, True)
            p.rect(x0 - 4, y - 4, 524, y + 12)
            events.append(ev(title, t, t1))
        else:
            for k, room in enumerate(rooms):
                if rng.random() < 0.15:
                    continue
                title = rng.choice(C.SESSIONS)
                p.text(x0 + colw * k, y, title[:30], 8)
                events.append(ev(title[:30], t, t1, location=room))
        y += 24
        t = t1
    return events, y + 20


def programme_tracks(rng: random.Random, loc: str) -> Sample:
    p = Page()
    rooms = [f"{L.WORDS[loc]['room']} {c}" for c in "ABC"[: rng.randint(2, 3)]]
    d = date(2026, rng.randint(3, 11), rng.randint(1, 26))
    p.text(40, 30, "PyData " + str(d.year), 16, True)
    events, y = _programme_day(p, rng, loc, d, 60, rooms, 0)
    more, y = _programme_day(p, rng, loc, d + timedelta(1), y, rooms, 0)
    return Sample("", "programme", "programme_tracks", loc, p.finish(), events + more)


def programme_pages(rng: random.Random, loc: str) -> Sample:
    p = Page()
    rooms = [f"Track {k}" for k in range(1, rng.randint(3, 4))]
    d = date(2026, rng.randint(3, 11), rng.randint(1, 26))
    events, _ = _programme_day(p, rng, loc, d, 50, rooms, 1)
    p.new_page()
    more, _ = _programme_day(p, rng, loc, d + timedelta(1), 50, rooms, 1)
    return Sample("", "programme", "programme_pages", loc, p.finish(), events + more, 2)
