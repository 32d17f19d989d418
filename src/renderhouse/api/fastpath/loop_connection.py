"""One asynchronous psycopg connection used from the API's event loop (the submit lane's
enqueue, the status lane's reads): opened on first use, opened again after it is dropped or
found closed, and closed without the loop when its store is disposed from another thread."""

from __future__ import annotations

from typing import Any

import psycopg

from renderhouse.errors import StoreError
from renderhouse.store.database import Store


class LoopConnection:
    def __init__(self, store: Store, **options: Any) -> None:
        """``options`` go to ``psycopg.AsyncConnection.connect`` (always autocommit)."""
        self.conninfo = store.libpq_url
        self._options = options
        self.current: psycopg.AsyncConnection[Any] | None = None
        """The open connection, if any (tests read its backend's pid)."""
        store.on_dispose(self._abandon)

    @property
    def is_open(self) -> bool:
        return self.current is not None and not self.current.closed

    async def get(self) -> psycopg.AsyncConnection[Any]:
        """The connection, opened if need be; StoreError if the database cannot be reached."""
        if self.current is None or self.current.closed:
            try:
                self.current = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, **self._options
                )
            except psycopg.OperationalError as exc:
                raise StoreError(f"the database could not be reached: {exc}") from exc
        return self.current

    async def drop(self) -> None:
        """Close it (after an error that may have left it unusable); ``get`` opens anew."""
        conn, self.current = self.current, None
        if conn is not None:
            await conn.close()

    def _abandon(self) -> None:
        """The store is being disposed (possibly from another thread): drop the socket."""
        if self.current is not None:
            self.current.pgconn.finish()
            self.current = None
