"""``AsyncEnqueuer.enqueue_keyed``: jobs with an idempotency key from the event loop. A key
that exists answers with its job and writes nothing; a key that turns up meanwhile (same
batch, or another writer committing) leaves exactly one job, which every caller gets back.
The route's keyed enqueue (``JobQueue.enqueue``) makes the same replay check with the same
statements, so each path answers the other's keys (the last tests). PostgreSQL unless a
test says otherwise; every check reads the rows back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import Connection, select, text

from renderhouse import ledger
from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
from renderhouse.ledger import InsufficientCredits
from renderhouse.queue import enqueue
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import FAIR_QUANTUM_MS, NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.schema import jobs
from tests.queue import test_async_enqueue as base
from tests.queue.test_async_enqueue import (
    WAIT,
    balance,
    entries,
    free,
    fund,
    job_rows,
    lane,
    on_postgres,
    paid,
    queued_events,
)

# The fixtures of the plain-enqueue tests (a ledger-gated queue on a FakeClock, an enqueuer
# closed after each test), bound here so pytest finds them for this module too.
anyio_backend = base.anyio_backend
clock = base.clock
queue = base.queue
enqueuer = base.enqueuer

QUEUED_EVENT = [{"type": "state", "data": {"state": "queued"}}]


def keyed(owner: str, key: str, i: int = 0) -> NewJob:
    return replace(free(owner, i), idempotency_key=key)


def keyed_paid(owner: str, key: str, cost: int) -> NewJob:
    return replace(paid(owner, cost), idempotency_key=key)


async def submit(enqueuer: AsyncEnqueuer, nj: NewJob) -> tuple[Job, bool]:
    """What the API does: keyed jobs through ``enqueue_keyed``, the others ``enqueue``."""
    if nj.idempotency_key is None:
        return await enqueuer.enqueue(nj), True
    return await enqueuer.enqueue_keyed(nj)


async def gathered(
    enqueuer: AsyncEnqueuer, new: list[NewJob]
) -> list[tuple[Job, bool] | BaseException]:
    """Submit all at once (one loop iteration, so they share the enqueuer's next batch)."""
    return await asyncio.wait_for(
        asyncio.gather(*(submit(enqueuer, nj) for nj in new), return_exceptions=True), WAIT
    )


async def keyed_alone(enqueuer: AsyncEnqueuer, nj: NewJob) -> tuple[Job, bool]:
    return await asyncio.wait_for(enqueuer.enqueue_keyed(nj), WAIT)


def outcomes(results: list[tuple[Job, bool] | BaseException]) -> list[tuple[Job, bool]]:
    for r in results:
        assert isinstance(r, tuple), r
    return [r for r in results if isinstance(r, tuple)]


def xmins(store: Store) -> dict[str, str]:
    """Each job row's writing transaction (PostgreSQL's xmin changes on every update)."""
    with store.read() as conn:
        rows = conn.execute(text("SELECT id, xmin::text AS x FROM jobs")).all()
    return {r.id: r.x for r in rows}


def by_key(store: Store, owner: str, key: str) -> list[str]:
    with store.read() as conn:
        return list(
            conn.execute(
                select(jobs.c.id).where(jobs.c.owner == owner, jobs.c.idempotency_key == key)
            ).scalars()
        )


def reconciled(store: Store) -> None:
    with store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.ok, report.problems


@on_postgres
@pytest.mark.anyio
async def test_a_batch_mixing_new_keys_replays_and_plain_jobs(
    store: Store, queue: JobQueue, clock: FakeClock, enqueuer: AsyncEnqueuer
) -> None:
    now_ms = int(clock.now() * 1000)
    alice_k1, made = queue.enqueue(keyed("alice", "k1"))
    assert made
    bob_k2, made = queue.enqueue(keyed("bob", "k2", 1))
    assert made
    assert lane(store, "alice") == lane(store, "bob") == now_ms + FAIR_QUANTUM_MS
    xmin_before = xmins(store)
    events_before = queued_events(store)
    announced: list[list[str]] = []
    queue.enqueue_listeners.append(lambda created: announced.append([j.id for j in created]))

    new = [
        keyed("alice", "k3", 2),  # new key
        keyed("bob", "k2", 3),  # replay: bob's only submission in the batch
        free("carol", 4),  # no key
        keyed("alice", "k1", 5),  # replay
        keyed("carol", "k1", 6),  # new: k1 is alice's key, not carol's
        free("alice", 7),  # no key
    ]
    results = outcomes(await gathered(enqueuer, new))

    assert [created for _, created in results] == [True, False, True, False, True, True]
    # One batch, one transaction, for all six (nothing was refused or rolled back).
    assert (enqueuer.batches, enqueuer.jobs) == (1, 6)
    made_here = [nj for nj, (_, created) in zip(new, results, strict=True) if created]
    after = xmins(store)
    assert len({after[nj.id] for nj in made_here}) == 1
    # Replays answer with the stored job, not the request's own id, exactly as stored.
    assert results[1][0].id == bob_k2.id and results[3][0].id == alice_k1.id
    for (job, created), nj in zip(results, new, strict=True):
        assert job == queue.get(job.id)
        if created:
            assert job.id == nj.id and job.owner == nj.owner and job.input == nj.input
    assert results[1][0] == bob_k2 and results[3][0] == alice_k1

    # Nothing was written for the replays: no row for their request ids, the stored rows
    # untouched (same writing transaction), no event, no lane bump.
    rows = job_rows(store)
    assert set(rows) == {alice_k1.id, bob_k2.id} | {nj.id for nj in made_here}
    assert new[1].id not in rows and new[3].id not in rows
    assert after[alice_k1.id] == xmin_before[alice_k1.id]
    assert after[bob_k2.id] == xmin_before[bob_k2.id]
    assert queued_events(store) == {**events_before, **{nj.id: QUEUED_EVENT for nj in made_here}}
    assert lane(store, "bob") == now_ms + FAIR_QUANTUM_MS
    # alice: one quantum for her first job, one each for the two created here, none for k1.
    assert lane(store, "alice") == now_ms + 3 * FAIR_QUANTUM_MS
    assert lane(store, "carol") == now_ms + 2 * FAIR_QUANTUM_MS
    assert by_key(store, "carol", "k1") == [new[4].id]
    assert by_key(store, "alice", "k1") == [alice_k1.id]
    # Listeners hear of the created jobs only.
    assert sorted(i for ids in announced for i in ids) == sorted(nj.id for nj in made_here)


@on_postgres
@pytest.mark.anyio
async def test_a_key_twice_in_one_batch_makes_one_job(
    store: Store,
    clock: FakeClock,
    queue: JobQueue,
    enqueuer: AsyncEnqueuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="renderhouse.api.fastpath.async_enqueue")
    dupes = [keyed("alice", "same", i) for i in range(3)]
    other = free("bob", 9)
    results = outcomes(await gathered(enqueuer, [*dupes, other]))

    # The repeats wait for the first request with their key instead of joining its batch
    # (where their conflict would roll back everyone's work): one batch, nothing rolled back.
    assert "rolled back" not in caplog.text
    assert (enqueuer.batches, enqueuer.jobs) == (1, 2)
    # The first submitted wins; the others get its job.
    assert [created for _, created in results] == [True, False, False, True]
    assert {job.id for job, _ in results[:3]} == {dupes[0].id}
    for job, _ in results:
        assert job == queue.get(job.id)
    rows = job_rows(store)
    assert set(rows) == {dupes[0].id, other.id}
    assert by_key(store, "alice", "same") == [dupes[0].id]
    assert queued_events(store) == {dupes[0].id: QUEUED_EVENT, other.id: QUEUED_EVENT}
    # The losers' lane bumps rolled back with the batch: alice moved one quantum.
    now_ms = int(clock.now() * 1000)
    assert lane(store, "alice") == now_ms + FAIR_QUANTUM_MS
    assert rows[dupes[0].id].fair_key == now_ms


@on_postgres
@pytest.mark.anyio
async def test_repeats_of_a_refused_key_are_each_refused_on_their_own(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    """A key's repeats wait for its first request; when that one is refused they do not
    inherit its refusal but go again, each answered on what the database says then."""
    fund(store, "bob", 10)
    tries = [keyed_paid("bob", "b", 50) for _ in range(3)]
    results = await gathered(enqueuer, [*tries, keyed("carol", "c")])
    for error in results[:3]:
        assert isinstance(error, InsufficientCredits), error
    ((carol_job, created),) = outcomes(results[3:])
    assert created and set(job_rows(store)) == {carol_job.id}
    assert balance(store, "bob") == (10, 0)

    # Funded meanwhile, repeats of a refused first try: the first repeat makes the job.
    fund(store, "bob", 40)
    first = keyed_paid("bob", "b2", 60)  # refused: bob has 50
    repeats = [keyed_paid("bob", "b2", 50) for _ in range(2)]
    results = await gathered(enqueuer, [first, *repeats])
    assert isinstance(results[0], InsufficientCredits), results[0]
    made = outcomes(results[1:])
    assert [created for _, created in made] == [True, False]
    assert made[0][0].id == made[1][0].id == repeats[0].id
    assert by_key(store, "bob", "b2") == [repeats[0].id]
    assert balance(store, "bob") == (0, 50)
    reconciled(store)


@on_postgres
@pytest.mark.anyio
async def test_keys_belong_to_their_owner(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    first = outcomes(await gathered(enqueuer, [keyed("alice", "k"), keyed("bob", "k", 1)]))
    assert [created for _, created in first] == [True, True]
    (alice_job, _), (bob_job, _) = first
    assert alice_job.id != bob_job.id
    assert (alice_job.owner, bob_job.owner) == ("alice", "bob")
    assert enqueuer.batches == 1  # one batch, no conflict between the two

    # Replayed together, in the other order: each owner gets their own job back.
    again = outcomes(await gathered(enqueuer, [keyed("bob", "k", 2), keyed("alice", "k", 3)]))
    assert again == [(bob_job, False), (alice_job, False)]
    assert set(job_rows(store)) == {alice_job.id, bob_job.id}
    assert queue.get(alice_job.id) == alice_job and queue.get(bob_job.id) == bob_job


class _RollBack(Exception):
    pass


def _insert_row_only(conn: Connection, nj: NewJob, now: float) -> None:
    """A bare job row: its writer holds no owner_lanes lock, so a competing insert waits
    on the unique (owner, idempotency_key) index itself."""
    conn.execute(
        jobs.insert().values(
            id=nj.id,
            kind=nj.kind,
            owner=nj.owner,
            input=json.dumps(nj.input),
            state="queued",
            run_at=now,
            max_attempts=nj.max_attempts,
            timeout=nj.timeout,
            idempotency_key=nj.idempotency_key,
            created_at=now,
            updated_at=now,
        )
    )


async def _blocked_by(store: Store, pid: int) -> list[int]:
    """Wait until some backend waits for a lock held by backend ``pid``; their pids."""
    deadline = time.monotonic() + WAIT
    while True:
        with store.read() as conn:
            waiting = list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE CAST(:pid AS integer) "
                        "= ANY(pg_blocking_pids(pid))"
                    ),
                    {"pid": pid},
                ).scalars()
            )
        if waiting:
            return waiting
        assert time.monotonic() < deadline, "the keyed enqueue never waited for the writer"
        await asyncio.sleep(0.005)  # let the enqueuer's task reach the database


