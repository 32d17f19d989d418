# ruff: noqa: RUF001, RUF002
"""Weekly timetables: weekdays along one axis, time-slot labels along the other, events as
boxes (or bare text) in between. A box's extent gives its slots: it starts in the slot whose
label lies just after its leading edge and ends where the next label after its trailing
edge begins, so cells spanning several slots come out right however the labels are
aligned. A stated term ("Term: 7 Sep – 18 Dec 2026") makes each cell a weekly RRULE series,
and other dates printed around the grid (cancelled days) become its EXDATEs."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from statistics import median

from renderhouse.generators.schedule import dates as D
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.layout import Box, Cell, PageLayout
from renderhouse.generators.schedule.reading import Reading, date_spans, next_weekday


def _weekday(cell: Cell) -> int | None:
    text = cell.text.strip().rstrip(".:")
    return D.WEEKDAYS.get(D.fold(text)) if D.WEEKDAY_RE.match(cell.text.strip()) else None


_LABEL_REST = re.compile(r"^[\s\-–—:.,()hHuUrRaApPmM]*$")


def _label_time(cell: Cell) -> time | None:
    """The start of a slot label ("08:00", "8h", "08:00–08:45"); None for other text."""
    start, _ = _label_range(cell)
    return start


def _label_range(cell: Cell) -> tuple[time | None, time | None]:
    text = cell.text.strip()
    found = D.find_times(text)
    if not found or found[0].start > 1 or len(text) > 24:
        return None, None
    rest = text
    for f in reversed(found):
        rest = rest[: f.start] + rest[f.end :]
    if not _LABEL_REST.match(rest):
        return None, None
    return D.parse_time_range(text)


def read_grid(page: PageLayout, r: Reading) -> list[Event] | None:
    axis = _day_axis(page)
    if axis is None:
        return None
    vertical_days, days = axis  # vertical_days: days are rows
    labels: list[tuple[float, time]] = []
    ends: dict[time, time] = {}
    """Slot labels written as ranges: a block ends where its last slot ends (breaks between
    slots are not part of the lesson before them)."""
    for line in page.lines:
        for cell in line.cells:
            t, t_end = _label_range(cell)
            if t is None:
                continue
            if t_end is not None:
                ends[t] = t_end
            if vertical_days and cell.top < min(c.top for _, c in days) - 2:
                labels.append((cell.cx, t))
            elif not vertical_days and cell.x1 < min(c.x0 for _, c in days) - 2:
                labels.append((cell.cy, t))
    if len(labels) < 3:
        return None
    labels.sort()
    step = median(
        (datetime.combine(date.min, b[1]) - datetime.combine(date.min, a[1])).total_seconds()
        for a, b in itertools.pairwise(labels)
    )
    if step <= 0:
        return None
    grid_box = _grid_box(days, labels, vertical_days)
    term, cancelled = _term(page, r, grid_box)
    blocks = [b for b in page.rects if _inside(b, grid_box)] or _bare_blocks(page, grid_box)
    events = []
    for block in blocks:
        ev = _block_event(page, block, days, labels, step, vertical_days, r, ends)
        if ev is None:
            continue
        _as_series(ev, term, cancelled)
        events.append(ev)
    return events


def _day_axis(page: PageLayout) -> tuple[bool, list[tuple[int, Cell]]] | None:
    for line in page.lines:
        days = [(d, c) for c in line.cells if (d := _weekday(c)) is not None]
        if len(days) >= 3 and len(days) >= len(line.cells) - 1:
            return False, days
    firsts = [(d, ln.cells[0]) for ln in page.lines if (d := _weekday(ln.cells[0])) is not None]
    if len(firsts) >= 3:
        return True, firsts
    return None


def _grid_box(days: list[tuple[int, Cell]], labels: list[tuple[float, time]],
              vertical: bool) -> Box:  # fmt: skip
    cells = [c for _, c in days]
    if vertical:
        return (max(c.x1 for c in cells), labels[0][0] - 40, 10_000.0, 10_000.0)
    return (min(c.x0 for c in cells) - 40, max(c.bottom for c in cells), 10_000.0, 10_000.0)


def _inside(b: Box, area: Box) -> bool:
    return b[0] >= area[0] - 2 and b[1] >= area[1] - 2 and b[2] <= area[2] and b[3] <= area[3]


def _bare_blocks(page: PageLayout, area: Box) -> list[Box]:
    out = []
    for line in page.lines:
        for c in line.cells:
            if _inside(c.box, area) and _label_time(c) is None and _weekday(c) is None:
                out.append(c.box)
    return out


def _block_event(page: PageLayout, block: Box, days: list[tuple[int, Cell]],
                 labels: list[tuple[float, time]], step: float, vertical: bool,
                 r: Reading, ends: dict[time, time]) -> Event | None:  # fmt: skip
    x0, top, x1, bottom = block
    texts = [
        c for ln in page.lines for c in ln.cells
        if x0 - 1 <= c.cx <= x1 + 1 and top - 1 <= c.cy <= bottom + 1
    ]  # fmt: skip
    if not texts:
        return None
    texts.sort(key=lambda c: (round(c.top), c.x0))
    if vertical:
        weekday = min(days, key=lambda d: abs(d[1].cy - (top + bottom) / 2))[0]
        lead, trail = x0, x1
    else:
        weekday = min(days, key=lambda d: abs(d[1].cx - (x0 + x1) / 2))[0]
        lead, trail = top, bottom
    after = [t for pos, t in labels if pos > lead]
    if not after:
        return None
    start = after[0]
    later = [t for pos, t in labels if pos > trail]
    covered = [t for pos, t in labels if lead < pos <= trail]
    if covered and covered[-1] in ends:
        end = ends[covered[-1]]
    elif later:
        end = later[0]
    else:
        end = (datetime.combine(date.min, labels[-1][1]) + timedelta(seconds=step)).time()
    lines = [c.text for c in texts]
    stated = [D.parse_time_range(t) for t in lines]
    stated_range = next(((a, b) for a, b in stated if a is not None), None)
    lines = [t for t, s in zip(lines, stated, strict=True) if s[0] is None]
    if stated_range:
        start, end = stated_range[0], stated_range[1] or end
    if not lines:
        return None
    anchor = date(r.year or date.today().year, 1, 1)
    day = next_weekday(anchor, weekday)
    ev = Event(
        lines[0], datetime.combine(day, start), datetime.combine(day, end), page.number, block,
        location=" ".join(lines[1:2]) or None, timezone=r.timezone,
    )  # fmt: skip
    if len(texts) > 3:
        ev.lower(0.8, "more text in the cell than a title and a room")
    return ev


def _term(page: PageLayout, r: Reading, area: Box) -> tuple[tuple[date, date] | None, list[date]]:
    term = None
    singles: list[date] = []
    for line in page.lines:
        if _inside(line.box, area):
            continue
        for first, last, _ in date_spans(line.text, r):
            if last is not None and term is None:
                term = (first, last)
            elif last is None:
                singles.append(first)
            else:
                singles.extend(first + timedelta(k) for k in range((last - first).days + 1))
    return term, singles


def _as_series(ev: Event, term: tuple[date, date] | None, cancelled: list[date]) -> None:
    assert isinstance(ev.start, datetime) and isinstance(ev.end, datetime)
    weekday = ev.start.weekday()
    if term is None:
        ev.rrule = "FREQ=WEEKLY"
        ev.lower(0.5, "no term dates: the weekly series starts in the first week of the year")
        return
    first = next_weekday(term[0], weekday)
    length = ev.end - ev.start
    ev.start = datetime.combine(first, ev.start.time())
    ev.end = ev.start + length
    ev.rrule = f"FREQ=WEEKLY;UNTIL={term[1]:%Y%m%d}T235959"
    ev.exdate = [
        datetime.combine(d, ev.start.time())
        for d in sorted(set(cancelled))
        if d.weekday() == weekday and term[0] <= d <= term[1]
    ]
