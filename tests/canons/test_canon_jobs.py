"""Stored canons end to end, through the API and a real worker: a ``render`` job naming
``canon:<id>`` renders on brand; its picture, uploaded back as a customer's WebP, passes
``POST /v1/canons/{id}/check``; a picture without the logo fails it. The worker turns the
jobs' reported KPIs into Prometheus series (plan-cache lookups, cost, compliance score)."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from prometheus_client import REGISTRY

from renderhouse.queue.jobs import TERMINAL
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import assert_error
from tests.canons.conftest import store_canon, upload
from tests.render.conftest import MODEL

pytestmark = pytest.mark.anyio


def run_jobs(runtime: Any, cache: Path, job_ids: list[str], timeout: float = 120) -> None:
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(
            kinds=["render", "render_check"],
            poll_seconds=0.05,
            heartbeat_seconds=1,
            upload_cache_dir=cache,
        ),
    )

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + timeout
        while time.time() < deadline and not all(
            runtime.queue.get(j).state in TERMINAL for j in job_ids
        ):
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())  # twice on one runtime: a stopped worker takes its wake-up back


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def webp(png: bytes) -> bytes:
    buf = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").save(buf, "WEBP", lossless=True)
    return buf.getvalue()


async def check(client: httpx.AsyncClient, canon_id: str, data: bytes, **extra: Any) -> dict:
    ref = (await upload(client, "photo.webp", data)).json()["ref"]
    r = await client.post(f"/v1/canons/{canon_id}/check", json={"image": ref, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_render_with_a_stored_canon_then_check_its_picture(
    alice: httpx.AsyncClient, runtime: Any, tmp_path: Path
) -> None:
    canon = await store_canon(alice)
    model = (await upload(alice, "boombox.glb", MODEL.read_bytes())).json()["ref"]
    lookups = sum(
        sample("renderhouse_plan_cache_lookups_total", kind="render", result=r)
        for r in ("hit", "miss")
    )
    costs = sample("renderhouse_job_cost_usd_count", kind="render")
    body = {"kind": "render", "input": {"brief": "calm", "model": model, "canon": canon["ref"]}}
    job = (await alice.post("/v1/jobs", json=body)).json()
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "uploads", [job["id"]])
    done = runtime.queue.get(job["id"])
    assert done.state == "succeeded", (done.error_code, done.error_message)
    assert done.input["canon"]["source"] == f"{canon['ref']}@1" and done.result["passed"]
    assert done.result["metrics"]["cost_usd"] == 0.0  # the deterministic path pays nobody
    after = sum(
        sample("renderhouse_plan_cache_lookups_total", kind="render", result=r)
        for r in ("hit", "miss")
    )
    assert after == lookups + 1
    assert sample("renderhouse_job_cost_usd_count", kind="render") == costs + 1

    arts = {a["name"]: a for a in (await alice.get(f"/v1/jobs/{job['id']}/artifacts")).json()}
    png = (await alice.get(arts["render_512x512.png"]["url"])).content
    scores = sample("renderhouse_compliance_score_count", kind="render_check")
    good = await check(alice, canon["id"], webp(png))
    assert (
        good["kind"] == "render_check" and good["input"]["canon"]["source"] == canon["ref"] + "@1"
    )
    with Image.open(io.BytesIO(png)) as im:
        blank = Image.new("RGB", im.size, im.getpixel((im.width - 1, im.height - 1)))
    buf = io.BytesIO()
    blank.save(buf, "PNG")
    bad = await check(alice, canon["id"], buf.getvalue(), version=1)
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "uploads", [good["id"], bad["id"]])
    passed, failed = runtime.queue.get(good["id"]), runtime.queue.get(bad["id"])
    assert passed.state == "succeeded", (passed.error_code, passed.error_message)
    assert passed.result["passed"] is True and passed.result["failed"] == []
    assert failed.state == "succeeded" and failed.result["passed"] is False
    assert {"logo_found", "product_fill"} <= set(failed.result["failed"])
    assert sample("renderhouse_compliance_score_count", kind="render_check") == scores + 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_check_route_refusals(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    canon = await store_canon(alice)
    photo = (await upload(alice, "p.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 10)).json()
    assert photo["error"]["code"] == "invalid_image"
    model = (await upload(alice, "m.glb", MODEL.read_bytes())).json()["ref"]
    url = f"/v1/canons/{canon['id']}/check"
    assert_error(await alice.post(url, json={"image": model}), 422, "wrong_file_type")
    assert_error(await alice.post(url, json={"image": "upload:nope"}), 404)
    assert_error(await alice.post(url, json={"image": "/etc/passwd"}), 422)
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 255, 255)).save(picture, "PNG")
    ref = (await upload(alice, "p.png", picture.getvalue())).json()["ref"]
    assert_error(await alice.post(url, json={"image": ref, "version": 2}), 404)
    bobs = (await upload(bob, "p.png", picture.getvalue())).json()["ref"]
    assert_error(await bob.post(url, json={"image": bobs}), 404)  # alice's canon
    assert_error(await alice.post(url, json={"image": bobs}), 404)  # bob's picture
