"""Per-user token and per-key request limits on chat: a 429 in OpenAI's shape with
Retry-After once a window is used up, shared between API processes through Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from renderhouse import accounts
from renderhouse.api import create_app
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from tests.models.api_fixtures import Keys, client, fake_of

pytestmark = pytest.mark.anyio
BODY = {"model": "flaky", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


@contextlib.asynccontextmanager
async def limited_app(
    settings: Settings, runtime: Runtime, **limits: Any
) -> AsyncIterator[FastAPI]:
    top = limits.pop("_top", {})
    changed = settings.model_copy(update={"llm": settings.llm.model_copy(update=limits), **top})
    app = create_app(changed, runtime)
    for deployment in ("flaky#0", "flaky#1"):
        fake_of(app, deployment).reply = " ".join(["word"] * 50)  # 10 tokens a request
    try:
        yield app
    finally:
        await app.state.rh.close()


async def _post(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post("/v1/chat/completions", json=BODY)


async def test_user_tokens_a_minute(settings: Settings, runtime: Runtime, keys: Keys) -> None:
    async with (
        limited_app(settings, runtime, user_tokens_per_minute=25) as app,
        client(app, keys.alice) as c,
    ):
        # Each request: 1 prompt + 10 completion tokens; the third finds no room.
        assert [(await _post(c)).status_code for _ in range(2)] == [200, 200]
        r = await _post(c)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "token_limit_exceeded"
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_key_requests_shared_through_redis(
    settings: Settings, runtime: Runtime, keys: Keys
) -> None:
    with runtime.store.begin() as conn:
        alice = accounts.user_by_id(conn, keys.alice_id)
        assert alice is not None
        second_key = accounts.create_key(conn, alice)
    shared = {"_top": {"redis_url": "redis://127.0.0.1:6379/0"}, "key_requests_per_minute": 2}
    async with (
        limited_app(settings, runtime, **dict(shared)) as one,
        limited_app(settings, runtime, **dict(shared)) as two,
        client(one, keys.alice) as a,
        client(two, keys.alice) as b,
        client(one, second_key) as again,
    ):
        assert (await _post(a)).status_code == 200
        assert (await _post(b)).status_code == 200
        refused = await _post(a)
        other_key = await _post(again)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert other_key.status_code == 200  # another key of the same user: its own window