@on_postgres
@pytest.mark.anyio
@pytest.mark.parametrize("companion", [False, True], ids=["alone", "in-batch"])
@pytest.mark.parametrize("writer", ["queue", "row"])
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_concurrent_writer_with_the_same_key(
    store: Store,
    queue: JobQueue,
    clock: FakeClock,
    enqueuer: AsyncEnqueuer,
    outcome: str,
    writer: str,
    companion: bool,
) -> None:
    queue.enqueue(free("alice"))  # alice has a lane, so its bump (or not) shows
    lane_before = lane(store, "alice")
    assert lane_before is not None
    theirs = keyed("alice", "race", 1)
    mine = keyed("alice", "race", 2)
    extra = [free("zed", 3)] if companion else []

    # The other writer: another API process's ordinary enqueue (the async statement then
    # waits on alice's owner_lanes row first), or a bare row (it waits on the key's index).
    with contextlib.suppress(_RollBack), store.begin() as conn:
        if writer == "queue":
            their_job, made = queue.enqueue(theirs, conn)
            assert made
        else:
            _insert_row_only(conn, theirs, clock.now())
        other_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        task = asyncio.ensure_future(gathered(enqueuer, [mine, *extra]))
        waiting = await _blocked_by(store, other_pid)
        loop_conn = enqueuer.connection.current
        assert loop_conn is not None and waiting == [loop_conn.info.backend_pid]
        assert not task.done()
        if outcome == "rollback":
            raise _RollBack
    results = outcomes(await asyncio.wait_for(task, WAIT))

    (job, created), *others = results
    rows = job_rows(store)
    if outcome == "commit":
        assert (job.id, created) == (theirs.id, False)
        assert mine.id not in rows
        if writer == "queue":
            assert job == their_job
            assert lane(store, "alice") == lane_before + FAIR_QUANTUM_MS  # theirs only
        else:
            assert lane(store, "alice") == lane_before  # the loser's bump rolled back
    else:
        assert (job.id, created) == (mine.id, True)
        assert theirs.id not in rows
        assert lane(store, "alice") == lane_before + FAIR_QUANTUM_MS  # mine only
    assert job == queue.get(job.id)
    assert by_key(store, "alice", "race") == [job.id]
    events = queued_events(store)
    assert set(events) <= set(rows)  # nothing left of the loser or the rolled-back writer
    assert events.get(job.id) == (None if (outcome, writer) == ("commit", "row") else QUEUED_EVENT)
    assert [o.id for o, _ in others] == [nj.id for nj in extra]
    assert all(made for _, made in others)
    assert all(nj.id in rows for nj in extra)
    assert len(rows) == 2 + len(extra)


