"""Enqueue from the API's event loop on PostgreSQL: group commit without a thread.

A writer thread (``group_commit``) fights the event loop for the GIL: every time it gets a
result back from PostgreSQL it waits for the loop to let go (up to the 5 ms switch
interval), and at 500 req/s those waits, not the work, made the slowest percent of
submissions take hundreds of milliseconds. Here the loop itself talks to PostgreSQL over
one asynchronous psycopg connection: submissions that arrive while a batch is being
written wait for the next one; a batch is one transaction whose statements go out together
in pipeline mode (one round trip) and the loop serves other requests while it waits.

Each job is the same single statement as ``enqueue.postgres_plan`` (fair key, job row,
``queued`` event and the credit reservation gate), so the rows are identical to the
ordinary path's; the workers' NOTIFY follows the commit (``store.notify_sender``). All or
nothing per job, as in ``group_commit``: if any statement fails or a gate refuses its job,
the batch rolls back and every job runs again alone, so a refusal raises for that caller
only and leaves nothing behind. Jobs in a batch are ordered by owner, so concurrent
batches from several API processes lock rows in the same order.

Jobs with an idempotency key are looked up in the batch's transaction by the statement
every enqueue path uses (``enqueue.BY_KEYS``), one for all of them sent ahead of the
inserts: a key that exists answers with its job, and the batch is written again without it,
so a replay leaves nothing behind. The insert itself does nothing on a key conflict (a
concurrent request with the same key committed after the lookup), which rolls the batch
back like a refusal; run alone, the job then finds the winner's. The route's keyed
enqueue (``enqueue.insert_jobs``) runs the same two statements, one job at a time."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg
from psycopg.rows import dict_row
from sqlalchemy import TextClause

from renderhouse.api.fastpath.loop_connection import LoopConnection
from renderhouse.errors import StoreError
from renderhouse.queue import enqueue
from renderhouse.queue.enqueue import Gate, KeyRef, NewJob
from renderhouse.queue.jobs import Job
from renderhouse.queue.queue import JobQueue
from renderhouse.store.dialect import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

MAX_BATCH = 64


@dataclass
class _Pending:
    job: NewJob
    now: float
    gate: Gate | None
    sql: str
    params: dict[str, Any]
    future: asyncio.Future[tuple[Job, bool]]

    @property
    def key(self) -> KeyRef | None:
        return enqueue.key_of(self.job)


def _owner(p: _Pending) -> str:
    return p.job.owner


class _Refused(Exception):
    """A gate refused a job in the batch, or its idempotency key turned up meanwhile: roll
    back and run each job alone."""


class _Replays(Exception):
    """Keys in the batch exist already: roll back, answer those, write the others."""

    def __init__(self, found: dict[KeyRef, Job]) -> None:
        self.found = found


_Outcome = tuple[int, None] | tuple[None, Job]
"""A job's fate in a batch: (fair key of the inserted row, None) or (None, existing job)."""


