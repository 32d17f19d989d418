# ruff: noqa: RUF001
"""Dates and clock times as the four languages write them."""

from datetime import date, time

import pytest

from renderhouse.generators.schedule import dates as D
from renderhouse.generators.schedule.reading import Reading, date_spans, read_document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14. März 2026", date(2026, 3, 14)),
        ("jueves, 5 de marzo de 2026", date(2026, 3, 5)),
        ("March 14, 2026", date(2026, 3, 14)),
        ("Sat 14 March 2026", date(2026, 3, 14)),
        ("le 1er mars 2026", date(2026, 3, 1)),
        ("14.03.2026", date(2026, 3, 14)),
        ("2026-03-14", date(2026, 3, 14)),
        ("03/14/2026", date(2026, 3, 14)),
        ("14-Mar-2026", date(2026, 3, 14)),
        ("Monday 2nd of March 2026", date(2026, 3, 2)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    spans = date_spans(text, Reading(year=2025))
    assert [s[0] for s in spans] == [expected]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("18h30", time(18, 30), None),
        ("19 Uhr", time(19), None),
        ("7:30 p.m.", time(19, 30), None),
        ("noon", time(12), None),
        ("09.00 – 10.30", time(9), time(10, 30)),
        ("9–11 am", time(9), time(11)),
        ("22:00-06:00", time(22), time(6)),
        ("19–21 Uhr", time(19), time(21)),
        ("7-9pm", time(19), time(21)),
    ],
)
def test_times(text: str, start: time, end: time | None) -> None:
    assert D.parse_time_range(text) == (start, end)


def test_a_date_is_not_a_time() -> None:
    assert D.find_times("14.03.2026") == []
    assert D.find_times("2026") == []


def test_ranges_carry_month_and_year_backwards() -> None:
    r = Reading(year=2026)
    assert [(a, b) for a, b, _ in date_spans("26.–30. Oktober 2026", r)] == [
        (date(2026, 10, 26), date(2026, 10, 30))
    ]
    assert [(a, b) for a, b, _ in date_spans("7 September – 18 December 2026", r)] == [
        (date(2026, 9, 7), date(2026, 12, 18))
    ]


def test_date_order_is_inferred_from_unambiguous_dates() -> None:
    mdy = read_document("03/04/2026\n12/25/2026", date_order=None, year=None, timezone=None)
    dmy = read_document("03/04/2026\n25/12/2026", date_order=None, year=None, timezone=None)
    unknown = read_document("03/04/2026", date_order=None, year=None, timezone=None)
    assert (mdy.date_order, mdy.order_stated) == ("MDY", True)
    assert (dmy.date_order, dmy.order_stated) == ("DMY", True)
    assert unknown.order_stated is False
    assert date_spans("03/04/2026", mdy)[0][0] == date(2026, 3, 4)
    assert date_spans("03/04/2026", dmy)[0][0] == date(2026, 4, 3)