@on_postgres
@pytest.mark.anyio
async def test_a_paid_replay_reserves_nothing(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "alice", 40)
    original = keyed_paid("alice", "p", 30)
    job, created = await keyed_alone(enqueuer, original)
    assert created and job.id == original.id
    assert balance(store, "alice") == (10, 30)
    ledger_before = entries(store, "alice")
    assert ledger_before == [("grant", None, 40), ("reserve", original.id, 30)]

    # The replay could not be afforded again (10 < 30): it still answers, with the job, and
    # the other paid job in its batch takes exactly what is left.
    replay, rest = keyed_paid("alice", "p", 30), paid("alice", 10)
    results = outcomes(await gathered(enqueuer, [replay, rest]))
    assert results == [(job, False), (results[1][0], True)]
    assert results[1][0].id == rest.id
    assert (enqueuer.batches, enqueuer.jobs) == (2, 3)
    assert balance(store, "alice") == (0, 40)
    assert entries(store, "alice") == [*ledger_before, ("reserve", rest.id, 10)]
    assert set(job_rows(store)) == {original.id, rest.id}

    # Alone, too.
    again = await keyed_alone(enqueuer, keyed_paid("alice", "p", 30))
    assert again == (job, False)
    assert balance(store, "alice") == (0, 40)
    assert len(entries(store, "alice")) == 3
    reconciled(store)


