"""What users and operators do to jobs: look them up, list, cancel, retry, count."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from renderhouse.errors import Conflict, NotFound
from renderhouse.queue import events
from renderhouse.queue.attempts import TerminalHook, _terminal
from renderhouse.queue.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, Job
from renderhouse.store.dialect import Dialect
from renderhouse.store.schema import artifacts, job_attempts, jobs


def get(conn: Connection, job_id: str, owner: str | None = None) -> Job:
    """The job, or NotFound (also for another owner's job, so ids don't leak)."""
    stmt = select(jobs).where(jobs.c.id == job_id)
    if owner is not None:
        stmt = stmt.where(jobs.c.owner == owner)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no job {job_id}", details={"job_id": job_id})
    return Job.from_row(row)


def list_jobs(
    conn: Connection,
    *,
    owner: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """Newest first; ``before_id`` is the cursor (ids are time-ordered)."""
    stmt = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if owner is not None:
        stmt = stmt.where(jobs.c.owner == owner)
    if state is not None:
        stmt = stmt.where(jobs.c.state == state)
    if kind is not None:
        stmt = stmt.where(jobs.c.kind == kind)
    if before_id is not None:
        stmt = stmt.where(jobs.c.id < before_id)
    return [Job.from_row(r) for r in conn.execute(stmt).all()]


def cancel(
    conn: Connection,
    dialect: Dialect,
    job_id: str,
    now: float,
    hooks: Sequence[TerminalHook],
    owner: str | None = None,
    reason: str = "cancelled by request",
) -> Job:
    """A queued job ends at once; a running one is flagged and its worker stops it."""
    job = get(conn, job_id, owner)
    if job.state in TERMINAL:
        return job
    for child in conn.execute(
        select(jobs.c.id).where(jobs.c.parent_id == job_id, jobs.c.state.not_in(sorted(TERMINAL)))
    ).all():
        cancel(conn, dialect, child.id, now, hooks, None, reason)
    if job.state == QUEUED:
        res = conn.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.state == QUEUED).values(updated_at=now)
        )
        if res.rowcount == 1:
            return _terminal(
                conn, job, CANCELLED, now, hooks, error_code="cancelled", error_message=reason
            )
        job = get(conn, job_id, owner)
    if job.state == RUNNING:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state == RUNNING)
            .values(cancel_requested=True, updated_at=now)
        )
        events.record(conn, job_id, "cancel_requested", {"reason": reason}, now)
        dialect.notify(conn, f"cancel:{job_id}")
    return get(conn, job_id, owner)


RetryHook = Callable[[Connection, Job], None]
"""Runs in the retry's transaction with the job back in ``queued`` (the ledger reserves
its price again); raising refuses the retry and leaves the job as it was."""


def retry(
    conn: Connection,
    dialect: Dialect,
    job_id: str,
    now: float,
    owner: str | None = None,
    hooks: Sequence[RetryHook] = (),
) -> Job:
    """Run a failed or cancelled job again, with a fresh allowance of one attempt."""
    job = get(conn, job_id, owner)
    if job.state not in (FAILED, CANCELLED):
        raise Conflict(
            f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried",
            details={"state": job.state},
        )
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == job.state)
        .values(
            state=QUEUED,
            run_at=now,
            max_attempts=jobs.c.attempt - jobs.c.snoozes + 1,
            cancel_requested=False,
            finished_at=None,
            error_code=None,
            error_message=None,
            cost_posted=None,  # the rerun's cost is not known yet
            updated_at=now,
        )
        .returning(*jobs.c)
    ).first()
    if row is None:  # a concurrent retry or cancel moved it first (PostgreSQL re-checks)
        now_state = get(conn, job_id, owner).state
        raise Conflict(
            f"job {job_id} changed while being retried (it is {now_state} now); "
            "only failed or cancelled jobs can be retried",
            details={"state": now_state},
        )
    retried = Job.from_row(row)
    for hook in hooks:
        hook(conn, retried)
    events.record(conn, job_id, "state", {"state": QUEUED, "retried": True}, now)
    dialect.notify(conn, job.kind)
    return retried


def children(conn: Connection, parent_id: str) -> list[dict[str, Any]]:
    """A fanned-out job's children, in spawn order, with their artifacts."""
    rows = [
        Job.from_row(r)
        for r in conn.execute(select(jobs).where(jobs.c.parent_id == parent_id)).all()
    ]
    rows.sort(key=lambda j: int((j.idempotency_key or "0").rsplit(":", 1)[-1]))
    out = []
    for j in rows:
        arts = [
            {k: a[k] for k in ("name", "key", "content_type", "size", "sha256")}
            for a in job_artifacts(conn, j.id)
        ]
        out.append(
            {
                "id": j.id,
                "state": j.state,
                "input": j.input,
                "result": j.result,
                "error_code": j.error_code,
                "artifacts": arts,
            }
        )
    return out


