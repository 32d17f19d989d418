"""The chat lane (``api/chat.py: ChatLane``) answers ``POST /v1/chat/completions`` past
FastAPI's routing: same answers as the route, metrics labelled by the route, and a
database fault is still a 503 in the app's error shape, never a 500."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from renderhouse.api.chat import PATH, ChatLane
from tests.models.api_fixtures import Keys, client, fake_of

pytestmark = pytest.mark.anyio
BODY = {"model": "flaky", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


async def test_the_lane_serves_chat_and_passes_everything_else(app: FastAPI, keys: Keys) -> None:
    assert any(m.cls is ChatLane for m in app.user_middleware)
    seen: list[Any] = []
    original = app.state.rh.gateway.complete

    async def spy(user: Any, request: Any) -> Any:
        seen.append(request.model)
        return await original(user, request)

    app.state.rh.gateway.complete = spy
    fake_of(app, "flaky#0").reply = "one two"
    async with client(app, keys.alice) as c:
        r = await c.post(PATH, json=BODY)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "one two"
        assert r.headers["x-request-id"] and "ratelimit-remaining" in r.headers
        assert seen == ["flaky"]
        assert (await c.get("/v1/models")).status_code == 200  # not the lane's
        bad = await c.post(PATH, content=b"{not json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    async with client(app, "rh_live_not_a_key") as anonymous:
        denied = await anonymous.post(PATH, json=BODY)
        assert denied.status_code == 401 and denied.json()["error"]["type"] == (
            "authentication_error"
        )


async def test_a_database_fault_is_a_503_not_a_500(app: FastAPI, keys: Keys) -> None:
    gateway = app.state.rh.gateway

    def broken(work: Any, order: str) -> Future[Any]:
        f: Future[Any] = Future()
        f.set_exception(OperationalError("COMMIT", {}, Exception("disk I/O error")))
        return f

    gateway.commit = broken
    async with client(app, keys.alice) as c:
        r = await c.post(PATH, json=BODY)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"]
