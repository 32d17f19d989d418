"""Webhooks: a job's end enqueues a signed delivery in the same transaction; a real worker
delivers it to a local HTTP server, retrying a failed attempt; the delivery is logged."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from renderhouse import webhooks
from renderhouse.queue.retry import RetryPolicy
from renderhouse.settings import Settings
from renderhouse.store.schema_auth import webhook_deliveries
from renderhouse.worker.worker import Worker, WorkerConfig

pytestmark = pytest.mark.anyio


class Receiver(ThreadingHTTPServer):
    def __init__(self, fail_first: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_first = fail_first
        self.received: list[tuple[str, dict[str, str], int]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        status = 500 if len(self.server.received) < self.server.fail_first else 204
        self.server.received.append((body, dict(self.headers), status))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on loopback, which only on-premises policy admits."""
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_worker(runtime, until) -> None:
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(kinds=["webhook"], poll_seconds=0.05, heartbeat_seconds=1),
    )

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + 30
        while not until() and time.time() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())


async def test_signed_delivery_with_retry(
    alice: httpx.AsyncClient, runtime, receiver: Receiver, settings
) -> None:
    runtime.queue.policy = RetryPolicy(base=0.05, jitter=0)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    jid = (await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": url})).json()["id"]
    (job,) = runtime.queue.claim(["noop"], 1, "w")
    runtime.queue.complete(jid, job.attempt, {"echo": "x"})

    def logged() -> bool:
        with runtime.store.read() as conn:
            return conn.execute(select(webhook_deliveries)).first() is not None

    await asyncio.to_thread(run_worker, runtime, logged)
    assert [status for *_, status in receiver.received] == [500, 204]
    body, headers, _ = receiver.received[-1]
    secret = (await alice.get("/v1/me")).json()["webhook_secret"]
    assert webhooks.verify(secret, body, headers["Renderhouse-Signature"])
    assert not webhooks.verify(secret, body + " ", headers["Renderhouse-Signature"])
    assert not webhooks.verify("whsec_other", body, headers["Renderhouse-Signature"])
    import json

    event = json.loads(body)
    assert event["type"] == "job.succeeded" and event["data"]["id"] == jid
    with runtime.store.read() as conn:
        (row,) = conn.execute(select(webhook_deliveries)).all()
    assert (row.job_id, row.outcome, row.attempts, row.status_code) == (jid, "delivered", 2, 204)


async def test_no_webhook_for_rolled_back_end(alice: httpx.AsyncClient, runtime) -> None:
    jid = (
        await alice.post("/v1/jobs", json={"kind": "noop", "webhook_url": "http://127.0.0.1:9/x"})
    ).json()["id"]
    with pytest.raises(RuntimeError), runtime.store.begin() as conn:
        from renderhouse.queue import control

        control.cancel(conn, runtime.store.dialect, jid, time.time(), runtime.queue.terminal_hooks)
        raise RuntimeError("roll back")
    assert runtime.queue.list_jobs(kind="webhook") == []
    assert (await alice.post(f"/v1/jobs/{jid}/cancel")).json()["state"] == "cancelled"
    (delivery,) = runtime.queue.list_jobs(kind="webhook")
    assert delivery.parent_id == jid and delivery.owner == alice_id(runtime, jid)


def alice_id(runtime, jid: str) -> str:
    return runtime.queue.get(jid).owner


def test_signature_tolerance() -> None:
    header = webhooks.signature_header("s", "{}", ts=1000)
    assert webhooks.verify("s", "{}", header, now=1100)
    assert not webhooks.verify("s", "{}", header, now=1000 + 3600)
    assert not webhooks.verify("s", "{}", "garbage")