def attempts(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(job_attempts).where(job_attempts.c.job_id == job_id).order_by(job_attempts.c.attempt)
    ).all()
    return [dict(r._mapping) for r in rows]


def job_artifacts(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(artifacts).where(artifacts.c.job_id == job_id).order_by(artifacts.c.name)
    ).all()
    return [dict(r._mapping) for r in rows]


def stats(conn: Connection, now: float, owner: str | None = None) -> dict[str, dict[str, Any]]:
    """Per kind: count per state, and the age of the oldest due queued job (of ``owner``'s
    jobs only, if given)."""
    out: dict[str, dict[str, Any]] = {}
    counts = select(jobs.c.kind, jobs.c.state, func.count()).group_by(jobs.c.kind, jobs.c.state)
    oldest_due = (
        select(jobs.c.kind, func.min(jobs.c.run_at))
        .where(jobs.c.state == QUEUED, jobs.c.run_at <= now)
        .group_by(jobs.c.kind)
    )
    if owner is not None:
        counts, oldest_due = (
            counts.where(jobs.c.owner == owner),
            oldest_due.where(jobs.c.owner == owner),
        )
    for kind, state, n in conn.execute(counts).all():
        out.setdefault(kind, {"oldest_queued_age": 0.0})[state] = n
    for kind, oldest in conn.execute(oldest_due).all():
        out[kind]["oldest_queued_age"] = max(0.0, now - oldest)
    return out


def queued_count(conn: Connection, kind: str | None = None) -> int:
    """Queued jobs (of ``kind``): with a kind this counts entries of the claim index, a
    partial index over queued jobs led by kind, never the whole table."""
    query = select(func.count()).select_from(jobs).where(jobs.c.state == QUEUED)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    return int(conn.execute(query).scalar_one())


def artifact_with_state(conn: Connection, job_id: str, name: str) -> Any:
    """One artifact's row with its job's state as ``job_state`` (None if there is none)."""
    return conn.execute(
        select(artifacts, jobs.c.state.label("job_state"))
        .join(jobs, jobs.c.id == artifacts.c.job_id)
        .where(artifacts.c.job_id == job_id, artifacts.c.name == name)
    ).first()


def artifact_manifest(conn: Connection) -> list[dict[str, Any]]:
    """Every stored artifact (what a backup copies or verifies), in key order."""
    rows = conn.execute(
        select(
            artifacts.c.job_id, artifacts.c.name, artifacts.c.key, artifacts.c.size,
            artifacts.c.sha256, artifacts.c.content_type,
        ).order_by(artifacts.c.key)
    ).all()  # fmt: skip
    return [dict(r._mapping) for r in rows]


def finished_counts(
    conn: Connection, since: float, owner: str | None = None
) -> list[tuple[str, str, int]]:
    """(kind, terminal state, count) of the jobs (of ``owner``) finished since ``since``."""
    stmt = (
        select(jobs.c.kind, jobs.c.state, func.count())
        .where(jobs.c.state.in_(sorted(TERMINAL)), jobs.c.finished_at >= since)
        .group_by(jobs.c.kind, jobs.c.state)
    )
    if owner is not None:
        stmt = stmt.where(jobs.c.owner == owner)
    return [(str(k), str(s), int(n)) for k, s, n in conn.execute(stmt).all()]


def finished_times(
    conn: Connection, since: float, owner: str | None = None
) -> list[tuple[float, str]]:
    """(finished_at, state) of the jobs (of ``owner``) that succeeded or failed since."""
    stmt = select(jobs.c.finished_at, jobs.c.state).where(
        jobs.c.state.in_([SUCCEEDED, FAILED]), jobs.c.finished_at >= since
    )
    if owner is not None:
        stmt = stmt.where(jobs.c.owner == owner)
    return [(float(t), str(s)) for t, s in conn.execute(stmt).all()]
