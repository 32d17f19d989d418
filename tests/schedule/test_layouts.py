# ruff: noqa: RUF001
"""Layouts the corpus templates do not draw: a timetable whose slot labels are ranges with
breaks between them and no boxes, a US list with short dates in its date column, and zones
written as abbreviations."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from reportlab.pdfgen.canvas import Canvas

from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.reading import zones_in


def _pdf(tmp_path: Path, cells: list[tuple[float, float, str]]) -> Path:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.setFont("Helvetica", 9)
    for x, y, text in cells:
        c.drawString(x, 780 - y, text)
    c.save()
    path = tmp_path / "doc.pdf"
    path.write_bytes(buf.getvalue())
    return path


def test_range_labels_end_lessons_before_the_break(tmp_path: Path) -> None:
    cells = [(40, 0, "Period"), (120, 0, "Monday"), (220, 0, "Tuesday"), (320, 0, "Friday"),
             (40, -30, "Term: 7 September 2026 - 18 December 2026")]  # fmt: skip
    periods = [("08:00", "08:45"), ("08:50", "09:35"), ("09:55", "10:40")]
    for i, (a, b) in enumerate(periods):
        cells.append((40, 20 + 20 * i, f"{a}-{b}"))
        cells.append((120, 20 + 20 * i, ["Maths", "English", "Art"][i]))
    got = {(e.title, e.start, e.end) for e in extract(_pdf(tmp_path, cells)).events}
    monday = datetime(2026, 9, 7)
    assert got == {
        ("Maths", monday.replace(hour=8), monday.replace(hour=8, minute=45)),
        ("English", monday.replace(hour=8, minute=50), monday.replace(hour=9, minute=35)),
        ("Art", monday.replace(hour=9, minute=55), monday.replace(hour=10, minute=40)),
    }


def test_short_dates_in_a_date_column_and_abbreviated_zones(tmp_path: Path) -> None:
    cells = [(40, 0, "Date"), (100, 0, "Time"), (160, 0, "Event"), (40, -20, "Season 2026")]
    rows = [
        ("3/14", "7 pm EST", "Lakers"),
        ("3/17", "7:30 PM", "Celtics"),
        ("3/21", "TBA", "Knicks"),
    ]
    for i, row in enumerate(rows):
        cells += [(x, 20 + 20 * i, v) for x, v in zip((40, 100, 160), row, strict=True)]
    events = extract(_pdf(tmp_path, cells), date_order="MDY").events
    got = [(e.title, e.start, e.timezone) for e in events]
    assert got[0] == ("Lakers", datetime(2026, 3, 14, 19), "America/New_York")
    assert got[1][:2] == ("Celtics", datetime(2026, 3, 17, 19, 30))
    assert events[2].all_day and str(events[2].start) == "2026-03-21"


def test_zone_abbreviations_need_word_boundaries() -> None:
    assert zones_in("Anstoß 15:00 MEZ / 9:00 EST") == ["Europe/Berlin", "America/New_York"]
    assert zones_in("BESTSELLER, ESTADIO, cet") == []


def test_rows_sharing_a_date_and_wrapped_titles(tmp_path: Path) -> None:
    cells = [
        (40, 0, "Date"), (160, 0, "Time"), (220, 0, "Event"),
        (40, 20, "Sat 14 March 2026"), (160, 20, "10:00"), (220, 20, "Opening of the"),
        (220, 31, "community garden"),
        (160, 44, "14:30"), (220, 44, "Plant sale"),
        (40, 64, "Sun 15 March 2026"), (160, 64, "11:00"), (220, 64, "Open studios"),
        (220, 75, "Postponed"),
        (160, 88, "15:00"), (220, 88, "Choir"),
        (40, 200, "Printed 16:05 by the office"),
    ]  # fmt: skip
    got = [(e.title, e.start) for e in extract(_pdf(tmp_path, cells)).events]
    assert got == [
        ("Opening of the community garden", datetime(2026, 3, 14, 10)),
        ("Plant sale", datetime(2026, 3, 14, 14, 30)),
        ("Choir", datetime(2026, 3, 15, 15)),
    ]


def test_a_session_box_spanning_two_time_rows(tmp_path: Path) -> None:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.setFont("Helvetica", 9)
    for x, y, text in [
        (40, 0, "Thursday 5 March 2026"), (40, 20, "Time"), (150, 20, "Room A"),
        (300, 20, "Room B"), (40, 40, "09:00-10:00"), (150, 40, "Keynote"),
        (300, 40, "Workshop: Rust"), (40, 60, "10:00-11:00"), (150, 60, "Panel"),
    ]:  # fmt: skip
        c.drawString(x, 780 - y, text)
    c.rect(296, 780 - 72, 140, 42)  # Room B's box reaches over the 10:00 row
    c.save()
    path = tmp_path / "prog.pdf"
    path.write_bytes(buf.getvalue())
    got = {(e.title, e.location, str(e.start)[11:16], str(e.end)[11:16])
           for e in extract(path).events}  # fmt: skip
    assert got == {
        ("Keynote", "Room A", "09:00", "10:00"),
        ("Workshop: Rust", "Room B", "09:00", "11:00"),
        ("Panel", "Room A", "10:00", "11:00"),
    }


def test_roster_with_day_numbers_and_hours_in_cells(tmp_path: Path) -> None:
    cells = [(40, 0, "Dienstplan März 2026"), (40, 30, "Name")]
    cells += [(150 + 40 * k, 30, str(k + 1)) for k in range(9)]
    cells += [(40, 50, "Anna Keller"), (150, 50, "6-14"), (190, 50, "frei"),
              (270, 50, "22-6"), (40, 70, "Ben Ortiz"), (310, 70, "14-22")]  # fmt: skip
    got = {(e.title, e.start, e.end) for e in extract(_pdf(tmp_path, cells)).events}
    assert got == {
        ("Anna Keller", datetime(2026, 3, 1, 6), datetime(2026, 3, 1, 14)),
        ("Anna Keller", datetime(2026, 3, 4, 22), datetime(2026, 3, 5, 6)),
        ("Ben Ortiz", datetime(2026, 3, 5, 14), datetime(2026, 3, 5, 22)),
    }


def test_dated_lines_standing_alone_are_all_day_events(tmp_path: Path) -> None:
    cells = [
        (40, 0, "Autumn Term 2026"),
        (40, 20, "Term starts: Thursday 3 September"),
        (40, 36, "Half term: Monday 26 October – Friday 30 October"),
        (40, 52, "Term ends: Friday 18 December"),
    ]
    got = {(e.title, str(e.start), str(e.end)) for e in extract(_pdf(tmp_path, cells)).events}
    assert got == {
        ("Term starts", "2026-09-03", "None"),
        ("Half term", "2026-10-26", "2026-10-30"),
        ("Term ends", "2026-12-18", "None"),
    }


def test_one_dated_title_line_is_not_an_event(tmp_path: Path) -> None:
    cells = [(40, 0, "Updated 3 March 2026"), (40, 30, "Time"), (120, 30, "Session"),
             (40, 50, "09:00"), (120, 50, "Welcome")]  # fmt: skip
    got = [(e.title, e.start) for e in extract(_pdf(tmp_path, cells)).events]
    assert got == [("Welcome", datetime(2026, 3, 3, 9))]


def test_running_text_with_all_day_notices(tmp_path: Path) -> None:
    filler = [
        "Thank you to everyone who helped with the summer fair this year, it was",
        "a wonderful day and the weather held until the very last raffle prize.",
    ]
    cells = [(40, 0, "School news, June 2026")]
    y = 20
    items = ["Sports day: Friday 3 July 2026.", "Last day of term: Friday 17 July 2026."]
    concert = ["Summer concert on Thursday", "9 July 2026 at 6:30 p.m. in the main hall."]
    for text in [*filler, "", items[0], "", *filler, "", items[1], "", *concert]:
        if text:
            cells.append((40, y, text))
        y += 12
    got = {(e.title, str(e.start)) for e in extract(_pdf(tmp_path, cells)).events}
    assert got == {
        ("Sports day", "2026-07-03"),
        ("Last day of term", "2026-07-17"),
        ("Summer concert in the main hall", "2026-07-09 18:30:00"),
    }
