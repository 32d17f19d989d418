"""Job events (state changes, progress, artifacts), stored in the job's own transaction so
a subscriber replaying them by id never misses or repeats one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, text

from renderhouse.store.schema import job_events

EVENTS_CHANNEL = "renderhouse_events"


def _notify(conn: Connection, job_ids: Iterable[str]) -> None:
    """Wake event streams on other processes (PostgreSQL delivers at commit); SQLite ones poll."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted(set(job_ids))
    for i in range(0, len(ids), 200):  # one round trip per 200 jobs; payloads stay < 8000 B
        payload = ",".join(ids[i : i + 200])
        conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": EVENTS_CHANNEL, "p": payload})


def record(conn: Connection, job_id: str, type_: str, data: dict[str, Any], ts: float) -> None:
    conn.execute(insert(job_events).values(job_id=job_id, ts=ts, type=type_, data=json.dumps(data)))
    _notify(conn, [job_id])


def record_many(
    conn: Connection,
    rows: Iterable[tuple[str, str, dict[str, Any]]],
    ts: float,
    *,
    notify: bool = True,
) -> None:
    """``notify=False`` for brand-new jobs: nobody can be following a job that did not
    exist, and the round trip is saved on every enqueue."""
    values = [
        {"job_id": job_id, "ts": ts, "type": type_, "data": json.dumps(data)}
        for job_id, type_, data in rows
    ]
    if values:
        conn.execute(insert(job_events), values)
        if notify:
            _notify(conn, [str(v["job_id"]) for v in values])


def since(
    conn: Connection, job_id: str, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(job_events)
        .where(job_events.c.job_id == job_id, job_events.c.id > after_id)
        .order_by(job_events.c.id)
        .limit(limit)
    ).all()
    return [{"id": r.id, "ts": r.ts, "type": r.type, "data": json.loads(r.data)} for r in rows]
