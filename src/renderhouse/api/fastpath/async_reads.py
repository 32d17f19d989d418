"""Job reads from the API's event loop on PostgreSQL, batched.

Polling ``GET /v1/jobs/{id}`` is what clients do most after submitting, and the route's
database read ran in a worker thread: the same fight for the GIL with the event loop that
made submissions slow (``async_enqueue``), so at 500 polls/s beside 500 submissions/s the
slowest percent of submissions took 80 ms instead of 13 (docs/benchmarks.md, HTTP API).
Here the loop reads over one asynchronous psycopg connection of its own, in autocommit
mode: the ids asked for while a read is out go together in the next one
(``WHERE id = ANY(...)``), so a burst of polls costs a round trip, not one per poll.
Each read is one statement with its own snapshot, as ``Store.read()`` gives the route."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg.rows import dict_row

from renderhouse.api.fastpath.loop_connection import LoopConnection
from renderhouse.errors import StoreError
from renderhouse.queue import enqueue
from renderhouse.queue.jobs import Job
from renderhouse.store.database import Store

log = logging.getLogger(__name__)

MAX_BATCH = 256
_BY_IDS = "SELECT * FROM jobs WHERE id = ANY(%s::text[])"


class AsyncJobReader:
    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        if store.dialect.name != "postgresql":
            raise ValueError("the asynchronous job reader needs PostgreSQL")
        self.max_batch = max_batch
        self.connection = LoopConnection(store, row_factory=dict_row, connect_timeout=5)
        self._pending: dict[str, list[asyncio.Future[Job | None]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.reads = 0
        """Statements sent so far (tests read how well reads are batched)."""

    async def get(self, job_id: str) -> Job | None:
        """The job with this id, or None; raises StoreError if the database cannot answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Job | None] = loop.create_future()
        self._pending.setdefault(job_id, []).append(future)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.connection.drop()

    async def _flush(self) -> None:
        while self._pending:
            ids = list(self._pending)[: self.max_batch]
            waiting = {job_id: self._pending.pop(job_id) for job_id in ids}
            try:
                found = await self._read(ids)
            except Exception as exc:  # never leave a caller hanging
                if not isinstance(exc, StoreError):
                    log.exception("job read failed")
                error = exc if isinstance(exc, StoreError) else StoreError(f"read failed: {exc}")
                for futures in waiting.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for job_id, futures in waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(job_id))

    async def _read(self, ids: list[str]) -> dict[str, Job]:
        """One statement for all ``ids``. A kept connection found dead (a server restart, an
        idle timeout) is replaced once, so the callers see no error for it."""
        for attempt in (1, 2):
            fresh = not self.connection.is_open
            conn = await self.connection.get()
            try:
                cur = await conn.execute(_BY_IDS, (ids,))
                rows = await cur.fetchall()
            except psycopg.OperationalError as exc:
                await self.connection.drop()
                if fresh or attempt == 2:
                    raise StoreError(f"the database could not be reached: {exc}") from exc
                continue
            self.reads += 1
            return {row["id"]: enqueue.job_from_mapping(row) for row in rows}
        raise AssertionError("unreachable")