@on_postgres
@pytest.mark.anyio
async def test_an_unaffordable_keyed_job_fails_alone(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "alice", 100)
    fund(store, "bob", 10)
    bob_free, _ = queue.enqueue(free("bob"))
    bob_lane = lane(store, "bob")
    a1, created = await keyed_alone(enqueuer, keyed_paid("alice", "a1", 30))
    assert created and balance(store, "alice") == (70, 30)

    new = [
        keyed_paid("bob", "b1", 50),  # bob has 10
        keyed_paid("alice", "a2", 30),
        keyed_paid("alice", "a1", 30),  # replay
        keyed("carol", "c1"),
        paid("alice", 40),  # exactly what alice has left
    ]
    refused = new[0]
    results = await gathered(enqueuer, new)

    error = results[0]
    assert isinstance(error, InsufficientCredits)
    assert error.details == {"account": "bob", "needed": 50, "available": 10}
    ok = outcomes(results[1:])
    assert [created for _, created in ok] == [True, False, True, True]
    assert [job.id for job, _ in ok] == [new[1].id, a1.id, new[3].id, new[4].id]
    for job, _ in ok:
        assert job == queue.get(job.id)

    rows = job_rows(store)
    assert set(rows) == {bob_free.id, a1.id, new[1].id, new[3].id, new[4].id}
    assert by_key(store, "bob", "b1") == []
    assert refused.id not in queued_events(store)
    assert lane(store, "bob") == bob_lane
    assert balance(store, "bob") == (10, 0)
    assert entries(store, "bob") == [("grant", None, 10)]
    assert balance(store, "alice") == (0, 100)
    assert entries(store, "alice") == [
        ("grant", None, 100),
        ("reserve", a1.id, 30),
        ("reserve", new[1].id, 30),
        ("reserve", new[4].id, 40),
    ]
    reconciled(store)

    # The refusal did not burn the key: funded, the same key goes through.
    fund(store, "bob", 40)
    retry = keyed_paid("bob", "b1", 50)
    job, created = await keyed_alone(enqueuer, retry)
    assert created and job.id == retry.id
    assert balance(store, "bob") == (0, 50)
    assert by_key(store, "bob", "b1") == [retry.id]
    reconciled(store)


