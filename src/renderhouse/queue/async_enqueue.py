"""Enqueue from the API's event loop on PostgreSQL: group commit without a thread.

A writer thread (``group_commit``) fights the event loop for the GIL: every time it gets a
result back from PostgreSQL it waits for the loop to let go (up to the 5 ms switch
interval), and at 500 req/s those waits, not the work, made the slowest percent of
submissions take hundreds of milliseconds. Here the loop itself talks to PostgreSQL over
one asynchronous psycopg connection: submissions that arrive while a batch is being
written wait for the next one; a batch is one transaction whose statements go out together
in pipeline mode (one round trip) and the loop serves other requests while it waits.

Each job is the same single statement as ``enqueue.postgres_plan`` (fair key, job row,
``queued`` event, NOTIFY and the credit reservation gate), so the rows are identical to
the ordinary path's. All or nothing per job, as in ``group_commit``: if any statement
fails or a gate refuses its job, the batch rolls back and every job runs again alone, so a
refusal raises for that caller only and leaves nothing behind. Jobs in a batch are ordered
by owner, so concurrent batches from several API processes lock rows in the same order."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg
from sqlalchemy import TextClause

from renderhouse.errors import StoreError
from renderhouse.queue import enqueue
from renderhouse.queue.enqueue import Gate, NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue

log = logging.getLogger(__name__)

MAX_BATCH = 64


@dataclass
class _Pending:
    job: NewJob
    now: float
    gate: Gate | None
    sql: str
    params: dict[str, Any]
    future: asyncio.Future[Job]


class _Refused(Exception):
    """A gate refused a job in the batch: roll back and run each job alone."""


class AsyncEnqueuer:
    def __init__(self, queue: JobQueue, *, max_batch: int = MAX_BATCH) -> None:
        store = queue.store
        if store.dialect.name != "postgresql":
            raise ValueError("the asynchronous enqueue needs PostgreSQL")
        self.queue = queue
        self.max_batch = max_batch
        self._dialect = store.engine.dialect
        self._conninfo = store.libpq_url
        self._sql: dict[TextClause, str] = {}
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0
        store.on_dispose(self._abandon)

    async def enqueue(self, nj: NewJob) -> Job:
        """Insert ``nj`` (no idempotency key) and return it once its batch has committed."""
        assert nj.idempotency_key is None, "keyed jobs need the ordinary path's replay check"
        now = self.queue.clock.now()
        gate = self.queue.gate_for(nj) if self.queue.gate_for is not None else None
        stmt, params = enqueue.postgres_plan(nj, now, gate)
        loop = asyncio.get_running_loop()
        pending = _Pending(nj, now, gate, self._compiled(stmt), params, loop.create_future())
        self._pending.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await pending.future

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _abandon(self) -> None:
        """The store is being disposed (possibly from another thread): drop the socket."""
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None

    def _compiled(self, stmt: TextClause) -> str:
        sql = self._sql.get(stmt)
        if sql is None:
            sql = self._sql[stmt] = str(stmt.compile(dialect=self._dialect))
        return sql

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except psycopg.OperationalError as exc:
                raise StoreError(f"the database could not be reached: {exc}") from exc
        return self._conn

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            batch = sorted((p for p in batch if not p.future.done()), key=lambda p: p.job.owner)
            try:
                await self._commit(batch)
            except Exception as exc:  # a bug, not a refusal: fail its callers, never hang them
                log.exception("enqueue batch failed")
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)

    async def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) > 1:
            try:
                fair_keys = await self._write(batch)
            except (_Refused, psycopg.Error, StoreError):
                log.debug("enqueue batch of %d rolled back; running each alone", len(batch))
            else:
                self._done(batch, fair_keys)
                return
        for pending in batch:
            await self._alone(pending)

    async def _write(self, batch: list[_Pending]) -> list[int]:
        """One transaction, all statements sent at once; raise _Refused if a gate said no."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                async with conn.pipeline():
                    cursors = [await conn.execute(p.sql, p.params) for p in batch]
                rows = [await cur.fetchone() for cur in cursors]
                if any(row is None or row[0] is None for row in rows):
                    raise _Refused
        except psycopg.OperationalError:
            await self._drop()
            raise
        return [int(row[0]) for row in rows if row is not None]

    def _done(self, batch: list[_Pending], fair_keys: list[int]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        created = []
        for pending, fair_key in zip(batch, fair_keys, strict=True):
            job = enqueue.planned_job(pending.job, pending.now, fair_key)
            created.append(job)
            if not pending.future.done():
                pending.future.set_result(job)
        self.queue.announce(created)

    async def _alone(self, pending: _Pending) -> None:
        try:
            (fair_key,) = await self._write([pending])
        except _Refused:
            assert pending.gate is not None  # only a gate leaves the job unwritten
            error = await anyio.to_thread.run_sync(self._refusal, pending.gate)
            if not pending.future.done():
                pending.future.set_exception(error)
        except (psycopg.Error, StoreError) as exc:
            log.warning("enqueue failed: %s", exc)
            if not pending.future.done():
                pending.future.set_exception(
                    exc
                    if isinstance(exc, StoreError)
                    else StoreError(f"the database could not complete the transaction: {exc}")
                )
        else:
            self._done([pending], [fair_key])

    def _refusal(self, gate: Gate) -> Exception:
        with self.queue.store.read() as conn:
            return gate.refused(conn)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
