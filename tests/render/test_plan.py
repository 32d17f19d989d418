"""The rules planner keeps every choice inside the canon; the plan cache plans once per
(brief, canon, model, planner) and counts its hits."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.plan import RULES_PLANNER, rules_plan
from renderhouse.generators.render.plan_cache import PlanCache, plan_key
from renderhouse.generators.render.planning import plan_for


@pytest.mark.parametrize(
    ("brief", "azimuth", "lighting", "height", "closeness"),
    [
        ("a calm front shot with room for a headline", 0.0, "soft", "mid", "wide"),
        ("dramatic low-angle hero shot from the side", 90.0, "contrast", "low", "mid"),
        ("overhead close-up detail", 30.0, "studio", "high", "close"),
        ("Product photo.", 30.0, "studio", "mid", "mid"),
    ],
)
def test_rules_planner_reads_the_brief_within_the_canon(
    canon: Canon, brief: str, azimuth: float, lighting: str, height: str, closeness: str
) -> None:
    plan = rules_plan(brief, canon)
    fr = canon.framing
    assert plan.azimuth == azimuth and plan.lighting == lighting
    assert fr.elevation_min <= plan.elevation <= fr.elevation_max
    assert fr.fill_min < plan.fill < fr.fill_max
    mid_fill = (fr.fill_min + fr.fill_max) / 2
    assert {"close": plan.fill > mid_fill, "wide": plan.fill < mid_fill}.get(
        closeness, plan.fill == mid_fill
    )
    expected_elevation = {
        "high": fr.elevation_max,
        "low": fr.elevation_min,
        "mid": (fr.elevation_min + fr.elevation_max) / 2,
    }[height]
    assert plan.elevation == expected_elevation
    assert plan.centre == fr.centre and plan.outputs == canon.outputs
    assert brief.strip() in plan.prompt and "#d22630" in plan.prompt
    assert plan == rules_plan(brief, canon)  # deterministic


def test_plan_cache_plans_once_per_request_and_counts(canon: Canon, tmp_path: Path) -> None:
    cache = PlanCache(tmp_path)
    first = plan_for("a calm front shot", canon, "a" * 64, cache)
    again = plan_for("a calm front shot", canon, "a" * 64, cache)
    assert (first.hit, again.hit) == (False, True) and first.plan == again.plan
    # another worker process sharing the directory finds it too
    other = PlanCache(tmp_path)
    assert plan_for("a calm front shot", canon, "a" * 64, other).hit is True
    # any part of the key changing plans again
    plan_for("a calm front shot", canon, "b" * 64, cache)
    plan_for("a dramatic front shot", canon, "a" * 64, cache)
    changed = canon.model_copy(update={"name": "other"})
    plan_for("a calm front shot", changed, "a" * 64, cache)
    assert cache.stats() == {"hits": 1, "misses": 4, "hit_rate": 0.2}


def test_plan_key_covers_every_part(canon: Canon) -> None:
    base = plan_key("b", canon, "m", RULES_PLANNER)
    assert base == plan_key("b", canon, "m", RULES_PLANNER)
    others = {
        plan_key("b2", canon, "m", RULES_PLANNER),
        plan_key("b", canon.model_copy(update={"name": "x"}), "m", RULES_PLANNER),
        plan_key("b", canon, "m2", RULES_PLANNER),
        plan_key("b", canon, "m", "llm-1"),
    }
    assert base not in others and len(others) == 4


def test_a_damaged_cache_entry_is_a_miss_and_is_replaced(canon: Canon, tmp_path: Path) -> None:
    cache = PlanCache(tmp_path)
    key = plan_key("brief", canon, "m", RULES_PLANNER)
    path = tmp_path / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"planner": "old", "azimuth": "not a number"}')
    planning = plan_for("brief", canon, "m", cache)
    assert planning.hit is False and cache.misses == 1
    again = plan_for("brief", canon, "m", cache)
    assert again.hit is True and again.plan == planning.plan
