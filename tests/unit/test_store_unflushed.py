"""``Store.begin(flushed=False)`` (the chat writes) commits without waiting for the disk,
and only that transaction: every other write, before and after on the same pooled
connection, is flushed before its COMMIT returns. On both databases."""

from __future__ import annotations

from sqlalchemy import Connection, text

from renderhouse.store.database import Store


def level(conn: Connection, sqlite: bool) -> str:
    if sqlite:
        return {0: "off", 1: "normal", 2: "full", 3: "extra"}[
            conn.execute(text("PRAGMA synchronous")).scalar_one()
        ]
    return str(conn.execute(text("SHOW synchronous_commit")).scalar_one())


def test_only_the_unflushed_transaction_skips_the_flush(db_url: str) -> None:
    store = Store(db_url, pool_size=1)
    sqlite = store.is_sqlite
    flushed = "full" if sqlite else "on"
    try:
        for _ in range(3):  # the same pooled connection, in turn
            with store.begin() as conn:
                assert level(conn, sqlite) == flushed
            with store.begin(flushed=False) as conn:
                assert level(conn, sqlite) == ("normal" if sqlite else "off")
            with store.begin() as conn:
                assert level(conn, sqlite) == flushed
        try:
            with store.begin(flushed=False):
                raise RuntimeError("the work failed")
        except RuntimeError:
            pass
        with store.begin() as conn:
            assert level(conn, sqlite) == flushed
    finally:
        store.dispose()
