"""The Python client against a real server socket: submit, wait following SSE progress
(also across a dropped connection: no event lost or repeated), download artifacts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from renderhouse.client import ApiError, AsyncClient, Client
from tests.api.conftest import Users
from tests.api.test_artifacts import DATA, finish_with_artifact
from tests.api.test_events import run_job


class DropOnce(httpx.BaseTransport):
    """Cuts the first event stream after ``keep`` bytes, like a flaky proxy would."""

    def __init__(self, keep: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.keep = keep
        self.dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.dropped or not request.url.path.endswith("/events"):
            return response
        self.dropped = True
        keep = self.keep

        class Cut(httpx.SyncByteStream):
            def __iter__(self):
                sent = 0
                for chunk in response.stream:
                    yield chunk[: keep - sent]
                    sent += len(chunk)
                    if sent >= keep:
                        raise httpx.ReadError("connection dropped")

            def close(self) -> None:
                response.close()

        return httpx.Response(response.status_code, headers=response.headers, stream=Cut())

    def close(self) -> None:
        self.inner.close()


def test_submit_wait_download(live_server: str, users: Users, runtime, tmp_path: Path) -> None:
    transport = DropOnce(keep=300)
    with Client(live_server, users.alice, transport=transport) as client:
        job = client.submit("noop", {"message": "hi"}, idempotency_key="c-1")
        assert client.submit("noop", {"message": "hi"}, idempotency_key="c-1")["id"] == job["id"]

        def worker() -> None:
            time.sleep(0.3)
            q = runtime.queue
            (claimed,) = q.claim(["noop"], 1, "w")
            for i in range(10):
                q.progress(job["id"], claimed.attempt, i + 1, 10, f"{i}")
                time.sleep(0.02)
            q.complete(job["id"], claimed.attempt, {"done": True})

        thread = threading.Thread(target=worker)
        thread.start()
        seen: list[dict] = []
        final = client.wait(job["id"], seen.append)
        thread.join()
        assert transport.dropped
        assert final["state"] == "succeeded"
        ids = [e["id"] for e in seen]
        assert ids == [e["id"] for e in runtime.queue.events(job["id"])]
        assert [e["data"]["done"] for e in seen if e["type"] == "progress"] == list(range(1, 11))

        other = client.submit("noop")
        finish_with_artifact(runtime, other["id"], "frames/a.png")
        (path,) = client.download(other["id"], tmp_path)
        assert path.read_bytes() == DATA
        with pytest.raises(ApiError) as err:
            client.submit("nope")
        assert err.value.code == "unknown_kind" and err.value.status == 422


@pytest.mark.anyio
async def test_async_client(live_server: str, users: Users, runtime) -> None:
    async with AsyncClient(live_server, users.bob) as client:
        job = await client.submit("noop")
        threading.Timer(0.2, run_job, (runtime, job["id"], 2)).start()
        events: list[dict] = []
        final = await client.wait(job["id"], events.append)
        assert final["state"] == "succeeded" and len(events) == 5


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
