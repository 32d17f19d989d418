"""A manual retry of a settled paid job is charged again, in the retry's transaction, as the
job's next round; short of credits the retry is refused and the job stays as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from renderhouse import ledger
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import ledger_entries
from tests.ledger.conftest import Api, assert_books_clean, client


def paid(cost: int, **kw: object) -> NewJob:
    return NewJob("noop", {"cost": cost}, owner="alice", cost_estimated=cost, **kw)  # type: ignore[arg-type]


def fund(store: Store, amount: int, account: str = "alice") -> None:
    with store.begin() as conn:
        ledger.grant(conn, account, amount, "test funds")


def enqueue(store: Store, queue: JobQueue, nj: NewJob) -> str:
    with store.begin() as conn:
        job, _ = ledger.enqueue_paid(queue, conn, nj)
    return job.id


def money(store: Store, job_id: str) -> list[tuple[int, str, int]]:
    """(round, kind, amount) of the job's entries, in the order they were written."""
    e = ledger_entries.c
    with store.read() as conn:
        rows = conn.execute(
            select(e.round, e.kind, e.amount).where(e.job_id == job_id).order_by(e.id)
        ).all()
    return [(r.round, r.kind, r.amount) for r in rows]


def balance(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        b = ledger.balance(conn, "alice")
    return b.available, b.held


def fail_once(queue: JobQueue, job_id: str) -> None:
    [claimed] = queue.claim(["noop"], 1, "w")
    assert claimed.id == job_id
    queue.fail(job_id, claimed.attempt, "boom", "it broke", retryable=False)


def test_fail_refund_retry_succeed_is_charged_once(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(40, max_attempts=1))
    fail_once(queue, job_id)
    assert balance(store) == (100, 0)  # refunded
    retried = queue.retry(job_id)
    assert retried.state == "queued" and retried.cost_posted is None
    assert balance(store) == (60, 40)  # the rerun reserved its price again
    assert_books_clean(store)
    [again] = queue.claim(["noop"], 1, "w")
    done = queue.complete(job_id, again.attempt, {}, cost=30)
    assert done.state == "succeeded"
    assert money(store, job_id) == [
        (0, "reserve", 40), (0, "void", 40),
        (1, "reserve", 40), (1, "post", 30), (1, "void", 10),
    ]  # fmt: skip
    assert balance(store) == (70, 0)
    assert queue.get(job_id).cost_posted == 30
    report = assert_books_clean(store)
    assert report.paid_jobs == 1


def test_every_rerun_is_a_round_settled_once(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(25))
    queue.cancel(job_id)
    for _ in range(2):
        queue.retry(job_id)
        queue.cancel(job_id)
        queue.cancel(job_id)  # a second cancel of an ended job moves nothing
    assert [(r, k) for r, k, _ in money(store, job_id)] == [
        (0, "reserve"), (0, "void"), (1, "reserve"), (1, "void"), (2, "reserve"), (2, "void"),
    ]  # fmt: skip
    assert balance(store) == (100, 0)
    assert_books_clean(store)


def test_a_retry_the_balance_cannot_cover_is_refused(store: Store, queue: JobQueue) -> None:
    fund(store, 50)
    job_id = enqueue(store, queue, paid(50, max_attempts=1))
    fail_once(queue, job_id)
    with store.begin() as conn:  # the refund is spent elsewhere
        ledger.adjust(conn, "alice", -20, "spent on something else")
    before = queue.get(job_id)
    with pytest.raises(ledger.InsufficientCredits) as info:
        queue.retry(job_id)
    assert info.value.details == {"account": "alice", "needed": 50, "available": 30}
    assert queue.get(job_id) == before  # still failed, same attempts, same error
    assert queue.claim(["noop"], 1, "w") == []
    assert money(store, job_id) == [(0, "reserve", 50), (0, "void", 50)]
    assert balance(store) == (30, 0)
    assert_books_clean(store)


def test_free_jobs_rerun_free(store: Store, queue: JobQueue) -> None:
    job_id = enqueue(store, queue, paid(0, max_attempts=1))
    fail_once(queue, job_id)
    assert queue.retry(job_id).state == "queued"
    assert money(store, job_id) == []
    assert_books_clean(store)


def test_reconcile_flags_a_rerun_that_was_not_charged(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(10, max_attempts=1))
    fail_once(queue, job_id)
    queue.retry_hooks.clear()  # a retry that skips the ledger: the old money leak
    queue.retry(job_id)
    with store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.problems == [
        f"job {job_id} is queued but its reservation was settled: a free rerun"
    ]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_http_retry_answers_402_and_leaves_the_job(api: Api) -> None:
    rt = api.runtime
    with rt.store.begin() as conn:
        ledger.grant(conn, api.alice_id, 30, "funds")
        job, _ = ledger.enqueue_paid(
            rt.queue,
            conn,
            NewJob("noop", {}, owner=api.alice_id, cost_estimated=30, max_attempts=1),
        )
    [claimed] = rt.queue.claim(["noop"], 1, "w")
    rt.queue.fail(job.id, claimed.attempt, "boom", "it broke", retryable=False)
    async with client(api.app, api.alice_key) as alice, client(api.app, api.admin_key) as admin:
        await admin.post(
            "/v1/admin/credits",
            json={"user": "alice", "amount": -10, "reason": "chargeback", "kind": "adjustment"},
        )
        refused = await alice.post(f"/v1/jobs/{job.id}/retry")
        assert refused.status_code == 402, refused.text
        error = refused.json()["error"]
        assert error["code"] == "insufficient_credits"
        assert error["details"] == {"account": api.alice_id, "needed": 30, "available": 20}
        assert (await alice.get(f"/v1/jobs/{job.id}")).json()["state"] == "failed"
        await admin.post("/v1/admin/credits", json={"user": "alice", "amount": 10, "reason": "t"})
        ok = await alice.post(f"/v1/jobs/{job.id}/retry")
        assert ok.status_code == 200 and ok.json()["state"] == "queued"
        assert (await alice.get("/v1/credits")).json()["held"] == 30
        [latest] = (await alice.get("/v1/credits/ledger", params={"limit": 1})).json()["data"]
        assert (latest["kind"], latest["round"], latest["reason"]) == ("reserve", 1, "job retried")
        assert (await admin.get("/v1/admin/credits/reconcile")).json()["ok"]
