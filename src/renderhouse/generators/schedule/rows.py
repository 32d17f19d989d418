# ruff: noqa: RUF001
"""Schedules laid out one event per row: fixture lists, term calendars, event lists,
programmes with a time column and parallel tracks, lists with a time-zone column.

A header row names the columns by their role in any of the four languages; rows are read
through it, and it carries over to the next page (a continued table repeats or omits it).
A line holding only a date is a day heading for the rows below it. Struck-through rows and
rows marked postponed are not events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from renderhouse.generators.schedule import dates as D
from renderhouse.generators.schedule.events import Event
from renderhouse.generators.schedule.layout import Box, Cell, Line, PageLayout, struck
from renderhouse.generators.schedule.reading import ZONE_TEXT_RE, Reading, date_spans, zones_in

ROLES: dict[str, tuple[str, ...]] = {
    "date": ("date", "datum", "fecha", "jour", "día", "dia", "day", "tag", "dates", "fechas",
             "zeitraum", "when", "wann", "quand", "cuándo", "period", "période", "periodo"),
    "time": ("time", "kick-off", "kickoff", "ko", "anstoß", "anstoss", "uhrzeit", "zeit",
             "heure", "horaire", "hora", "coup d'envoi", "beginn", "start", "times", "hour"),
    "home": ("home", "heim", "domicile", "local", "hosts", "heimmannschaft"),
    "away": ("away", "gast", "gäste", "extérieur", "exterieur", "visitante", "visitors"),
    "venue": ("venue", "ort", "stade", "estadio", "stadium", "ground", "lieu", "lugar",
              "location", "place", "spielort"),
    "zone": ("time zone", "timezone", "zeitzone", "fuseau", "fuseau horaire", "zona horaria",
             "tz"),
    "title": ("session", "event", "termin", "événement", "evenement", "evento", "title",
              "titel", "titre", "título", "titulo", "sitzung", "sesión", "sesion", "match",
              "spiel", "partido", "what", "veranstaltung", "activity", "actividad", "activité",
              "subject", "topic", "thema", "name"),
    "status": ("status", "estado", "statut", "notes", "note", "remarks", "bemerkung"),
}  # fmt: skip
_ROLE_OF = {w: role for role, words in ROLES.items() for w in words}
OFF_WORDS = re.compile(
    r"\b(?:postponed|cancel+ed|called off|verschoben|abgesagt|ausgefallen|reporté|annulé|"
    r"aplazado|suspendido|cancelado)\b",
    re.I,
)


def role_of(cell: Cell) -> str | None:
    return _ROLE_OF.get(cell.text.casefold().strip(" :*"))


@dataclass
class Column:
    role: str
    x0: float
    x1: float
    name: str


@dataclass
class TableState:
    """Carried from page to page: the last header and the last day heading."""

    columns: list[Column] = field(default_factory=list)
    tracks: list[Column] = field(default_factory=list)
    heading: date | None = None
    heading_used: bool = False
    running_text: bool = False
    """Rows are paragraphs (``prose``): no wrapped titles, no dates from the row above."""
    row_date: date | None = None
    """The last row's own date, for rows below it that leave the date cell empty."""
    row_bottom: float = 0.0
    previous: list[tuple[float, Event]] = field(default_factory=list)
    """The last row's events with where their title starts, for wrapped titles."""


def read_header(line: Line) -> tuple[list[Column], list[Column]] | None:
    roles = [role_of(c) for c in line.cells]
    known = [r for r in roles if r]
    if len(known) < 2 and not (known == ["time"] and len(line.cells) >= 3):
        return None
    columns, tracks = [], []
    for cell, role in zip(line.cells, roles, strict=True):
        if role:
            columns.append(Column(role, cell.x0, cell.x1, cell.text))
        elif "time" in known and "date" not in known:
            tracks.append(Column("track", cell.x0, cell.x1, cell.text))
    if len(tracks) == 1:  # one unnamed column beside the time: a plain title column
        columns.append(Column("title", tracks[0].x0, tracks[0].x1, tracks[0].name))
        tracks = []
    return columns, tracks


def _column(cell: Cell, columns: list[Column]) -> Column | None:
    best, score = None, 0.0
    for col in columns:
        overlap = min(cell.x1, col.x1) - max(cell.x0, col.x0)
        near = -abs(cell.x0 - col.x0) / 20.0
        s = overlap if overlap > 0 else near
        if best is None or s > score:
            best, score = col, s
    if best is not None and score > -1.5:
        return best
    return None


def _track(cell: Cell, tracks: list[Column], rects: list[Box]) -> Column | None:
    """The track a cell sits in, or None when it spans the tracks (a break)."""
    starts = sorted(t.x0 for t in tracks)
    width = (starts[-1] - starts[0]) / max(1, len(starts) - 1) if len(starts) > 1 else 100.0
    for x0, top, x1, bottom in rects:
        inside = x0 - 1 <= cell.x0 and cell.x1 <= x1 + 1 and top - 1 <= cell.top <= bottom
        if inside and x1 - x0 > 1.5 * width:
            return None
    owner = None
    for t in sorted(tracks, key=lambda t: t.x0):
        if cell.x0 >= t.x0 - 8:
            owner = t
    if owner is None or cell.x0 - owner.x0 > 0.3 * width:
        return None if owner is None or cell.x1 > owner.x0 + width else owner
    return owner


