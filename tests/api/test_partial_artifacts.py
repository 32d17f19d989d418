"""Artifacts of a job that did not succeed are marked partial (issue 14): listed with
``partial: true`` and served with ``X-Renderhouse-Partial``; a succeeded job's are not."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from renderhouse.runtime import Runtime

pytestmark = pytest.mark.anyio


def _attempt_with_artifact(runtime: Runtime, job_id: str, *, succeed: bool) -> None:
    q = runtime.queue
    (job,) = q.claim(["noop"], 1, "w")
    data = b"frame"
    key = f"jobs/{job_id}/frame.png"
    size = runtime.storage.put_bytes(key, data, "image/png")
    ref = {"name": "frame.png", "key": key, "content_type": "image/png", "size": size}
    q.add_artifact(job_id, job.attempt, {**ref, "sha256": hashlib.sha256(data).hexdigest()})
    if succeed:
        q.complete(job_id, job.attempt, {})
    else:
        q.fail(job_id, job.attempt, "generator_error", "crashed at frame 2", retryable=False)


async def test_a_failed_jobs_artifacts_are_partial(
    alice: httpx.AsyncClient, anon: httpx.AsyncClient, runtime: Runtime
) -> None:
    failed = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    _attempt_with_artifact(runtime, failed, succeed=False)
    assert (await alice.get(f"/v1/jobs/{failed}")).json()["state"] == "failed"
    (art,) = (await alice.get(f"/v1/jobs/{failed}/artifacts")).json()
    assert art["partial"] is True
    got = await anon.get(art["url"])
    assert got.status_code == 200 and got.headers["x-renderhouse-partial"] == "true"

    done = (await alice.post("/v1/jobs", json={"kind": "noop"})).json()["id"]
    _attempt_with_artifact(runtime, done, succeed=True)
    (art,) = (await alice.get(f"/v1/jobs/{done}/artifacts")).json()
    assert art["partial"] is False
    got = await anon.get(art["url"])
    assert got.status_code == 200 and "x-renderhouse-partial" not in got.headers
