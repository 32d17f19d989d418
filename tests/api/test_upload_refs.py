"""Upload references on S3 storage (a moto server speaking the real protocol): the job keeps
``upload:<id>``, and the worker that runs it fetches the object (a glTF zip's members too)
into its cache, so the generator reads a local file with the uploaded bytes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Annotated, Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.fields import UploadedFile
from renderhouse.generators.outcomes import FanOut
from renderhouse.queue.jobs import TERMINAL
from renderhouse.settings import Settings
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.api.conftest import assert_error
from tests.api.test_uploads import glb, gltf_zip, upload
from tests.storage.conftest import aws_env, s3_endpoint, s3_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio


class DigestInput(BaseModel):
    file: Annotated[str, UploadedFile()]
    split: bool = False


class FileDigest(Generator):
    """Reads its file (and the files beside it) the way a real generator reads a model."""

    kind: ClassVar[str] = "file_digest"
    Input: ClassVar[type[BaseModel]] = DigestInput
    resources: ClassVar[Resources] = Resources(isolated=False)

    async def run(self, ctx: Context, input: Any) -> Any:  # type: ignore[override]
        if input.split and not ctx.children():
            return FanOut([{"file": input.file}])
        path = Path(input.file)
        beside = sorted(p.relative_to(path.parent).as_posix() for p in path.parent.rglob("*"))
        return {
            "path": str(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "beside": beside,
        }


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The API and the worker on a fresh bucket of the moto server."""
    return settings.model_copy(update={"storage_url": request.getfixturevalue("s3_url")})


@pytest.fixture
def runtime(runtime):  # type: ignore[no-untyped-def]
    runtime.registry.add(FileDigest)
    return runtime


def run_jobs(runtime, cache: Path, job_ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(
        runtime.queue,
        runtime.registry,
        runtime.storage,
        WorkerConfig(
            kinds=["file_digest"], poll_seconds=0.05, heartbeat_seconds=1, upload_cache_dir=cache
        ),
    )

    def done() -> bool:
        return all(runtime.queue.get(j).state in TERMINAL for j in job_ids)

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        deadline = time.time() + 30
        while not done() and time.time() < deadline:
            await asyncio.sleep(0.05)
        worker.stop()
        await task

    asyncio.run(main())


async def test_a_job_reads_a_glb_uploaded_to_s3(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, runtime, tmp_path: Path
) -> None:
    assert runtime.storage.url.startswith("s3://")
    data = glb(binary=b"vertices")
    up = (await upload(alice, "chair.glb", data)).json()
    r = await alice.post("/v1/jobs", json={"kind": "file_digest", "input": {"file": up["ref"]}})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["input"]["file"] == up["ref"]  # kept: the worker's machine fetches it

    other = await bob.post("/v1/jobs", json={"kind": "file_digest", "input": {"file": up["ref"]}})
    assert_error(other, 404, "not_found")

    cache = tmp_path / "cache"
    await asyncio.to_thread(run_jobs, runtime, cache, [job["id"]])
    done = runtime.queue.get(job["id"])
    assert done.state == "succeeded", (done.error_code, done.error_message)
    assert done.result["sha256"] == hashlib.sha256(data).hexdigest() == up["sha256"]
    assert Path(done.result["path"]).is_relative_to(cache)


async def test_a_gltf_zip_arrives_with_its_buffers_and_children_get_the_reference(
    alice: httpx.AsyncClient, runtime, tmp_path: Path
) -> None:
    up = (await upload(alice, "scene.zip", gltf_zip())).json()
    body = {"kind": "file_digest", "input": {"file": up["ref"], "split": True}}
    parent = (await alice.post("/v1/jobs", json=body)).json()

    await asyncio.to_thread(run_jobs, runtime, tmp_path / "cache", [parent["id"]])
    done = runtime.queue.get(parent["id"])
    assert done.state == "succeeded", (done.error_code, done.error_message)
    assert done.result["beside"] == ["mesh.bin", "scene.gltf"]
    (child,) = runtime.queue.children(parent["id"])
    assert child["input"]["file"] == up["ref"]  # not a path that exists on one machine only


async def test_a_deleted_upload_fails_the_job_for_good(
    alice: httpx.AsyncClient, runtime, tmp_path: Path
) -> None:
    up = (await upload(alice, "gone.glb", glb())).json()
    job = (
        await alice.post("/v1/jobs", json={"kind": "file_digest", "input": {"file": up["ref"]}})
    ).json()
    for key in list(runtime.storage.keys(f"uploads/{job['owner']}/{up['id']}/")):
        runtime.storage.delete(key)
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "cache", [job["id"]])
    failed = runtime.queue.get(job["id"])
    assert (failed.state, failed.error_code, failed.attempts_spent) == ("failed", "not_found", 1)
    assert up["id"] in (failed.error_message or "")
