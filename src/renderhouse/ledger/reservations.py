"""Paid jobs: reserve the estimate with the job insert, settle it when the job ends.

A job's money moves in rounds of at most three entries, each unique per job and round:
``reserve`` (in the enqueue transaction), then in the transaction that makes the job
terminal either ``post`` (succeeded: the actual cost, capped at the reservation) plus a
``void`` of any remainder, or one ``void`` of the whole reservation (failed, cancelled,
lease expired for good). Automatic retries (the job back to ``queued``) keep the
reservation. A manual retry of a settled job opens the next round by reserving its price
again (``reruns.py``), so a rerun is paid for like the first run; settling always works on
the job's latest round."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from renderhouse.ledger import accounts, reruns
from renderhouse.queue.enqueue import Gate, NewJob
from renderhouse.queue.jobs import SUCCEEDED, TERMINAL, Job
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import credit_accounts, ledger_entries

if TYPE_CHECKING:
    from renderhouse.queue.queue import JobQueue


_REASON = "job enqueued"


def reserve(
    conn: Connection, owner: str, job_id: str, amount: int, *, now: float | None = None
) -> None:
    """Move ``amount`` from ``owner``'s available balance to held for ``job_id``, or raise
    InsufficientCredits (and the caller's transaction, job insert included, rolls back)."""
    if amount <= 0:
        return
    now = time.time() if now is None else now
    accounts.hold(conn, owner, amount, now, job_id=job_id, reason=_REASON)


def price(new_job: NewJob) -> int:
    """What a job reserves: its explicit reservation, else its estimate."""
    return max(0, new_job.cost_reserved or new_job.cost_estimated)


_RESERVE_CTE = accounts.hold_ctes("gate_")


def reservation_gate(new_job: NewJob) -> Gate | None:
    """The queue's gate for a paid job (``cost_reserved > 0``): hold that amount for it in
    the statement that inserts it (PostgreSQL) or right after, in its transaction."""
    amount, owner, job_id = new_job.cost_reserved, new_job.owner, new_job.id
    if amount <= 0:
        return None
    now = time.time()
    return Gate(
        cte=_RESERVE_CTE,
        params={
            "gate_amount": amount,
            "gate_account": owner,
            "gate_job_id": job_id,
            "gate_reason": _REASON,
            "gate_now": now,
        },
        apply=lambda conn: reserve(conn, owner, job_id, amount, now=now),
        refused=lambda conn: accounts.shortfall(conn, owner, amount),
    )


def enqueue_paid(
    queue: JobQueue, conn: Connection, new_job: NewJob, amount: int | None = None
) -> tuple[Job, bool]:
    """Enqueue in ``conn``'s transaction and reserve its cost there too. An idempotent
    replay (the job existed already) reserves nothing."""
    amount = price(new_job) if amount is None else amount
    if queue.gate_for is None:
        install(queue)
    return queue.enqueue(replace(new_job, cost_reserved=amount), conn)


def before_enqueue(conn: Connection, user: Any, new_job: NewJob) -> NewJob | None:
    """The API's ``before_enqueue`` hook: price the job; the queue's reservation gate then
    holds that amount in the insert's own statement."""
    amount = price(new_job)
    if amount == 0:
        return None
    return replace(new_job, cost_reserved=amount)


def _insert_once(conn: Connection, **values: Any) -> bool:
    stmt = upsert_insert(conn, ledger_entries).values(**values)
    stmt = stmt.on_conflict_do_nothing(
        index_elements=[ledger_entries.c.job_id, ledger_entries.c.kind, ledger_entries.c.round]
    ).returning(ledger_entries.c.id)
    return conn.execute(stmt).first() is not None


def settle(conn: Connection, job: Job) -> None:
    """The terminal hook: post or void the reservation of the job's latest round, exactly
    once."""
    if job.state not in TERMINAL:
        return
    e = ledger_entries.c
    rows = conn.execute(
        select(e.kind, e.amount, e.account, e.round).where(e.job_id == job.id)
    ).all()
    current = max((r.round for r in rows), default=0)
    by_kind = {r.kind: r for r in rows if r.round == current}
    held = by_kind.get("reserve")
    if held is None or "post" in by_kind or "void" in by_kind:
        return
    reserved, account, now = int(held.amount), held.account, time.time()
    entry = {"account": account, "job_id": job.id, "round": current, "created_at": now}
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
    """Reserve for paid jobs as they are inserted, settle them in the transaction that
    ends them and charge their manual reruns again (idempotent)."""
    if settle not in queue.terminal_hooks:
        queue.terminal_hooks.append(settle)
    if reruns.charge_rerun not in queue.retry_hooks:
        queue.retry_hooks.append(reruns.charge_rerun)
    if queue.gate_for is None:
        queue.gate_for = reservation_gate
    elif queue.gate_for is not reservation_gate:
        raise RuntimeError("this queue already has another enqueue gate")
    return queue
