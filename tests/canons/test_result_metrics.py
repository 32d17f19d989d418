"""The render KPIs a job reports in ``result["metrics"]`` become Prometheus series through
the platform's generic hook, only from the allow-list: a result cannot mint series."""

from __future__ import annotations

import math

from prometheus_client import REGISTRY

from renderhouse import metrics


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_allowed_render_metrics_become_series() -> None:
    kind = "render_metrics_test"
    metrics.result_reported(
        kind, {"metrics": {"plan_cache_hit": True, "cost_usd": 0.04, "compliance_score": 97.5}}
    )
    metrics.result_reported(
        kind, {"metrics": {"plan_cache_hit": False, "cost_usd": 0.0, "compliance_score": 40}}
    )
    assert value("renderhouse_plan_cache_lookups_total", kind=kind, result="hit") == 1
    assert value("renderhouse_plan_cache_lookups_total", kind=kind, result="miss") == 1
    assert value("renderhouse_job_cost_usd_count", kind=kind) == 2
    assert math.isclose(value("renderhouse_job_cost_usd_sum", kind=kind), 0.04)
    assert value("renderhouse_job_cost_usd_bucket", kind=kind, le="0.05") == 2
    assert value("renderhouse_job_cost_usd_bucket", kind=kind, le="0.02") == 1
    assert value("renderhouse_compliance_score_bucket", kind=kind, le="50.0") == 1
    body, _ = metrics.render()
    assert f'renderhouse_plan_cache_lookups_total{{kind="{kind}",result="hit"}} 1.0' in (
        body.decode()
    )


def test_anything_else_is_ignored() -> None:
    kind = "render_metrics_junk"
    for result in (
        None,
        {"metrics": "lots"},
        {"metrics": {"plan_cache_hit": 1, "cost_usd": "0.1", "compliance_score": 101}},
        {"metrics": {"cost_usd": math.nan, "compliance_score": -1, "made_up": 5}},
        {"metrics": {"cost_usd": math.inf, 3: 4, "compliance_score": True}},
    ):
        metrics.result_reported(kind, result)
    for name in (
        "renderhouse_job_cost_usd_count",
        "renderhouse_compliance_score_count",
    ):
        assert value(name, kind=kind) == 0
    for result in ("hit", "miss"):
        assert value("renderhouse_plan_cache_lookups_total", kind=kind, result=result) == 0
    assert "made_up" not in metrics.render()[0].decode()
