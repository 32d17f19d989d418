"""A ``render`` job with ``planner: llm`` end to end: submitted over the HTTP API, run by a
worker as ``renderhouse worker`` builds it (its pool child asks the parent, which calls the
model registry's gateway), with an in-process fake provider configured in the settings
(it echoes the request, whose format example is a plan that fits the canon). The job's
result names the LLM plan and its cost; the usage row names the job (``job:render``) and
``GET /v1/usage`` shows the same tokens and credits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from renderhouse.models.config import LLMSettings
from renderhouse.models.usage import model_usage
from renderhouse.queue.jobs import TERMINAL
from renderhouse.settings import Settings
from tests.integration.running import running, wait_until
from tests.render.test_render_api import small_canon, upload_model

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

PLANNER = {
    "deployments": [
        # one credit a token each way: the cost is the tokens
        {"provider": "fake", "upstream": "planner-1", "price_in": 1000, "price_out": 1000}
    ],
    "retries": 0,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    llm = LLMSettings.model_validate(
        {"models": {"planner": PLANNER}, "default_model": "planner", "offline_model": False}
    )
    return settings.model_copy(update={"llm": llm})


def run_worker(runtime: Any, job_id: str) -> None:
    with running(runtime.worker(["render"], 1, maintenance=False)):
        wait_until(lambda: runtime.queue.get(job_id).state in TERMINAL, 180, "the render job")


async def test_an_llm_planned_render_job_is_charged_and_recorded(
    alice: httpx.AsyncClient, runtime: Any, users: Any
) -> None:
    ref = await upload_model(alice)
    body = {
        "kind": "render",
        "input": {
            # the plan cache lives in the renderer's cache directory, shared between runs
            "brief": f"a calm front shot, take {uuid.uuid4().hex[:8]}",
            "model": ref,
            "canon": small_canon(),
            "planner": "llm",
            "planner_model": "planner",
        },
    }
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    await asyncio.to_thread(run_worker, runtime, job_id)

    r = await alice.get(f"/v1/jobs/{job_id}")
    job = r.json()
    assert job["state"] == "succeeded", job
    result = job["result"]
    planning = result["planning"]
    assert planning["used"] == "llm" and planning["planner"] == "llm-1:planner"
    assert planning["fallback"] is None and planning["cache_hit"] is False
    assert planning["llm_calls"] == 1
    tokens = planning["prompt_tokens"] + planning["completion_tokens"]
    assert result["llm_cost_credits"] == planning["cost_credits"] == tokens > 0
    assert result["passed"] is True

    with runtime.store.read() as conn:
        rows = conn.execute(select(model_usage)).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert (row["source"], row["job_id"], row["owner"]) == ("job:render", job_id, users.alice_id)
    assert (row["model"], row["ok"]) == ("planner", True)
    assert row["cost"] == result["llm_cost_credits"]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (
        planning["prompt_tokens"],
        planning["completion_tokens"],
    )
    usage = (await alice.get("/v1/usage")).json()
    assert usage["total"]["cost"] == result["llm_cost_credits"]
    assert usage["total"]["requests"] == 1
