"""Live progress: SSE replay and follow, resume with Last-Event-ID without loss or repeats,
the WebSocket twin, and per-user authorisation of both."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "id" in fields:
            events.append(
                {"id": int(fields["id"]), "type": fields["event"], **json.loads(fields["data"])}
            )
    return events


def run_job(runtime, job_id: str, steps: int = 3) -> None:
    """What a worker does, without one: claim, progress, artifact, complete."""
    q = runtime.queue
    (job,) = q.claim(["noop"], 1, "test-worker")
    assert job.id == job_id
    for i in range(steps):
        q.progress(job.id, job.attempt, i + 1, steps, f"step {i + 1}")
    q.complete(job.id, job.attempt, {"ok": True})


async def test_sse_replay_then_resume(alice: httpx.AsyncClient, runtime) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    run_job(runtime, jid, steps=4)
    r = await alice.get(f"/v1/jobs/{jid}/events")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    types = [e["type"] for e in events]
    assert types[0] == "state" and events[0]["state"] == "queued"
    assert types.count("progress") == 4 and events[-1]["state"] == "succeeded"
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids))
    for cut in range(len(ids)):
        resumed = await alice.get(
            f"/v1/jobs/{jid}/events", headers={"Last-Event-ID": str(ids[cut])}
        )
        assert [e["id"] for e in parse_sse(resumed.text)] == ids[cut + 1 :]
    assert_error(
        await alice.get(f"/v1/jobs/{jid}/events", headers={"Last-Event-ID": "x"}),
        400,
        "invalid_last_event_id",
    )


async def test_sse_follows_live_events(alice: httpx.AsyncClient, runtime) -> None:
    jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    stream = asyncio.create_task(alice.get(f"/v1/jobs/{jid}/events", timeout=30))
    await asyncio.sleep(0.3)
    assert not stream.done()
    await asyncio.to_thread(run_job, runtime, jid, 5)
    r = await asyncio.wait_for(stream, 20)
    events = parse_sse(r.text)
    assert [e["type"] for e in events].count("progress") == 5
    assert events[-1]["state"] == "succeeded"
    assert [e["id"] for e in events] == [e["id"] for e in runtime.queue.events(jid)]


async def test_sse_token_query_and_isolation(app, users: Users, runtime) -> None:
    async with client_for(app, users.alice) as alice, client_for(app) as anon:
        jid = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
        runtime.queue.cancel(jid)
        r = await anon.get(f"/v1/jobs/{jid}/events", params={"token": users.alice})
        assert parse_sse(r.text)[-1]["state"] == "cancelled"
        r = await anon.get(f"/v1/jobs/{jid}/events", params={"token": users.bob})
        assert_error(r, 404, "not_found")
        assert_error(await anon.get(f"/v1/jobs/{jid}/events"), 401)
        # ?token= is only for streams: it never authenticates ordinary routes
        assert_error(await anon.get(f"/v1/jobs/{jid}", params={"token": users.alice}), 401)


def test_websocket(live_server: str, runtime, users: Users) -> None:
    from websockets.sync.client import connect

    ws_base = live_server.replace("http", "ws")
    headers = {"Authorization": f"Bearer {users.alice}"}
    jid = httpx.post(f"{live_server}/v1/jobs", json={"kind": "noop"}, headers=headers).json()["id"]
    run_job(runtime, jid, steps=2)
    got = []
    with connect(f"{ws_base}/v1/jobs/{jid}/ws?token={users.alice}") as ws:
        for raw in ws:
            got.append(json.loads(raw))
    assert [m["type"] for m in got].count("progress") == 2
    assert got[-1]["data"]["state"] == "succeeded"
    with connect(
        f"{ws_base}/v1/jobs/{jid}/ws?after={got[1]['id']}", additional_headers=headers
    ) as ws:
        assert [json.loads(m)["id"] for m in ws] == [m["id"] for m in got[2:]]
    with connect(f"{ws_base}/v1/jobs/{jid}/ws?token={users.bob}") as ws:
        assert json.loads(ws.recv())["error"]["code"] == "not_found"
    with connect(f"{ws_base}/v1/jobs/{jid}/ws") as ws:
        assert json.loads(ws.recv())["error"]["code"] == "unauthorized"
