"""Maintenance duty: delete finished jobs (with their events, attempts and artifact rows)
once they are older than the retention period. Stored artifact files are deleted through
``on_artifact`` first, so nothing is orphaned in storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select

from renderhouse.queue.jobs import TERMINAL
from renderhouse.queue.queue import JobQueue
from renderhouse.store.schema import artifacts, job_attempts, job_events, jobs


def prune(
    queue: JobQueue,
    retention_seconds: float,
    on_artifact: Callable[[dict[str, Any]], None] | None = None,
    batch: int = 500,
) -> int:
    """Delete up to ``batch`` expired jobs; returns how many were deleted."""
    cutoff = queue.clock.now() - retention_seconds
    with queue.store.begin() as conn:
        ids = [
            r.id
            for r in conn.execute(
                select(jobs.c.id)
                .where(jobs.c.state.in_(sorted(TERMINAL)), jobs.c.finished_at < cutoff)
                .limit(batch)
            ).all()
        ]
        if not ids:
            return 0
        if on_artifact is not None:
            for row in conn.execute(select(artifacts).where(artifacts.c.job_id.in_(ids))).all():
                on_artifact(dict(row._mapping))
        for table in (artifacts, job_events, job_attempts):
            conn.execute(delete(table).where(table.c.job_id.in_(ids)))
        conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))
    return len(ids)
