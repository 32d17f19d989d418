"""Event lists in running text laid out in two columns (club newsletters)."""

from __future__ import annotations

import random
from datetime import date, datetime, time

from tests.schedule.corpus import content as C
from tests.schedule.corpus import locales as L
from tests.schedule.corpus.canvas import Page
from tests.schedule.corpus.sample import Sample, ev

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
