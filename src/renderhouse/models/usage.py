"""One row per chat request, API or job, written when it settles: who (user, key), what
(model, deployment), how much (tokens, credits charged), how it went (ok or error code,
latency, time to first token). ``GET /v1/usage`` and the admin analytics read it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    case,
    func,
    select,
    text,
)

from renderhouse.models import probe_leases as _probe_leases  # noqa: F401  (its table joins the metadata with this one)
from renderhouse.models.health import percentile, rfc3339
from renderhouse.store.schema import metadata

model_usage = Table(
    "model_usage",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("request_id", String(32), nullable=False, unique=True),
    Column("owner", String(64), nullable=False),
    Column("key_prefix", String(32)),
    Column("model", String(64), nullable=False),
    Column("deployment", String(80)),
    # where the request came from: api, ws, job:<kind> for a generator's ctx.llm, or probe
    # (the opt-in active health probe, owner system:probe, charged to nobody)
    Column("source", String(40), nullable=False),
    Column("job_id", String(40)),
    Column("ok", Boolean, nullable=False),
    Column("error_code", String(48)),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("created_at", Float, nullable=False),
)
Index("ix_model_usage_owner", model_usage.c.owner, model_usage.c.created_at)
Index("ix_model_usage_model", model_usage.c.model, model_usage.c.created_at)

MAX_ANALYTICS_ROWS = 200_000


_COLUMNS = [c.name for c in model_usage.columns if c.name != "id"]
RECORD_ONCE_SQL = (
    f"INSERT INTO model_usage ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
    "ON CONFLICT (request_id) DO NOTHING RETURNING id"
)
_RECORD_ONCE = text(RECORD_ONCE_SQL)
"""Prebuilt: it runs for every request (charges.py says why)."""


def record(conn: Connection, **values: Any) -> bool:
    """Insert the request's row once; False when it was recorded already."""
    return conn.execute(_RECORD_ONCE, values).first() is not None


def summary(
    conn: Connection, *, since: float, until: float, owner: str | None = None
) -> list[dict[str, Any]]:
    """Per model (and owner when not given): requests, errors, tokens and credits."""
    u = model_usage.c
    stmt = (
        select(
            u.model,
            func.count().label("requests"),
            func.sum(case((u.ok.is_(False), 1), else_=0)).label("errors"),
            func.coalesce(func.sum(u.prompt_tokens), 0).label("prompt_tokens"),
            func.coalesce(func.sum(u.completion_tokens), 0).label("completion_tokens"),
            func.coalesce(func.sum(u.cost), 0).label("cost"),
        )
        .where(u.created_at >= since, u.created_at < until)
        .group_by(u.model)
        .order_by(u.model)
    )
    if owner is not None:
        stmt = stmt.where(u.owner == owner)
    return [
        {
            "model": r.model,
            "requests": int(r.requests),
            "errors": int(r.errors or 0),
            "prompt_tokens": int(r.prompt_tokens),
            "completion_tokens": int(r.completion_tokens),
            "cost": int(r.cost),
        }
        for r in conn.execute(stmt).all()
    ]


def analytics(conn: Connection, *, since: float, until: float) -> dict[str, Any]:
    """Per model and source: requests, success rate, tokens, spend, latency p50/p95 and
    time to first token p50 (nearest rank) over the period, plus spend per user."""
    u = model_usage.c
    rows = conn.execute(
        select(
            u.model,
            u.source,
            u.ok,
            u.prompt_tokens,
            u.completion_tokens,
            u.cost,
            u.latency_ms,
            u.ttft_ms,
            u.owner,
        )
        .where(u.created_at >= since, u.created_at < until)
        .order_by(u.created_at.desc())
        .limit(MAX_ANALYTICS_ROWS)
    ).all()
    groups: dict[tuple[str, str], list[Any]] = {}
    owners: dict[str, int] = {}
    for r in rows:
        groups.setdefault((r.model, r.source), []).append(r)
        owners[r.owner] = owners.get(r.owner, 0) + int(r.cost)
    models = []
    for (model, source), rs in sorted(groups.items()):
        latencies = [float(r.latency_ms) for r in rs if r.ok]
        ttfts = [float(r.ttft_ms) for r in rs if r.ok and r.ttft_ms is not None]
        models.append(
            {
                "model": model,
                "kind": source,
                "requests": len(rs),
                "success_rate": round(sum(1 for r in rs if r.ok) / len(rs), 4),
                "prompt_tokens": sum(int(r.prompt_tokens) for r in rs),
                "completion_tokens": sum(int(r.completion_tokens) for r in rs),
                "spend": sum(int(r.cost) for r in rs),
                "latency_p50_ms": percentile(latencies, 0.5),
                "latency_p95_ms": percentile(latencies, 0.95),
                "ttft_p50_ms": percentile(ttfts, 0.5),
            }
        )
    return {
        "since": rfc3339(since),
        "until": rfc3339(until),
        "truncated": len(rows) >= MAX_ANALYTICS_ROWS,
        "models": models,
        "spend_by_user": [{"user": k, "spend": v} for k, v in sorted(owners.items())],
    }
