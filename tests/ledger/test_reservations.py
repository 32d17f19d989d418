"""Reserve with the job insert, post or void when it ends, exactly once: on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from renderhouse import ledger
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.rescuer import rescue
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import ledger_entries
from tests.ledger.conftest import assert_books_clean


def paid(cost: int, owner: str = "alice", **kw: object) -> NewJob:
    return NewJob("noop", {"cost": cost}, owner=owner, cost_estimated=cost, **kw)  # type: ignore[arg-type]


def fund(store: Store, amount: int, account: str = "alice") -> None:
    with store.begin() as conn:
        ledger.grant(conn, account, amount, "test funds", actor="test")


def enqueue(store: Store, queue: JobQueue, nj: NewJob) -> str:
    with store.begin() as conn:
        job, _ = ledger.enqueue_paid(queue, conn, nj)
    return job.id


def balance(store: Store, account: str = "alice") -> tuple[int, int]:
    with store.read() as conn:
        b = ledger.balance(conn, account)
    return b.available, b.held


def kinds(store: Store, job_id: str) -> dict[str, int]:
    with store.read() as conn:
        rows = conn.execute(
            select(ledger_entries.c.kind, ledger_entries.c.amount).where(
                ledger_entries.c.job_id == job_id
            )
        ).all()
    return {r.kind: r.amount for r in rows}


def test_reserve_then_post_at_actual_cost_releases_the_rest(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(30))
    assert balance(store) == (70, 30)
    assert queue.get(job_id).cost_reserved == 30
    [claimed] = queue.claim(["noop"], 1, "w")
    done = queue.complete(claimed.id, claimed.attempt, {}, cost=12)
    assert done.state == "succeeded"
    assert kinds(store, job_id) == {"reserve": 30, "post": 12, "void": 18}
    assert balance(store) == (88, 0)
    assert queue.get(job_id).cost_posted == 12
    assert_books_clean(store)


def test_post_is_capped_at_the_reservation(store: Store, queue: JobQueue) -> None:
    fund(store, 50)
    job_id = enqueue(store, queue, paid(30))
    [claimed] = queue.claim(["noop"], 1, "w")
    queue.complete(claimed.id, claimed.attempt, {}, cost=45)
    assert kinds(store, job_id) == {"reserve": 30, "post": 30}
    assert balance(store) == (20, 0)
    assert queue.get(job_id).cost_posted == 30
    assert_books_clean(store)


def test_success_without_a_reported_cost_posts_the_estimate(store: Store, queue: JobQueue) -> None:
    fund(store, 50)
    job_id = enqueue(store, queue, paid(30))
    [claimed] = queue.claim(["noop"], 1, "w")
    queue.complete_many([(claimed.id, claimed.attempt, {}, None)])
    assert kinds(store, job_id) == {"reserve": 30, "post": 30}
    assert_books_clean(store)


def test_insufficient_credits_rolls_back_the_job(store: Store, queue: JobQueue) -> None:
    fund(store, 10)
    nj = paid(11)
    with pytest.raises(ledger.InsufficientCredits) as info:
        enqueue(store, queue, nj)
    assert info.value.http_status == 402 and info.value.code == "insufficient_credits"
    assert info.value.details == {"account": "alice", "needed": 11, "available": 10}
    assert queue.list_jobs() == []
    assert balance(store) == (10, 0)
    with pytest.raises(ledger.InsufficientCredits):
        enqueue(store, queue, paid(1, owner="nobody"))
    assert_books_clean(store)


def test_free_jobs_touch_no_money(store: Store, queue: JobQueue) -> None:
    job_id = enqueue(store, queue, paid(0))
    [claimed] = queue.claim(["noop"], 1, "w")
    queue.complete(claimed.id, claimed.attempt, {}, cost=0)
    assert kinds(store, job_id) == {}
    assert_books_clean(store)


def test_failure_and_cancellation_void_once(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    failing = enqueue(store, queue, paid(20, max_attempts=1))
    queued = enqueue(store, queue, paid(30))
    [claimed] = queue.claim(["noop"], 1, "w")
    assert claimed.id == failing
    queue.fail(failing, claimed.attempt, "boom", "it broke")
    queue.cancel(queued)
    queue.cancel(queued)
    assert kinds(store, failing) == {"reserve": 20, "void": 20}
    assert kinds(store, queued) == {"reserve": 30, "void": 30}
    assert balance(store) == (100, 0)
    assert queue.get(failing).cost_posted == 0
    assert_books_clean(store)


def test_cancel_running_voids(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(20))
    [claimed] = queue.claim(["noop"], 1, "w")
    queue.cancel(job_id)
    queue.cancel_running(job_id, claimed.attempt)
    assert kinds(store, job_id) == {"reserve": 20, "void": 20}
    assert_books_clean(store)


def test_retries_keep_the_reservation_and_expiry_voids(
    store: Store, queue: JobQueue, clock: FakeClock
) -> None:
    fund(store, 100)
    job_id = enqueue(store, queue, paid(25, max_attempts=2))
    for attempt in (1, 2):
        [claimed] = queue.claim(["noop"], 1, f"w{attempt}")
        assert claimed.attempt == attempt
        clock.advance(60)  # the worker died: its lease runs out
        [after] = rescue(queue)
        assert balance(store) == ((75, 25) if attempt == 1 else (100, 0))
    assert after.state == "failed" and after.error_code == "lease_expired"
    assert kinds(store, job_id) == {"reserve": 25, "void": 25}
    assert_books_clean(store)


def test_idempotent_replay_reserves_once(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    first = enqueue(store, queue, paid(10, idempotency_key="k"))
    again = enqueue(store, queue, paid(10, idempotency_key="k"))
    assert first == again and balance(store) == (90, 10)
    assert_books_clean(store)


def test_before_enqueue_hook_sets_the_reservation(store: Store, queue: JobQueue) -> None:
    fund(store, 100)
    nj = paid(15)
    with store.begin() as conn:
        changed = ledger.before_enqueue(conn, None, nj)
        assert changed is not None and changed.cost_reserved == 15
        job, _ = queue.enqueue(changed, conn)
    assert balance(store) == (85, 15) and kinds(store, job.id) == {"reserve": 15}
    with store.begin() as conn:
        assert ledger.before_enqueue(conn, None, paid(0)) is None
    assert_books_clean(store)


def test_adjustments_never_overdraw(store: Store) -> None:
    fund(store, 10)
    with store.begin() as conn:
        ledger.adjust(conn, "alice", -4, "refund of a duplicate grant", actor="admin")
    with pytest.raises(ledger.InsufficientCredits), store.begin() as conn:
        ledger.adjust(conn, "alice", -7, "too much", actor="admin")
    assert balance(store) == (6, 0)
    with store.read() as conn:
        page = ledger.entries(conn, "alice", limit=1)
        older = ledger.entries(conn, "alice", before_id=page[0]["id"])
    assert [e["kind"] for e in page + older] == ["adjustment", "grant"]
    assert_books_clean(store)
