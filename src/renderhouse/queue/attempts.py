"""What a worker does to the jobs it holds: claim, heartbeat, report, finish.

Every call after the claim is fenced by the attempt number: it only applies while the job
is still ``running`` on that same attempt, so a stale worker (its lease expired and the job
was handed to someone else) is refused with ``StaleAttempt`` instead of corrupting the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select, tuple_, update

from renderhouse.errors import StaleAttempt
from renderhouse.queue import events
from renderhouse.queue.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, Job
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.dialect import Dialect, upsert_insert
from renderhouse.store.schema import artifacts, job_attempts, jobs

TerminalHook = Callable[[Connection, Job], None]
"""Called in the same transaction as a job's move to a terminal state (the ledger's seam)."""


def claim(
    conn: Connection,
    dialect: Dialect,
    kinds: Sequence[str],
    limit: int,
    worker_id: str,
    now: float,
    lease_seconds: float,
    skip_owners: Sequence[str] = (),
) -> list[Job]:
    """Move up to ``limit`` due jobs of ``kinds`` to running: highest priority first, then
    fair-queueing key (owners interleaved), then id. ``skip_owners``: owners throttled by
    the worker's failure budget."""
    if limit <= 0 or not kinds:
        return []
    pick = (
        select(jobs.c.id)
        .where(jobs.c.state == QUEUED, jobs.c.kind.in_(list(kinds)), jobs.c.run_at <= now)
        .order_by(jobs.c.priority.desc(), jobs.c.fair_key, jobs.c.id)
        .limit(limit)
    )
    if skip_owners:
        pick = pick.where(jobs.c.owner.not_in(list(skip_owners)))
    pick = dialect.lock_for_claim(pick)
    rows = conn.execute(
        update(jobs)
        .where(jobs.c.id.in_(pick.scalar_subquery()))
        .values(
            state=RUNNING,
            attempt=jobs.c.attempt + 1,
            worker_id=worker_id,
            lease_expires_at=now + lease_seconds,
            started_at=func.coalesce(jobs.c.started_at, now),
            attempted_at=now,
            updated_at=now,
        )
        .returning(*jobs.c)
    ).all()
    claimed = sorted((Job.from_row(r) for r in rows), key=lambda j: (-j.priority, j.created_at))
    events.record_many(
        conn, [(j.id, "state", {"state": RUNNING, "attempt": j.attempt}) for j in claimed], now
    )
    return claimed


def _fenced(job_id: str, attempt: int) -> Any:
    return and_(jobs.c.id == job_id, jobs.c.attempt == attempt, jobs.c.state == RUNNING)


def _require_row(conn: Connection, job_id: str) -> Job:
    return Job.from_row(conn.execute(select(jobs).where(jobs.c.id == job_id)).one())


def _require(conn: Connection, job_id: str, attempt: int, *, lock: bool = False) -> Job:
    stmt = select(jobs).where(_fenced(job_id, attempt))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise StaleAttempt(
            f"attempt {attempt} of job {job_id} is no longer current; its result is discarded",
            details={"job_id": job_id, "attempt": attempt},
        )
    return Job.from_row(row)


def heartbeat(
    conn: Connection, held: Sequence[tuple[str, int]], now: float, lease_seconds: float
) -> tuple[set[str], set[str]]:
    """Renew the leases of ``held`` (job id, attempt) pairs. Returns (ids still held,
    ids whose cancellation was requested)."""
    if not held:
        return set(), set()
    rows = conn.execute(
        update(jobs)
        .where(tuple_(jobs.c.id, jobs.c.attempt).in_(list(held)), jobs.c.state == RUNNING)
        .values(lease_expires_at=now + lease_seconds)
        .returning(jobs.c.id, jobs.c.cancel_requested)
    ).all()
    return {r.id for r in rows}, {r.id for r in rows if r.cancel_requested}


