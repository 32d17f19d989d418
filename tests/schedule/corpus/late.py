# ruff: noqa: RUF001
"""Templates written after the extractor and the first benchmark (late held-out): one line
per fixture with the teams written as "Home v Away", a programme as a plain list under day
headings, and a roster whose legend is a small table (code | shift | hours)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def fixtures_lines(rng: random.Random, loc: str) -> Sample:
    p = Page()
    p.text(40, 30, {"en": "Match list", "de": "Spiele", "fr": "Matchs", "es": "Partidos"}[loc]
           + " 2026", 14, True)  # fmt: skip
    d = date(2026, rng.randint(1, 9), rng.randint(1, 28))
    events, y = [], 60.0
    for _ in range(rng.randint(12, 20)):
        d += timedelta(days=rng.choice([3, 4, 7]))
        home, away = rng.sample(C.TEAMS, 2)
        t = time(rng.choice([13, 15, 18, 20]), rng.choice([0, 30]))
        venue = rng.choice(C.VENUES)
        p.text(40, y, L.long_date(loc, d, True, False), 9)
        p.text(190, y, L.clock(loc, t, 0), 9)
        p.text(240, y, f"{home} v {away}", 9)
        p.text(450, y, f"({venue})", 9)
        events.append(ev(f"{home} v {away}", datetime.combine(d, t), None, location=venue))
        y += 16
    return Sample("", "fixtures", "fixtures_lines", loc, p.finish(), events)


def programme_list(rng: random.Random, loc: str) -> Sample:
    p = Page()
    d = date(2026, rng.randint(3, 11), rng.randint(1, 25))
    p.text(40, 30, "Summit " + str(d.year), 16, True)
    events, y = [], 60.0
    for day in (d, d + timedelta(1)):
        p.text(40, y, L.long_date(loc, day), 11, True)
        y += 22
        t = datetime.combine(day, time(9, 30))
        for _ in range(rng.randint(4, 6)):
            t1 = t + timedelta(minutes=rng.choice([30, 45, 60]))
            title = rng.choice(C.SESSIONS)
            p.text(40, y, f"{L.clock(loc, t.time(), 0)} – {L.clock(loc, t1.time(), 0)}", 9)
            p.text(150, y, title, 9)
            events.append(ev(title, t, t1))
            t = t1
            y += 16
        y += 20
    return Sample("", "programme", "programme_list", loc, p.finish(), events)


def roster_legend_table(rng: random.Random, loc: str) -> Sample:
    p = Page(wide=True)
    start = date(2026, rng.randint(1, 11), 1)
    start -= timedelta(days=start.weekday())
    days = [start + timedelta(k) for k in range(10)]
    p.text(40, 36, f"{L.month(loc, days[0].month)} {days[0].year}", 14, True)
    x0, top, colw, rowh = 160, 80, 50, 22
    for k, d in enumerate(days):
        p.centred(x0 + colw * k + colw / 2, top, f"{L.weekday(loc, d, True)} {d.day}.{d.month}.", 9)
    events = []
    people = rng.sample(C.PEOPLE, 6)
    for i, name in enumerate(people):
        y = top + rowh * (i + 1)
        p.text(40, y, name, 9)
        for k, d in enumerate(days):
            if rng.random() < 0.3:
                continue
            shift = rng.choice(C.SHIFTS[loc])
            p.centred(x0 + colw * k + colw / 2, y, shift[0], 9)
            s = datetime.combine(d, time(shift[2]))
            e = datetime.combine(d + timedelta(days=1 if shift[3] <= shift[2] else 0),
                                 time(shift[3]))  # fmt: skip
            events.append(ev(name, s, e))
    y = top + rowh * 8
    for code, label, h0, h1 in C.SHIFTS[loc]:
        p.text(40, y, code, 9, True)
        p.text(70, y, label, 9)
        p.text(160, y, f"{L.clock(loc, time(h0), 0)} - {L.clock(loc, time(h1), 0)}", 9)
        y += 14
    return Sample("", "roster", "roster_legend_table", loc, p.finish(), events)


LATE = {
    "fixtures_lines": fixtures_lines,
    "programme_list": programme_list,
    "roster_legend_table": roster_legend_table,
}
