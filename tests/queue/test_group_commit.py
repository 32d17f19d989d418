"""``GroupCommit``: queued units of work share one transaction, all or nothing per unit,
on SQLite and PostgreSQL. The units write ``owner_lanes`` rows (a plain table with a
primary key), and every check reads those rows back from the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from renderhouse.api.fastpath.group_commit import GroupCommit
from renderhouse.store.database import Store, transaction_values
from renderhouse.store.schema import owner_lanes

WAIT = 30.0


class Transactions:
    """Which store transaction each unit ran in: a marker object hung on the transaction's
    private values (kept alive here, so two distinct markers are two transactions)."""

    def __init__(self) -> None:
        self.of: dict[str, object] = {}

    def mark(self, conn: Connection, name: str) -> None:
        self.of[name] = transaction_values(conn).setdefault("test-tx-marker", object())

    def distinct(self, names: list[str]) -> int:
        return len({id(self.of[n]) for n in names})


def insert_lane(
    owner: str, next_key: int = 1, txs: Transactions | None = None
) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(owner_lanes.insert().values(owner=owner, next_key=next_key))
        if txs is not None:
            txs.mark(conn, owner)
        return owner

    return work


def recording(ran: list[str], owner: str) -> Callable[[Connection], str]:
    """``insert_lane(owner)`` that also notes in ``ran`` that it ran."""

    def work(conn: Connection) -> str:
        ran.append(owner)
        return insert_lane(owner)(conn)

    return work


def lanes(store: Store) -> dict[str, int]:
    with store.read() as conn:
        rows = conn.execute(select(owner_lanes.c.owner, owner_lanes.c.next_key)).all()
    return {r.owner: int(r.next_key) for r in rows}


def writer_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"group-commit-{name}" and t.is_alive()]


class Blocker:
    """A unit that holds the writer thread until released, so that what is submitted
    meanwhile queues up and is committed as one batch."""

    def __init__(self, gc: GroupCommit) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.future = gc.submit(self._work, "")
        assert self.started.wait(WAIT), "the writer thread never ran the blocker"

    def _work(self, _conn: Connection) -> str:
        self.started.set()
        assert self.release.wait(WAIT)
        return "blocker"

    def done(self) -> None:
        self.release.set()
        assert self.future.result(timeout=WAIT) == "blocker"


@pytest.fixture
def gc(store: Store, request: pytest.FixtureRequest) -> Iterator[GroupCommit]:
    g = GroupCommit(store, name=request.node.name)
    yield g
    g.close()


def test_concurrent_submits_from_threads_share_transactions(store: Store, gc: GroupCommit) -> None:
    txs = Transactions()
    blocker = Blocker(gc)
    names = [f"t{t}-{i:02d}" for t in range(4) for i in range(10)]

    def submit_ten(t: int) -> list[Future[Any]]:
        return [
            gc.submit(insert_lane(f"t{t}-{i:02d}", txs=txs), f"t{t}-{i:02d}") for i in range(10)
        ]

    with ThreadPoolExecutor(4) as pool:
        futures = [f for fs in pool.map(submit_ten, range(4)) for f in fs]
    blocker.done()
    assert sorted(f.result(timeout=WAIT) for f in futures) == names
    assert lanes(store) == dict.fromkeys(names, 1)
    # The blocker's transaction, then all forty units in one more.
    assert (gc.batches, gc.units) == (2, 41)
    assert txs.distinct(names) == 1
    if store.dialect.name == "postgresql":
        # The database's own view: every row was written by the same transaction.
        with store.read() as conn:
            xids = conn.execute(text("SELECT count(DISTINCT xmin::text) FROM owner_lanes"))
            assert xids.scalar_one() == 1


def test_units_run_in_order_key_order_within_a_batch(store: Store, gc: GroupCommit) -> None:
    ran: list[str] = []

    blocker = Blocker(gc)
    futures = [gc.submit(recording(ran, k), k) for k in ("carol", "alice", "bob")]
    blocker.done()
    assert [f.result(timeout=WAIT) for f in futures] == ["carol", "alice", "bob"]
    assert ran == ["alice", "bob", "carol"]
    assert set(lanes(store)) == {"alice", "bob", "carol"}


def test_a_raising_unit_fails_alone_and_the_rest_of_its_batch_commits(
    store: Store, gc: GroupCommit
) -> None:
    calls: dict[str, int] = {}

    def counted(name: str, work: Callable[[Connection], str]) -> Callable[[Connection], str]:
        def run(conn: Connection) -> str:
            calls[name] = calls.get(name, 0) + 1
            return work(conn)

        return run

    def write_then_raise(conn: Connection) -> str:
        insert_lane("b-failing")(conn)
        raise RuntimeError("boom")

    blocker = Blocker(gc)
    a = gc.submit(counted("a", insert_lane("a")), "a")
    b = gc.submit(counted("b", write_then_raise), "b")
    c = gc.submit(counted("c", insert_lane("c")), "c")
    blocker.done()
    assert a.result(timeout=WAIT) == "a"
    assert c.result(timeout=WAIT) == "c"
    with pytest.raises(RuntimeError, match="boom"):
        b.result(timeout=WAIT)
    # The failing unit's own write is gone, the others' committed.
    assert lanes(store) == {"a": 1, "c": 1}
    # a and b ran in the batch (b raised, so c never did there), then each ran alone.
    assert calls == {"a": 2, "b": 2, "c": 1}
    # Counters count committed transactions and units: the blocker, then a and c alone.
    assert (gc.batches, gc.units) == (3, 3)


def test_a_constraint_violation_does_not_take_the_batch_down(store: Store, gc: GroupCommit) -> None:
    with store.begin() as conn:
        conn.execute(owner_lanes.insert().values(owner="dup", next_key=7))
    blocker = Blocker(gc)
    first = gc.submit(insert_lane("x1"), "a")
    duplicate = gc.submit(insert_lane("dup", next_key=99), "b")
    last = gc.submit(insert_lane("x2"), "c")
    blocker.done()
    assert first.result(timeout=WAIT) == "x1"
    assert last.result(timeout=WAIT) == "x2"
    with pytest.raises(IntegrityError):
        duplicate.result(timeout=WAIT)
    assert lanes(store) == {"dup": 7, "x1": 1, "x2": 1}
    # The writer is still healthy afterwards.
    assert gc.submit(insert_lane("after"), "z").result(timeout=WAIT) == "after"
    assert lanes(store)["after"] == 1


def test_a_unit_cancelled_before_it_ran_is_dropped(store: Store, gc: GroupCommit) -> None:
    ran: list[str] = []

    blocker = Blocker(gc)
    kept = gc.submit(recording(ran, "kept"), "a")
    dropped = gc.submit(recording(ran, "dropped"), "b")
    assert dropped.cancel()
    blocker.done()
    assert kept.result(timeout=WAIT) == "kept"
    assert dropped.cancelled()
    assert ran == ["kept"]
    assert lanes(store) == {"kept": 1}
    assert (gc.batches, gc.units) == (2, 2)


def test_close_stops_the_thread_and_a_later_submit_starts_another(
    store: Store, gc: GroupCommit
) -> None:
    name = gc.name
    assert writer_threads(name) == []
    assert gc.submit(insert_lane("one"), "one").result(timeout=WAIT) == "one"
    [first] = writer_threads(name)
    gc.close()
    assert not first.is_alive()
    assert writer_threads(name) == []
    assert gc.submit(insert_lane("two"), "two").result(timeout=WAIT) == "two"
    [second] = writer_threads(name)
    assert second is not first
    assert lanes(store) == {"one": 1, "two": 1}
    gc.close()
    assert writer_threads(name) == []


def test_close_finishes_what_is_queued(store: Store, gc: GroupCommit) -> None:
    blocker = Blocker(gc)
    queued = [gc.submit(insert_lane(f"q{i}"), f"q{i}") for i in range(5)]
    blocker.release.set()
    gc.close()
    assert all(f.done() for f in queued)
    assert lanes(store) == {f"q{i}": 1 for i in range(5)}
    assert writer_threads(gc.name) == []


def test_store_dispose_stops_the_writer_thread(store: Store, gc: GroupCommit) -> None:
    assert gc.submit(insert_lane("before"), "a").result(timeout=WAIT) == "before"
    [thread] = writer_threads(gc.name)
    store.dispose()
    assert not thread.is_alive()
    assert writer_threads(gc.name) == []
    # The store and its group commit come back on demand.
    assert gc.submit(insert_lane("after"), "a").result(timeout=WAIT) == "after"
    assert lanes(store) == {"before": 1, "after": 1}


def test_close_racing_a_submit_from_another_thread_still_stops_the_writer(
    store: Store, gc: GroupCommit
) -> None:
    """An app's shutdown (``close`` in a worker thread) while a request still submits.

    ``close`` puts its stop marker on the queue shared by every writer thread and waits for
    the old thread; a ``submit`` meanwhile starts a new thread, which can take that marker
    and exit at once, leaving the old thread to run the new unit and then wait forever: the
    ``close`` blocks for its whole timeout and returns with the old thread still alive."""
    blocker = Blocker(gc)
    [old] = writer_threads(gc.name)
    took: list[float] = []

    def close() -> None:
        start = time.monotonic()
        gc.close(timeout=3.0)
        took.append(time.monotonic() - start)

    closer = threading.Thread(target=close)
    closer.start()
    # Wait until close() has handed its stop marker over and is joining the old thread.
    for _ in range(1000):
        if gc._thread is None:
            break
        time.sleep(0.005)
    assert gc._thread is None
    late = gc.submit(insert_lane("late"), "late")
    blocker.done()
    assert late.result(timeout=WAIT) == "late"
    assert lanes(store) == {"late": 1}
    closer.join(WAIT)
    try:
        assert not old.is_alive(), (
            f"close() waited its whole timeout ({took[0]:.1f} s) and returned with its "
            "writer thread still running"
        )
    finally:
        gc.close()  # the stop marker the old thread still waits for
        old.join(WAIT)
