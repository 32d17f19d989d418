# ruff: noqa: RUF001, RUF002, RUF003
"""Dates and times as schedules write them, in English, German, French and Spanish.

Hand-written patterns (not dateparser's free-text search) because they run per table cell,
thousands of times per page: month and weekday names, day-first/month-first/ISO numerals,
ranges ("26–30 October", "7 Sep – 18 Dec 2026") and clock forms ("18h30", "19 Uhr",
"7:30 p.m.", "noon"). Calendar arithmetic and validity come from ``datetime``/dateutil."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time

MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "january jan januar jän janvier janv enero ene",
        "february feb februar février fév févr febrero",
        "march mar märz mär mrz mars marzo",
        "april apr avril avr abril abr",
        "may mai mayo",
        "june jun juni juin junio",
        "july jul juli juillet juil julio",
        "august aug août aout agosto ago",
        "september sep sept septembre septiembre",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez décembre déc decembre diciembre dic",
    ],
    start=1,
):
    for _n in _names.split():
        MONTHS[_n] = _num

WEEKDAYS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "monday mon mo montag lundi lun lunes",
        "tuesday tue tues di dienstag mardi mar martes",
        "wednesday wed mi mittwoch mercredi mer miércoles miercoles mié mie",
        "thursday thu thur thurs do donnerstag jeudi jeu jueves jue",
        "friday fri fr freitag vendredi ven viernes vie",
        "saturday sat sa samstag sonnabend samedi sam sábado sabado sáb sab",
        "sunday sun so sonntag dimanche dim domingo dom",
    ]
):
    for _n in _names.split():
        WEEKDAYS.setdefault(_n, _num)

_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_WD_RE = "|".join(sorted((re.escape(w) for w in WEEKDAYS), key=len, reverse=True))

_WEEKDAY = rf"(?:(?:{_WD_RE})\.?,?\s+)?"
_DAY = r"(?P<{0}>[0-3]?\d)(?:\.|er|st|nd|rd|th|º)?"
_YEAR = r"(?P<{0}>(?:19|20)\d\d)"
# "14. März 2026", "5 de marzo de 2026", "14 March", "le 1er mars"
_DMY_TEXT = (
    _WEEKDAY
    + _DAY.format("d")
    + r"(?:\s*[-/]\s*|\s*(?:de\s+|of\s+)?)(?P<m>"
    + _MONTH_RE
    + r")\.?(?:(?:,?\s*(?:de\s+)?|\s*[-/]\s*)"
    + _YEAR.format("y")
    + ")?"
)
# "March 14, 2026", "Sat, March 14"
_MDY_TEXT = (
    _WEEKDAY
    + r"(?P<m>"
    + _MONTH_RE
    + r")\.?\s+"
    + _DAY.format("d")
    + r"(?:,?\s+"
    + _YEAR.format("y")
    + ")?"
)
_NUMERIC = _WEEKDAY + r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?:(?P=sep)(?P<c>\d{2,4})|\.)"

DMY_TEXT_RE = re.compile(r"(?<![\w])" + _DMY_TEXT + r"(?![\w])", re.IGNORECASE)
MDY_TEXT_RE = re.compile(r"(?<![\w])" + _MDY_TEXT + r"(?![\w])", re.IGNORECASE)
NUMERIC_RE = re.compile(r"(?<![\w.:/-])" + _NUMERIC + r"(?![\w/]|[.:-]\d)", re.IGNORECASE)
WEEKDAY_RE = re.compile(rf"^(?:{_WD_RE})\.?$", re.IGNORECASE)
SHORT_RE = re.compile(
    r"(?<![\w.:/-])" + _WEEKDAY + r"(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/]|[.:-]\d)", re.I
)
"""``14/03`` with no year: a date only where a date is expected (a date column)."""

_HM = r"(?P<h{0}>[0-2]?\d)(?:\s*(?:[:.h]|\s?h\s?)\s*(?P<m{0}>[0-5]\d))?"
_AMPM = r"\s*(?P<ap{0}>a\.?\s?m\.?|p\.?\s?m\.?)?"
_UHR = r"(?P<u{0}>\s*(?:uhr|h(?![a-z])))?"
TIME_RE = re.compile(
    r"(?<![\w.:/])(?:"
    r"(?P<word>noon|midday|midnight|mittags?|midi|minuit|mediod[ií]a|medianoche)"
    r"|" + _HM.format(1) + _AMPM.format(1) + _UHR.format(1) + r")(?![\w/]|[.:]\d|\.\d)",
    re.IGNORECASE,
)
RANGE_SEP_RE = re.compile(r"^\s*(?:-|–|—|to|bis|à|a|au|al|until|till)\s*$", re.IGNORECASE)
TBC_RE = re.compile(
    r"\b(?:tbc|tba|tbd|n\.?\s?n\.?|offen|à confirmer|a confirmar|por confirmar)\b", re.I
)
_WORD_TIMES = {
    "noon": (12, 0), "midday": (12, 0), "mittag": (12, 0), "mittags": (12, 0), "midi": (12, 0),
    "mediodía": (12, 0), "mediodia": (12, 0),
    "midnight": (0, 0), "minuit": (0, 0), "medianoche": (0, 0),
}  # fmt: skip


@dataclass(frozen=True)
class Found:
    """A date (day may come with an unknown year) or time found at ``span`` in a text."""

    start: int
    end: int
    day: int = 0
    month: int = 0
    year: int | None = None
    hour: int = -1
    minute: int = 0
    ambiguous: bool = False
    """A numeric date whose day/month order is not certain from the numbers alone."""


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def find_dates(text: str, order: str = "DMY", loose: bool = False) -> list[Found]:
    """Every date in ``text`` in order of position; overlapping matches keep the longest.
    ``loose`` also reads ``14/03`` (for cells known to hold dates)."""
    found: list[Found] = []
    if loose:
        for m in SHORT_RE.finditer(text):
            x, y = int(m["a"]), int(m["b"])
            d, mo = (y, x) if order == "MDY" else (x, y)
            if mo > 12 >= d:
                d, mo = mo, d
            found.append(_make(m.start(), m.end(), d, mo, None, x <= 12 and y <= 12 and x != y))
    for m in DMY_TEXT_RE.finditer(text):
        month = MONTHS.get(fold(m["m"]).rstrip("."))
        if month:
            found.append(_make(m.start(), m.end(), int(m["d"]), month, m["y"]))
    for m in MDY_TEXT_RE.finditer(text):
        month = MONTHS.get(fold(m["m"]).rstrip("."))
        if month:
            found.append(_make(m.start(), m.end(), int(m["d"]), month, m["y"]))
    for m in NUMERIC_RE.finditer(text):
        a, b, c = m["a"], m["b"], m["c"]
        if len(a) == 4:
            if c is None:
                continue
            found.append(_make(m.start(), m.end(), int(c), int(b), a))
            continue
        if c is None and m["sep"] != ".":
            continue  # "3/4" alone is a fraction as often as a date
        x, y = int(a), int(b)
        ambiguous = x <= 12 and y <= 12 and x != y
        d, mo = (y, x) if order == "MDY" else (x, y)
        if mo > 12 >= d:
            d, mo = mo, d  # only the other order makes a date of it
        year = c if c is None or len(c) == 4 else "20" + c
        found.append(_make(m.start(), m.end(), d, mo, year, ambiguous))
    return _longest([f for f in found if f.month])


def _make(start: int, end: int, d: int, m: int, y: str | None, amb: bool = False) -> Found:
    year = int(y) if y else None
    try:
        date(year or 2024, m, d)  # 2024: a leap year lets 29 February through
    except ValueError:
        return Found(start, end)
    return Found(start, end, day=d, month=m, year=year, ambiguous=amb)


def _longest(items: list[Found]) -> list[Found]:
    items.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Found] = []
    for f in items:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


def numeric_order_votes(text: str) -> tuple[int, int]:
    """(day-first, month-first) evidence from numeric dates that only one order allows."""
    dmy = mdy = 0
    for m in NUMERIC_RE.finditer(text):
        if len(m["a"]) == 4:
            continue
        x, y = int(m["a"]), int(m["b"])
        if x > 12 >= y:
            dmy += 1
        elif y > 12 >= x:
            mdy += 1
    return dmy, mdy


def find_times(text: str) -> list[Found]:
    """Clock times; a bare number counts only with a marker (am/pm, Uhr, h) or a minute."""
    out: list[Found] = []
    for m in TIME_RE.finditer(text):
        if m["word"]:
            h, mi = _WORD_TIMES.get(fold(m["word"]), (12, 0))
            out.append(Found(m.start(), m.end(), hour=h, minute=mi))
            continue
        h = int(m["h1"])
        mi = int(m["m1"]) if m["m1"] else 0
        ap = (m["ap1"] or "").lower().replace(".", "").replace(" ", "")
        if not (m["m1"] or ap or m["u1"]):
            continue
        if ap == "pm" and h < 12:
            h += 12
        elif ap == "am" and h == 12:
            h = 0
        if h > 24 or (h == 24 and mi):
            continue
        out.append(Found(m.start(), m.end(), hour=h % 24, minute=mi))
    return out


def time_of(found: Found) -> time:
    return time(found.hour, found.minute)


_BARE_RANGE_RE = re.compile(
    r"(?<![\d:.])([0-2]?\d)\s*(?:-|–|—)\s*([0-2]?\d)\s*(a\.?m\.?|p\.?m\.?|uhr\b|h\b)", re.I
)


def parse_time_range(text: str) -> tuple[time | None, time | None]:
    """ "09:00–10:30", "9 - 10.30 am", "19 Uhr": (start, end or None); bare hours before an
    am/pm end take its half of the day ("9–11 am")."""
    m = _BARE_RANGE_RE.search(text)
    if m:
        marker = m[3].lower()
        if marker.startswith(("u", "h")):  # "19–21 Uhr": a 24-hour clock
            a, b = int(m[1]), int(m[2])
            if a < 24 and b < 24:
                return time(a), time(b)
        else:
            pm = marker.startswith("p")
            a, b = int(m[1]) % 12 + (12 if pm else 0), int(m[2]) % 12 + (12 if pm else 0)
            return time(a % 24), time(b % 24)
    times = find_times(text)
    if not times:
        return None, None
    first = times[0]
    if len(times) >= 2 and RANGE_SEP_RE.match(text[first.end : times[1].start]):
        return time_of(first), time_of(times[1])
    m = re.match(r"\s*(?:-|–|—)\s*([0-2]?\d)(?![\d:.])", text[first.end :])
    if m:
        return time_of(first), time(int(m[1]) % 24)
    return time_of(first), None


def resolve_year(day: int, month: int, year: int | None, default: int | None) -> date | None:
    try:
        return date(year or default or date.today().year, month, day)
    except ValueError:
        return None
