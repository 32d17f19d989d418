"""Job events (state changes, progress, artifacts), stored in the job's own transaction so
a subscriber replaying them by id never misses or repeats one.

Other processes hear of them by PostgreSQL NOTIFY (delivered at commit) and, when a store
has a publisher (``publish_with``; Redis, see ``broadcast``), by one message per committed
transaction naming its jobs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select

from renderhouse.store.database import after_commit, transaction_values
from renderhouse.store.notify_sender import notify_after_commit
from renderhouse.store.schema import job_events

EVENTS_CHANNEL = "renderhouse_events"
PUBLISH_OPTION = "renderhouse_publish_events"
_PENDING = "renderhouse_events_pending"

Publish = Callable[[list[str]], object]


def publish_with(engine: Engine, publish: Publish | None) -> None:
    """After each commit that wrote events through ``engine``, call ``publish(job_ids)``."""
    engine.update_execution_options(**{PUBLISH_OPTION: publish})


def _publish_after_commit(conn: Connection, ids: list[str]) -> None:
    """One message per committed transaction, naming every job it wrote events for."""
    publish: Publish | None = conn.get_execution_options().get(PUBLISH_OPTION)
    if publish is None:
        return
    values = transaction_values(conn)
    pending: set[str] | None = values.get(_PENDING)
    if pending is not None:
        pending.update(ids)
        return
    pending = values[_PENDING] = set(ids)
    after_commit(conn, lambda: publish(sorted(pending)))


def _notify(conn: Connection, job_ids: Iterable[str]) -> None:
    """Wake event streams on other processes; without PostgreSQL or Redis they poll."""
    ids = sorted(set(job_ids))
    _publish_after_commit(conn, ids)
    if conn.dialect.name == "postgresql":
        notify_after_commit(conn, EVENTS_CHANNEL, ids)  # payloads: job ids joined by commas


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


def _event(row: Any) -> dict[str, Any]:
    return {"id": row.id, "ts": row.ts, "type": row.type, "data": json.loads(row.data)}


def since(
    conn: Connection, job_id: str, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(job_events)
        .where(job_events.c.job_id == job_id, job_events.c.id > after_id)
        .order_by(job_events.c.id)
        .limit(limit)
    ).all()
    return [_event(r) for r in rows]


def since_many(
    conn: Connection, wanted: Sequence[tuple[str, int]], limit: int = 1000
) -> dict[str, list[dict[str, Any]]]:
    """``since`` for several jobs, each named once with its own ``after_id``, in one query
    (one wake-up of many streams costs one round trip, not one per stream)."""
    if len(wanted) == 1:
        ((job_id, after_id),) = wanted
        return {job_id: since(conn, job_id, after_id, limit)}
    match = or_(*(and_(job_events.c.job_id == j, job_events.c.id > a) for j, a in wanted))
    rank = (
        func.row_number()
        .over(partition_by=job_events.c.job_id, order_by=job_events.c.id)
        .label("rank")
    )
    ranked = select(job_events, rank).where(match).subquery()
    rows = conn.execute(select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.id)).all()
    found: dict[str, list[dict[str, Any]]] = {job_id: [] for job_id, _ in wanted}
    for row in rows:
        found[row.job_id].append(_event(row))
    return found


def latest_id(conn: Connection) -> int:
    """The newest event's id (0 when there is none): where a follower starts."""
    return int(conn.execute(select(func.max(job_events.c.id))).scalar() or 0)


def changed_after(conn: Connection, after: int, limit: int = 10_000) -> list[tuple[int, str]]:
    """(event id, job id) of the events after ``after``, oldest first."""
    rows = conn.execute(
        select(job_events.c.id, job_events.c.job_id)
        .where(job_events.c.id > after)
        .order_by(job_events.c.id)
        .limit(limit)
    ).all()
    return [(int(r.id), str(r.job_id)) for r in rows]
