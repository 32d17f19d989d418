"""Reconcile finds what is off: drifted caches, unsettled or orphaned reservations."""

from __future__ import annotations

from sqlalchemy import delete, update

from renderhouse import ledger
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema import jobs
from renderhouse.store.schema_ledger import credit_accounts


def test_reconcile_reports_each_kind_of_problem(store: Store) -> None:
    unhooked = JobQueue(store)  # reserves, but lacks the ledger's terminal hook
    unhooked.gate_for = ledger.reservation_gate
    bare = JobQueue(store)  # knows nothing of the ledger
    with store.begin() as conn:
        ledger.grant(conn, "alice", 100, "funds")
        ended, _ = ledger.enqueue_paid(
            unhooked, conn, NewJob("noop", {}, owner="alice", cost_estimated=10)
        )
        gone, _ = ledger.enqueue_paid(
            unhooked, conn, NewJob("noop", {}, owner="alice", cost_estimated=5)
        )
        unpaid, _ = bare.enqueue(NewJob("noop", {}, owner="alice", cost_reserved=7), conn)
    with store.read() as conn:
        assert ledger.reconcile(conn).ok is False  # the job reserving 7 has no entry
    unhooked.cancel(ended.id)
    with store.begin() as conn:
        conn.execute(delete(jobs).where(jobs.c.id == gone.id))
        conn.execute(update(credit_accounts).values(held=credit_accounts.c.held + 1))
    with store.read() as conn:
        report = ledger.reconcile(conn)
    text = "\n".join(report.problems)
    assert report.problem_count == 4, text
    assert f"job {ended.id} is cancelled but its reservation 10 is still held" in text
    assert f"job {gone.id}: reservation of 5 outlived its job" in text
    assert f"job {unpaid.id}: reserves 7 but has no reservation entry" in text
    assert "cached available/held 85/16 but the ledger says 85/15" in text
    assert report.to_dict()["ok"] is False