@on_postgres
@pytest.mark.anyio
@pytest.mark.parametrize("end", ["succeeded", "cancelled"])
async def test_a_replay_of_a_finished_job_returns_it_as_it_is_now(
    store: Store, queue: JobQueue, clock: FakeClock, enqueuer: AsyncEnqueuer, end: str
) -> None:
    fund(store, "alice", 100)
    job, created = await keyed_alone(enqueuer, keyed_paid("alice", "d", 20))
    assert created
    clock.advance(5)
    if end == "succeeded":
        (claimed,) = queue.claim(["priced"], 1, "w1")
        assert claimed.id == job.id
        clock.advance(5)
        queue.complete(job.id, claimed.attempt, {"ok": True}, cost=15)
        assert balance(store, "alice") == (85, 0)
    else:
        queue.cancel(job.id)
        assert balance(store, "alice") == (100, 0)
    finished = queue.get(job.id)
    assert finished.state == end and finished.finished_at is not None
    ledger_before, events_before = entries(store, "alice"), queued_events(store)
    lane_before, xmin_before = lane(store, "alice"), xmins(store)

    clock.advance(5)
    replay, created = await keyed_alone(enqueuer, keyed_paid("alice", "d", 20))
    assert not created
    assert replay == finished
    assert replay.state == end and replay.updated_at != job.updated_at
    if end == "succeeded":
        assert (replay.result, replay.cost_posted) == ({"ok": True}, 15)
    assert entries(store, "alice") == ledger_before
    assert queued_events(store) == events_before
    assert (lane(store, "alice"), xmins(store)) == (lane_before, xmin_before)
    assert set(job_rows(store)) == {job.id}
    reconciled(store)


