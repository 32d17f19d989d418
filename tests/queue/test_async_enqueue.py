"""``AsyncEnqueuer``: jobs inserted from the event loop over one psycopg connection,
concurrent calls batched into one transaction, a refusal or failure confined to its caller.
PostgreSQL only (a real server; every check reads the rows back)."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from renderhouse import ledger
from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
from renderhouse.errors import StoreError
from renderhouse.ledger import InsufficientCredits
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import FAIR_QUANTUM_MS, NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema import job_events, jobs, owner_lanes
from renderhouse.store.schema_ledger import ledger_entries

WAIT = 30.0

on_postgres = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(store: Store, clock: FakeClock) -> JobQueue:
    return ledger.install(JobQueue(store, clock=clock))


@pytest.fixture
async def enqueuer(queue: JobQueue) -> AsyncIterator[AsyncEnqueuer]:
    e = AsyncEnqueuer(queue)
    yield e
    await e.close()


def free(owner: str, i: int = 0) -> NewJob:
    return NewJob("noop", {"i": i}, owner=owner)


def paid(owner: str, cost: int) -> NewJob:
    return NewJob("priced", {"cost": cost}, owner=owner, cost_estimated=cost, cost_reserved=cost)


def fund(store: Store, account: str, amount: int) -> None:
    with store.begin() as conn:
        ledger.grant(conn, account, amount, "test funds", actor="test")


def balance(store: Store, account: str) -> tuple[int, int]:
    with store.read() as conn:
        b = ledger.balance(conn, account)
    return b.available, b.held


def entries(store: Store, account: str) -> list[tuple[str, str | None, int]]:
    e = ledger_entries.c
    with store.read() as conn:
        rows = conn.execute(
            select(e.kind, e.job_id, e.amount).where(e.account == account).order_by(e.id)
        ).all()
    return [(r.kind, r.job_id, int(r.amount)) for r in rows]


def job_rows(store: Store) -> dict[str, Any]:
    with store.read() as conn:
        return {r.id: r for r in conn.execute(select(jobs)).all()}


def queued_events(store: Store) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with store.read() as conn:
        rows = conn.execute(
            select(job_events.c.job_id, job_events.c.type, job_events.c.data).order_by(
                job_events.c.id
            )
        ).all()
    for r in rows:
        out.setdefault(r.job_id, []).append({"type": r.type, "data": json.loads(r.data)})
    return out


def lane(store: Store, owner: str) -> int | None:
    with store.read() as conn:
        return conn.execute(
            select(owner_lanes.c.next_key).where(owner_lanes.c.owner == owner)
        ).scalar_one_or_none()


def writing_transactions(store: Store) -> int:
    """How many distinct transactions wrote the job rows (PostgreSQL's xmin)."""
    with store.read() as conn:
        return int(conn.execute(text("SELECT count(DISTINCT xmin::text) FROM jobs")).scalar_one())


def test_sqlite_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'rh.db'}")
    try:
        with pytest.raises(ValueError, match="PostgreSQL"):
            AsyncEnqueuer(JobQueue(store))
    finally:
        store.dispose()


@on_postgres
@pytest.mark.anyio
async def test_fifty_concurrent_enqueues_share_transactions(
    store: Store, queue: JobQueue, clock: FakeClock, enqueuer: AsyncEnqueuer
) -> None:
    owners = ("alice", "bob", "carol")
    new = [free(owners[i % 3], i) for i in range(50)]
    created = await asyncio.wait_for(asyncio.gather(*(enqueuer.enqueue(nj) for nj in new)), WAIT)

    assert [j.id for j in created] == [nj.id for nj in new]
    rows = job_rows(store)
    assert set(rows) == {nj.id for nj in new}
    assert all(r.state == "queued" and r.kind == "noop" for r in rows.values())
    events = queued_events(store)
    assert {job_id: evs for job_id, evs in events.items()} == {
        nj.id: [{"type": "state", "data": {"state": "queued"}}] for nj in new
    }
    # Fewer transactions than jobs, by the counters and by the database itself.
    assert enqueuer.jobs == 50
    assert 1 <= enqueuer.batches < 50
    assert writing_transactions(store) == enqueuer.batches

    # What the caller got back is what the database holds.
    for job, nj in zip(created, new, strict=True):
        stored = queue.get(job.id)
        assert job == stored
        assert (stored.owner, stored.kind, stored.state, stored.input) == (
            nj.owner,
            "noop",
            "queued",
            nj.input,
        )
    # Each owner's jobs take consecutive fair keys one quantum apart, in submission order.
    now_ms = int(clock.now() * 1000)
    for owner in owners:
        mine = [nj.id for nj in new if nj.owner == owner]
        assert [rows[i].fair_key for i in mine] == [
            now_ms + k * FAIR_QUANTUM_MS for k in range(len(mine))
        ]
        assert lane(store, owner) == now_ms + len(mine) * FAIR_QUANTUM_MS


