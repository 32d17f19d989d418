"""Waking event streams when their job has news, across processes.

The baseline is one poll per process (not per stream): every ``poll_seconds`` it asks the
events table which jobs got events past the highest id it has seen, and wakes those jobs'
streams. On PostgreSQL a LISTEN on ``renderhouse_events`` (notified in the writer's
transaction by ``queue.events``) wakes them at once, and so does a Redis subscription when
``redis_url`` is set (``queue.broadcast``; any database). Streams re-read their own job's
events by id, so a missed wake-up only delays an event, it never loses one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from renderhouse.queue import broadcast, events
from renderhouse.queue.events import EVENTS_CHANNEL
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store

log = logging.getLogger(__name__)
ANY = "*"
"""``subscribe(ANY)`` wakes on news of any job (the dashboard's system stream)."""


READ_CHUNK = 200


@dataclass
class _Wanted:
    job_id: str
    after_id: int
    limit: int
    future: asyncio.Future[list[dict[str, Any]]]


class Follower:
    def __init__(
        self,
        store: Store,
        poll_seconds: float = 0.15,
        redis_url: str | None = None,
        redis_retry_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.redis_url = redis_url
        self.redis_retry_seconds = redis_retry_seconds
        self.redis_connected = False
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._generation: dict[str, int] = {}
        self._inflight: dict[tuple[str, int, int, int], asyncio.Future[list[dict[str, Any]]]] = {}
        self._wanted: list[_Wanted] = []
        self._reads: set[asyncio.Future[None]] = set()
        self._high: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self, job_id: str) -> asyncio.Event:
        self._ensure_running()
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        return event

    def unsubscribe(self, job_id: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(job_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[job_id]
                self._generation.pop(job_id, None)

    def wake(self, job_id: str) -> None:
        if job_id in self._waiters:
            self._generation[job_id] = self._generation.get(job_id, 0) + 1
        for event in self._waiters.get(job_id, ()):
            event.set()
        for event in self._waiters.get(ANY, ()):
            event.set()

    def generation(self, job_id: str) -> int:
        """Bumped by every wake-up; read it before fetching (see ``fetch``)."""
        return self._generation.get(job_id, 0)

    async def fetch(
        self, queue: JobQueue, job_id: str, after_id: int, seen_generation: int, limit: int
    ) -> list[dict[str, Any]]:
        """``queue.events(job_id, after_id)``, shared by the streams that ask for the same
        thing after the same wake-up: one query per event for N subscribers, not N. A fetch
        is shared only if it started at or after the caller's wake-up generation, i.e. after
        the commit that woke it, so sharing never hides a committed event. Fetches asked
        for in the same loop turn go to the database together (``READ_CHUNK`` per query):
        one event on each of 5,000 followed jobs costs 25 queries, not 5,000."""
        key = (job_id, after_id, seen_generation, limit)
        future = self._inflight.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._inflight[key] = future
            future.add_done_callback(lambda _f: self._inflight.pop(key, None))
            if not self._wanted:
                loop.call_soon(self._read_wanted)
            self._wanted.append(_Wanted(job_id, after_id, limit, future))
        return await asyncio.shield(future)

    def _read_wanted(self) -> None:
        wanted, self._wanted = self._wanted, []
        chunks: list[dict[str, _Wanted]] = []
        for want in wanted:
            for chunk in chunks:  # a job once per query: each want has its own after_id
                first = next(iter(chunk.values()))
                if (
                    want.job_id not in chunk
                    and len(chunk) < READ_CHUNK
                    and first.limit == want.limit
                ):
                    chunk[want.job_id] = want
                    break
            else:
                chunks.append({want.job_id: want})
        for chunk in chunks:
            task = asyncio.ensure_future(self._read(list(chunk.values())))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)

    async def _read(self, chunk: list[_Wanted]) -> None:
        try:
            found = await run_in_threadpool(
                self._since_many, [(w.job_id, w.after_id) for w in chunk], chunk[0].limit
            )
        except Exception as exc:
            for want in chunk:
                if not want.future.done():
                    want.future.set_exception(exc)
                    want.future.exception()  # the stream re-raises it; nobody else must
            return
        for want in chunk:
            if not want.future.done():
                want.future.set_result(found[want.job_id])

    def _since_many(
        self, wanted: list[tuple[str, int]], limit: int
    ) -> dict[str, list[dict[str, Any]]]:
        with self.store.read() as conn:
            return events.since_many(conn, wanted, limit)

    @property
    def subscribers(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and all(not t.done() for t in self._tasks):
            return
        self._loop = loop
        self._tasks = [loop.create_task(self._poll())]
        if not self.store.is_sqlite:
            self._tasks.append(loop.create_task(self._listen()))
        if self.redis_url:
            self._tasks.append(loop.create_task(self._receive(self.redis_url)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def _changed(self) -> list[str]:
        with self.store.read() as conn:
            if self._high is None:
                self._high = events.latest_id(conn)
                return []
            rows = events.changed_after(conn, self._high)
        if rows:
            self._high = rows[-1][0]
        return list({job_id for _, job_id in rows})

    async def _poll(self) -> None:
        while True:
            try:
                if self._waiters or self._high is None:
                    for job_id in await asyncio.to_thread(self._changed):
                        self.wake(job_id)
                else:
                    self._high = None  # nobody listens: re-read the high mark when they do
            except Exception as exc:  # the store may be briefly away; streams re-poll anyway
                log.warning("event poll failed: %s", exc)
            await asyncio.sleep(self.poll_seconds)

    def _wake_all(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.wake(job_id)

    def _redis_state(self, connected: bool) -> None:
        self.redis_connected = connected

    async def _receive(self, url: str) -> None:
        await broadcast.receive(
            url,
            self._wake_all,
            first_delay=self.redis_retry_seconds,
            on_connected=self._redis_state,
        )

    async def _listen(self) -> None:
        import psycopg

        url = self.store.libpq_url
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    async for note in conn.notifies():
                        for job_id in note.payload.split(","):
                            self.wake(job_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN %s failed (%s); polling only for 5 s", EVENTS_CHANNEL, exc)
                await asyncio.sleep(5)