# -- the route's keyed enqueue: the same replay check, one job at a time ----------------------


@on_postgres
@pytest.mark.anyio
async def test_the_route_and_the_lanes_answer_each_others_keys(
    store: Store, queue: JobQueue, enqueuer: AsyncEnqueuer
) -> None:
    fund(store, "alice", 100)
    by_route, made = queue.enqueue(keyed_paid("alice", "r", 30))
    assert made
    by_lane, made = await keyed_alone(enqueuer, keyed_paid("alice", "l", 30))
    assert made
    assert await keyed_alone(enqueuer, keyed_paid("alice", "r", 30)) == (by_route, False)
    assert queue.enqueue(keyed_paid("alice", "l", 30)) == (by_lane, False)
    assert set(job_rows(store)) == {by_route.id, by_lane.id}
    assert balance(store, "alice") == (40, 60)
    assert [kind for kind, _, _ in entries(store, "alice")] == ["grant", "reserve", "reserve"]
    with store.read() as conn:
        found = enqueue.by_keys(conn, [("alice", "r"), ("alice", "l"), ("bob", "r")])
    assert found == {("alice", "r"): by_route, ("alice", "l"): by_lane}


@on_postgres  # SQLite has one writer at a time: no key can turn up meanwhile
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_key_that_turns_up_during_the_routes_enqueue_leaves_one_job_and_one_reservation(
    store: Store, queue: JobQueue, outcome: str
) -> None:
    fund(store, "alice", 100)
    queue.enqueue(free("alice"))  # alice has a lane, so a bump (or not) shows
    lane_before = lane(store, "alice")
    assert lane_before is not None
    theirs, mine = keyed_paid("alice", "race", 30), keyed_paid("alice", "race", 30)
    started = threading.Event()

    def route() -> tuple[Job, bool]:
        started.set()
        return queue.enqueue(mine)

    with ThreadPoolExecutor(1) as pool:
        with contextlib.suppress(_RollBack), store.begin() as conn:
            their_job, made = queue.enqueue(theirs, conn)
            assert made
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            result = pool.submit(route)
            assert started.wait(WAIT)
            assert asyncio.run(_blocked_by(store, pid))  # mine found nothing, waits on the key
            if outcome == "rollback":
                raise _RollBack
        job, created = result.result(WAIT)

    rows = job_rows(store)
    assert lane(store, "alice") == lane_before + FAIR_QUANTUM_MS  # one job's bump only
    assert balance(store, "alice") == (70, 30)
    assert [e for e in entries(store, "alice") if e[0] == "reserve"] == [("reserve", job.id, 30)]
    if outcome == "commit":
        assert (job, created) == (their_job, False)
        assert mine.id not in rows
    else:
        assert (job.id, created) == (mine.id, True)
        assert theirs.id not in rows
    assert job == queue.get(job.id)
    assert set(queued_events(store)) <= set(rows)


def test_an_unaffordable_keyed_job_on_the_route_leaves_nothing_and_keeps_its_key_free(
    store: Store, queue: JobQueue
) -> None:
    fund(store, "bob", 10)
    queue.enqueue(free("bob"))
    lane_before = lane(store, "bob")
    rows_before = set(job_rows(store))
    refused = keyed_paid("bob", "b1", 50)
    with pytest.raises(InsufficientCredits) as caught:
        queue.enqueue(refused)
    assert caught.value.details == {"account": "bob", "needed": 50, "available": 10}
    assert set(job_rows(store)) == rows_before
    assert lane(store, "bob") == lane_before
    assert balance(store, "bob") == (10, 0)
    assert refused.id not in queued_events(store)

    fund(store, "bob", 40)
    retry = keyed_paid("bob", "b1", 50)
    job, created = queue.enqueue(retry)
    assert created and job.id == retry.id
    assert balance(store, "bob") == (0, 50)
    assert queue.enqueue(keyed_paid("bob", "b1", 50)) == (job, False)
