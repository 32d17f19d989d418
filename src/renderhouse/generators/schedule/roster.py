# ruff: noqa: RUF001, RUF002
"""Shift rosters: people × dates (either way round) holding shift codes, and a legend that
gives each code its hours ("N = Night 22:00–06:00", "Night (N): 22–06"). A shift that ends
at or before its start crosses midnight. Cells with no code in the legend ("off", "–",
"frei") are not events."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from renderhouse.generators.schedule import dates as D
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.layout import Cell, Line, PageLayout
from renderhouse.generators.schedule.reading import Reading, date_spans

_CODE_RE = re.compile(
    r"^\s*([A-ZÄÖÜ][A-Za-zäöü]{0,2})\s*[=:]|\(([A-ZÄÖÜ][A-Za-zäöü]{0,2})\)|"
    r"^\s*([A-ZÄÖÜ]{1,3})\s+[A-ZÄÖÜa-zäöüéèñ]"
)
_SHORT = re.compile(r"^[A-ZÄÖÜ][A-Za-zäöü0-9]{0,2}$")


def legend(page: PageLayout) -> dict[str, tuple[time, time]]:
    codes: dict[str, tuple[time, time]] = {}
    for line in page.lines:
        # a legend laid out as a table: code | name | hours
        first = line.cells[0].text.strip()
        if len(line.cells) >= 2 and _SHORT.match(first) and not D.find_times(first):
            for cell in line.cells[1:]:
                start, end = D.parse_time_range(cell.text)
                if start is not None and end is not None:
                    codes.setdefault(first, (start, end))
                    break
        for cell in line.cells:
            start, end = D.parse_time_range(cell.text)
            if start is None or end is None:
                continue
            m = _CODE_RE.search(cell.text)
            if m:
                codes[next(g for g in m.groups() if g)] = (start, end)
    return codes


def _hours(text: str, codes: dict[str, tuple[time, time]]) -> tuple[time, time] | None:
    """A cell's shift: a legend code, or hours written in the cell ("6-14", "22:00–06:00")."""
    if text in codes:
        return codes[text]
    start, end = D.parse_time_range(text)
    if start is not None and end is not None and len(text) <= 13:
        return start, end
    if start is None and (m := _HOUR_RANGE.match(text)):
        return time(int(m[1]) % 24), time(int(m[2]) % 24)
    return None


_HOUR_RANGE = re.compile(r"^\s*([0-2]?\d)\s*[-–]\s*([0-2]?\d)\s*$")


def read_roster(page: PageLayout, r: Reading) -> list[Event] | None:
    codes = legend(page)
    header = _date_header(page, r)
    if len(codes) < 2 and header is None:
        return None
    if header is not None:
        index, columns = header
        rows = [
            (ln.cells[0].text, ln) for ln in page.lines[index + 1 :]
            if len(ln.cells) >= 2 and not _SHORT.match(ln.cells[0].text)
            and not date_spans(ln.cells[0].text, r)
            and any(_hours(c.text, codes) for c in ln.cells[1:])
        ]  # fmt: skip
        events = []
        for name, line in rows:
            for cell in line.cells[1:]:
                hours = _hours(cell.text, codes)
                if hours is not None:
                    day = min(columns, key=lambda col: abs(col[1] - cell.cx))[0]
                    events.append(_shift(name, day, hours, cell, page))
        if events or len(codes) >= 2:
            return events
        return None
    return _dates_down(page, r, codes)


_MONTH_YEAR = re.compile(
    r"(?<!\w)(" + "|".join(sorted(D.MONTHS, key=len, reverse=True)) + r")\.?\s+(?:de\s+)?"
    r"((?:19|20)\d\d)(?!\d)",
    re.I,
)


def _day_numbers(page: PageLayout) -> tuple[int, list[tuple[date, float]]] | None:
    """A header of bare day numbers (1 2 3 … in order) under a "March 2026" title."""
    m = _MONTH_YEAR.search(page.text)
    if m is None:
        return None
    month, year = D.MONTHS[D.fold(m[1])], int(m[2])
    for i, line in enumerate(page.lines):
        nums = [(int(c.text), c.cx) for c in line.cells if re.fullmatch(r"[0-3]?\d\.?", c.text)
                and c.text.rstrip(".").isdigit()]  # fmt: skip
        nums = [(n, x) for n, x in nums if 1 <= n <= 31]
        if len(nums) >= 7 and len(nums) >= len(line.cells) - 2:
            days = [n for n, _ in nums]
            if days == sorted(days) and days == list(range(days[0], days[0] + len(days))):
                try:
                    return i, [(date(year, month, n), x) for n, x in nums]
                except ValueError:
                    return None
    return None


def _date_header(page: PageLayout, r: Reading) -> tuple[int, list[tuple[date, float]]] | None:
    numbered = _day_numbers(page)
    if numbered is not None:
        return numbered
    for i, line in enumerate(page.lines):
        cols = []
        for cell in line.cells:
            # narrow columns run headers together ("ven 30.10. sam 31.10."): place each
            # date at its share of the cell's width
            for day, last, f in date_spans(cell.text, r):
                if last is None:
                    share = (f.start + f.end) / 2 / max(1, len(cell.text))
                    cols.append((day, cell.x0 + (cell.x1 - cell.x0) * share))
        if len(cols) >= 5 and len(cols) >= len(line.cells) - 2:
            return i, cols
    return None


def _dates_down(page: PageLayout, r: Reading, codes: dict[str, tuple[time, time]]) -> list[Event]:
    dated: list[tuple[date, Line]] = []
    for line in page.lines:
        spans = date_spans(line.cells[0].text, r)
        if spans and len(line.cells) >= 2 and all(_SHORT.match(c.text) or c.text.casefold()
                                                   in _OFF for c in line.cells[1:]):  # fmt: skip
            dated.append((spans[0][0], line))
    if len(dated) < 3:
        return []
    first_top = dated[0][1].top
    above = [ln for ln in page.lines if ln.bottom <= first_top and len(ln.cells) >= 2]
    if not above:
        return []
    names = above[-1].cells
    events = []
    for day, line in dated:
        for cell in line.cells[1:]:
            if cell.text in codes:
                person = min(names, key=lambda n: abs(n.x0 - cell.x0))
                events.append(_shift(person.text, day, codes[cell.text], cell, page))
    return events


_OFF = {"off", "frei", "repos", "libre", "–", "-", "x", "/"}


def _shift(name: str, day: date, hours: tuple[time, time], cell: Cell, page: PageLayout) -> Event:
    start = datetime.combine(day, hours[0])
    end = datetime.combine(day, hours[1])
    if end <= start:
        end += timedelta(days=1)
    return Event(name, start, end, page.number, cell.box)
