"""``notify_sender``: data transactions no longer NOTIFY (a notifying commit takes a lock for
the whole cluster until its commit record is flushed); what they would have notified goes
after their COMMIT, through the store's ``NotifySender``, which sends everything handed over
meanwhile as one statement. PostgreSQL only, against a real server: every check listens on a
connection of its own."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from queue import Queue
from typing import Any

import psycopg
import pytest
import sqlalchemy
from sqlalchemy import Connection, Engine, event, text

from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
from renderhouse.queue import enqueue, events
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.events import EVENTS_CHANNEL
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.dialect import NOTIFY_CHANNEL
from renderhouse.store.notify_sender import (
    MAX_ITEMS,
    MAX_PAYLOAD,
    NotifySender,
    notify_after_commit,
    payloads,
)
from renderhouse.worker.listener import Listener

WAIT = 10.0
CHANNEL = "rh_test_notify"
"""A channel of the tests' own, next to the two the application uses."""
SENDER_QUERY = "SELECT pg_notify(c, p) FROM unnest%"

on_postgres = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


class Inbox:
    """A LISTEN connection of its own, on every channel these tests use."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.conn = psycopg.connect(conninfo, autocommit=True)
        for channel in (NOTIFY_CHANNEL, EVENTS_CHANNEL, CHANNEL):
            self.conn.execute(f"LISTEN {channel}")
        self._marks = 0

    def receive(self, want: Iterable[tuple[str, str]]) -> list[psycopg.Notify]:
        """Notifications until every (channel, item) of ``want`` has come (payloads split on
        commas); fails at the deadline, naming what is missing."""
        wanted = set(want)
        got: list[psycopg.Notify] = []
        seen: set[tuple[str, str]] = set()
        deadline = time.monotonic() + WAIT
        while not wanted <= seen:
            left = deadline - time.monotonic()
            assert left > 0, f"never arrived: {sorted(wanted - seen)}; got {got}"
            for note in self.conn.notifies(timeout=left, stop_after=1):
                got.append(note)
                seen.update((note.channel, item) for item in note.payload.split(","))
        return got

    def until_marker(self) -> list[psycopg.Notify]:
        """Everything that arrives before a marker notified now from another connection.
        PostgreSQL delivers in commit order, so whatever was committed before this call is
        in the list: an empty list proves nothing had been sent."""
        self._marks += 1
        mark = f"marker-{self._marks}"
        with psycopg.connect(self.conninfo, autocommit=True) as other:
            other.execute("SELECT pg_notify(%s, %s)", (CHANNEL, mark))
        got = self.receive([(CHANNEL, mark)])
        assert (got[-1].channel, got[-1].payload) == (CHANNEL, mark)
        return got[:-1]


def notes(got: list[psycopg.Notify]) -> list[tuple[str, str]]:
    return [(n.channel, n.payload) for n in got]


def items_of(got: list[psycopg.Notify], channel: str) -> list[str]:
    return [item for n in got if n.channel == channel for item in n.payload.split(",")]


def sender_of(store: Store) -> NotifySender:
    assert store.notify_sender is not None
    return store.notify_sender


def sender_backends(store: Store) -> list[int]:
    """The backends whose last statement was the sender's (its own connection's)."""
    with store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND query LIKE :q"
            ),
            {"q": SENDER_QUERY},
        ).scalars()
        return list(rows)


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def capture_sql(engine: Engine) -> list[str]:
    """Every statement sent through ``engine`` from now on."""
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    return sent


def hold_first_send(sender: NotifySender, release: threading.Event) -> threading.Event:
    """Make the sender's first send wait for ``release`` (a slow send, as during a commit
    stall); what is handed over meanwhile waits in the sender. Returns an event set once
    that first send has taken its batch."""
    taken = threading.Event()
    send = sender._send

    def held(conn: Any, pending: dict[str, set[str]]) -> Any:
        if not taken.is_set():
            taken.set()
            release.wait(WAIT)
        return send(conn, pending)

    sender._send = held  # type: ignore[method-assign]
    return taken


@pytest.fixture
def inbox(store: Store) -> Iterator[Inbox]:
    box = Inbox(store.libpq_url)
    yield box
    box.conn.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- 1. only after COMMIT -------------------------------------------------------------------


@on_postgres
def test_notifications_leave_after_commit_and_never_after_rollback(
    store: Store, inbox: Inbox
) -> None:
    sender = sender_of(store)
    before = sender.statements
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["b", "a"])
        store.dialect.notify(conn, "kind-one")
        notify_after_commit(conn, CHANNEL, ["c", "b"])
        assert sender.flush()  # had anything been handed over, it would have gone now
        assert inbox.until_marker() == []
        assert sender.statements == before
    assert sender.flush()
    got = inbox.receive(
        [(CHANNEL, "a"), (CHANNEL, "b"), (CHANNEL, "c"), (NOTIFY_CHANNEL, "kind-one")]
    )
    got += inbox.until_marker()
    # One payload per channel (items of the transaction merged, deduplicated, sorted), both
    # channels in one statement.
    assert sorted(notes(got)) == [(NOTIFY_CHANNEL, "kind-one"), (CHANNEL, "a,b,c")]
    assert sender.statements == before + 1

    with pytest.raises(RuntimeError, match="rolled back"), store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["never"])
        store.dialect.notify(conn, "never-kind")
        raise RuntimeError("rolled back")
    assert sender.flush()
    assert inbox.until_marker() == []
    assert sender.statements == before + 1

    # Nothing of the rolled-back transaction lingers on the pooled connection either.
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["after"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "after")]


# -- 2. no pg_notify in the data transaction ------------------------------------------------


@on_postgres
def test_enqueue_notifies_workers_after_its_transaction_not_in_it(
    store: Store, inbox: Inbox
) -> None:
    queue = JobQueue(store)
    sent = capture_sql(store.engine)
    job, created = queue.enqueue(NewJob("notify_probe", {"i": 1}, owner="alice"))
    assert created and any("INSERT INTO jobs" in s for s in sent)
    assert [s for s in sent if "pg_notify" in s.lower()] == []
    assert sender_of(store).flush()
    assert (NOTIFY_CHANNEL, "notify_probe") in notes(inbox.receive([(NOTIFY_CHANNEL, job.kind)]))

    # Several jobs at once (the multi-row path): one notification per kind, still after.
    sent.clear()
    out = queue.enqueue_many(
        [
            NewJob("probe_a", {"i": 1}, owner="bob"),
            NewJob("probe_b", {"i": 2}, owner="bob"),
            NewJob("probe_a", {"i": 3}, owner="carol", idempotency_key="k1"),
        ]
    )
    assert all(made for _, made in out) and sent
    assert [s for s in sent if "pg_notify" in s.lower()] == []
    assert sender_of(store).flush()
    got = inbox.receive([(NOTIFY_CHANNEL, "probe_a"), (NOTIFY_CHANNEL, "probe_b")])
    assert sorted(items_of(got + inbox.until_marker(), NOTIFY_CHANNEL)) == ["probe_a", "probe_b"]

    # The API's asynchronous enqueue runs the same single statement: no pg_notify in it.
    stmt, _ = enqueue.postgres_plan(NewJob("noop", {}, owner="dave"), 0.0, None)
    assert "pg_notify" not in stmt.text.lower()


@on_postgres
@pytest.mark.anyio
async def test_async_enqueue_notifies_after_its_commit(store: Store, inbox: Inbox) -> None:
    enqueuer = AsyncEnqueuer(JobQueue(store))
    try:
        await enqueuer.enqueue(NewJob("async_probe", {"i": 1}, owner="erin"))
    finally:
        await enqueuer.close()
    assert sender_of(store).flush()
    got = inbox.receive([(NOTIFY_CHANNEL, "async_probe")])
    assert items_of(got + inbox.until_marker(), NOTIFY_CHANNEL) == ["async_probe"]


# -- 3. coalescing and payload limits -------------------------------------------------------


def _jobs(store: Store, n: int) -> list[str]:
    out = JobQueue(store).enqueue_many([NewJob("noop", {"i": i}, owner="frank") for i in range(n)])
    assert sender_of(store).flush()
    return [job.id for job, _ in out]


def _check_limits(got: list[psycopg.Notify]) -> None:
    for note in got:
        assert len(note.payload.split(",")) <= MAX_ITEMS
        assert len(note.payload.encode()) < 8000


@on_postgres
def test_back_to_back_commits_all_arrive(store: Store, inbox: Inbox) -> None:
    ids = _jobs(store, 50)
    inbox.until_marker()  # the enqueue's own wake-up
    sender = sender_of(store)
    before = sender.statements
    for i, job_id in enumerate(ids):
        with store.begin() as conn:
            events.record(conn, job_id, "progress", {"i": i}, 1.0)
    assert sender.flush()
    got = inbox.receive((EVENTS_CHANNEL, job_id) for job_id in ids)
    got += inbox.until_marker()
    _check_limits(got)
    assert sorted(items_of(got, EVENTS_CHANNEL)) == sorted(ids)  # each once, nothing else
    assert 1 <= sender.statements - before <= len(ids)


@on_postgres
def test_commits_during_a_send_go_out_together_in_one_statement(store: Store, inbox: Inbox) -> None:
    ids = _jobs(store, 250)
    inbox.until_marker()
    sender = sender_of(store)
    before = sender.statements
    release = threading.Event()
    taken = hold_first_send(sender, release)
    try:
        with store.begin() as conn:
            events.record(conn, ids[0], "progress", {}, 1.0)
        assert taken.wait(WAIT)
        for job_id in ids[1:]:  # 249 transactions committed while the first send is out
            with store.begin() as conn:
                events.record(conn, job_id, "progress", {}, 1.0)
    finally:
        release.set()
    assert sender.flush()
    got = inbox.receive((EVENTS_CHANNEL, job_id) for job_id in ids)
    got += inbox.until_marker()
    assert sender.statements - before == 2  # the held send, then all 249 at once
    _check_limits(got)
    assert sorted(items_of(got, EVENTS_CHANNEL)) == sorted(ids)
    assert [len(n.payload.split(",")) for n in got] == [1, 200, 49]


@on_postgres
def test_large_batches_are_split_into_payloads_postgres_accepts(store: Store, inbox: Inbox) -> None:
    many = [f"item-{i:04d}" for i in range(450)]
    long = [f"{i:03d}-" + "x" * 996 for i in range(20)]
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, many)
        notify_after_commit(conn, CHANNEL, long)
    assert sender_of(store).flush()
    got = inbox.receive((CHANNEL, item) for item in many + long)
    got += inbox.until_marker()
    _check_limits(got)
    assert sorted(items_of(got, CHANNEL)) == sorted(many + long)
    assert len(got) == len(payloads(many + long)) == 5  # 7 + 7 + 195 (bytes) + 200 + 61


def test_payloads_deduplicate_sort_and_join() -> None:
    assert payloads([]) == []
    assert payloads(["b", "a", "b", "c", "a"]) == ["a,b,c"]
    assert payloads(iter({"cancel:x", "turntable"})) == ["cancel:x,turntable"]


def test_payloads_hold_at_most_max_items() -> None:
    items = [f"{i:03d}" for i in range(450)]
    out = payloads(reversed(items))
    assert [len(p.split(",")) for p in out] == [MAX_ITEMS, MAX_ITEMS, 50]
    assert [item for p in out for item in p.split(",")] == items


def test_payloads_stay_under_the_byte_limit() -> None:
    items = [f"{i:02d}" + "y" * 998 for i in range(20)]  # 1,000 characters each
    out = payloads(items)
    assert [len(p.split(",")) for p in out] == [7, 7, 6]  # 7 items: 7,006; 8 would be 8,007
    assert all(len(p) <= MAX_PAYLOAD and len(p.encode()) < 8000 for p in out)
    assert [item for p in out for item in p.split(",")] == items
    # Mixed lengths: each payload is as full as the limit lets it be.
    mixed = [f"{i:03d}" + "z" * (40 + 37 * (i % 50)) for i in range(120)]
    out = payloads(mixed)
    assert [item for p in out for item in p.split(",")] == sorted(mixed)
    for p, following in itertools.pairwise(out):
        assert len(p) <= MAX_PAYLOAD
        assert len(p) + 1 + len(following.split(",")[0]) > MAX_PAYLOAD


def test_payloads_measure_bytes_not_characters(caplog: pytest.LogCaptureFixture) -> None:
    items = ["é" * 50 + f"{i:04d}" for i in range(300)]  # 54 characters, 104 bytes each
    out = payloads(items)
    assert [item for p in out for item in p.split(",")] == items
    assert all(len(p.encode()) < 8000 for p in out)
    # One item no payload can hold is left out, loudly; the others still go.
    assert payloads(["ok", "é" * 4000]) == ["ok"]
    assert "cannot be sent" in caplog.text


# -- 4. recovery ----------------------------------------------------------------------------


@on_postgres
def test_sender_reconnects_after_its_connection_is_killed(
    store: Store, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="renderhouse.store.notify_sender")
    sender = sender_of(store)
    sender.send(CHANNEL, ["first"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "first")]
    (pid,) = sender_backends(store)
    with store.read() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    eventually(lambda: sender_backends(store) == [], "the sender's backend to go")

    # The first send after the kill finds the connection dead and sends again on a new one:
    # nothing is lost, nothing is logged as lost.
    sender.send(CHANNEL, ["second"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "second")]
    assert "could not send notifications" not in caplog.text

    # Later ones arrive again, through a new connection (the data path as well).
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["third"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "third")]
    (new_pid,) = sender_backends(store)
    assert new_pid != pid


# -- 5. close() -----------------------------------------------------------------------------


@on_postgres
def test_close_sends_what_is_pending_and_a_later_send_starts_again(
    store: Store, inbox: Inbox
) -> None:
    sender = sender_of(store)
    before = sender.statements
    release = threading.Event()
    taken = hold_first_send(sender, release)
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["one"])
    assert taken.wait(WAIT)
    with store.begin() as conn:  # waits in the sender while "one" is being sent
        notify_after_commit(conn, CHANNEL, ["two"])
    # The held send takes a moment more (a slow disk): close() comes while "two" is pending.
    threading.Timer(0.2, release.set).start()
    sender.close()
    assert release.is_set()  # close() waited for the send in flight...
    assert sender.statements == before + 2  # ...and sent "two" before returning
    assert notes(inbox.until_marker()) == [(CHANNEL, "one"), (CHANNEL, "two")]
    eventually(lambda: sender_backends(store) == [], "the sender's connection to close")

    # Closed is not dead: the next send starts the thread and its connection again.
    with store.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["three"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "three")]
    assert sender.statements == before + 3
    assert len(sender_backends(store)) == 1

    sender.close()  # twice in a row, and with nothing pending: returns at once
    sender.close()
    sender.send(CHANNEL, ["four"])
    assert sender.flush()
    assert notes(inbox.until_marker()) == [(CHANNEL, "four")]


# -- 6. without a sender --------------------------------------------------------------------


@on_postgres
def test_without_a_store_transaction_notify_goes_inside_the_transaction(
    store: Store, inbox: Inbox
) -> None:
    sender = sender_of(store)
    before = sender.statements
    engine = sqlalchemy.create_engine(store.engine.url)  # same database, no sender
    sent = capture_sql(engine)
    try:
        with engine.begin() as conn:
            notify_after_commit(conn, CHANNEL, ["plain-b", "plain-a"])
            assert [s for s in sent if "pg_notify" in s] != []  # sent in this transaction
            assert inbox.until_marker() == []  # ...and delivered only at its commit
        assert notes(inbox.until_marker()) == [(CHANNEL, "plain-a,plain-b")]

        # A rollback takes the notification with it.
        with pytest.raises(RuntimeError, match="rolled back"), engine.begin() as conn:
            notify_after_commit(conn, CHANNEL, ["plain-never"])
            raise RuntimeError("rolled back")
        assert inbox.until_marker() == []
    finally:
        engine.dispose()

    # The store's own engine outside Store.begin() has a sender but no after-commit hook:
    # the same in-transaction fallback, never a send before the commit.
    with store.engine.begin() as conn:
        notify_after_commit(conn, CHANNEL, ["bare"])
        assert inbox.until_marker() == []
    assert notes(inbox.until_marker()) == [(CHANNEL, "bare")]
    assert sender.statements == before


# -- 7. the worker's Listener ---------------------------------------------------------------


@on_postgres
def test_worker_listener_splits_coalesced_payloads(store: Store, inbox: Inbox) -> None:
    sender = sender_of(store)
    calls: Queue[str] = Queue()
    listener = Listener(store.libpq_url, calls.put)
    listener.start()
    try:
        assert listener.connected.wait(WAIT)
        assert calls.get(timeout=WAIT) == "*"  # the wake-up on connect
        sender.send(NOTIFY_CHANNEL, ["b", "cancel:x", "a"])
        assert sender.flush()
        assert notes(inbox.until_marker()) == [(NOTIFY_CHANNEL, "a,b,cancel:x")]
        assert [calls.get(timeout=WAIT) for _ in range(3)] == ["a", "b", "cancel:x"]
        sender.send(NOTIFY_CHANNEL, ["next"])  # and nothing else came in between
        assert sender.flush()
        assert calls.get(timeout=WAIT) == "next"
    finally:
        listener.stop()
        listener._thread.join(WAIT)
    assert not listener._thread.is_alive()
    assert calls.empty()


@on_postgres
def test_a_bad_item_costs_its_batch_not_the_sender(  # an int cannot be sorted with str
    store: Store, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    sender = sender_of(store)
    sender.send(CHANNEL, [7])  # type: ignore[list-item]
    sender.send(CHANNEL, ["text"])
    assert sender.flush()
    assert "could not send notifications" in caplog.text
    sender.send(CHANNEL, ["after"])
    assert sender.flush()
    assert (CHANNEL, "after") in notes(inbox.until_marker())
