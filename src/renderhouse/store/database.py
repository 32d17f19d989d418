"""The ``Store``: an engine configured for its database, and transactions that never
surface SQLite's "database is locked" (WAL, ``BEGIN IMMEDIATE``, a long busy timeout)."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, OperationalError

from renderhouse.errors import StoreError
from renderhouse.store.dialect import Dialect, dialect_for

SQLITE_BUSY_TIMEOUT_MS = 60_000


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
        self._read_engine = self.engine.execution_options(renderhouse_read=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite: no lock upgrades, no deadlock)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(
                f"the database could not complete the transaction: {exc.orig}",
                details={"url": self.engine.url.render_as_string(hide_password=True)},
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (deferred on SQLite, so readers never take the write lock)."""
        try:
            with self._read_engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"the database could not be read: {exc.orig}") from exc

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
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
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("renderhouse_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_AFTER_COMMIT = "renderhouse_after_commit"
_hooked: weakref.WeakSet[Engine] = weakref.WeakSet()


def after_commit(conn: Connection, fn: Callable[[], object]) -> None:
    """Run ``fn`` once if ``conn``'s transaction commits; forget it if it rolls back.

    The callbacks wait in the connection's ``info`` and one listener per engine runs or drops
    them: adding and removing listeners on every transaction cost more than the enqueue."""
    engine = conn.engine
    if engine not in _hooked:
        event.listen(engine, "commit", _run_after_commit)
        event.listen(engine, "rollback", _drop_after_commit)
        _hooked.add(engine)
    conn.info.setdefault(_AFTER_COMMIT, []).append(fn)


def _run_after_commit(conn: Connection) -> None:
    for fn in conn.info.pop(_AFTER_COMMIT, ()):
        fn()


def _drop_after_commit(conn: Connection) -> None:
    conn.info.pop(_AFTER_COMMIT, None)