class AsyncEnqueuer:
    def __init__(self, queue: JobQueue, *, max_batch: int = MAX_BATCH) -> None:
        store = queue.store
        if store.dialect.name != "postgresql":
            raise ValueError("the asynchronous enqueue needs PostgreSQL")
        self.queue = queue
        self.max_batch = max_batch
        self._dialect = store.engine.dialect
        self._notify = store.notify_sender
        self._sql: dict[TextClause, str] = {}
        self.connection = LoopConnection(store)
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0

    async def enqueue(self, nj: NewJob) -> Job:
        """Insert ``nj`` (no idempotency key) and return it once its batch has committed."""
        if nj.idempotency_key is not None:
            raise ValueError("use enqueue_keyed: a job with an idempotency key may exist")
        job, _ = await self._submit(nj)
        return job

    async def enqueue_keyed(self, nj: NewJob) -> tuple[Job, bool]:
        """Insert ``nj`` unless its owner already has a job with its idempotency key:
        (job, created) as ``JobQueue.enqueue``; nothing is written for an existing key."""
        if nj.idempotency_key is None:
            raise ValueError("enqueue_keyed needs a job with an idempotency key")
        return await self._submit(nj)

    async def _submit(self, nj: NewJob) -> tuple[Job, bool]:
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
        await self.connection.drop()

    def _compiled(self, stmt: TextClause) -> str:
        sql = self._sql.get(stmt)
        if sql is None:
            sql = self._sql[stmt] = str(stmt.compile(dialect=self._dialect))
        return sql

    async def _flush(self) -> None:
        while self._pending:
            batch, repeats, self._pending = self._take_batch(self._pending)
            try:
                await self._commit(batch)
            except Exception as exc:  # a bug, not a refusal: fail its callers, never hang them
                log.exception("enqueue batch failed")
                for pending in [*batch, *(p for ps in repeats.values() for p in ps)]:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            else:
                self._pending[:0] = self._answer_repeats(batch, repeats)

    def _take_batch(
        self, pending: list[_Pending]
    ) -> tuple[list[_Pending], dict[tuple[str, str], list[_Pending]], list[_Pending]]:
        """The next batch, ordered by owner; the requests repeating a key that is in it
        (a client's retries), by key; and what waits for the next batch."""
        batch: list[_Pending] = []
        repeats: dict[tuple[str, str], list[_Pending]] = {}
        for i, p in enumerate(pending):
            if len(batch) == self.max_batch:
                return sorted(batch, key=_owner), repeats, pending[i:]
            if p.future.done():
                continue
            if p.key is not None and p.key in repeats:
                repeats[p.key].append(p)
                continue
            if p.key is not None:
                repeats[p.key] = []
            batch.append(p)
        return sorted(batch, key=_owner), repeats, []

    @staticmethod
    def _answer_repeats(
        batch: list[_Pending], repeats: dict[tuple[str, str], list[_Pending]]
    ) -> list[_Pending]:
        """A repeated key gets the job its first request made or found. If that request
        failed, the repeats go again (next batch): a refusal is each caller's own."""
        again: list[_Pending] = []
        for first in batch:
            waiting = repeats.get(first.key) if first.key is not None else None
            if not waiting:
                continue
            done = first.future.done() and not first.future.cancelled()
            if done and first.future.exception() is None:
                job, _ = first.future.result()
                for p in waiting:
                    if not p.future.done():
                        p.future.set_result((job, False))
            else:
                again.extend(waiting)
        return again

    async def _commit(self, batch: list[_Pending]) -> None:
        if len(batch) > 1:
            try:
                outcomes = await self._write(batch)
            except (_Refused, psycopg.Error, StoreError):
                log.debug("enqueue batch of %d rolled back; running each alone", len(batch))
            else:
                self._done(batch, outcomes)
                return
        for pending in batch:
            await self._alone(pending)

    async def _write(self, batch: list[_Pending]) -> list[_Outcome]:
        """One transaction, one round trip: the keyed jobs' lookup and every insert sent at
        once. A key found to exist rolls the transaction back (its insert has moved the
        owner's fair key and maybe reserved credits), and the others go again without it.
        Raise _Refused if a gate said no or a key came in after the lookup."""
        conn = await self.connection.get()
        found: dict[KeyRef | None, Job] = {}
        todo = batch
        try:
            while todo:
                try:
                    rows = await self._try_write(conn, todo)
                    break
                except _Replays as replays:
                    found.update(replays.found.items())
                    todo = [p for p in todo if p.key not in found]
            else:
                rows = []
        except psycopg.OperationalError:
            await self.connection.drop()
            raise
        fair_keys = iter(rows)
        return [(None, found[p.key]) if p.key in found else (next(fair_keys), None) for p in batch]

    async def _try_write(
        self, conn: psycopg.AsyncConnection[Any], batch: list[_Pending]
    ) -> list[int]:
        keys = [p.key for p in batch if p.key is not None]
        async with conn.transaction():
            async with conn.pipeline():
                lookup = await self._look_up(conn, keys) if keys else None
                cursors = [await conn.execute(p.sql, p.params) for p in batch]
            if lookup is not None:
                found = await self._found(lookup)
                if found:
                    raise _Replays(found)
            rows = [await cur.fetchone() for cur in cursors]
            if any(row is None or row[0] is None for row in rows):
                raise _Refused
        return [int(row[0]) for row in rows if row is not None]

    async def _look_up(
        self, conn: psycopg.AsyncConnection[Any], keys: list[KeyRef]
    ) -> psycopg.AsyncCursor[dict[str, Any]]:
        cur = conn.cursor(row_factory=dict_row)
        # Planned afresh each time: a plan cached while the table was small (a fresh
        # database) scans the whole table; planning costs less than one such scan.
        sql = self._compiled(enqueue.BY_KEYS)
        await cur.execute(sql, enqueue.by_keys_params(keys), prepare=False)
        return cur

    @staticmethod
    async def _found(cur: psycopg.AsyncCursor[dict[str, Any]]) -> dict[KeyRef, Job]:
        return enqueue.jobs_by_key(await cur.fetchall())

    def _done(self, batch: list[_Pending], outcomes: list[_Outcome]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        created = []
        for pending, (fair_key, existing) in zip(batch, outcomes, strict=True):
            if fair_key is not None:
                job = enqueue.planned_job(pending.job, pending.now, fair_key)
                created.append(job)
                result = (job, True)
            else:
                assert existing is not None
                result = (existing, False)
            if not pending.future.done():
                pending.future.set_result(result)
        if created:
            self.queue.announce(created)
            if self._notify is not None:
                self._notify.send(NOTIFY_CHANNEL, {job.kind for job in created})

    async def _alone(self, pending: _Pending) -> None:
        try:
            outcome = await self._write_alone(pending)
            if outcome is None and pending.key is not None:
                # Its key may have come in between the lookup and the insert (the insert
                # waited for that writer to commit): the lookup finds it now.
                outcome = await self._write_alone(pending)
        except (psycopg.Error, StoreError) as exc:
            log.warning("enqueue failed: %s", exc)
            if not pending.future.done():
                pending.future.set_exception(
                    exc
                    if isinstance(exc, StoreError)
                    else StoreError(f"the database could not complete the transaction: {exc}")
                )
            return
        if outcome is not None:
            self._done([pending], outcome)
            return
        if pending.gate is not None:
            error = await anyio.to_thread.run_sync(self._refusal, pending.gate)
        else:  # only a gate or a key leaves a job unwritten; a key would be found above
            error = StoreError("the job could not be enqueued; try again")
        if not pending.future.done():
            pending.future.set_exception(error)

    async def _write_alone(self, pending: _Pending) -> list[_Outcome] | None:
        try:
            return await self._write([pending])
        except _Refused:
            return None

    def _refusal(self, gate: Gate) -> Exception:
        with self.queue.store.read() as conn:
            return gate.refused(conn)
