"""Prometheus series a job kind reports through its result: a succeeded job's result may
carry ``metrics: {name: value}``, and each name on the allow-list below becomes a series
labelled by kind (the seed KPIs: plan-cache hit rate, cost per render, brand-compliance
score). Names off the list, and values of the wrong type, are ignored: a generator cannot
create series or labels of its own, so a plugin can never blow up the cardinality.

Recorded by the worker that completed the job, through the generic hook
``metrics.result_reported`` (which also holds the schedule kinds' allow-list); shared across
processes like every event metric."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

COST_BUCKETS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
SCORE_BUCKETS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100)

PLAN_CACHE = Counter(
    "renderhouse_plan_cache_lookups",
    "Plan-cache lookups by jobs (hit rate = hit / all).",
    ["kind", "result"],
)
JOB_COST = Histogram(
    "renderhouse_job_cost_usd",
    "Provider cost per succeeded job in US dollars (0 when no paid call was made).",
    ["kind"],
    buckets=COST_BUCKETS,
)
COMPLIANCE = Histogram(
    "renderhouse_compliance_score",
    "Brand-compliance score (0-100) of each succeeded job's picture(s).",
    ["kind"],
    buckets=SCORE_BUCKETS,
)


def _flag(kind: str, value: Any) -> None:
    if isinstance(value, bool):
        PLAN_CACHE.labels(kind, "hit" if value else "miss").inc()


def _number(histogram: Histogram, low: float, high: float) -> Callable[[str, Any], None]:
    def observe(kind: str, value: Any) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and math.isfinite(value) and low <= value <= high:
            histogram.labels(kind).observe(float(value))

    return observe


ALLOWED: dict[str, Callable[[str, Any], None]] = {
    "plan_cache_hit": _flag,
    "cost_usd": _number(JOB_COST, 0.0, 1e6),
    "compliance_score": _number(COMPLIANCE, 0.0, 100.0),
}
"""Result metric name → how it is recorded. Add a name here to let kinds report it."""


def record(kind: str, result: Any) -> None:
    """The allowed metrics of a succeeded job's ``result``."""
    reported = result.get("metrics") if isinstance(result, dict) else None
    if not isinstance(reported, dict):
        return
    for name, value in reported.items():
        recorder = ALLOWED.get(name) if isinstance(name, str) else None
        if recorder is not None:
            recorder(kind, value)
