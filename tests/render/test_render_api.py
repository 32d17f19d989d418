"""``render`` as a job over the HTTP API with a real worker: upload the model, submit with
an inline canon, the worker renders in its pool process; the job ends with the picture,
plan and report as signed artifacts and its credits posted. Bad canons are refused at
submit (422 with the canon's code); a logo that is not an image fails the job for good
and its reservation is released."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderhouse.queue.jobs import TERMINAL
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import assert_error
from tests.render.conftest import MODEL, canon_dict

pytestmark = pytest.mark.anyio


def run_jobs(runtime: Any, cache: Path, job_ids: list[str], timeout: float = 120) -> None:
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(
            kinds=["render"], poll_seconds=0.05, heartbeat_seconds=1, upload_cache_dir=cache
        ),
    )

    def done() -> bool:
        return all(runtime.queue.get(j).state in TERMINAL for j in job_ids)

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + timeout
        while not done() and time.time() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())


def small_canon() -> dict[str, Any]:
    canon = canon_dict()
    canon["outputs"] = [{"width": 512, "height": 512, "format": "png"}]
    return canon


async def upload_model(client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/v1/uploads", files={"file": ("boombox.glb", MODEL.read_bytes(), "model/gltf-binary")}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


async def balance(client: httpx.AsyncClient) -> int:
    r = await client.get("/v1/credits")
    assert r.status_code == 200, r.text
    body = r.json()
    return int(body["available"]) + int(body["held"])


# Each store once (a render costs seconds in a fresh pool process): success on PostgreSQL,
# the failure path on SQLite; the renderer's default cache directory keeps the prefiltered
# lighting warm between runs (the plan cache there does not change what is asserted).
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_render_job_through_the_api_and_a_worker(
    alice: httpx.AsyncClient, runtime: Any, tmp_path: Path
) -> None:
    ref = await upload_model(alice)
    before = await balance(alice)
    body = {
        "kind": "render",
        "input": {"brief": "calm front shot", "model": ref, "canon": small_canon()},
    }
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["input"]["model"] == ref and job["cost"]["estimated"] == 1
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "uploads", [job["id"]])
    done = runtime.queue.get(job["id"])
    assert done.state == "succeeded", (done.error_code, done.error_message)
    assert done.result["passed"] is True and done.result["score"] == 100.0
    assert done.result["images"] == ["render_512x512.png"]
    r = await alice.get(f"/v1/jobs/{job['id']}/artifacts")
    arts = {a["name"]: a for a in r.json()}
    assert set(arts) >= {"render_512x512.png", "plan.json", "report.json", "report.html"}
    image = await alice.get(arts["render_512x512.png"]["url"])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    report = (await alice.get(arts["report.json"]["url"])).json()
    assert report["passed"] and report["outputs"][0]["file"] == "render_512x512.png"
    plan = (await alice.get(arts["plan.json"]["url"])).json()
    assert plan["azimuth"] == 0.0 and plan["lighting"] == "soft"
    got = (await alice.get(f"/v1/jobs/{job['id']}")).json()
    assert got["cost"]["posted"] == 1
    assert await balance(alice) == before - 1


async def test_bad_canons_are_refused_at_submit(alice: httpx.AsyncClient) -> None:
    ref = await upload_model(alice)
    canon = small_canon()
    canon["palette"][0]["hex"] = "crimson"
    r = await alice.post(
        "/v1/jobs", json={"kind": "render", "input": {"brief": "b", "model": ref, "canon": canon}}
    )
    err = assert_error(r, 422, "invalid_colour")
    assert "#rrggbb" in err["message"]
    canon = small_canon()
    canon["logo"]["image"] = "/etc/renderhouse/logo.png"
    r = await alice.post(
        "/v1/jobs", json={"kind": "render", "input": {"brief": "b", "model": ref, "canon": canon}}
    )
    err = assert_error(r, 422)
    assert err["details"]["field"] == "input.canon.logo.image"
    assert "server paths are not accepted" in err["message"]
    r = await alice.post(
        "/v1/jobs",
        json={
            "kind": "render",
            "input": {"brief": "b" * 5000, "model": ref, "canon": small_canon()},
        },
    )
    assert_error(r, 422)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_logo_that_is_not_an_image_fails_the_job_for_good(
    alice: httpx.AsyncClient, runtime: Any, tmp_path: Path
) -> None:
    ref = await upload_model(alice)
    before = await balance(alice)
    canon = small_canon()
    canon["logo"]["image"] = "data:image/png;base64," + base64.b64encode(b"%PDF-1.7").decode()
    r = await alice.post(
        "/v1/jobs", json={"kind": "render", "input": {"brief": "b", "model": ref, "canon": canon}}
    )
    job = r.json()
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "uploads", [job["id"]])
    failed = runtime.queue.get(job["id"])
    assert (failed.state, failed.error_code, failed.attempts_spent) == ("failed", "invalid_logo", 1)
    assert "not a PNG, JPEG, WebP or SVG" in (failed.error_message or "")
    assert await balance(alice) == before  # nothing delivered, nothing charged
