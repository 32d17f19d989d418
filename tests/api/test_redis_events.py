"""Events across processes through Redis pub/sub: two API server processes on one SQLite
file (no LISTEN there) with the database poll set to 5 s, so only the push can bring a
worker's or the other node's events to a stream in well under a second; and a Follower
that loses Redis keeps its streams going by polling and picks the push up again."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from renderhouse.api.follow import Follower
from renderhouse.queue import broadcast
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.live_api import SseStream, api_env, api_process, free_port, prepare_database

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"
PUSHED_WITHIN = 0.5  # seconds; the poll is 5 s and a stream's own recheck 2 s


def subscribers() -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(dict(client.pubsub_numsub(broadcast.CHANNEL))[broadcast.CHANNEL.encode()])
    finally:
        client.close()


async def wait_for_subscribers(count: int) -> None:
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(subscribers) < count:
        assert time.monotonic() < deadline, "the API never subscribed to Redis"
        await asyncio.sleep(0.05)


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    return url, prepare_database(url)[1]


@pytest.fixture
def worker_runtime(database: tuple[str, str], tmp_path: Path) -> Iterator[Runtime]:
    """This test process plays the worker: its writes publish like a worker's do."""
    rt = Runtime(
        Settings(database_url=database[0], redis_url=REDIS_URL, data_dir=tmp_path / "worker")
    )
    yield rt
    rt.close()


async def test_events_reach_a_stream_on_another_api_process_at_once(
    database: tuple[str, str], worker_runtime: Runtime, tmp_path: Path
) -> None:
    url, key = database
    env = api_env(tmp_path / "data", url, redis_url=REDIS_URL, events_poll_seconds="5")
    headers = {"Authorization": f"Bearer {key}"}
    with (
        api_process(env, tmp_path / "a.log") as (port_a, _),
        api_process(env, tmp_path / "b.log") as (port_b, _),
    ):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}", headers=headers) as b:
            job = (await b.post("/v1/jobs", json={"kind": "noop"})).json()
        before = await asyncio.to_thread(subscribers)
        stream = await SseStream.open(port_a, job["id"], key)
        try:
            assert (await stream.next_event())["state"] == "queued"
            await wait_for_subscribers(before + 1)
            q = worker_runtime.queue
            (claimed,) = await asyncio.to_thread(q.claim, ["noop"], 1, "test-worker")
            assert (await asyncio.wait_for(stream.next_event(), 5))["state"] == "running"

            latencies = []
            for step in range(1, 9):
                await asyncio.to_thread(q.progress, claimed.id, claimed.attempt, step, 8, "")
                written = time.monotonic()
                event = await asyncio.wait_for(stream.next_event(), 5)
                latencies.append(time.monotonic() - written)
                assert (event["type"], event["done"]) == ("progress", step)
                await asyncio.sleep(0.05)

            # Another API process writes: B records the cancel request, A's stream hears it.
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port_b}", headers=headers
            ) as b:
                written = time.monotonic()
                assert (await b.post(f"/v1/jobs/{claimed.id}/cancel")).status_code == 200
            event = await asyncio.wait_for(stream.next_event(), 5)
            latencies.append(time.monotonic() - written)
            assert event["type"] == "cancel_requested"
        finally:
            stream.close()
    print(
        f"redis push latency: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} events"
    )
    assert max(latencies) < PUSHED_WITHIN, latencies


class RedisProxy:
    """A TCP relay in front of the real Redis that can be cut and restored, so the
    subscriber sees Redis go away and come back on the same address."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._pipes):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


@pytest.fixture
async def proxy() -> AsyncIterator[RedisProxy]:
    relay = RedisProxy(free_port())
    await relay.start()
    yield relay
    with contextlib.suppress(AssertionError):
        await relay.cut()


async def test_follower_survives_redis_going_away(
    proxy: RedisProxy, worker_runtime: Runtime
) -> None:
    """Poll every 2 s: three events in a row each woken within 0.25 s can only be pushed."""
    q = worker_runtime.queue
    job, _ = await asyncio.to_thread(q.enqueue, NewJob(kind="noop", input={}, owner="u"))
    (claimed,) = await asyncio.to_thread(q.claim, ["noop"], 1, "w")
    follower = Follower(
        worker_runtime.store,
        poll_seconds=2.0,
        redis_url=f"redis://127.0.0.1:{proxy.port}/0",
        redis_retry_seconds=0.1,
    )
    wake = follower.subscribe(job.id)
    step = 0

    async def woken_after_progress() -> float:
        nonlocal step
        step += 1
        wake.clear()
        await asyncio.to_thread(q.progress, claimed.id, claimed.attempt, step, 100)
        started = time.monotonic()
        await asyncio.wait_for(wake.wait(), 5)
        return time.monotonic() - started

    async def connected(state: bool) -> None:
        deadline = time.monotonic() + 5
        while follower.redis_connected is not state:
            assert time.monotonic() < deadline, f"redis_connected never became {state}"
            await asyncio.sleep(0.02)

    try:
        await connected(True)
        pushed = [await woken_after_progress() for _ in range(3)]
        await proxy.cut()
        await connected(False)
        polled = await woken_after_progress()  # Redis gone: the poll still wakes it
        await proxy.start()
        await connected(True)
        again = [await woken_after_progress() for _ in range(3)]
    finally:
        follower.unsubscribe(job.id, wake)
        await follower.close()
    assert max(pushed) < 0.25 and max(again) < 0.25, (pushed, again)
    assert polled < 2.5
