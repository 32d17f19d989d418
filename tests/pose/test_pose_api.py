"""A pose job through the HTTP API and a real worker: upload, enqueue (credits reserved per
pose), render, artifacts, credits posted for the delivered poses; bad input refused at
enqueue (nothing reserved) or failed once by the worker (reservation voided)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pygltflib
import pytest

from renderhouse import accounts, ledger
from renderhouse.generators.pose.mannequin import build_mannequin
from renderhouse.queue.jobs import TERMINAL
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import Users, assert_error, client_for

pytestmark = pytest.mark.anyio


def _run_worker(runtime, job_id: str) -> None:
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(kinds=["pose"], poll_seconds=0.05, heartbeat_seconds=1),
    )

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + 90
        while runtime.queue.get(job_id).state not in TERMINAL and time.time() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())


async def _upload(client: httpx.AsyncClient, path: Path) -> str:
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    r = await client.post("/v1/uploads", files=files)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _balance(runtime, user_id: str) -> int:
    with runtime.store.read() as conn:
        return ledger.balance(conn, user_id).available


async def test_pose_job_end_to_end(
    alice: httpx.AsyncClient, runtime, users: Users, tmp_path: Path
) -> None:
    upload = await _upload(alice, build_mannequin(tmp_path / "avatar.glb"))
    before = _balance(runtime, users.alice_id)
    spec = {"avatar": f"upload:{upload}", "poses": ["clap", "crouch", "a-pose"], "size": 96}
    r = await alice.post("/v1/jobs", json={"kind": "pose", "input": {**spec, "aa": "fast"}})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    assert _balance(runtime, users.alice_id) == before - 3  # reserved at enqueue
    await asyncio.to_thread(_run_worker, runtime, job_id)
    job = (await alice.get(f"/v1/jobs/{job_id}")).json()
    assert job["state"] == "succeeded", job
    assert job["result"]["delivered"] == 3
    names = {a["name"] for a in (await alice.get(f"/v1/jobs/{job_id}/artifacts")).json()}
    assert {"poses/00-clap.png", "poses/01-crouch.png", "poses/02-a-pose.png"} <= names
    assert "contact_sheet.png" in names
    assert _balance(runtime, users.alice_id) == before - 3
    with runtime.store.read() as conn:
        assert ledger.reconcile(conn).ok


async def test_bad_requests_are_refused_at_enqueue(
    alice: httpx.AsyncClient, runtime, users: Users, tmp_path: Path
) -> None:
    upload = await _upload(alice, build_mannequin(tmp_path / "avatar.glb"))
    before = _balance(runtime, users.alice_id)
    cases = [
        ({"poses": ["moonwalk"]}, "unknown_pose"),
        ({"poses": ["clap"] * 17}, "batch_too_large"),
        ({"custom_poses": [{"name": "x", "rotations": {"tail": [0, 0, 9]}}]}, "unknown_bone"),
    ]
    for extra, code in cases:
        body = {"kind": "pose", "input": {"avatar": f"upload:{upload}", **extra}}
        assert_error(await alice.post("/v1/jobs", json=body), 422, code)
    assert _balance(runtime, users.alice_id) == before


async def test_too_few_credits_is_402(app, runtime, alice: httpx.AsyncClient, tmp_path) -> None:
    with runtime.store.begin() as conn:
        carol = accounts.create_user(conn, "carol")
        key = accounts.create_key(conn, carol)
        ledger.grant(conn, carol.id, 2, "two poses' worth")
    async with client_for(app, key) as c:
        upload = await _upload(c, build_mannequin(tmp_path / "a.glb"))
        body = {"kind": "pose", "input": {"avatar": f"upload:{upload}", "poses": ["clap"] * 3}}
        assert_error(await c.post("/v1/jobs", json=body), 402, "insufficient_credits")
    assert _balance(runtime, carol.id) == 2


async def test_an_avatar_without_a_skin_fails_once_and_is_refunded(
    alice: httpx.AsyncClient, runtime, users: Users, tmp_path: Path
) -> None:
    path = build_mannequin(tmp_path / "a.glb")
    gltf = pygltflib.GLTF2().load_binary(str(path))
    gltf.skins = []
    for node in gltf.nodes:
        node.skin = None
    gltf.save_binary(str(path))
    upload = await _upload(alice, path)
    before = _balance(runtime, users.alice_id)
    body = {"kind": "pose", "input": {"avatar": f"upload:{upload}", "poses": ["clap"]}}
    job_id = (await alice.post("/v1/jobs", json=body)).json()["id"]
    await asyncio.to_thread(_run_worker, runtime, job_id)
    job = (await alice.get(f"/v1/jobs/{job_id}")).json()
    assert job["state"] == "failed" and job["attempt"] == 1
    assert job["error"]["code"] == "no_skin"
    assert _balance(runtime, users.alice_id) == before