def cancel_requested(conn: Connection, held: Sequence[tuple[str, int]]) -> set[str]:
    if not held:
        return set()
    rows = conn.execute(
        select(jobs.c.id).where(
            tuple_(jobs.c.id, jobs.c.attempt).in_(list(held)), jobs.c.cancel_requested.is_(True)
        )
    ).all()
    return {r.id for r in rows}


def progress(
    conn: Connection, job_id: str, attempt: int, done: float, total: float, message: str, now: float
) -> None:
    res = conn.execute(
        update(jobs)
        .where(_fenced(job_id, attempt))
        .values(
            progress_done=done, progress_total=total, progress_message=message[:500], updated_at=now
        )
    )
    if res.rowcount == 0:
        _require(conn, job_id, attempt)
    events.record(
        conn, job_id, "progress", {"done": done, "total": total, "message": message[:500]}, now
    )


def save_checkpoint(
    conn: Connection, job_id: str, attempt: int, state: dict[str, Any], now: float
) -> None:
    res = conn.execute(
        update(jobs)
        .where(_fenced(job_id, attempt))
        .values(checkpoint=json.dumps(state), updated_at=now)
    )
    if res.rowcount == 0:
        _require(conn, job_id, attempt)


def add_artifact(
    conn: Connection, job_id: str, attempt: int, ref: dict[str, Any], now: float
) -> None:
    # Touch the job row first (fenced): it locks the row, so this job's events are written
    # one transaction at a time and an event stream replaying by id never skips one.
    res = conn.execute(update(jobs).where(_fenced(job_id, attempt)).values(updated_at=now))
    if res.rowcount == 0:
        _require(conn, job_id, attempt)
    values = {**ref, "job_id": job_id, "created_at": now}
    stmt = upsert_insert(conn, artifacts).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[artifacts.c.job_id, artifacts.c.name],
        set_={k: values[k] for k in ("key", "content_type", "size", "sha256", "created_at")},
    )
    conn.execute(stmt)
    events.record(conn, job_id, "artifact", {"name": ref["name"], "size": ref["size"]}, now)


def _close_attempt(
    conn: Connection, job: Job, outcome: str, now: float, error: tuple[str, str, str | None] | None
) -> None:
    code, message, tb = error if error else (None, None, None)
    conn.execute(
        insert(job_attempts).values(
            job_id=job.id,
            attempt=job.attempt,
            worker_id=job.worker_id,
            started_at=job.attempted_at or now,
            finished_at=now,
            outcome=outcome,
            error_code=code,
            error_message=message,
            traceback=tb,
        )
    )


def _terminal(
    conn: Connection, job: Job, state: str, now: float, hooks: Sequence[TerminalHook], **values: Any
) -> Job:
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id)
        .values(state=state, finished_at=now, updated_at=now, lease_expires_at=None, **values)
        .returning(*jobs.c)
    ).one()
    done = Job.from_row(row)
    events.record(conn, job.id, "state", {"state": state, "error_code": done.error_code}, now)
    for hook in hooks:
        hook(conn, done)
    return done


def complete(
    conn: Connection,
    job_id: str,
    attempt: int,
    result: dict[str, Any],
    now: float,
    hooks: Sequence[TerminalHook],
    cost: int | None = None,
) -> Job:
    """One fenced UPDATE decides it: no row means the attempt is stale."""
    values: dict[str, Any] = {
        "state": SUCCEEDED,
        "result": json.dumps(result),
        "error_code": None,
        "error_message": None,
        "progress_done": jobs.c.progress_total,
        "finished_at": now,
        "updated_at": now,
        "lease_expires_at": None,
    }
    if cost is not None:
        values["cost_posted"] = cost
    row = conn.execute(
        update(jobs).where(_fenced(job_id, attempt)).values(**values).returning(*jobs.c)
    ).first()
    if row is None:
        _require(conn, job_id, attempt)
    done = Job.from_row(row)
    _close_attempt(conn, done, SUCCEEDED, now, None)
    events.record(conn, job_id, "state", {"state": SUCCEEDED, "error_code": None}, now)
    for hook in hooks:
        hook(conn, done)
    return done


