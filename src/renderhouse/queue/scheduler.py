"""Maintenance duty: scheduled jobs. A job with ``run_at`` in the future is simply not
claimable until then; nobody NOTIFYs when that moment comes, so the worker asks the
scheduler when the next one is due and sleeps exactly until then (or its poll interval)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from renderhouse.queue.jobs import QUEUED
from renderhouse.store.schema import jobs


def next_run_at(
    conn: Connection, kinds: Sequence[str], skip_owners: Sequence[str] = ()
) -> float | None:
    """When the earliest queued job of ``kinds`` (not of ``skip_owners``) becomes (or
    became) due."""
    stmt = select(func.min(jobs.c.run_at)).where(
        jobs.c.state == QUEUED, jobs.c.kind.in_(list(kinds))
    )
    if skip_owners:
        stmt = stmt.where(jobs.c.owner.not_in(list(skip_owners)))
    return conn.execute(stmt).scalar_one_or_none()


def wait_seconds(due: float | None, now: float, poll: float) -> float:
    """How long an idle worker may sleep: until the next due job, at most ``poll``."""
    if due is None:
        return poll
    return min(poll, max(0.0, due - now))
