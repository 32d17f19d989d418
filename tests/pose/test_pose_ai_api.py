"""The pose job's AI path over the HTTP API with a real worker (its job in a spawned pool
process, the provider configured by its own SDK's environment variables and served by the
local protocol fake) and the ledger's budgets: each picture held and settled once under
the owner's and the provider's budgets, credits posted per pose as without the AI path; a
safety refusal fails the job on its first attempt with nothing charged."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from renderhouse import ledger
from renderhouse.generators.pose.mannequin import build_mannequin
from renderhouse.ledger import metering
from renderhouse.ledger.budgets import budget_status
from renderhouse.queue.jobs import TERMINAL
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import Users
from tests.image_providers.fake_server import Script
from tests.pose.test_pose_ai import OPENAI_CALL

pytestmark = pytest.mark.anyio


@pytest.fixture
def provider(server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """OpenAI configured as its SDK reads it, pointing at the fake (the pool child is spawned
    after this, so it inherits the environment)."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("RENDERHOUSE_CACHE_DIR", str(tmp_path / "cache"))


def _run_worker(runtime: Any, job_id: str) -> None:
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(kinds=["pose"], poll_seconds=0.05, heartbeat_seconds=1),
        meter_for=metering.meter_for(runtime.store),
    )

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + 120
        while runtime.queue.get(job_id).state not in TERMINAL and time.time() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())


async def _upload(alice: httpx.AsyncClient, name: str, data: bytes) -> str:
    r = await alice.post("/v1/uploads", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _submit(alice: httpx.AsyncClient, tmp_path: Path, poses: list[str], **ai: Any) -> str:
    avatar = build_mannequin(tmp_path / "avatar.glb")
    upload = await _upload(alice, avatar.name, avatar.read_bytes())
    spec = {
        "avatar": f"upload:{upload}",
        "poses": poses,
        "size": 96,
        "aa": "fast",
        "ai": {"provider": "openai", "prompt": "a knight in blue armour", **ai},
    }
    r = await alice.post("/v1/jobs", json={"kind": "pose", "input": spec})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _state(runtime: Any, user_id: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    with runtime.store.read() as conn:
        return (
            ledger.balance(conn, user_id).available,
            budget_status(conn, user_id, "day"),
            budget_status(conn, "provider:openai", "day"),
        )


async def test_ai_pictures_through_the_api_a_worker_and_the_budgets(
    alice: httpx.AsyncClient,
    runtime: Any,
    users: Users,
    tmp_path: Path,
    provider: None,
    script: Script,
) -> None:
    with runtime.store.begin() as conn:
        ledger.set_budget(conn, users.alice_id, "day", 5_000_000)
    before, _, _ = _state(runtime, users.alice_id)
    look = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 20, 20)).save(look, "JPEG")
    reference = await _upload(alice, "look.jpg", look.getvalue())
    job_id = await _submit(alice, tmp_path, ["clap", "crouch"], reference=f"upload:{reference}")
    await asyncio.to_thread(_run_worker, runtime, job_id)
    job = (await alice.get(f"/v1/jobs/{job_id}")).json()
    assert job["state"] == "succeeded", job
    assert job["result"]["provider_cost_micro_usd"] == 2 * OPENAI_CALL
    arts = {a["name"]: a for a in (await alice.get(f"/v1/jobs/{job_id}/artifacts")).json()}
    assert {"ai/00-clap.png", "ai/01-crouch.png", "poses/00-clap.png"} <= set(arts)
    picture = await alice.get(arts["ai/00-clap.png"]["url"])
    assert picture.content.startswith(b"\x89PNG")
    assert [c["images"] for c in script.calls] == [2, 2]  # the worker staged the look
    after, mine, openai = _state(runtime, users.alice_id)
    assert after == before - 2  # credits per pose, as without the AI path
    assert mine["spent"] == openai["spent"] == 2 * OPENAI_CALL  # settled once each
    assert mine["held"] == openai["held"] == 0
    with runtime.store.read() as conn:
        assert ledger.reconcile(conn).ok


async def test_a_refusal_fails_the_job_once_and_charges_nothing(
    alice: httpx.AsyncClient,
    runtime: Any,
    users: Users,
    tmp_path: Path,
    provider: None,
    script: Script,
) -> None:
    script.steps = ["refuse"]
    before, _, _ = _state(runtime, users.alice_id)
    job_id = await _submit(alice, tmp_path, ["clap"])
    await asyncio.to_thread(_run_worker, runtime, job_id)
    job = (await alice.get(f"/v1/jobs/{job_id}")).json()
    assert job["state"] == "failed" and job["attempt"] == 1, job
    assert job["error"]["code"] == "provider_refused"
    assert len(script.calls) == 1
    after, mine, openai = _state(runtime, users.alice_id)
    assert after == before  # the reserved credits are voided
    assert mine["spent"] == openai["spent"] == 0 and mine["held"] == 0
