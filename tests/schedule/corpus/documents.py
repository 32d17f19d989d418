# ruff: noqa: RUF002
"""The templates, one function per (family, layout) in a module per family, split into
``TUNED`` and ``HELD_OUT``; and the corpus built from them."""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.schedule.corpus.fixtures import fixtures_columns, fixtures_shuffled
from tests.schedule.corpus.programmes import programme_pages, programme_tracks
from tests.schedule.corpus.rosters import roster_dates_rows, roster_people_rows
from tests.schedule.corpus.running_text import newsletter_colon, newsletter_dash
from tests.schedule.corpus.sample import LOCALES, Sample, ev
from tests.schedule.corpus.terms import term_compact, term_table
from tests.schedule.corpus.weekly import timetable_columns, timetable_rows
from tests.schedule.corpus.zones import zones_column, zones_inline

__all__ = ["HELD_OUT", "LOCALES", "TUNED", "Sample", "ev", "make_corpus", "make_sample"]

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
