# ruff: noqa: RUF001, RUF002
"""What holds for the whole document: day/month order, the year for dates that omit it,
the stated time zone. Decided once, before any page's events are built."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import available_timezones

from renderhouse.generators.schedule import dates as D

_ZONE_RE = re.compile(r"\b((?:Africa|America|Asia|Atlantic|Australia|Europe|Pacific|Indian)"
                      r"/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?|UTC)\b")  # fmt: skip
_ZONES = available_timezones()
_RANGE_DAY_RE = re.compile(r"(?<![\d.])([0-3]?\d)\.?\s*(?:-|–|—|au|al|bis)\s*(?=[0-3]?\d)")
_DASH_RE = re.compile(r"^\s*(?:-|–|—|to|bis|au|al|until|jusqu'au|hasta(?: el)?)\s*$", re.I)


@dataclass
class Reading:
    date_order: str = "DMY"
    order_stated: bool = False
    """True when the caller gave the order or unambiguous dates decided it."""
    year: int | None = None
    year_stated: bool = False
    timezone: str | None = None
    span: tuple[date, date] | None = None
    """First and last full date the document states: a date without a year takes the year
    that puts it nearest this span (a rota from 29 December to 11 January)."""

    def day(self, f: D.Found) -> date | None:
        if f.year or self.span is None:
            return D.resolve_year(f.day, f.month, f.year, self.year)
        lo, hi = self.span
        best: tuple[int, date] | None = None
        for y in range(lo.year - 1, hi.year + 2):
            d = D.resolve_year(f.day, f.month, y, None)
            if d is None:
                continue
            gap = (lo - d).days if d < lo else (d - hi).days if d > hi else 0
            if best is None or gap < best[0] or (gap == best[0] and y == self.year):
                best = (gap, d)
        return best[1] if best else None


# Abbreviations with one reading in the regions our languages are used in, mapped to a
# zone with the same offsets and daylight-saving rules (CET/CEST: the EU rules).
ABBREVIATIONS = {
    "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "MEZ": "Europe/Berlin",
    "MESZ": "Europe/Berlin", "GMT": "Europe/London", "BST": "Europe/London",
    "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon", "EET": "Europe/Athens",
    "EEST": "Europe/Athens", "EST": "America/New_York", "EDT": "America/New_York",
    "CST": "America/Chicago", "CDT": "America/Chicago", "MST": "America/Denver",
    "MDT": "America/Denver", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "JST": "Asia/Tokyo", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}  # fmt: skip
_ABBR_RE = re.compile(r"(?<![\w/])(" + "|".join(ABBREVIATIONS) + r")(?![\w/])")


ZONE_TEXT_RE = re.compile(_ZONE_RE.pattern + "|" + _ABBR_RE.pattern)
"""Where a zone is written (to cut it out of a title)."""


def zones_in(text: str) -> list[str]:
    """IANA names, then the unambiguous abbreviations, in order of appearance."""
    found = [(m.start(), m.group(1)) for m in _ZONE_RE.finditer(text) if m.group(1) in _ZONES]
    found += [(m.start(), ABBREVIATIONS[m.group(1)]) for m in _ABBR_RE.finditer(text)]
    return [z for _, z in sorted(found)]


def read_document(
    text: str, *, date_order: str | None, year: int | None, timezone: str | None
) -> Reading:
    r = Reading()
    if date_order:
        r.date_order, r.order_stated = date_order, True
    else:
        dmy, mdy = D.numeric_order_votes(text)
        r.date_order = "MDY" if mdy > dmy else "DMY"
        r.order_stated = (dmy + mdy) > 0 and min(dmy, mdy) == 0
    if year:
        r.year, r.year_stated = year, True
    else:
        years = Counter(int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", text))
        if years:
            r.year, r.year_stated = years.most_common(1)[0][0], True
    full = sorted(
        d
        for f in D.find_dates(text, r.date_order)
        if f.year and (d := D.resolve_year(f.day, f.month, f.year, None))
    )
    if full:
        r.span = (full[0], full[-1])
    if timezone:
        r.timezone = timezone
    else:
        zones = Counter(zones_in(text))
        if len(zones) == 1:
            r.timezone = next(iter(zones))
    return r


def date_spans(
    text: str, r: Reading, loose: bool = False
) -> list[tuple[date, date | None, D.Found]]:
    """Dates and ranges in ``text``: (first day, last day or None, the match of the first).
    "26–30 October 2026" and "7 Sep – 18 Dec 2026" are ranges; years carry backwards."""
    found = D.find_dates(text, r.date_order, loose)
    out: list[tuple[date, date | None, D.Found]] = []
    i = 0
    while i < len(found):
        f = found[i]
        nxt = found[i + 1] if i + 1 < len(found) else None
        if nxt and _DASH_RE.match(text[f.end : nxt.start]):
            last = r.day(nxt)
            first = D.resolve_year(f.day, f.month, f.year or (last.year if last else None), r.year)
            if first and last:
                if first > last and not f.year:
                    first = first.replace(year=first.year - 1)
                out.append((first, last, f))
                i += 2
                continue
        prefix = _RANGE_DAY_RE.search(text[: f.start] + text[f.start : f.start + 3])
        day = r.day(f)
        if day and prefix and prefix.end() >= f.start - 0 and prefix.start() < f.start:
            lead = int(prefix.group(1))
            if 1 <= lead < f.day and text[prefix.end() : f.start].strip() == "":
                out.append((day.replace(day=lead), day, f))
                i += 1
                continue
        if day:
            out.append((day, None, f))
        i += 1
    return out


def next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)
