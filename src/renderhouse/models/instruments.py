"""Per-model Prometheus series on ``/metrics``: requests by outcome, tokens, credits
charged, latency, time to first token, fallbacks taken and each deployment's breaker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from renderhouse.models.deployments import Deployment
from renderhouse.worker.breaker import CLOSED, HALF_OPEN, OPEN

REQUESTS = Counter(
    "renderhouse_llm_requests", "Chat requests by model and outcome.", ["model", "outcome"]
)
TOKENS = Counter("renderhouse_llm_tokens", "Tokens by model and direction.", ["model", "direction"])
COST = Counter("renderhouse_llm_cost_credits", "Credits charged for chat requests.", ["model"])
LATENCY = Histogram(
    "renderhouse_llm_latency_seconds",
    "Whole chat request time (the stream's end for streams).",
    ["model"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TTFT = Histogram(
    "renderhouse_llm_time_to_first_token_seconds",
    "Time to the first streamed event.",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FALLBACKS = Counter(
    "renderhouse_llm_fallbacks",
    "Requests answered by another deployment than the first.",
    ["model"],
)
BREAKER = Gauge(
    "renderhouse_llm_breaker_state",
    "A deployment's breaker: 0 closed, 1 half-open, 2 open.",
    ["deployment"],
)
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def observe_breakers(deployments: list[Deployment]) -> None:
    for d in deployments:
        BREAKER.labels(d.id).set(STATE_VALUE.get(d.breaker.state, 0))
