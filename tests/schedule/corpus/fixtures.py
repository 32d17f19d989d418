"""Fixture lists: date, kick-off, home, away, venue in any column order; TBC, struck rows."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def _fixture_rows(rng: random.Random, n: int) -> list[tuple[date, time | None, str, str, str]]:
    d = date(2026, rng.randint(1, 9), rng.randint(1, 28))
    rows = []
    for _ in range(n):
        d += timedelta(days=rng.choice([3, 4, 7]))
        home, away = rng.sample(C.TEAMS, 2)
        kick = (
            None
            if rng.random() < 0.1
            else time(rng.choice([12, 14, 15, 17, 19, 20]), rng.choice([0, 0, 30, 45]))
        )
        rows.append((d, kick, home, away, rng.choice(C.VENUES)))
    return rows


def fixtures_columns(rng: random.Random, loc: str) -> Sample:
    """Date, kick-off, home, away, venue; long enough to continue on a second page under a
    repeated header; a few postponed rows struck through; times stated in the footer."""
    p = Page()
    w = L.WORDS[loc]
    zone = rng.choice(["Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid"])
    cols = [40, 192, 252, 372, 488]
    heads = [w["date"], w["time"], w["home"], w["away"], w["venue"]]
    events = []

    def header(top: float) -> None:
        p.text(
            40,
            30,
            {
                "en": "Fixtures",
                "de": "Spielplan",
                "fr": "Calendrier des matchs",
                "es": "Calendario de partidos",
            }[loc]
            + " 2026",
            14,
            True,
        )
        for x, h in zip(cols, heads, strict=True):
            p.text(x, top, h, 9, True)
        p.hline(40, 560, top + 13)
        p.text(40, 810, f"{w['times']}: {zone}", 8)

    header(60)
    y = 80.0
    struck = 0
    for d, kick, home, away, venue in _fixture_rows(rng, rng.randint(34, 44)):
        if y > 780:
            p.new_page()
            header(60)
            y = 80.0
        ds = (
            L.long_date(loc, d, True)
            if loc != "en"
            else f"{L.weekday(loc, d, True)} {d.day} {L.month(loc, d.month)[:3]} {d.year}"
        )
        ts = L.clock(loc, kick, rng.randint(0, 1)) if kick else w["tbc"]
        cells = [ds, ts, home, away, venue]
        boxes = [p.text(x, y, c, 8) for x, c in zip(cols, cells, strict=True)]
        if rng.random() < 0.08:
            p.hline(38, boxes[-1][2] + 2, y + 4, 0.8)
            struck += 1
        elif kick:
            s = datetime.combine(d, kick)
            events.append(ev(f"{home} v {away}", s, None, location=venue, tz=zone))
        else:
            events.append(ev(f"{home} v {away}", d, None, location=venue))
        y += 20
    return Sample("", "fixtures", "fixtures_columns", loc, p.finish(), events, p.page, struck)


def fixtures_shuffled(rng: random.Random, loc: str) -> Sample:
    """Home, away first; numeric dates (month-first in English); a status column."""
    p = Page(wide=True)
    w = L.WORDS[loc]
    mdy = loc == "en"
    cols = [40, 170, 300, 390, 460, 620]
    heads = [w["home"], w["away"], w["date"], w["time"], w["venue"], w["status"]]
    p.text(40, 30, "Season 2026/27", 14, True)
    for x, h in zip(cols, heads, strict=True):
        p.text(x, 60, h, 9, True)
    events = []
    y = 80.0
    for d, kick, home, away, venue in _fixture_rows(rng, rng.randint(18, 26)):
        ts = L.clock(loc, kick, 0) if kick else w["tbc"]
        status = w["postponed"] if rng.random() < 0.1 else ""
        for x, c in zip(
            cols, [home, away, L.numeric_date(loc, d, mdy), ts, venue, status], strict=True
        ):
            if c:
                p.text(x, y, c, 8)
        if not status:
            start = datetime.combine(d, kick) if kick else d
            events.append(ev(f"{home} v {away}", start, None, location=venue))
        y += 18
    return Sample("", "fixtures", "fixtures_shuffled", loc, p.finish(), events)
