"""One API node holds 5,000 idle event streams: a real server process, one SSE connection
per job on bare sockets, the node still answering ``/health/live`` at once with bounded
memory, and one event per job reaching every one of them."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import psutil
import pytest

from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.live_api import SseStream, api_env, api_process, prepare_database, raise_open_files

pytestmark = pytest.mark.anyio

STREAMS = 5_000
OPENING_AT_ONCE = 200
MAX_RSS_PER_STREAM = 64 * 1024  # bytes; measured ~15 KB (docs/benchmarks.md)
MAX_HEALTH_SECONDS = 0.25
DELIVERY_SECONDS = 30.0


async def _open_all(port: int, key: str, job_ids: list[str]) -> list[SseStream]:
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def one(job_id: str) -> SseStream:
        async with gate:
            stream = await SseStream.open(port, job_id, key)
            first = await asyncio.wait_for(stream.next_event(), 30)
            assert first["state"] == "queued"  # replayed: the subscription is live
            return stream

    return list(await asyncio.gather(*(one(j) for j in job_ids)))


async def _health_latencies(port: int, n: int = 20) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(n):
            started = time.monotonic()
            assert (await client.get("/health/live")).status_code == 200
            out.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
    return out


async def test_five_thousand_idle_subscribers(tmp_path: Path) -> None:
    assert raise_open_files(2 * STREAMS + 1_000) >= 2 * STREAMS + 200
    url = f"sqlite:///{tmp_path / 'streams.db'}"
    user_id, key = prepare_database(url)
    rt = Runtime(Settings(database_url=url, data_dir=tmp_path / "writer"))
    try:
        made = rt.queue.enqueue_many(
            [NewJob(kind="noop", input={}, owner=user_id) for _ in range(STREAMS)]
        )
        job_ids = [job.id for job, _ in made]
        with api_process(api_env(tmp_path / "data", url), tmp_path / "api.log") as (port, proc):
            server = psutil.Process(proc.pid)
            await _health_latencies(port, 3)  # warm
            rss_before = server.memory_info().rss

            started = time.monotonic()
            streams = await _open_all(port, key, job_ids)
            opened_in = time.monotonic() - started
            try:
                server.cpu_percent()
                await asyncio.sleep(4.0)  # idle: every stream past its recheck at least once
                idle_cpu = server.cpu_percent()
                health = await _health_latencies(port)
                rss_after = server.memory_info().rss
                per_stream = (rss_after - rss_before) / STREAMS

                started = time.monotonic()
                claimed = await asyncio.to_thread(rt.queue.claim, ["noop"], STREAMS, "w")
                assert len(claimed) == STREAMS
                events = await asyncio.wait_for(
                    asyncio.gather(*(s.next_event() for s in streams)), DELIVERY_SECONDS
                )
                delivered_in = time.monotonic() - started
            finally:
                for stream in streams:
                    stream.close()
    finally:
        rt.close()

    print(
        f"\n{STREAMS} streams opened in {opened_in:.1f} s; server RSS "
        f"{rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB "
        f"({per_stream / 1024:.1f} KiB/stream); idle CPU {idle_cpu:.0f}%; /health/live "
        f"median {statistics.median(health) * 1000:.1f} ms, max {max(health) * 1000:.1f} ms; "
        f"one event to every stream in {delivered_in:.2f} s"
    )
    assert all(e["type"] == "state" and e["state"] == "running" for e in events)
    assert sorted(e["id"] for e in events) == sorted(set(e["id"] for e in events))
    assert max(health) < MAX_HEALTH_SECONDS, health
    assert per_stream < MAX_RSS_PER_STREAM, per_stream