def complete_many(
    conn: Connection,
    items: Sequence[tuple[str, int, dict[str, Any], int | None]],
    now: float,
    hooks: Sequence[TerminalHook],
) -> dict[str, Job]:
    """Complete many (job id, attempt, result, cost) at once: one fenced UPDATE, one insert
    of attempt rows and one of events (a worker's group commit). Returns the jobs that were
    completed; the others were stale and are left untouched."""
    if not items:
        return {}
    by_id = {job_id: (result, cost) for job_id, _, result, cost in items}
    result_case = case(
        {job_id: json.dumps(result) for job_id, (result, _) in by_id.items()}, value=jobs.c.id
    )
    costs = {job_id: cost for job_id, (_, cost) in by_id.items() if cost is not None}
    values: dict[str, Any] = {
        "state": SUCCEEDED,
        "result": result_case,
        "error_code": None,
        "error_message": None,
        "progress_done": jobs.c.progress_total,
        "finished_at": now,
        "updated_at": now,
        "lease_expires_at": None,
    }
    if costs:
        values["cost_posted"] = case(costs, value=jobs.c.id, else_=jobs.c.cost_posted)
    rows = conn.execute(
        update(jobs)
        .where(
            tuple_(jobs.c.id, jobs.c.attempt).in_([(i, a) for i, a, _, _ in items]),
            jobs.c.state == RUNNING,
        )
        .values(**values)
        .returning(*jobs.c)
    ).all()
    done = {j.id: j for j in (Job.from_row(r) for r in rows)}
    if not done:
        return done
    conn.execute(
        insert(job_attempts),
        [
            {
                "job_id": j.id,
                "attempt": j.attempt,
                "worker_id": j.worker_id,
                "started_at": j.attempted_at or now,
                "finished_at": now,
                "outcome": SUCCEEDED,
                "error_code": None,
                "error_message": None,
                "traceback": None,
            }
            for j in done.values()
        ],
    )
    events.record_many(
        conn,
        [(j.id, "state", {"state": SUCCEEDED, "error_code": None}) for j in done.values()],
        now,
    )
    for j in done.values():
        for hook in hooks:
            hook(conn, j)
    return done


def fail(
    conn: Connection,
    job_id: str,
    attempt: int,
    code: str,
    message: str,
    now: float,
    policy: RetryPolicy,
    hooks: Sequence[TerminalHook],
    *,
    traceback: str | None = None,
    retryable: bool = True,
    retry_after: float | None = None,
) -> Job:
    """End the attempt in failure: back to ``queued`` after a backoff while attempts remain,
    otherwise ``failed`` for good. The checkpoint is kept for the next attempt."""
    job = _require(conn, job_id, attempt, lock=True)
    _close_attempt(conn, job, FAILED, now, (code, message, traceback))
    if retryable and job.attempts_spent < job.max_attempts and not job.cancel_requested:
        delay = retry_after if retry_after is not None else policy.delay(job.attempts_spent)
        row = conn.execute(
            update(jobs)
            .where(jobs.c.id == job.id)
            .values(
                state=QUEUED,
                run_at=now + delay,
                lease_expires_at=None,
                worker_id=None,
                error_code=code,
                error_message=message[:4000],
                updated_at=now,
            )
            .returning(*jobs.c)
        ).one()
        events.record(
            conn, job.id, "state", {"state": QUEUED, "retry_in": delay, "error_code": code}, now
        )
        return Job.from_row(row)
    final = CANCELLED if job.cancel_requested else FAILED
    return _terminal(conn, job, final, now, hooks, error_code=code, error_message=message[:4000])


