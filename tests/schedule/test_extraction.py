"""The extractor against the synthetic corpus: every family, tuned and held-out templates,
all four languages. The benchmark runs more documents per cell; this keeps CI fast."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from renderhouse.generators.schedule.extract import extract
from tests.schedule.corpus import HELD_OUT, TUNED, make_corpus, split_of
from tests.schedule.corpus.score import Counts, expand, match, token_set_similarity


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Counts]]:
    out: dict[str, dict[str, Counts]] = {
        "family": defaultdict(Counts),
        "split": defaultdict(Counts),
        "expanded": defaultdict(Counts),
    }
    folder = tmp_path_factory.mktemp("corpus")
    for s in make_corpus(per_cell=1, seed0=100):
        path = folder / f"{s.name}.pdf"
        path.write_bytes(s.pdf)
        got = [e.to_dict() for e in extract(path).events]
        c = match(s.events, got)
        out["family"][s.family].add(c)
        out["split"][split_of(s.template)].add(c)
        out["expanded"]["all"].add(match(expand(s.events), expand(got)))
    return out


def test_every_family_scores_f1_at_least_095(scores: dict[str, dict[str, Counts]]) -> None:
    assert set(scores["family"]) == {
        "timetable", "roster", "fixtures", "programme", "term", "newsletter", "zones"
    }  # fmt: skip
    low = {f: round(c.f1, 3) for f, c in scores["family"].items() if c.f1 < 0.95}
    assert not low, low


def test_held_out_templates_score_like_tuned_ones(scores: dict[str, dict[str, Counts]]) -> None:
    assert len(TUNED) == len(HELD_OUT) == 7
    assert scores["split"]["held_out"].f1 >= 0.95
    assert scores["split"]["tuned"].f1 >= 0.95
    assert scores["split"]["late"].f1 >= 0.95
    assert scores["expanded"]["all"].f1 >= 0.95


def test_scorer_refuses_near_misses() -> None:
    truth = [{"title": "Spring concert", "start": "2026-03-14T19:30:00", "end": None,
              "all_day": False}]  # fmt: skip
    late = [{**truth[0], "start": "2026-03-14T19:32:00"}]
    other = [{**truth[0], "title": "Quiz night"}]
    all_day = [{**truth[0], "start": "2026-03-14", "all_day": True}]
    assert match(truth, truth).f1 == 1.0
    for wrong in (late, other, all_day):
        assert match(truth, wrong).f1 == 0.0
    assert token_set_similarity("Riverside United v Harbour Town", "Riverside United vs "
                                "Harbour Town") >= 0.8  # fmt: skip


def test_struck_and_postponed_rows_are_not_events(tmp_path: Path) -> None:
    from tests.schedule.corpus import make_sample

    sample = next(
        s
        for k in range(40)
        if (s := make_sample("fixtures_columns", "en", k)).pages == 2 and s.skipped
    )
    path = tmp_path / "f.pdf"
    path.write_bytes(sample.pdf)
    got = [e.to_dict() for e in extract(path).events]
    assert match(sample.events, got).f1 == 1.0
    assert {e["source"]["page"] for e in got} == {1, 2}


@pytest.mark.parametrize(
    "template", ["timetable_columns", "roster_dates_rows", "fixtures_columns", "newsletter_dash"]
)
def test_pdfium_and_pdfplumber_readers_agree(tmp_path: Path, template: str) -> None:
    from tests.schedule.corpus import make_sample

    path = tmp_path / "in.pdf"
    path.write_bytes(make_sample(template, "de", 11).pdf)
    fast = [e.to_dict() for e in extract(path, reader="pdfium").events]
    reference = [e.to_dict() for e in extract(path, reader="pdfplumber").events]
    assert fast and match(reference, fast).f1 == 1.0