@on_postgres
@pytest.mark.anyio
async def test_batches_respect_max_batch(store: Store, queue: JobQueue) -> None:
    enqueuer = AsyncEnqueuer(queue, max_batch=8)
    try:
        new = [free(f"u{i % 5}", i) for i in range(30)]
        await asyncio.wait_for(asyncio.gather(*(enqueuer.enqueue(nj) for nj in new)), WAIT)
    finally:
        await enqueuer.close()
    assert len(job_rows(store)) == 30
    assert enqueuer.jobs == 30 and enqueuer.batches >= 4
    with store.read() as conn:
        sizes = conn.execute(text("SELECT count(*) FROM jobs GROUP BY xmin::text")).scalars()
        assert max(sizes) <= 8


@on_postgres
@pytest.mark.anyio
async def test_a_refused_paid_job_fails_alone_and_leaves_nothing(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "alice", 100)
    fund(store, "bob", 10)
    # bob owns a lane already, so a changed next_key would show.
    bob_free, _ = queue.enqueue(free("bob"))
    lane_before = lane(store, "bob")
    assert lane_before is not None

    # The ordinary path on refusal, for comparison: it raises and leaves nothing behind.
    ordinary = paid("bob", 50)
    with pytest.raises(InsufficientCredits):
        queue.enqueue(ordinary)
    assert lane(store, "bob") == lane_before

    new = [
        paid("alice", 30),
        paid("bob", 50),  # bob has only 10
        free("carol"),
        paid("alice", 30),
        free("alice"),
    ]
    refused = new[1]
    results = await asyncio.wait_for(
        asyncio.gather(*(enqueuer.enqueue(nj) for nj in new), return_exceptions=True), WAIT
    )

    error = results[1]
    assert isinstance(error, InsufficientCredits)
    assert error.details == {"account": "bob", "needed": 50, "available": 10}
    ok = [r for i, r in enumerate(results) if i != 1]
    assert all(isinstance(r, Job) for r in ok)
    assert [r.id for r in ok if isinstance(r, Job)] == [nj.id for i, nj in enumerate(new) if i != 1]

    rows = job_rows(store)
    assert set(rows) == {bob_free.id} | {nj.id for i, nj in enumerate(new) if i != 1}
    assert refused.id not in rows and ordinary.id not in rows
    assert refused.id not in queued_events(store)
    # Nothing of the refusal persists: no job, no ledger entry, bob's lane untouched.
    assert lane(store, "bob") == lane_before
    assert balance(store, "bob") == (10, 0)
    assert entries(store, "bob") == [("grant", None, 10)]
    assert balance(store, "alice") == (40, 60)
    assert entries(store, "alice") == [
        ("grant", None, 100),
        ("reserve", new[0].id, 30),
        ("reserve", new[3].id, 30),
    ]
    assert {rows[nj.id].cost_reserved for nj in (new[0], new[3])} == {30}
    # The shared batch rolled back; the four others then committed one by one.
    assert (enqueuer.batches, enqueuer.jobs) == (4, 4)
    with store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.ok, report.problems


@on_postgres
@pytest.mark.anyio
async def test_a_refused_job_alone(store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer) -> None:
    fund(store, "bob", 10)
    await enqueuer.enqueue(free("bob"))
    lane_before = lane(store, "bob")
    nj = paid("bob", 11)
    with pytest.raises(InsufficientCredits):
        await asyncio.wait_for(enqueuer.enqueue(nj), WAIT)
    assert nj.id not in job_rows(store)
    assert lane(store, "bob") == lane_before
    assert entries(store, "bob") == [("grant", None, 10)]
    # Exactly affordable goes through.
    exact = await asyncio.wait_for(enqueuer.enqueue(paid("bob", 10)), WAIT)
    assert queue.get(exact.id).cost_reserved == 10
    assert balance(store, "bob") == (0, 10)


@on_postgres
@pytest.mark.anyio
async def test_credits_for_one_of_two_go_to_the_first_submitted(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "alice", 50)
    first, second = paid("alice", 30), paid("alice", 30)
    results = await asyncio.wait_for(
        asyncio.gather(enqueuer.enqueue(first), enqueuer.enqueue(second), return_exceptions=True),
        WAIT,
    )
    assert isinstance(results[0], Job)
    assert isinstance(results[1], InsufficientCredits)
    assert results[1].details == {"account": "alice", "needed": 30, "available": 20}
    assert set(job_rows(store)) == {first.id}
    assert balance(store, "alice") == (20, 30)
    assert entries(store, "alice") == [("grant", None, 50), ("reserve", first.id, 30)]


