"""The dashboard's system stream over a real socket (the stream never ends, so in-process
transports, which buffer a whole response, cannot read it): auth, a snapshot per change,
per-user scoping, coalescing, heartbeats and a revoked key ending the stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

import httpx
import pytest

from renderhouse import accounts
from renderhouse.api import create_app
from renderhouse.api.system_stream import Timing
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.conftest import Users
from tests.threaded_server import serving

pytestmark = pytest.mark.anyio
TIMING = Timing(max_per_second=4, heartbeat_seconds=0.4, refresh_seconds=1.0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth_cache_seconds": 0, "stream_max_per_second": 4})


@pytest.fixture
def server(settings: Settings, runtime: Runtime) -> Iterator[str]:
    app = create_app(settings, runtime)
    app.state.rh.stream_timing = TIMING
    with serving(app) as url:
        yield url


class Stream:
    """Reads one stream in the background: SSE events, comments and the end."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []  # {"event": ..., "data": ..., "at": ...}
        self.comments: list[float] = []
        self.ended = asyncio.Event()
        self.changed = asyncio.Event()

    @property
    def snapshots(self) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["event"] == "overview"]

    async def read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(time.monotonic())
                elif line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
                elif "data" in fields:
                    data = json.loads(fields["data"])
                    self.events.append({"event": fields.get("event"), "data": data})
                    fields = {}
                self.changed.set()
        finally:
            self.ended.set()
            self.changed.set()

    async def until(self, test: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict:
        async def wait() -> dict[str, Any]:
            while True:
                for snap in self.snapshots:
                    if test(snap):
                        return snap
                assert not self.ended.is_set(), "the stream ended"
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


@asynccontextmanager
async def open_stream(client: httpx.AsyncClient, url: str, key: str) -> AsyncIterator[Stream]:
    headers = {"Authorization": f"Bearer {key}"}
    async with client.stream("GET", url + "/v1/system/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream()
        task = asyncio.create_task(stream.read(response))
        try:
            yield stream
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def ids(jobs: list[dict[str, Any]]) -> set[str]:
    return {j["id"] for j in jobs}


async def test_stream_needs_a_key(server: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(server + "/v1/system/stream")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        bad = {"Authorization": "Bearer rh_nope_000000000000"}
        assert (await client.get(server + "/v1/system/stream", headers=bad)).status_code == 401
        # Unlike the job event streams, no ?token=: keys stay out of URLs and access logs.
        r = await client.get(server + "/v1/system/stream", params={"token": "rh_x"})
        assert r.status_code == 401


async def test_a_submitted_job_arrives_scoped_to_who_may_see_it(
    server: str, users: Users, runtime: Runtime
) -> None:
    async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as stack:
        streams = {}
        for who in ("admin", "alice", "bob"):
            key = getattr(users, who)
            streams[who] = await stack.enter_async_context(open_stream(client, server, key))
        first = {who: await s.until(lambda _s: True) for who, s in streams.items()}
        assert first["admin"]["user"]["admin"] and first["admin"]["system"]["queue"] == {}
        assert first["alice"]["system"] is None and not first["alice"]["user"]["admin"]
        assert first["alice"]["credits"]["available"] == 1_000_000

        alice = {"Authorization": f"Bearer {users.alice}"}
        r = await client.post(server + "/v1/jobs", json={"kind": "noop"}, headers=alice)
        jid = r.json()["id"]
        seen = await streams["admin"].until(lambda s: jid in ids(s["recent"]))
        assert seen["system"]["queue"]["noop"]["queued"] == 1
        (mine,) = [j for j in seen["recent"] if j["id"] == jid]
        assert mine["owner"] == users.alice_id and mine["mine"] is False
        seen = await streams["alice"].until(lambda s: jid in ids(s["recent"]))
        assert seen["recent"][0]["mine"] is True and seen["system"] is None

        # Progress of the running job reaches both; bob never sees alice's job.
        (job,) = await asyncio.to_thread(runtime.queue.claim, ["noop"], 1, "w")
        await asyncio.to_thread(runtime.queue.progress, jid, job.attempt, 3, 4, "three")
        for who in ("admin", "alice"):
            snap = await streams[who].until(lambda s: jid in ids(s["running"]))
            (running,) = snap["running"]
            assert running["progress"] == {
                "fraction": 0.75,
                "done": 3,
                "total": 4,
                "message": "three",
            }
        bob = {"Authorization": f"Bearer {users.bob}"}
        r = await client.post(server + "/v1/jobs", json={"kind": "noop"}, headers=bob)
        await streams["bob"].until(lambda s: r.json()["id"] in ids(s["recent"]))
        assert all(jid not in ids(s["recent"] + s["running"]) for s in streams["bob"].snapshots)


async def test_bursts_coalesce_and_idle_streams_beat(
    server: str, users: Users, runtime: Runtime
) -> None:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        open_stream(client, server, users.alice) as stream,
    ):
        await stream.until(lambda _s: True)
        alice = {"Authorization": f"Bearer {users.alice}"}
        jid = (await client.post(server + "/v1/jobs", json={"kind": "noop"}, headers=alice)).json()[
            "id"
        ]
        (job,) = await asyncio.to_thread(runtime.queue.claim, ["noop"], 1, "w")
        before, started = len(stream.snapshots), time.monotonic()
        for i in range(1, 101):  # 100 changes over a second or more
            await asyncio.to_thread(runtime.queue.progress, jid, job.attempt, i, 100, f"step {i}")
            await asyncio.sleep(0.01)
        await stream.until(lambda s: s["running"] and s["running"][0]["progress"]["done"] == 100)
        elapsed = time.monotonic() - started
        sent = len(stream.snapshots) - before
        assert sent <= TIMING.max_per_second * elapsed + 2, (sent, elapsed)

        # Nothing changes now: heartbeat comments keep the connection, ~every 0.4 s.
        quiet = len(stream.comments)
        await asyncio.sleep(1.5)
        assert len(stream.comments) - quiet >= 2


async def test_a_revoked_key_ends_the_stream(server: str, users: Users, runtime: Runtime) -> None:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        open_stream(client, server, users.bob) as stream,
    ):
        await stream.until(lambda _s: True)
        prefix = accounts.split_key(users.bob)
        assert prefix is not None
        with runtime.store.begin() as conn:
            accounts.revoke_key(conn, prefix[0])
        await asyncio.wait_for(stream.ended.wait(), 5)  # at the next refresh (1 s)
        assert stream.events[-1]["event"] == "error"
        assert stream.events[-1]["data"]["error"]["code"] == "unauthorized"
