"""The few places SQLite and PostgreSQL differ, kept behind one small seam."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func
from sqlalchemy.sql import ColumnElement, Select

from renderhouse.store.notify_sender import notify_after_commit

NOTIFY_CHANNEL = "renderhouse_jobs"


class Dialect:
    name = "generic"

    def greatest(self, a: Any, b: Any) -> ColumnElement[Any]:
        return func.max(a, b)

    def lock_for_claim(self, select: Select[Any]) -> Select[Any]:
        """SQLite serialises writers with BEGIN IMMEDIATE: nothing to lock."""
        return select

    def notify(self, conn: Connection, payload: str) -> None:
        """Wake workers on other processes; SQLite workers poll (and wake in-process)."""


class SQLiteDialect(Dialect):
    name = "sqlite"


class PostgresDialect(Dialect):
    name = "postgresql"

    def greatest(self, a: Any, b: Any) -> ColumnElement[Any]:
        return func.greatest(a, b)

    def lock_for_claim(self, select: Select[Any]) -> Select[Any]:
        return select.with_for_update(skip_locked=True)

    def notify(self, conn: Connection, payload: str) -> None:
        """Sent once ``conn``'s transaction has committed (see ``notify_sender``)."""
        notify_after_commit(conn, NOTIFY_CHANNEL, [payload])


def dialect_for(engine: Engine) -> Dialect:
    if engine.dialect.name == "postgresql":
        return PostgresDialect()
    return SQLiteDialect()


def upsert_insert(conn: Connection, table: Any) -> Any:
    """``INSERT`` that supports ``on_conflict_do_*`` on either database."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