_CONNECTOR = re.compile(
    r"(?:\s+(?:at|on|from|um|am|ab|à|a|le|de|a las|a la|el|from|le)\s*)+$", re.I
)


_LEADING_CONNECTOR = re.compile(
    r"(?<!\w)(?:on|at|um|am|ab|le|el|à|a las|a la|de|du|from|dès|desde|the)\s*,?\s*$", re.I
)


def _clean_title(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" \t-–—:;,.|()").strip()
    return _CONNECTOR.sub("", text).strip(" \t-–—:;,.|()")


def _is_heading(line: Line, r: Reading) -> date | None:
    if len(line.cells) != 1:
        return None
    text = line.cells[0].text
    spans = date_spans(text, r)
    if len(spans) != 1 or spans[0][1] is not None or D.find_times(text):
        return None
    f = spans[0][2]
    rest = (text[: f.start] + " " + text[f.end :]).split()
    return spans[0][0] if len(rest) <= 4 else None


def read_rows(page: PageLayout, r: Reading, state: TableState) -> list[Event]:
    events: list[Event] = []
    dropped: set[int] = set()
    state.row_date, state.previous = None, []
    # a line holding just a label and a date is a day heading when rows below use its date,
    # and an all-day event ("Term starts: Thursday 3 September") when it stands on its own
    unused: list[tuple[Line, date]] = []
    current: tuple[Line, date] | None = None
    for line in page.lines:
        header = read_header(line)
        if header is not None:
            state.columns, state.tracks = header
            state.row_date, state.previous = None, []
            continue
        heading = _is_heading(line, r)
        if heading is not None:
            if current is not None and not state.heading_used:
                unused.append(current)
            current, state.heading, state.heading_used = (line, heading), heading, False
            state.row_date, state.previous = None, []
            continue
        found = _row_events(line, page, r, state)
        if found:
            events.extend(found)
        elif not state.running_text and _continues(line, state, r):
            if OFF_WORDS.search(line.text):  # "postponed" written under the row
                dropped.update(id(e) for _, e in state.previous)
            else:
                for cell in line.cells:
                    owner = min(state.previous, key=lambda p: abs(p[0] - cell.x0))[1]
                    owner.title = f"{owner.title} {_clean_title(cell.text)}".strip()
            state.row_bottom = line.bottom
        else:
            state.previous = []
    if current is not None and not state.heading_used:
        unused.append(current)
    # a lone one at the top or foot of the page is a title or a stamp ("Updated 3 March")
    edges = {id(ln) for ln in page.lines[:2] + page.lines[-1:]}
    if len(unused) < 2:
        unused = [(ln, d) for ln, d in unused if id(ln) not in edges]
    if unused:
        for line, day in unused:
            title = _strip_when(line.text, r)
            if title:
                ev = Event(title, day, None, page.number, line.box)
                ev.lower(0.9, "a dated line outside a table")
                _date_doubts(ev, r, line.text)
                events.append(ev)
    return [e for e in events if id(e) not in dropped]


def _continues(line: Line, state: TableState, r: Reading) -> bool:
    """A line right under an event row, with no date or time of its own, whose cells all
    start where that row's titles start: the rest of a wrapped title (or a note on it)."""
    if not state.previous:
        return False
    height = line.bottom - line.top
    if line.top - state.row_bottom > 1.6 * height:
        return False
    if D.find_times(line.text) or D.find_dates(line.text, r.date_order):
        return False
    starts = [x for x, _ in state.previous]
    return all(min(abs(c.x0 - x) for x in starts) < 4 for c in line.cells)


