"""The job's artifacts: events.json's contract, calendar.ics under a strict RFC 5545 parser
(allenporter's ``ical``) and through icalendar, and the review page."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner
from ical.calendar_stream import IcsCalendarStream

from renderhouse.errors import InvalidInput
from renderhouse.generators.base import Registry
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.schedule.cli import schedule
from tests.schedule.corpus import make_sample

KEYS = {"title", "start", "end", "all_day", "location", "timezone", "rrule", "exdate",
        "confidence", "source"}  # fmt: skip


def _run(tmp_path: Path, template: str, locale: str = "en") -> tuple[dict, bytes, str]:
    sample = make_sample(template, locale, 7)
    tmp_path.mkdir(parents=True, exist_ok=True)
    pdf = tmp_path / f"{template}.pdf"
    pdf.write_bytes(sample.pdf)
    gen = Registry.from_entry_points().get("schedule")
    inp = gen.parse_input({"pdf": str(pdf), "calendar_name": "Team"})
    out = tmp_path / template
    result = gen.run(LocalContext(out), inp)
    assert result["artifacts"] == ["events.json", "calendar.ics", "review.html"]
    doc = json.loads((out / "events.json").read_text())
    return doc, (out / "calendar.ics").read_bytes(), (out / "review.html").read_text()


@pytest.mark.parametrize("template", ["timetable_columns", "term_table", "zones_column"])
def test_ics_parses_strictly_and_round_trips(tmp_path: Path, template: str) -> None:
    doc, ics, _ = _run(tmp_path, template)
    assert set(doc) == {"document", "timezone", "date_order", "events"}
    assert doc["events"] and all(set(e) == KEYS for e in doc["events"])
    strict = IcsCalendarStream.calendar_from_ics(ics.decode())
    assert len(strict.events) == len(doc["events"])
    parsed = icalendar.Calendar.from_ical(ics)
    assert parsed.to_ical() == icalendar.Calendar.from_ical(parsed.to_ical()).to_ical()
    uids = [str(v["uid"]) for v in parsed.walk("VEVENT")]
    assert len(set(uids)) == len(uids)


def test_weekly_series_and_all_day_ranges(tmp_path: Path) -> None:
    doc, ics, _ = _run(tmp_path, "timetable_columns")
    cal = icalendar.Calendar.from_ical(ics)
    series = cal.walk("VEVENT")
    assert all("RRULE" in v for v in series)
    assert any("EXDATE" in v for v in series) == any(e["exdate"] for e in doc["events"])
    doc, ics, _ = _run(tmp_path, "term_table")
    ranged = [e for e in doc["events"] if e["end"]]
    assert ranged and all(e["all_day"] for e in doc["events"])
    by_title = {str(v["summary"]): v for v in icalendar.Calendar.from_ical(ics).walk("VEVENT")}
    for e in ranged:
        v = by_title[e["title"]]
        assert v["dtstart"].dt == date.fromisoformat(e["start"])
        assert v["dtend"].dt == date.fromisoformat(e["end"]) + timedelta(days=1)


def test_zoned_events_carry_a_vtimezone(tmp_path: Path) -> None:
    doc, ics, _ = _run(tmp_path, "zones_column")
    cal = icalendar.Calendar.from_ical(ics)
    zones = {str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")}
    assert zones == {e["timezone"] for e in doc["events"]}
    for v in cal.walk("VEVENT"):
        assert str(v["dtstart"].params["TZID"]) in zones


def test_uids_are_stable_across_runs(tmp_path: Path) -> None:
    _, first, _ = _run(tmp_path / "a", "fixtures_columns")
    _, second, _ = _run(tmp_path / "b", "fixtures_columns")

    def uids(data: bytes) -> list[str]:
        return [str(v["uid"]) for v in icalendar.Calendar.from_ical(data).walk("VEVENT")]

    assert uids(first) == uids(second)


def test_review_outlines_every_event(tmp_path: Path) -> None:
    doc, _, page = _run(tmp_path, "programme_tracks", "de")
    assert page.count("<rect class=") == len(doc["events"])
    assert page.count("data:image/png;base64,") == 1


def test_cli_writes_the_three_artifacts(tmp_path: Path) -> None:
    pdf = tmp_path / "roster.pdf"
    pdf.write_bytes(make_sample("roster_people_rows", "fr", 1).pdf)
    result = CliRunner().invoke(schedule, [str(pdf), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "calendar.ics", "events.json", "review.html"
    ]  # fmt: skip
    bad = CliRunner().invoke(schedule, [str(pdf), "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 2 and "Mars/Olympus" in bad.output


def test_unknown_time_zone_is_invalid_input() -> None:
    gen = Registry.from_entry_points().get("schedule")
    with pytest.raises(InvalidInput):
        gen.parse_input({"pdf": "x.pdf", "timezone": "Mars/Olympus"})
