# ruff: noqa: RUF001, RUF002
"""The templates: one function per (family, layout), each drawing a PDF and its truth."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page

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


def _monday(rng: random.Random) -> date:
    d = date(2026, rng.randint(1, 10), rng.randint(1, 28))
    return d - timedelta(days=d.weekday())


def _term(rng: random.Random, loc: str, p: Page, top: float) -> tuple[date, date, list[date]]:
    start = _monday(rng)
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
    start = _monday(rng)
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
    start = _monday(rng)
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


_AT = {"en": "at", "de": "um", "fr": "à", "es": "a las"}


def _newsletter(rng: random.Random, loc: str, style: int) -> Sample:
    p = Page()
    year = 2026
    month = rng.randint(1, 11)
    p.text(
        40,
        30,
        {
            "en": "Village News",
            "de": "Gemeindebrief",
            "fr": "La Gazette",
            "es": "Boletín del barrio",
        }[loc]
        + f" — {L.month(loc, month)} {year}",
        16,
        True,
    )
    colw, gutter = 245, 25
    paragraphs: list[str] = []
    events = []
    for title in rng.sample(C.CLUB_EVENTS[loc], rng.randint(4, 7)):
        d = date(year, month + rng.randint(0, 1), rng.randint(1, 28))
        t = time(rng.choice([10, 14, 18, 19, 20]), rng.choice([0, 30]))
        place = rng.choice(C.PLACES)
        when = L.long_date(loc, d, True, False)
        if style == 0:
            text = f"{when}, {L.clock(loc, t, 1)}: {title}. {place}."
        else:
            text = f"{title} — {when} {_AT[loc]} {L.clock(loc, t, 0)}, {place}."
        paragraphs.append(text)
        events.append(ev(title, datetime.combine(d, t), None, location=place))
        if rng.random() < 0.5:
            paragraphs.append(C.FILLER[loc])
    x, y = 40.0, 70.0
    for para in paragraphs:
        lines = p.wrap(para, colw, 9)
        if y + 12 * len(lines) > 800:
            x, y = 40 + colw + gutter, 70.0
        for line in lines:
            p.text(x, y, line, 9)
            y += 12
        y += 10
    return Sample("", "newsletter", f"newsletter_{style}", loc, p.finish(), events)


def newsletter_colon(rng: random.Random, loc: str) -> Sample:
    s = _newsletter(rng, loc, 0)
    s.template = "newsletter_colon"
    return s


def newsletter_dash(rng: random.Random, loc: str) -> Sample:
    s = _newsletter(rng, loc, 1)
    s.template = "newsletter_dash"
    return s


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


Template = Callable[[random.Random, str], Sample]
TUNED: dict[str, Template] = {
    "timetable_columns": timetable_columns,
    "roster_people_rows": roster_people_rows,
    "fixtures_columns": fixtures_columns,
    "programme_tracks": programme_tracks,
    "term_table": term_table,
    "newsletter_colon": newsletter_colon,
    "zones_column": zones_column,
}
HELD_OUT: dict[str, Template] = {
    "timetable_rows": timetable_rows,
    "roster_dates_rows": roster_dates_rows,
    "fixtures_shuffled": fixtures_shuffled,
    "programme_pages": programme_pages,
    "term_compact": term_compact,
    "newsletter_dash": newsletter_dash,
    "zones_inline": zones_inline,
}


def make_sample(template: str, locale: str, seed: int) -> Sample:
    from tests.schedule.corpus.late import LATE

    fn = {**TUNED, **HELD_OUT, **LATE}[template]
    s = fn(random.Random(f"{template}/{locale}/{seed}"), locale)
    s.name = f"{template}-{locale}-{seed}"
    s.template = template
    return s


def split_of(template: str) -> str:
    """ "tuned", "held_out" or "late" (see the package docstring)."""
    if template in TUNED:
        return "tuned"
    return "held_out" if template in HELD_OUT else "late"


def late_templates() -> list[str]:
    from tests.schedule.corpus.late import LATE

    return list(LATE)


def make_corpus(per_cell: int = 2, seed0: int = 0) -> list[Sample]:
    """``per_cell`` documents for every template × locale."""
    return [
        make_sample(t, loc, seed0 + k)
        for t in [*TUNED, *HELD_OUT, *late_templates()]
        for loc in LOCALES
        for k in range(per_cell)
    ]
