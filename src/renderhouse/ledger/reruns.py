"""Manual retries of paid jobs are paid for again.

A failed or cancelled job had its reservation voided (refunded) when it ended, so running it
again for free would leak money: fail, refund, retry, succeed. The queue's retry hook
therefore opens the job's next *round*: it reserves the job's price again in the retry's own
transaction, and the terminal hook settles that round exactly once when the rerun ends. If
the balance cannot cover it, InsufficientCredits (402) rolls the retry back and the job
stays as it was."""

from __future__ import annotations

import time

from sqlalchemy import Connection, select

from renderhouse.ledger import accounts
from renderhouse.queue.jobs import Job
from renderhouse.store.schema_ledger import ledger_entries


def charge_rerun(conn: Connection, job: Job) -> None:
    """The queue's retry hook: reserve ``job``'s price as its next round when its latest
    round is settled. A free job, or one whose reservation is still held, costs nothing
    more."""
    if job.cost_reserved <= 0:
        return
    e = ledger_entries.c
    rows = conn.execute(select(e.kind, e.round, e.account).where(e.job_id == job.id)).all()
    if not rows:
        return
    current = max(r.round for r in rows)
    latest = {r.kind: r for r in rows if r.round == current}
    if "reserve" not in latest or not {"post", "void"} & latest.keys():
        return
    account, now = latest["reserve"].account, time.time()
    accounts.debit(conn, account, job.cost_reserved, now, hold=True)
    accounts.record(
        conn,
        account,
        "reserve",
        job.cost_reserved,
        now,
        job_id=job.id,
        round=current + 1,
        reason="job retried",
    )
