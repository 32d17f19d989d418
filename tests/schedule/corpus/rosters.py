# ruff: noqa: RUF001, RUF002
"""Shift rosters: people × dates with shift codes, a legend, night shifts and off cells."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev
from tests.schedule.corpus.weekly import week_start


def _roster_people(rng: random.Random) -> list[str]:
    return rng.sample(C.PEOPLE, rng.randint(5, 9))


def _shift_event(name: str, d: date, shift: tuple[str, str, int, int]) -> dict[str, Any]:
    _, _, h0, h1 = shift
    s = datetime.combine(d, time(h0))
    e = datetime.combine(d + timedelta(days=1 if h1 <= h0 else 0), time(h1))
    return ev(name, s, e)


def _legend(p: Page, loc: str, top: float, style: int) -> None:
    w = L.WORDS[loc]
    p.text(40, top, w["legend"] + ":", 9, True)
    for k, (code, label, h0, h1) in enumerate(C.SHIFTS[loc]):
        span = f"{L.clock(loc, time(h0), 0)}–{L.clock(loc, time(h1), 0)}"
        if style == 0:
            p.text(110 + 150 * k, top, f"{code} = {label} {span}", 9)
        else:
            p.text(110, top + 14 * k, f"{label} ({code}): {span}", 9)
    if style == 0:
        p.text(110 + 450, top, f"{w['off']} = –", 9)


def roster_people_rows(rng: random.Random, loc: str) -> Sample:
    p = Page(wide=True)
    start = week_start(rng)
    days = [start + timedelta(k) for k in range(14)]
    p.text(
        40,
        36,
        {"en": "Rota", "de": "Dienstplan", "fr": "Planning", "es": "Turnos"}[loc]
        + f" {L.long_date(loc, start, False)} – {L.long_date(loc, days[-1], False)}",
        14,
        True,
    )
    x0, top, colw, rowh = 150, 90, 44, 24
    p.text(40, top, L.WORDS[loc]["name"], 9, True)
    for k, d in enumerate(days):
        p.centred(x0 + colw * k + colw / 2, top - 12, L.weekday(loc, d, short=True), 8)
        p.centred(x0 + colw * k + colw / 2, top, f"{d.day:02d}.{d.month:02d}.", 9, True)
    events = []
    for i, name in enumerate(_roster_people(rng)):
        y = top + rowh * (i + 1)
        p.text(40, y, name, 9)
        p.hline(40, x0 + colw * 14, y - 6, 0.2)
        for k, d in enumerate(days):
            r = rng.random()
            if r < 0.3:
                p.centred(x0 + colw * k + colw / 2, y, L.WORDS[loc]["off"] if r < 0.15 else "–", 9)
                continue
            shift = rng.choice(C.SHIFTS[loc])
            p.centred(x0 + colw * k + colw / 2, y, shift[0], 9)
            events.append(_shift_event(name, d, shift))
    _legend(p, loc, top + rowh * 11 + 10, 0)
    return Sample("", "roster", "roster_people_rows", loc, p.finish(), events)


def roster_dates_rows(rng: random.Random, loc: str) -> Sample:
    p = Page()
    start = week_start(rng)
    days = [start + timedelta(k) for k in range(rng.randint(14, 21))]
    people = _roster_people(rng)[:6]
    p.text(
        40,
        36,
        {"en": "Duty roster", "de": "Schichtplan", "fr": "Tableau de service", "es": "Cuadrante"}[
            loc
        ],
        14,
        True,
    )
    x0, top, colw, rowh = 130, 80, 70, 20
    for k, name in enumerate(people):
        p.text(x0 + colw * k, top, name.split()[0] + " " + name.split()[1][0] + ".", 8, True)
    events = []
    for i, d in enumerate(days):
        y = top + rowh * (i + 1)
        p.text(40, y, f"{L.weekday(loc, d, short=True)} {L.numeric_date(loc, d)}", 9)
        for k, name in enumerate(people):
            if rng.random() < 0.3:
                p.text(x0 + colw * k + 10, y, L.WORDS[loc]["off"], 9)
                continue
            shift = rng.choice(C.SHIFTS[loc])
            p.text(x0 + colw * k + 10, y, shift[0], 9)
            short = name.split()[0] + " " + name.split()[1][0] + "."
            events.append(_shift_event(short, d, shift))
    _legend(p, loc, top + rowh * (len(days) + 2), 1)
    return Sample("", "roster", "roster_dates_rows", loc, p.finish(), events)
