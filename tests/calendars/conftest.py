"""Calendar connection tests: the API fixtures of ``tests/api`` (SQLite and PostgreSQL), a
real Radicale server and the fake Google server of ``tests/schedule``, and a worker that
runs schedule extractions and calendar syncs."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from renderhouse.api import create_app
from renderhouse.queue.jobs import Job
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.api.conftest import (  # noqa: F401  (fixtures)
    Users,
    anyio_backend,
    client_for,
    settings,
    users,
)
from tests.schedule.fake_google import FakeGoogle
from tests.schedule.radicale_server import free_port, radicale
from tests.threaded_server import serving


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogle, str]]:
    fake = FakeGoogle()
    with serving(fake.app()) as url:
        yield fake, url


@pytest.fixture
def cal_settings(settings: Settings, google: tuple[FakeGoogle, str]) -> Settings:  # noqa: F811
    url = google[1]
    return settings.model_copy(
        update={
            "google_client_id": google[0].client_id,
            "google_client_secret": SecretStr(google[0].client_secret),
            "google_auth_url": url + "/auth",
            "google_token_url": url + "/token",
            "google_calendar_api_url": url + "/calendar/v3",
            "calendar_allow_private": True,  # Radicale listens on loopback
        }
    )


@pytest.fixture
def runtime(cal_settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(cal_settings)
    yield rt
    rt.close()


@pytest.fixture
async def app(cal_settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    application = create_app(cal_settings, runtime)
    yield application
    await application.state.rh.close()


@pytest.fixture
async def alice(app: FastAPI, users: Users) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with client_for(app, users.alice) as c:
        yield c


@pytest.fixture
async def bob(app: FastAPI, users: Users) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with client_for(app, users.bob) as c:
        yield c


class Radicale:
    """A Radicale server that can be stopped and started again on the same port and
    storage (a calendar outage and its end)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._server: object | None = None

    def start(self) -> None:
        self._server = radicale(self.folder, self.port)
        self._server.__enter__()  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)  # type: ignore[attr-defined]
            self._server = None


@pytest.fixture
def caldav_server() -> Iterator[Radicale]:
    with tempfile.TemporaryDirectory() as folder:
        server = Radicale(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


class Working:
    """A worker for schedule extractions and calendar syncs, running for a whole test."""

    def __init__(self, rt: Runtime, cache: Path) -> None:
        from renderhouse.worker.worker import Worker, WorkerConfig

        self.worker = Worker(
            rt.queue, rt.registry, rt.storage,
            WorkerConfig(kinds=["schedule", "calendar_sync"], concurrency=2, poll_seconds=0.05,
                         heartbeat_seconds=1, upload_cache_dir=cache),
        )  # fmt: skip

    async def until(self, done: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline and not await asyncio.to_thread(done):
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(done), "the jobs did not get there in time"


@contextlib.asynccontextmanager
async def working(rt: Runtime, cache: Path) -> AsyncIterator[Working]:
    w = Working(rt, cache)
    task = asyncio.create_task(w.worker.run())
    try:
        yield w
    finally:
        w.worker.stop()
        await task


def job(rt: Runtime, job_id: str) -> Job:
    return rt.queue.get(job_id)