def _row_events(line: Line, page: PageLayout, r: Reading, state: TableState) -> list[Event]:
    if struck(line, page.rules) or OFF_WORDS.search(line.text):
        return []
    cols = state.columns
    roles: dict[str, list[Cell]] = {}
    loose: list[Cell] = []
    for cell in line.cells:
        col = _column(cell, cols) if cols else None
        if col is not None and not (state.tracks and col.role == "title"):
            roles.setdefault(col.role, []).append(cell)
        else:
            loose.append(cell)
    # the date: its column, else any cell, else the day heading above
    day = last = None
    date_cell: Cell | None = None
    date_cells = roles.get("date", [])
    for cell in date_cells + loose + roles.get("title", []):
        spans = date_spans(cell.text, r, loose=cell in date_cells)
        if spans:
            day, last, _found = spans[0]
            date_cell = cell
            break
    from_row = from_heading = False
    height = line.bottom - line.top
    near = line.top - state.row_bottom < 2.5 * height and not state.running_text
    if day is None and state.row_date and near:
        day, from_row = state.row_date, True
    if day is None:
        day, from_heading = state.heading, True
    if day is None:
        return []
    # the time: its column, else any cell
    t0 = t1 = None
    tbc = False
    time_cell: Cell | None = None
    for cell in (
        roles.get("time", [])
        + [c for c in loose if c is not date_cell]
        + ([date_cell] if date_cell else [])
    ):
        if D.TBC_RE.search(cell.text):
            tbc, time_cell = True, cell
            break
        a, b = D.parse_time_range(cell.text)
        if a is not None:
            t0, t1, time_cell = a, b, cell
            break
    if (from_heading or from_row) and t0 is None:
        return []
    used = {id(date_cell), id(time_cell)}
    zone = None
    for cell in roles.get("zone", []) + line.cells:
        zs = zones_in(cell.text)
        if zs:
            zone = zs[0]
            if cell in loose:
                used.add(id(cell))
            break
    zone = zone or r.timezone
    venue = " ".join(c.text for c in roles.get("venue", [])) or None
    titles: list[tuple[str, str | None, Box, float]] = []
    ends: dict[int, time] = {}
    """Title index → a later end (a session box spanning several time rows)."""
    if roles.get("home") and roles.get("away"):
        home = " ".join(c.text for c in roles["home"])
        away = " ".join(c.text for c in roles["away"])
        titles.append((f"{home} v {away}", venue, line.box, -1e9))
    else:
        rest = roles.get("title", []) + [c for c in loose if id(c) not in used]
        if state.tracks:
            spanning: list[tuple[str, str | None, Box, float]] = []
            for cell in rest:
                track = _track(cell, state.tracks, page.rects)
                text = _strip_when(cell.text, r)
                if not text:
                    continue
                if track is None:
                    spanning.append((text, None, cell.box, cell.x0))
                else:
                    titles.append((text, track.name, cell.box, cell.x0))
                    longer = _spanned_end(cell, line, page)
                    if longer is not None:
                        ends[len(titles) - 1] = longer
            titles.extend(spanning)
        else:
            text = _strip_when(" ".join(c.text for c in rest), r)
            if not text and date_cell is not None:
                text = _strip_when(date_cell.text, r)
            if text:
                x0 = min((c.x0 for c in rest), default=-1e9)
                titles.append((text, venue, line.box, x0))
    out = []
    state.previous = []
    for n, (title, location, box, title_x) in enumerate(titles):
        if t0 is not None:
            start = datetime.combine(day, t0)
            stop = ends.get(n, t1)
            end = datetime.combine(day, stop) if stop is not None else None
            if end is not None and end <= start:
                end += timedelta(days=1)
            ev = Event(title, start, end, page.number, box, location=location, timezone=zone)
        else:
            ev = Event(title, day, last, page.number, box, location=location)
            if not tbc and cols and "time" in {c.role for c in cols}:
                ev.lower(0.8, "no time in the time column")
        if not cols:
            ev.lower(0.95, "no header row")
        if from_heading:
            ev.lower(0.97, "date from the day heading")
            state.heading_used = True
        if from_row:
            ev.lower(0.95, "date from the row above")
        _date_doubts(ev, r, date_cell.text if date_cell else "")
        out.append(ev)
        state.previous.append((title_x, ev))
    if out:
        state.row_bottom = line.bottom
        if not from_heading:
            state.row_date = day
    return out


def _spanned_end(cell: Cell, line: Line, page: PageLayout) -> time | None:
    """A session whose box reaches down over the next time rows ends with the last of them."""
    height = line.bottom - line.top
    for x0, top, x1, bottom in page.rects:
        inside = x0 - 1 <= cell.x0 and cell.x1 <= x1 + 1 and top - 1 <= cell.top <= bottom
        if not inside or bottom - top < 2.5 * height:
            continue
        end = None
        for below in page.lines:
            if line.bottom < below.top and below.bottom <= bottom + 2:
                _, stop = D.parse_time_range(below.cells[0].text)
                end = stop or end
        return end
    return None


def _strip_when(text: str, r: Reading) -> str:
    """The text without its dates, times and zone names (what is left names the event)."""
    spans = [(f.start, f.end) for f in D.find_dates(text, r.date_order)]
    spans += [(f.start, f.end) for f in D.find_times(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        head = _LEADING_CONNECTOR.sub("", text[:start])  # "on" in "concert on 9 July"
        text = head + " " + text[end:]
    text = ZONE_TEXT_RE.sub(" ", text)
    text = re.sub(r"(?<!\w)(?:-|–|—)(?!\w)|\(\s*\)", " ", text)
    return _clean_title(text)


def _date_doubts(ev: Event, r: Reading, text: str) -> None:
    if not r.year_stated and not re.search(r"(?:19|20)\d\d", text):
        ev.lower(0.85, "year assumed")
    if not r.order_stated and re.search(r"\b\d{1,2}[./-]\d{1,2}[./-]", text):
        found = D.find_dates(text, r.date_order)
        if any(f.ambiguous for f in found):
            ev.lower(0.75, f"day/month order assumed ({r.date_order})")
