"""The workers table: who is alive (readiness checks it) and the breakers they report."""

from __future__ import annotations

import json
import os
import socket

from sqlalchemy import delete, inspect, select

from renderhouse.store.database import Store
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import breakers, workers
from renderhouse.worker.breaker import CircuitBreaker


def register(store: Store, worker_id: str, kinds: list[str], now: float) -> None:
    with store.begin() as conn:
        stmt = upsert_insert(conn, workers).values(
            id=worker_id,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            kinds=json.dumps(kinds),
            started_at=now,
            heartbeat_at=now,
        )
        conn.execute(
            stmt.on_conflict_do_update(index_elements=[workers.c.id], set_={"heartbeat_at": now})
        )


def beat(store: Store, worker_id: str, now: float) -> None:
    with store.begin() as conn:
        conn.execute(workers.update().where(workers.c.id == worker_id).values(heartbeat_at=now))


def unregister(store: Store, worker_id: str) -> None:
    with store.begin() as conn:
        conn.execute(delete(workers).where(workers.c.id == worker_id))


def live_workers(store: Store, now: float, stale_after: float) -> list[dict[str, object]]:
    with store.read() as conn:
        rows = conn.execute(
            select(workers).where(workers.c.heartbeat_at >= now - stale_after)
        ).all()
    return [{**dict(r._mapping), "kinds": json.loads(r.kinds)} for r in rows]


def recent_workers(store: Store, since: float) -> list[tuple[str, int]]:
    """(hostname, pid) of workers that beat after ``since``; none if the table is missing
    (a database restored from a backup older than it)."""
    with store.read() as conn:
        if "workers" not in inspect(conn).get_table_names():
            return []
        rows = conn.execute(
            select(workers.c.hostname, workers.c.pid).where(workers.c.heartbeat_at > since)
        ).all()
    return [(str(r.hostname), int(r.pid)) for r in rows]


def lost_workers(store: Store, now: float, window: float) -> list[tuple[str, str, float]]:
    """(id, hostname, last beat) of workers whose last beat is older than ``window``
    (killed without unregistering)."""
    with store.read() as conn:
        rows = conn.execute(select(workers).where(workers.c.heartbeat_at < now - window)).all()
    return [(str(r.id), str(r.hostname), float(r.heartbeat_at)) for r in rows]


def save_breaker(store: Store, b: CircuitBreaker, now: float) -> None:
    with store.begin() as conn:
        values = {
            "state": b.state,
            "failures": b.failures,
            "opened_at": b.opened_at,
            "updated_at": now,
        }
        stmt = upsert_insert(conn, breakers).values(key=b.key, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[breakers.c.key], set_=values))


def breaker_states(store: Store) -> dict[str, dict[str, object]]:
    with store.read() as conn:
        return {r.key: dict(r._mapping) for r in conn.execute(select(breakers)).all()}