@on_postgres
@pytest.mark.anyio
async def test_a_failing_statement_fails_alone(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    existing, _ = queue.enqueue(free("alice"))
    clash = NewJob("noop", {"clash": True}, owner="bob", id=existing.id)
    new = [free("alice", 1), clash, free("carol", 2)]
    results = await asyncio.wait_for(
        asyncio.gather(*(enqueuer.enqueue(nj) for nj in new), return_exceptions=True), WAIT
    )
    assert isinstance(results[1], StoreError)
    assert isinstance(results[0], Job) and isinstance(results[2], Job)
    rows = job_rows(store)
    assert set(rows) == {existing.id, new[0].id, new[2].id}
    assert rows[existing.id].owner == "alice"  # not overwritten
    assert lane(store, "bob") is None
    # The connection is still usable.
    later = await asyncio.wait_for(enqueuer.enqueue(free("dave")), WAIT)
    assert queue.get(later.id).owner == "dave"


@on_postgres
@pytest.mark.anyio
async def test_a_caller_that_gave_up_before_its_batch_leaves_no_job(
    store: Store, enqueuer: AsyncEnqueuer
) -> None:
    new = [free("alice", i) for i in range(3)]
    tasks = [asyncio.create_task(enqueuer.enqueue(nj)) for nj in new]
    await asyncio.sleep(0)  # each task has queued its job; the batch has not started
    tasks[1].cancel()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
    assert isinstance(done[1], asyncio.CancelledError)
    assert set(job_rows(store)) == {new[0].id, new[2].id}


@on_postgres
@pytest.mark.anyio
async def test_an_unreachable_database_raises_store_error(store: Store) -> None:
    dead = Store("postgresql://root@127.0.0.1:1/nothing")
    enqueuer = AsyncEnqueuer(JobQueue(dead, clock=FakeClock()))
    try:
        with pytest.raises(StoreError):
            await asyncio.wait_for(enqueuer.enqueue(free("alice")), WAIT)
        many = await asyncio.wait_for(
            asyncio.gather(
                *(enqueuer.enqueue(free("alice", i)) for i in range(3)), return_exceptions=True
            ),
            WAIT,
        )
        assert all(isinstance(r, StoreError) for r in many), many
        assert (enqueuer.batches, enqueuer.jobs) == (0, 0)
    finally:
        await enqueuer.close()
        dead.dispose()
    # Nothing reached the real database either.
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == 0


@on_postgres
@pytest.mark.anyio
async def test_a_lost_connection_fails_its_caller_then_reconnects(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    await asyncio.wait_for(enqueuer.enqueue(free("alice")), WAIT)
    conn = enqueuer.connection.current
    assert conn is not None
    with store.begin() as c:
        c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": conn.info.backend_pid})
    lost = free("alice", 1)
    with pytest.raises(StoreError):
        await asyncio.wait_for(enqueuer.enqueue(lost), WAIT)
    assert lost.id not in job_rows(store)
    back = await asyncio.wait_for(enqueuer.enqueue(free("alice", 2)), WAIT)
    assert queue.get(back.id).state == "queued"


@on_postgres
@pytest.mark.anyio
async def test_announce_reaches_listeners_after_commit(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "bob", 5)
    seen: list[list[str]] = []
    visible: list[bool] = []
    woken: list[str] = []

    def listener(created: list[Job]) -> None:
        ids = [j.id for j in created]
        seen.append(ids)
        rows = job_rows(store)  # a separate connection: only committed rows show
        visible.append(all(i in rows for i in ids))

    queue.enqueue_listeners.append(listener)
    queue.on_enqueue(woken.append)
    new = [free("alice", 1), paid("bob", 50), NewJob("other", {}, owner="carol")]
    results = await asyncio.wait_for(
        asyncio.gather(*(enqueuer.enqueue(nj) for nj in new), return_exceptions=True), WAIT
    )
    assert isinstance(results[1], InsufficientCredits)
    announced = [i for ids in seen for i in ids]
    assert sorted(announced) == sorted([new[0].id, new[2].id])
    assert visible and all(visible)
    assert sorted(set(woken)) == ["noop", "other"]
    assert set(job_rows(store)) == {new[0].id, new[2].id}


@on_postgres
@pytest.mark.anyio
async def test_store_dispose_drops_the_connection_and_enqueue_reconnects(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    await asyncio.wait_for(enqueuer.enqueue(free("alice")), WAIT)
    assert enqueuer.connection.current is not None
    pid = enqueuer.connection.current.info.backend_pid
    store.dispose()
    for _ in range(200):
        with store.read() as conn:
            alive = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
        if not alive:
            break
        await asyncio.sleep(0.01)
    assert alive == 0, "the enqueuer's backend outlived store.dispose()"
    again = await asyncio.wait_for(enqueuer.enqueue(free("alice", 1)), WAIT)
    assert queue.get(again.id).state == "queued"
    gc.collect()  # a connection object left open would warn (an error under -W error)
