"""``Store.read()`` on PostgreSQL runs autocommit statements: one round trip per lookup
instead of BEGIN, the statement and COMMIT. Writes keep their transaction, and a read
sees what a write committed the moment it did."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, event, text

from renderhouse.store.database import Store, after_commit


def _statements(store: Store) -> list[str]:
    """Every statement the driver is sent from now on, BEGIN and COMMIT included."""
    sent: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _sql(_conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement.strip().split()[0].upper())

    @event.listens_for(store.engine, "commit")
    def _commit(conn: Connection) -> None:
        if not conn.connection.dbapi_connection.autocommit:  # type: ignore[union-attr]
            sent.append("COMMIT")

    return sent


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite: BEGIN DEFERRED
def test_reads_are_single_statements_and_writes_transactions(store: Store) -> None:
    sent = _statements(store)
    with store.read() as conn:
        assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        assert conn.execute(text("SELECT 1")).scalar() == 1
        committed: list[bool] = []
        after_commit(conn, lambda: committed.append(True))
    assert sent == ["SELECT"] and committed == [True]

    sent.clear()
    with store.begin() as conn:
        assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
        conn.execute(text("CREATE TEMP TABLE probe (v int) ON COMMIT DROP"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))
    assert sent == ["CREATE", "INSERT", "COMMIT"]
    # The pooled connection went back in its default mode: the next read is autocommit
    # again, the next write a transaction again (no leak either way).
    for _ in range(3):
        with store.read() as conn:
            assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        with store.begin() as conn:
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]


def test_a_write_is_visible_to_the_next_read(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS read_probe (v int)"))
    try:
        for v in range(3):
            with store.begin() as conn:
                conn.execute(text("INSERT INTO read_probe VALUES (:v)"), {"v": v})
            with store.read() as conn:
                assert conn.execute(text("SELECT max(v) FROM read_probe")).scalar() == v
    finally:
        with store.begin() as conn:
            conn.execute(text("DROP TABLE read_probe"))
