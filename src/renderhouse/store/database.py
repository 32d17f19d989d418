"""The ``Store``: an engine configured for its database, and transactions that never
surface SQLite's "database is locked" (WAL, ``BEGIN IMMEDIATE``, a long busy timeout)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from renderhouse.errors import StoreError
from renderhouse.store.dialect import Dialect, dialect_for
from renderhouse.store.notify_sender import SENDER_OPTION, NotifySender

SQLITE_BUSY_TIMEOUT_MS = 60_000
SQLITE_POOL_SIZE = 40  # anyio's default worker-thread count

DATABASE_FAULTS = (
    OperationalError,  # backend terminated, server restarting, SQLite I/O errors
    InterfaceError,  # the connection is already closed
    DisconnectionError,  # a pooled connection found dead at checkout
    PendingRollbackError,  # a connection invalidated under a statement
    PoolTimeout,  # the pool is exhausted
)
"""Errors that say the database is unavailable, not that a statement is wrong: each
surfaces as ``StoreError`` (503 ``store_unavailable`` at the API)."""


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Store:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = _create_engine(self.url, pool_size)
        self.dialect: Dialect = dialect_for(self.engine)
        self._on_dispose: list[Callable[[], object]] = []
        self.notify_sender: NotifySender | None = None
        read_options: dict[str, Any] = {"renderhouse_read": True}
        if not self.is_sqlite:
            self.notify_sender = NotifySender(self.libpq_url)
            self.engine.update_execution_options(**{SENDER_OPTION: self.notify_sender})
            self.on_dispose(self.notify_sender.close)
            # Reads run each statement on its own: under READ COMMITTED every statement takes
            # a fresh snapshot anyway, and BEGIN and COMMIT were two of a lookup's three
            # round trips (``GET /v1/jobs/{id}``, the hottest read).
            read_options["isolation_level"] = "AUTOCOMMIT"
        self._read_engine = self.engine.execution_options(**read_options)

    @property
    def libpq_url(self) -> str:
        """The database URL as psycopg and libpq take it (no SQLAlchemy driver suffix), for
        connections the store's pool does not manage (LISTEN, the API's async enqueue)."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self, *, flushed: bool = True) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite: no lock upgrades, no deadlock).
        Callbacks given to ``after_commit`` run once it has committed.

        ``flushed=False``: the COMMIT returns once the database has it (a killed process
        loses nothing) but before it is flushed to disk, so an OS crash or power loss may
        roll back this transaction and the ones after it (never those before: the log is
        replayed in order). Only for writes whose loss on power failure costs the user
        nothing: a chat request's hold and settlement (lost, the user is simply not
        charged). Every other write is flushed before COMMIT returns."""
        try:
            with self._connection(flushed) as conn, conn.begin(), _scoped(conn) as scope:
                if not flushed and not self.is_sqlite:
                    conn.execute(text("SET LOCAL synchronous_commit = off"))
                yield conn
        except DATABASE_FAULTS as exc:
            raise StoreError(
                f"the database could not complete the transaction: {_reason(exc)}",
                details={"url": self.engine.url.render_as_string(hide_password=True)},
            ) from exc
        _run(scope.callbacks)

    @contextmanager
    def _connection(self, flushed: bool) -> Iterator[Connection]:
        """A pooled connection; on SQLite, one not ``flushed`` commits at NORMAL (the level
        can only change outside a transaction, so it is set before BEGIN and put back)."""
        with self.engine.connect() as conn:
            if flushed or not self.is_sqlite:
                yield conn
                return
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA synchronous=NORMAL")
            try:
                yield conn
            finally:
                try:
                    raw.execute("PRAGMA synchronous=FULL")
                except Exception:  # never hand a NORMAL connection back to the pool
                    conn.invalidate()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads: a deferred transaction on SQLite (readers never take the write lock),
        autocommit statements on PostgreSQL (see ``__init__``)."""
        try:
            with self._read_engine.begin() as conn, _scoped(conn) as scope:
                yield conn
        except DATABASE_FAULTS as exc:
            raise StoreError(f"the database could not be read: {_reason(exc)}") from exc
        _run(scope.callbacks)

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def on_dispose(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` whenever this store is disposed, before its connections close: threads
        that use the store stop there even if their owner forgot (they restart on demand)."""
        self._on_dispose.append(fn)

    def dispose(self) -> None:
        for fn in list(self._on_dispose):
            fn()
        self.engine.dispose()


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0][:300]


def _create_engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        pool: dict[str, Any] = {}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # As many kept connections as the API's worker threads: overflow connections are
            # opened, configured (WAL, pragmas) and closed per use, which dominated a busy
            # server's profile.
            pool = {"pool_size": max(pool_size, SQLITE_POOL_SIZE), "max_overflow": pool_size}
        timeout = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(url, connect_args=timeout, **pool)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle: a server restart is found
    before a caller's statement fails, yet a busy pool (the queue's and the API's hot paths)
    does not pay a round trip on every checkout as ``pool_pre_ping`` would. A connection
    that dies while busy is still caught: its error invalidates the whole pool."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Every COMMIT is flushed to disk before it returns (``begin(flushed=False)`` is the
        # one exception, for writes whose loss costs the user nothing).
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("renderhouse_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_SCOPE = "renderhouse_transaction"
log = logging.getLogger(__name__)


def _run(callbacks: list[Callable[[], object]]) -> None:
    """The transaction is committed: a failing callback is logged, never reported to the
    caller as if its transaction had failed, and does not stop the others."""
    for fn in callbacks:
        try:
            fn()
        except Exception:
            log.exception("an after-commit callback failed")


@dataclass
class _Scope:
    """What lives exactly as long as one ``Store`` transaction."""

    callbacks: list[Callable[[], object]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _scoped(conn: Connection) -> Iterator[_Scope]:
    """Hang a fresh scope on the connection for this transaction and always take it away
    again (``info`` belongs to the pooled connection and outlives the transaction)."""
    scope = conn.info[_SCOPE] = _Scope()
    try:
        yield scope
    finally:
        # A connection invalidated under a statement (its backend terminated) refuses even
        # this with PendingRollbackError, which would replace the error that explains it.
        # Its scope goes with it: the next transaction on that record starts a fresh one.
        with contextlib.suppress(Exception):
            conn.info.pop(_SCOPE, None)


def _scope(conn: Connection) -> _Scope:
    scope: _Scope | None = conn.info.get(_SCOPE)
    if scope is None:
        raise RuntimeError("this needs a transaction from Store.begin() or Store.read()")
    return scope


def after_commit(conn: Connection, fn: Callable[[], object]) -> None:
    """Run ``fn`` once ``conn``'s transaction has committed (after the database's COMMIT
    returned, so whoever ``fn`` wakes sees the rows); never if it rolls back. ``conn`` must
    come from ``Store.begin()`` or ``Store.read()``. SQLAlchemy's own ``commit`` event would
    not do: it fires before the COMMIT is sent."""
    _scope(conn).callbacks.append(fn)


def in_transaction(conn: Connection) -> bool:
    """Whether ``conn`` is in a transaction from ``Store.begin()`` or ``Store.read()``."""
    return conn.info.get(_SCOPE) is not None


def transaction_values(conn: Connection) -> dict[str, Any]:
    """A dict private to ``conn``'s current transaction (e.g. to batch work per commit)."""
    return _scope(conn).values
