# ruff: noqa: RUF001
"""Term calendars: date ranges and single days in a table or a compact list."""

from __future__ import annotations

import random
from datetime import date, timedelta

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def _term_items(rng: random.Random, loc: str) -> list[tuple[str, date, date | None]]:
    d = date(2026, rng.randint(8, 9), rng.randint(1, 10))
    items = []
    for name in rng.sample(C.TERM_EVENTS[loc], rng.randint(6, 9)):
        d += timedelta(days=rng.randint(5, 30))
        last = d + timedelta(days=rng.randint(1, 12)) if rng.random() < 0.5 else None
        items.append((name, d, last))
        d = last or d
    return items


def term_table(rng: random.Random, loc: str) -> Sample:
    p = Page()
    w = L.WORDS[loc]
    p.text(
        40,
        30,
        {
            "en": "School calendar",
            "de": "Schuljahreskalender",
            "fr": "Calendrier scolaire",
            "es": "Calendario escolar",
        }[loc],
        16,
        True,
    )
    p.text(40, 60, w["event"], 10, True)
    p.text(260, 60, w["dates"], 10, True)
    events, y = [], 80.0
    for name, d, last in _term_items(rng, loc):
        p.text(40, y, name, 9)
        span = L.long_date(loc, d, False) + (f" – {L.long_date(loc, last, False)}" if last else "")
        p.text(260, y, span, 9)
        events.append(ev(name, d, last))
        y += 20
    return Sample("", "term", "term_table", loc, p.finish(), events)


def term_compact(rng: random.Random, loc: str) -> Sample:
    p = Page()
    w = L.WORDS[loc]
    p.text(40, 30, f"{w['term']} 2026/27", 16, True)
    events, y = [], 70.0
    for name, d, last in _term_items(rng, loc):
        if last and last.month == d.month:
            sep = "." if loc == "de" else ""
            span = f"{d.day}{sep}–{L.long_date(loc, last, False)}"
        elif last:
            span = f"{L.numeric_date(loc, d)} – {L.numeric_date(loc, last)}"
        else:
            span = L.long_date(loc, d, True)
        p.text(40, y, span, 9)
        p.text(300, y, name, 9)
        events.append(ev(name, d, last))
        y += 18
    return Sample("", "term", "term_compact", loc, p.finish(), events)