def cancel_running(
    conn: Connection,
    job_id: str,
    attempt: int,
    reason: str,
    now: float,
    hooks: Sequence[TerminalHook],
) -> Job:
    job = _require(conn, job_id, attempt, lock=True)
    _close_attempt(conn, job, CANCELLED, now, ("cancelled", reason, None))
    return _terminal(conn, job, CANCELLED, now, hooks, error_code="cancelled", error_message=reason)


def _park(conn: Connection, job: Job, run_at: float, now: float, event: dict[str, Any]) -> Job:
    """Back to queued until ``run_at`` without spending an attempt (snooze, hand-back,
    fan-out): the claim that brought it here is counted in ``snoozes``."""
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id)
        .values(
            state=QUEUED,
            run_at=run_at,
            snoozes=jobs.c.snoozes + 1,
            lease_expires_at=None,
            worker_id=None,
            updated_at=now,
        )
        .returning(*jobs.c)
    ).one()
    events.record(conn, job.id, "state", {"state": QUEUED, **event}, now)
    return Job.from_row(row)


def snooze(
    conn: Connection, job_id: str, attempt: int, seconds: float, now: float, reason: str = "snoozed"
) -> Job:
    """Re-schedule without spending an attempt (also how a shutting-down worker hands back)."""
    job = _require(conn, job_id, attempt, lock=True)
    _close_attempt(conn, job, "snoozed", now, (reason, reason, None))
    return _park(conn, job, now + seconds, now, {"snoozed": seconds})


WAIT_FOR_CHILDREN = 365 * 86_400.0
"""How far a fanned-out job's run_at is pushed; the last child to end pulls it back to now."""


def fan_out(
    conn: Connection,
    dialect: Dialect,
    job_id: str,
    attempt: int,
    inputs: Sequence[dict[str, Any]],
    now: float,
) -> Job:
    """Spawn child jobs of the same kind (idempotently: a retried parent does not spawn
    twice) and park the parent, without spending an attempt, until they have all ended."""
    from renderhouse.queue.enqueue import NewJob, insert_jobs

    job = _require(conn, job_id, attempt, lock=True)
    children = [
        NewJob(
            kind=job.kind,
            input=dict(inp),
            owner=job.owner,
            priority=job.priority,
            max_attempts=job.max_attempts,
            timeout=job.timeout,
            parent_id=job.id,
            idempotency_key=f"fanout:{job.id}:{i}",
        )
        for i, inp in enumerate(inputs)
    ]
    insert_jobs(conn, dialect, children, now)
    _close_attempt(conn, job, "fanned_out", now, None)
    _park(conn, job, now + WAIT_FOR_CHILDREN, now, {"children": len(children)})
    _wake_parent(conn, job.id, now)
    return _require_row(conn, job.id)


def wake_parent(conn: Connection, child: Job) -> None:
    """Terminal hook: when a job's last sibling ends, its parent becomes due."""
    if child.parent_id is not None:
        _wake_parent(conn, child.parent_id, child.finished_at or child.updated_at)


def _wake_parent(conn: Connection, parent_id: str, now: float) -> None:
    lock = select(jobs.c.id).where(jobs.c.id == parent_id)
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()  # serialise siblings ending at once: one of them sees 0
    if conn.execute(lock).first() is None:
        return
    pending = conn.execute(
        select(func.count()).where(
            jobs.c.parent_id == parent_id, jobs.c.state.not_in(sorted(TERMINAL))
        )
    ).scalar_one()
    if pending == 0:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == parent_id, jobs.c.state == QUEUED)
            .values(run_at=now, updated_at=now)
        )


def expired(conn: Connection, dialect: Dialect, now: float, limit: int = 100) -> list[Job]:
    """Running jobs whose lease ran out: their worker died or lost its connection."""
    stmt = (
        select(jobs)
        .where(jobs.c.state == RUNNING, jobs.c.lease_expires_at < now)
        .order_by(jobs.c.lease_expires_at)
        .limit(limit)
    )
    return [Job.from_row(r) for r in conn.execute(dialect.lock_for_claim(stmt)).all()]
