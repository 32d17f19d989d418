"""PostgreSQL NOTIFY sent after the transaction it announces has committed, from a
connection of its own, instead of inside that transaction.

A transaction that NOTIFYs takes one lock for the whole database cluster when it commits and
keeps it until its commit record is on disk, so that notifications leave in commit order.
Every notifying commit therefore waits for the previous one's disk flush: the flushes that
PostgreSQL would otherwise share between concurrent commits happen one after the other, and
one slow flush (a VM's disk stalls for 100-400 ms now and then, see docs/benchmarks.md)
holds up every enqueue and every worker commit behind it. Here the data transactions no
longer notify. Once one commits, what it would have notified is handed to this process's
sender thread, which sends it (with whatever else was handed over while it was sending) as
one statement, ``pg_notify`` per payload with a channel's items joined by commas, in a
transaction that touches no data. The sender's own commits still queue for that lock, but
nothing waits for them: no data transaction, no request.

Notifications are wake-up hints everywhere they are used (workers and event streams also
poll), so one lost in a crash between a commit and its send only delays a wake-up. Order
across transactions is not kept, and listeners must not rely on it (they re-read by id)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from sqlalchemy import Connection, text

log = logging.getLogger(__name__)

SENDER_OPTION = "renderhouse_notify_sender"
"""The engine execution option that carries a store's sender to its connections."""
MAX_ITEMS = 200
MAX_PAYLOAD = 7900
"""PostgreSQL refuses payloads of 8,000 bytes or more."""
_PENDING = "renderhouse_notify_pending"
_SEND = "SELECT pg_notify(c, p) FROM unnest(%s::text[], %s::text[]) AS n(c, p)"


def payloads(items: Iterable[str]) -> list[str]:
    """``items`` joined by commas into as few payloads as fit (listeners split on commas);
    an item too long for any payload is left out, with a warning."""
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for item in sorted(set(items)):
        length = len(item.encode())
        if length > MAX_PAYLOAD:
            log.warning("a notification of %d bytes cannot be sent; dropped", length)
            continue
        if chunk and (len(chunk) == MAX_ITEMS or size + length > MAX_PAYLOAD):
            out.append(",".join(chunk))
            chunk, size = [], 0
        chunk.append(item)
        size += length + 1
    if chunk:
        out.append(",".join(chunk))
    return out


class NotifySender:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.statements = 0
        """Statements sent so far (tests read how well sends coalesce)."""
        self._pending: dict[str, set[str]] = {}
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def send(self, channel: str, items: Iterable[str]) -> None:
        """Hand ``items`` over for ``channel``; returns at once (thread-safe)."""
        self.send_all({channel: items})

    def send_all(self, by_channel: Mapping[str, Iterable[str]]) -> None:
        """Hand several channels' items over at once, so that they leave in one statement
        (the thread cannot take the first channel before the others are in)."""
        with self._cond:
            for channel, items in by_channel.items():
                self._pending.setdefault(channel, set()).update(items)
            self._start()
            self._cond.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rh-notify", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed over has been sent (or given up on)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        """Send what is pending and stop the thread and its connection (the store is being
        disposed); a later ``send`` starts them again."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(10)
            if thread.is_alive():  # stuck connecting: it stops once it gets through
                return
        with self._cond:
            self._closed = False
            self._thread = None
            if self._pending:  # handed over while the thread was on its way out
                self._start()

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        backoff = 0.2
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closed)
                if not self._pending:
                    break
                pending, self._pending = self._pending, {}
                self._busy = True
            try:
                conn = self._send(conn, pending)
                backoff = 0.2
            except Exception as exc:  # whatever it is, the thread must outlive it
                log.warning("could not send notifications (listeners will poll): %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, backoff)
                backoff = min(2.0, backoff * 2)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if conn is not None:
            conn.close()

    def _send(
        self, conn: psycopg.Connection[Any] | None, pending: dict[str, set[str]]
    ) -> psycopg.Connection[Any]:
        """Send ``pending`` on ``conn`` (or a new connection) and return the connection
        to keep; a kept connection found dead (a server restart, an idle timeout) is
        replaced once, so the batch is not lost with it. Raises after closing it."""
        channels, texts = [], []
        for channel, items in sorted(pending.items()):
            for payload in payloads(items):
                channels.append(channel)
                texts.append(payload)
        for attempt in (1, 2):
            fresh = conn is None or conn.closed
            if conn is None or conn.closed:
                conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                # What it announces is already durable: its own commit need not wait for a
                # disk flush, so it holds the notify lock for microseconds, not a flush.
                conn.execute("SET synchronous_commit = off")
            try:
                conn.execute(_SEND, (channels, texts))
            except psycopg.OperationalError:
                conn.close()
                conn = None
                if fresh or attempt == 2:
                    raise
                continue
            except BaseException:
                conn.close()
                raise
            self.statements += 1
            return conn
        raise AssertionError("unreachable")


def notify_after_commit(conn: Connection, channel: str, items: Iterable[str]) -> None:
    """NOTIFY ``channel`` of ``items`` once ``conn``'s transaction has committed, through its
    store's sender; without one (a connection outside a ``Store`` transaction), inside the
    transaction as PostgreSQL's NOTIFY always does."""
    from renderhouse.store.database import after_commit, in_transaction, transaction_values

    sender: NotifySender | None = conn.get_execution_options().get(SENDER_OPTION)
    if sender is None or not in_transaction(conn):
        for payload in payloads(items):
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
        return
    values = transaction_values(conn)
    pending: dict[str, set[str]] | None = values.get(_PENDING)
    if pending is None:
        pending = values[_PENDING] = {}
        handed = pending

        def hand_over() -> None:
            sender.send_all(handed)

        after_commit(conn, hand_over)
    pending.setdefault(channel, set()).update(items)
