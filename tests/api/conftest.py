"""An API per test: a real store (SQLite and PostgreSQL via ``db_url``), the real ASGI app
called in-process through ``httpx.ASGITransport``, and three users with keys."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import renderhouse.store.schema_auth  # noqa: F401  (its tables join the truncation)
from renderhouse import accounts, ledger
from renderhouse.api import create_app
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.threaded_server import serving


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        rate_limit="100000/minute",
        rate_limit_global="100000/minute",
        max_upload_mb=1,
        events_poll_seconds=0.05,
        secret_key="test-secret-key-0123456789abcdef-xyz",
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    yield rt
    rt.close()


@dataclass
class Users:
    admin: str
    alice: str
    bob: str
    alice_id: str
    bob_id: str


@pytest.fixture
def users(runtime: Runtime) -> Users:
    with runtime.store.begin() as conn:
        admin = accounts.create_user(conn, "root", is_admin=True)
        alice = accounts.create_user(conn, "alice", org="acme")
        bob = accounts.create_user(conn, "bob")
        keys = [
            accounts.create_key(conn, admin, scope="admin"),
            accounts.create_key(conn, alice),
            accounts.create_key(conn, bob),
        ]
        # Paid kinds (turntable) reserve credits at enqueue: give the users some.
        for user in (alice, bob):
            ledger.grant(conn, user.id, 1_000_000, "api tests")
    return Users(*keys, alice.id, bob.id)


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    application = create_app(settings, runtime)
    yield application
    await application.state.rh.close()


def client_for(app: FastAPI, key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers, **kwargs
    )


@pytest.fixture
async def alice(app: FastAPI, users: Users) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, users.alice) as c:
        yield c


@pytest.fixture
async def bob(app: FastAPI, users: Users) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, users.bob) as c:
        yield c


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert response.headers.get("x-request-id")
    return body["error"]


@pytest.fixture
def live_server(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """The app on a real socket (uvicorn in a thread): for WebSockets, the client's
    streaming and dropped connections, which in-process transports cannot show."""
    with serving(create_app(settings, runtime)) as url:
        yield url


@contextlib.asynccontextmanager
async def app_with(
    settings: Settings, prepare: Callable[[Runtime], None] | None = None, **changes: Any
) -> AsyncIterator[tuple[Runtime, FastAPI]]:
    """An app of its own on ``settings`` with ``changes`` (``prepare`` runs on its runtime
    before the app is made), closed afterwards."""
    rt = Runtime(settings.model_copy(update=changes))
    if prepare is not None:
        prepare(rt)
    app = create_app(rt.settings, rt)
    try:
        yield rt, app
    finally:
        await app.state.rh.close()
        rt.close()
