"""Paid jobs: reserve the estimate with the job insert, settle it when the job ends.

A job's money moves through at most three entries, each unique per job: ``reserve`` (in the
enqueue transaction), then in the transaction that makes the job terminal either ``post``
(succeeded: the actual cost, capped at the reservation) plus a ``void`` of any remainder, or
one ``void`` of the whole reservation (failed, cancelled, lease expired for good). Retries
(the job back to ``queued``) keep the reservation. A job that already settled and is run
again by a manual retry is not charged again: its terminal hook finds it settled."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from renderhouse.ledger import accounts
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import SUCCEEDED, TERMINAL, Job
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import credit_accounts, ledger_entries

if TYPE_CHECKING:
    from renderhouse.queue.queue import JobQueue


def reserve(
    conn: Connection, owner: str, job_id: str, amount: int, *, now: float | None = None
) -> None:
    """Move ``amount`` from ``owner``'s available balance to held for ``job_id``, or raise
    InsufficientCredits (and the caller's transaction, job insert included, rolls back)."""
    if amount <= 0:
        return
    now = time.time() if now is None else now
    accounts.hold(conn, owner, amount, now, job_id=job_id, reason="job enqueued")


def price(new_job: NewJob) -> int:
    """What a job reserves: its explicit reservation, else its estimate."""
    return max(0, new_job.cost_reserved or new_job.cost_estimated)


def enqueue_paid(
    queue: JobQueue, conn: Connection, new_job: NewJob, amount: int | None = None
) -> tuple[Job, bool]:
    """Enqueue in ``conn``'s transaction and reserve its cost there too. An idempotent
    replay (the job existed already) reserves nothing."""
    amount = price(new_job) if amount is None else amount
    job, created = queue.enqueue(replace(new_job, cost_reserved=amount), conn)
    if created and amount > 0:
        reserve(conn, job.owner, job.id, amount, now=queue.clock.now())
    return job, created


def before_enqueue(conn: Connection, user: Any, new_job: NewJob) -> NewJob | None:
    """The API's ``before_enqueue`` hook: reserve for the job about to be inserted in the
    same transaction (the API rolls it back when an idempotent replay wins)."""
    amount = price(new_job)
    if amount == 0:
        return None
    reserve(conn, new_job.owner, new_job.id, amount)
    return replace(new_job, cost_reserved=amount)


def _insert_once(conn: Connection, **values: Any) -> bool:
    stmt = upsert_insert(conn, ledger_entries).values(**values)
    stmt = stmt.on_conflict_do_nothing(
        index_elements=[ledger_entries.c.job_id, ledger_entries.c.kind]
    ).returning(ledger_entries.c.id)
    return conn.execute(stmt).first() is not None


def settle(conn: Connection, job: Job) -> None:
    """The terminal hook: post or void the job's reservation, exactly once."""
    if job.state not in TERMINAL:
        return
    rows = conn.execute(
        select(ledger_entries.c.kind, ledger_entries.c.amount, ledger_entries.c.account).where(
            ledger_entries.c.job_id == job.id
        )
    ).all()
    by_kind = {r.kind: r for r in rows}
    held = by_kind.get("reserve")
    if held is None or "post" in by_kind or "void" in by_kind:
        return
    reserved, account, now = int(held.amount), held.account, time.time()
    entry = {"account": account, "job_id": job.id, "created_at": now}
    if job.state == SUCCEEDED:
        actual = reserved if job.cost_posted is None else max(0, job.cost_posted)
        posted = min(actual, reserved)
        reason = "job succeeded" if actual <= reserved else f"capped at reservation ({actual})"
        if not _insert_once(conn, kind="post", amount=posted, reason=reason, **entry):
            return
        if reserved > posted:
            # Plain insert: a conflict here would be a broken invariant, so it aborts the tx.
            conn.execute(
                ledger_entries.insert().values(
                    kind="void", amount=reserved - posted, reason="unused reservation", **entry
                )
            )
    else:
        posted = 0
        if not _insert_once(conn, kind="void", amount=reserved, reason=f"job {job.state}", **entry):
            return
    released = reserved - posted
    conn.execute(
        update(credit_accounts)
        .where(credit_accounts.c.account == account)
        .values(
            held=credit_accounts.c.held - reserved,
            available=credit_accounts.c.available + released,
            updated_at=now,
        )
    )
    if job.cost_posted != posted:
        conn.execute(update(jobs).where(jobs.c.id == job.id).values(cost_posted=posted))


def install(queue: JobQueue) -> JobQueue:
    """Settle paid jobs in the transaction that ends them (idempotent)."""
    if settle not in queue.terminal_hooks:
        queue.terminal_hooks.append(settle)
    return queue
