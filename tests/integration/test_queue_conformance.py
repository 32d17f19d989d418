"""The queue's conformance suite: the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, select

from renderhouse.errors import Conflict, InvalidInput, QueueFull, StaleAttempt
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.rescuer import rescue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.store.database import Store
from renderhouse.store.schema import jobs


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(store: Store, clock: FakeClock) -> JobQueue:
    return JobQueue(store, clock=clock, policy=RetryPolicy(base=10, factor=2, jitter=0))


def job(kind: str = "noop", **kw: object) -> NewJob:
    return NewJob(kind=kind, input=kw.pop("input", {"x": 1}), **kw)  # type: ignore[arg-type]


def test_enqueue_claim_complete(queue: JobQueue) -> None:
    created, is_new = queue.enqueue(job())
    assert is_new and created.state == "queued"
    [claimed] = queue.claim(["noop"], 10, "w1")
    assert (claimed.id, claimed.state, claimed.attempt, claimed.worker_id) == (
        created.id,
        "running",
        1,
        "w1",
    )
    assert queue.claim(["noop"], 10, "w2") == []
    done = queue.complete(claimed.id, 1, {"ok": True})
    assert done.state == "succeeded" and done.result == {"ok": True}
    states = [e["data"]["state"] for e in queue.events(created.id) if e["type"] == "state"]
    assert states == ["queued", "running", "succeeded"]
    [att] = queue.attempts(created.id)
    assert att["outcome"] == "succeeded" and att["worker_id"] == "w1"


def test_claim_only_requested_kinds(queue: JobQueue) -> None:
    queue.enqueue(job("a"))
    queue.enqueue(job("b"))
    assert [j.kind for j in queue.claim(["b"], 10, "w")] == ["b"]


def test_priority_order(queue: JobQueue) -> None:
    low = queue.enqueue(job(priority=1))[0]
    high = queue.enqueue(job(priority=90))[0]
    mid = queue.enqueue(job(priority=50))[0]
    order = [queue.claim(["noop"], 1, "w")[0].id for _ in range(3)]
    assert order == [high.id, mid.id, low.id]


def test_negative_priority_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        job(priority=-1)


def test_run_at_defers_claim(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(job(run_at=clock.now() + 60))
    assert queue.claim(["noop"], 10, "w") == []
    assert queue.next_run_at(["noop"]) == clock.now() + 60
    clock.advance(60)
    assert len(queue.claim(["noop"], 10, "w")) == 1


def test_retry_with_backoff_then_fail(queue: JobQueue, clock: FakeClock) -> None:
    j = queue.enqueue(job(max_attempts=2))[0]
    c = queue.claim(["noop"], 1, "w")[0]
    after = queue.fail(c.id, c.attempt, "boom", "it broke", traceback="Traceback...")
    assert after.state == "queued" and after.run_at == clock.now() + 10
    assert after.error_code == "boom"
    assert queue.claim(["noop"], 1, "w") == []
    clock.advance(10)
    c2 = queue.claim(["noop"], 1, "w")[0]
    assert c2.attempt == 2
    final = queue.fail(c2.id, 2, "boom", "again")
    assert final.state == "failed" and final.finished_at == clock.now()
    atts = queue.attempts(j.id)
    assert [(a["attempt"], a["error_code"]) for a in atts] == [(1, "boom"), (2, "boom")]
    assert atts[0]["traceback"] == "Traceback..."


def test_non_retryable_failure_ends_at_once(queue: JobQueue) -> None:
    queue.enqueue(job(max_attempts=5))
    c = queue.claim(["noop"], 1, "w")[0]
    assert queue.fail(c.id, 1, "invalid_model", "bad file", retryable=False).state == "failed"


def test_snooze_does_not_spend_an_attempt(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(job(max_attempts=1))
    c = queue.claim(["noop"], 1, "w")[0]
    s = queue.snooze(c.id, 1, 30)
    assert s.state == "queued" and s.run_at == clock.now() + 30 and s.attempts_spent == 0
    clock.advance(30)
    c2 = queue.claim(["noop"], 1, "w")[0]
    assert c2.attempt == 2 and c2.attempts_spent == 1
    # One attempt allowed and one spent: a failure now is final.
    assert queue.fail(c2.id, 2, "x", "y").state == "failed"


def test_lease_expiry_rescue_and_fencing(queue: JobQueue, clock: FakeClock) -> None:
    j = queue.enqueue(job(max_attempts=3))[0]
    stale = queue.claim(["noop"], 1, "w-old")[0]
    queue.save_checkpoint(j.id, 1, {"frames": [0, 1]})
    clock.advance(queue.lease_seconds - 1)
    assert rescue(queue) == []
    clock.advance(2)
    [rescued] = rescue(queue)
    assert rescued.state == "queued" and rescued.error_code == "lease_expired"
    fresh = queue.claim(["noop"], 1, "w-new")[0]
    assert fresh.attempt == 2 and fresh.checkpoint == {"frames": [0, 1]}
    for call in (
        lambda: queue.complete(j.id, stale.attempt, {}),
        lambda: queue.fail(j.id, stale.attempt, "x", "y"),
        lambda: queue.save_checkpoint(j.id, stale.attempt, {"frames": []}),
        lambda: queue.progress(j.id, stale.attempt, 1, 2),
        lambda: queue.add_artifact(
            j.id,
            stale.attempt,
            {"name": "a", "key": "k", "content_type": "x", "size": 1, "sha256": "0"},
        ),
    ):
        with pytest.raises(StaleAttempt):
            call()
    held, _ = queue.heartbeat([(j.id, stale.attempt)])
    assert held == set()
    assert queue.complete(j.id, fresh.attempt, {"ok": 1}).state == "succeeded"


def test_heartbeat_extends_lease(queue: JobQueue, clock: FakeClock) -> None:
    j = queue.enqueue(job())[0]
    c = queue.claim(["noop"], 1, "w")[0]
    for _ in range(5):
        clock.advance(queue.lease_seconds * 0.6)
        held, _ = queue.heartbeat([(j.id, c.attempt)])
        assert held == {j.id}
        assert rescue(queue) == []


def test_cancel_queued_and_running(queue: JobQueue) -> None:
    q = queue.enqueue(job())[0]
    assert queue.cancel(q.id).state == "cancelled"
    r = queue.enqueue(job())[0]
    c = queue.claim(["noop"], 1, "w")[0]
    flagged = queue.cancel(r.id)
    assert flagged.state == "running" and flagged.cancel_requested
    _, cancels = queue.heartbeat([(r.id, c.attempt)])
    assert cancels == {r.id}
    assert queue.cancel_requested([(r.id, c.attempt)]) == {r.id}
    assert queue.cancel_running(r.id, c.attempt).state == "cancelled"
    # A failure reported after a cancel request does not retry: the job ends cancelled.
    s = queue.enqueue(job(max_attempts=5))[0]
    c = queue.claim(["noop"], 1, "w")[0]
    queue.cancel(s.id)
    assert queue.fail(s.id, c.attempt, "killed", "child killed").state == "cancelled"


def test_manual_retry(queue: JobQueue) -> None:
    j = queue.enqueue(job(max_attempts=1))[0]
    c = queue.claim(["noop"], 1, "w")[0]
    queue.fail(c.id, c.attempt, "x", "y")
    again = queue.retry(j.id)
    assert again.state == "queued" and again.error_code is None
    c2 = queue.claim(["noop"], 1, "w")[0]
    assert c2.attempt == 2
    assert queue.complete(j.id, 2).state == "succeeded"
    with pytest.raises(Conflict):
        queue.retry(j.id)


def test_idempotency_key_same_owner_same_job(queue: JobQueue) -> None:
    a, created_a = queue.enqueue(job(owner="u1", idempotency_key="k"))
    b, created_b = queue.enqueue(job(owner="u1", idempotency_key="k"))
    c, created_c = queue.enqueue(job(owner="u2", idempotency_key="k"))
    assert created_a and not created_b and created_c
    assert a.id == b.id != c.id


def test_idempotency_key_under_concurrency(queue: JobQueue, store: Store) -> None:
    barrier = threading.Barrier(8)

    def submit(_: int) -> str:
        barrier.wait()
        return queue.enqueue(job(owner="u", idempotency_key="same"))[0].id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(submit, range(8)))
    assert len(ids) == 1
    with store.read() as conn:
        assert len(conn.execute(select(jobs.c.id)).all()) == 1


def test_concurrent_claims_never_share_a_job(queue: JobQueue) -> None:
    queue.enqueue_many([job() for _ in range(200)])
    barrier = threading.Barrier(4)

    def drain(worker: int) -> list[str]:
        barrier.wait()
        got: list[str] = []
        while batch := queue.claim(["noop"], 5, f"w{worker}"):
            got.extend(j.id for j in batch)
        return got

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(drain, range(4)))
    all_ids = [i for r in results for i in r]
    assert len(all_ids) == 200 == len(set(all_ids))


def test_fairness_one_owner_backlog_does_not_starve_another(queue: JobQueue) -> None:
    queue.enqueue_many([job(owner="big") for _ in range(1000)])
    for _ in range(10):
        queue.claim(["noop"], 1, "w")
    small = queue.enqueue(job(owner="small"))[0]
    next_two = [j.id for _ in range(2) for j in queue.claim(["noop"], 1, "w")]
    assert small.id in next_two


def test_fairness_interleaves_two_backlogs(queue: JobQueue) -> None:
    queue.enqueue_many([job(owner="a") for _ in range(50)])
    queue.enqueue_many([job(owner="b") for _ in range(50)])
    owners = [queue.claim(["noop"], 1, "w")[0].owner for _ in range(20)]
    assert owners.count("a") == owners.count("b") == 10


def test_enqueue_in_callers_transaction(queue: JobQueue, store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.begin() as conn:
        queue.enqueue(job(owner="tx"), conn)
        raise Boom
    assert queue.list_jobs(owner="tx") == []
    with store.begin() as conn:
        made = queue.enqueue(job(owner="tx"), conn)[0]
    assert [j.id for j in queue.list_jobs(owner="tx")] == [made.id]


def test_terminal_hooks_run_once_in_the_transaction(queue: JobQueue) -> None:
    seen: list[tuple[str, str]] = []

    def hook(conn: Connection, j: Job) -> None:
        assert conn.in_transaction()
        seen.append((j.id, j.state))

    queue.terminal_hooks.append(hook)
    ok = queue.enqueue(job())[0]
    c = queue.claim(["noop"], 1, "w")[0]
    queue.complete(c.id, c.attempt)
    with pytest.raises(StaleAttempt):
        queue.complete(c.id, c.attempt)
    gone = queue.enqueue(job())[0]
    queue.cancel(gone.id)
    queue.cancel(gone.id)
    assert seen == [(ok.id, "succeeded"), (gone.id, "cancelled")]


def test_queue_full(store: Store, clock: FakeClock) -> None:
    q = JobQueue(store, clock=clock, max_queue_size=3)
    q.enqueue_many([job() for _ in range(3)])
    with pytest.raises(QueueFull):
        q.enqueue(job())


def test_artifacts_and_progress_are_recorded(queue: JobQueue) -> None:
    j = queue.enqueue(job())[0]
    c = queue.claim(["noop"], 1, "w")[0]
    queue.progress(j.id, c.attempt, 3, 4, "frame 3")
    ref = {
        "name": "out.png",
        "key": "k/out.png",
        "content_type": "image/png",
        "size": 5,
        "sha256": "ab",
    }
    queue.add_artifact(j.id, c.attempt, ref)
    queue.add_artifact(j.id, c.attempt, {**ref, "size": 6})
    got = queue.get(j.id)
    assert (got.progress_done, got.progress_total, got.progress_message) == (3, 4, "frame 3")
    [art] = queue.artifacts(j.id)
    assert art["size"] == 6
    types = [e["type"] for e in queue.events(j.id)]
    assert types == ["state", "state", "progress", "artifact", "artifact"]


def test_owner_scoping_and_pagination(queue: JobQueue) -> None:
    mine = [queue.enqueue(job(owner="me"))[0].id for _ in range(5)]
    queue.enqueue(job(owner="other"))
    page1 = queue.list_jobs(owner="me", limit=3)
    page2 = queue.list_jobs(owner="me", limit=3, before_id=page1[-1].id)
    assert [j.id for j in page1 + page2] == sorted(mine, reverse=True)
    from renderhouse.errors import NotFound

    with pytest.raises(NotFound):
        queue.get(mine[0], owner="other")


def test_stats(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue_many([job("a") for _ in range(3)])
    clock.advance(5)
    queue.claim(["a"], 1, "w")
    s = queue.stats()
    assert s["a"]["queued"] == 2 and s["a"]["running"] == 1
    assert s["a"]["oldest_queued_age"] == 5


def test_complete_many_is_fenced_per_job(queue: JobQueue, clock: FakeClock) -> None:
    seen: list[str] = []
    queue.terminal_hooks.append(lambda _c, j: seen.append(j.id))
    made = [queue.enqueue(job())[0] for _ in range(3)]
    claimed = queue.claim(["noop"], 3, "w")
    clock.advance(queue.lease_seconds + 1)
    rescue(queue)  # all three go back to queued: the claims above are now stale
    fresh = {j.id: j for j in queue.claim(["noop"], 3, "w2")}
    stale = next(c for c in claimed if c.id == made[0].id)
    items = [(stale.id, stale.attempt, {"n": 0}, None)] + [
        (j.id, fresh[j.id].attempt, {"n": i}, 7) for i, j in enumerate(made[1:], 1)
    ]
    done = queue.complete_many(items)
    assert set(done) == {made[1].id, made[2].id}
    assert queue.get(made[1].id).result == {"n": 1} and queue.get(made[2].id).cost_posted == 7
    assert queue.get(stale.id).state == "running"
    assert sorted(seen) == sorted(done)
