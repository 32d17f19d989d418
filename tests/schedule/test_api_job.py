"""``POST /v1/jobs {kind: "schedule"}`` end to end: an uploaded PDF, a real worker (the
generator in its pool child process), the three artifacts and the events as the job's
result; a bad PDF fails once with its code (input errors are final, never retried)."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import httpx
import pytest
from reportlab.pdfgen.canvas import Canvas

from renderhouse.queue.jobs import TERMINAL
from renderhouse.runtime import Runtime
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import (  # noqa: F401  (fixtures)
    alice,
    anyio_backend,
    app,
    runtime,
    settings,
    users,
)
from tests.schedule.corpus import make_sample
from tests.schedule.corpus.score import match

pytestmark = pytest.mark.anyio


async def _upload(client: httpx.AsyncClient, name: str, data: bytes) -> str:
    r = await client.post("/v1/uploads", files={"file": (name, data, "application/pdf")})
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


async def _work(rt: Runtime, cache: Path, job_ids: list[str]) -> None:
    worker = Worker(
        rt.queue, rt.registry, rt.storage,
        WorkerConfig(kinds=["schedule"], poll_seconds=0.05, heartbeat_seconds=1,
                     upload_cache_dir=cache),
    )  # fmt: skip
    task = asyncio.create_task(worker.run())
    deadline = time.time() + 60
    while time.time() < deadline:
        if all(rt.queue.get(j).state in TERMINAL for j in job_ids):
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await task


async def test_schedule_job_through_the_api(
    alice: httpx.AsyncClient,  # noqa: F811
    runtime: Runtime,  # noqa: F811
    tmp_path: Path,
) -> None:
    sample = make_sample("fixtures_shuffled", "es", 4)
    good = await _upload(alice, "liga.pdf", sample.pdf)
    buf = io.BytesIO()
    locked = Canvas(buf, encrypt="secret")
    locked.drawString(50, 700, "14 March 2026 15:00 Match")
    locked.save()
    bad = await _upload(alice, "locked.pdf", buf.getvalue())
    jobs = []
    for ref in (good, bad):
        r = await alice.post("/v1/jobs", json={"kind": "schedule", "input": {"pdf": ref}})
        assert r.status_code == 201, r.text
        jobs.append(r.json()["id"])
    await _work(runtime, tmp_path / "cache", jobs)

    done = (await alice.get(f"/v1/jobs/{jobs[0]}")).json()
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert {"document", "timezone", "date_order", "events"} <= set(result)
    assert match(sample.events, result["events"]).f1 == 1.0
    arts = (await alice.get(f"/v1/jobs/{jobs[0]}/artifacts")).json()
    names = {a["name"] for a in (arts["artifacts"] if isinstance(arts, dict) else arts)}
    assert {"events.json", "calendar.ics", "review.html"} <= names

    failed = (await alice.get(f"/v1/jobs/{jobs[1]}")).json()
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "pdf_encrypted"
    assert failed["attempt"] == 1, "an input error is final"
