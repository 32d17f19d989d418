# ruff: noqa: RUF001
"""Weekly timetables: slots by days as columns or rows over a term, with cancelled dates."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev


def week_start(rng: random.Random) -> date:
    d = date(2026, rng.randint(1, 10), rng.randint(1, 28))
    return d - timedelta(days=d.weekday())


def _term(rng: random.Random, loc: str, p: Page, top: float) -> tuple[date, date, list[date]]:
    start = week_start(rng)
    end = start + timedelta(weeks=rng.randint(10, 14), days=4)
    cancelled = sorted(
        {
            start + timedelta(days=rng.randint(7, (end - start).days - 7))
            for _ in range(rng.randint(1, 3))
        }
    )
    cancelled = [d for d in cancelled if d.weekday() < 5]
    w = L.WORDS[loc]
    p.text(
        40,
        top,
        f"{w['term']}: {L.long_date(loc, start, False)} – {L.long_date(loc, end, False)}",
        10,
    )
    if cancelled:
        p.text(
            40,
            top + 16,
            f"{w['no_classes']}: " + ", ".join(L.long_date(loc, d, False) for d in cancelled),
            10,
        )
    return start, end, cancelled


def _weekly(
    title: str, day: date, t0: time, t1: time, end: date, cancelled: list[date], room: str | None
) -> dict[str, Any]:
    ex = [datetime.combine(d, t0) for d in cancelled if d.weekday() == day.weekday()]
    return ev(
        title,
        datetime.combine(day, t0),
        datetime.combine(day, t1),
        location=room,
        rrule=f"FREQ=WEEKLY;UNTIL={end:%Y%m%d}T235959",
        exdate=ex,
    )


def _slots(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """Random non-overlapping (first slot, length) cells in ``n`` slots."""
    out, i = [], 0
    while i < n:
        if rng.random() < 0.25:
            i += 1
            continue
        length = min(n - i, rng.choice([1, 1, 2]))
        out.append((i, length))
        i += length
    return out


def timetable_columns(rng: random.Random, loc: str) -> Sample:
    p = Page()
    p.text(
        40,
        40,
        {"en": "Timetable", "de": "Stundenplan", "fr": "Emploi du temps", "es": "Horario"}[loc]
        + f" {rng.choice(['7A', '9B', '10C'])}",
        16,
        True,
    )
    start, end, cancelled = _term(rng, loc, p, 66)
    hours = list(range(8, 8 + rng.randint(7, 9)))
    x0, top, colw, rowh = 90, 120, 90, 44
    events = []
    for j in range(5):
        p.centred(
            x0 + colw * j + colw / 2, top - 16, L.weekday(loc, start + timedelta(j)), 10, True
        )
    for i, h in enumerate(hours):
        p.text(40, top + rowh * i + 4, L.clock(loc, time(h), 0), 9)
        p.hline(40, x0 + 5 * colw, top + rowh * i, 0.2)
    for j in range(5):
        day = start + timedelta(j)
        for first, length in _slots(rng, len(hours)):
            x, y = x0 + colw * j + 2, top + rowh * first + 2
            p.rect(x, y, x + colw - 4, top + rowh * (first + length) - 2, fill=0.9)
            course = rng.choice(C.COURSES[loc])
            room = rng.choice(["R12", "Lab 2", "B104", "Gym", "A3"])
            p.text(x + 3, y + 3, course, 8, True)
            p.text(x + 3, y + 14, room, 8)
            t0, t1 = time(hours[first]), time(hours[first] + length)
            events.append(_weekly(course, day, t0, t1, end, cancelled, room))
    return Sample("", "timetable", "timetable_columns", loc, p.finish(), events)


def timetable_rows(rng: random.Random, loc: str) -> Sample:
    p = Page(wide=True)
    p.text(
        40,
        36,
        {
            "en": "Weekly plan",
            "de": "Wochenplan",
            "fr": "Planning hebdomadaire",
            "es": "Plan semanal",
        }[loc],
        16,
        True,
    )
    start, end, cancelled = _term(rng, loc, p, 60)
    base = rng.choice([8, 9])
    hours = [base + k for k in range(rng.randint(7, 9))]
    x0, top, colw, rowh = 110, 130, 78, 50
    for k, h in enumerate(hours):
        p.text(x0 + colw * k + 4, top - 14, L.clock(loc, time(h), 0), 9, True)
    events = []
    for j in range(5):
        day = start + timedelta(j)
        p.text(40, top + rowh * j + 18, L.weekday(loc, day, short=True), 10, True)
        for first, length in _slots(rng, len(hours)):
            x, y = x0 + colw * first + 2, top + rowh * j + 3
            p.rect(x, y, x0 + colw * (first + length) - 2, y + rowh - 6)
            course = rng.choice(C.COURSES[loc])
            p.text(x + 4, y + 6, course, 8)
            t0, t1 = time(hours[first]), time(hours[first] + length)
            events.append(_weekly(course, day, t0, t1, end, cancelled, None))
    return Sample("", "timetable", "timetable_rows", loc, p.finish(), events)
