"""``POST /v1/chat/completions`` driven by the official ``openai`` SDK against
``renderhouse serve``'s app on a real socket, with a local OpenAI-protocol provider behind
it: answers, streams, OpenAI's error shapes, and the credits each request moved."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from fastapi import FastAPI

from renderhouse import ledger
from renderhouse.api import create_app
from renderhouse.ledger import accounts
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.worker import registration
from tests.models.api_fixtures import Keys
from tests.threaded_server import serving

HELLO = [{"role": "user", "content": "hello there friend"}]


@pytest.fixture
def server(settings: Settings, runtime: Runtime) -> Iterator[tuple[str, FastAPI]]:
    app = create_app(settings, runtime)
    with serving(app) as url:
        yield url, app


@pytest.fixture
def sdk() -> Iterator[Callable[[str, str], openai.OpenAI]]:
    made: list[openai.OpenAI] = []

    def make(url: str, key: str) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _settled(runtime: Runtime, account: str) -> accounts.Balance:
    deadline = time.monotonic() + 5
    while True:
        with runtime.store.read() as conn:
            bal = ledger.balance(conn, account)
        if bal.held == 0 or time.monotonic() > deadline:
            return bal
        time.sleep(0.02)


def _books_ok(runtime: Runtime) -> None:
    with runtime.store.read() as conn:
        report = ledger.reconcile(conn)
    assert report.ok, report.problems


def test_sdk_completion_is_charged_its_reported_usage(server, sdk, keys: Keys, runtime) -> None:
    url, _ = server
    reply = sdk(url, keys.alice).chat.completions.create(model="gpt-fake", messages=HELLO)
    assert reply.choices[0].message.content == "echo: hello there friend"
    assert reply.model == "gpt-fake" and reply.id.startswith("chatcmpl-")
    assert reply.usage is not None
    cost = reply.usage.prompt_tokens * 1 + reply.usage.completion_tokens * 2
    assert _settled(runtime, keys.alice_id).available == 1_000_000 - cost
    _books_ok(runtime)
    usage = httpx.get(f"{url}/v1/usage", headers={"Authorization": f"Bearer {keys.alice}"})
    assert usage.json()["total"] == {
        "requests": 1,
        "errors": 0,
        "prompt_tokens": reply.usage.prompt_tokens,
        "completion_tokens": 4,
        "cost": cost,
    }


def test_sdk_stream_with_usage_is_charged_once(server, sdk, keys: Keys, runtime, provider) -> None:
    url, _ = server
    chunks = list(
        sdk(url, keys.alice).chat.completions.create(
            model="gpt-fake",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=3,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 3 and chunks[-1].choices == []
    assert provider[0].requests[-1]["max_tokens"] == 3
    cost = usage.prompt_tokens + 2 * usage.completion_tokens
    assert _settled(runtime, keys.alice_id).available == 1_000_000 - cost
    _books_ok(runtime)


def test_errors_come_in_openai_shape(server, sdk, keys: Keys, provider) -> None:
    url, _ = server
    with pytest.raises(openai.NotFoundError) as nf:
        sdk(url, keys.alice).chat.completions.create(model="nope", messages=HELLO)
    assert nf.value.code == "model_not_found"
    assert set(nf.value.body) >= {"message", "type", "param", "code"}  # type: ignore[arg-type]
    with pytest.raises(openai.AuthenticationError):
        sdk(url, "rh_live_nope_nope").chat.completions.create(model="gpt-fake", messages=HELLO)
    with pytest.raises(openai.BadRequestError) as bad:
        sdk(url, keys.alice).chat.completions.create(
            model="gpt-fake",
            messages=[{"role": "wizard", "content": "x"}],  # type: ignore[list-item, misc]
        )
    assert bad.value.code == "invalid_request"
    with pytest.raises(openai.APIStatusError) as broke:  # bob has no credits
        sdk(url, keys.bob).chat.completions.create(model="gpt-fake", messages=HELLO)
    assert broke.value.status_code == 402 and broke.value.code == "insufficient_credits"
    provider[0].plan("429")
    with pytest.raises(openai.RateLimitError) as limited:
        sdk(url, keys.alice).chat.completions.create(model="gpt-fake", messages=HELLO)
    assert limited.value.response.headers["retry-after"] == "2"
    r = httpx.post(
        f"{url}/v1/chat/completions",
        content=b"{not json",
        headers={"Authorization": f"Bearer {keys.alice}"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


def test_truncated_stream_charges_what_was_delivered(server, sdk, keys: Keys, runtime, provider):
    url, _ = server
    provider[0].plan("truncate")
    got = []
    with pytest.raises(openai.APIError, match="before"):
        for chunk in sdk(url, keys.alice).chat.completions.create(
            model="gpt-fake", messages=HELLO, stream=True
        ):
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "echo: hello"
    balance = _settled(runtime, keys.alice_id)
    with runtime.store.read() as conn:
        rows = ledger.entries(conn, keys.alice_id)
    post = next(r for r in rows if r["kind"] == "post")
    assert balance.available == 1_000_000 - post["amount"]
    # The prompt (estimated: 5 + 4 per message = 9) plus the 2 pieces delivered, 2 each.
    assert post["amount"] == 9 + 2 * 2
    _books_ok(runtime)


def test_a_reader_that_leaves_is_charged_what_was_delivered(server, sdk, keys: Keys, runtime):
    url, _ = server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.alice}"}) as c:
        body = {
            "model": "gpt-fake",
            "messages": [{"role": "user", "content": " ".join(["w"] * 400)}],
            "stream": True,
        }
        with c.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")
    balance = _settled(runtime, keys.alice_id)
    assert balance.held == 0 and balance.available < 1_000_000
    _books_ok(runtime)


def test_models_list_in_both_shapes(server, sdk, keys: Keys, runtime) -> None:
    url, _ = server
    ids = [m.id for m in sdk(url, keys.alice).models.list()]
    assert {"gpt-fake", "flaky"} <= set(ids)
    assert sdk(url, keys.alice).models.retrieve("gpt-fake").id == "gpt-fake"
    ours = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {keys.alice}"})
    by_name = {m["name"]: m for m in ours.json()["data"]}
    gpt = by_name["gpt-fake"]
    assert gpt["type"] == "llm" and gpt["status"] in ("up", "degraded", "down")
    health = gpt["deployments"][0]["health"]
    assert set(health) >= {
        "status",
        "latency_p50_ms",
        "latency_p95_ms",
        "error_rate",
        "breaker",
        "last_check",
    }
    assert by_name["turntable"]["type"] == "generator"
    assert by_name["turntable"]["status"] == "down" and by_name["turntable"]["workers"] == 0
    registration.register(runtime.store, "w1", ["turntable"], time.time())
    ours = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {keys.alice}"})
    by_name = {m["name"]: m for m in ours.json()["data"]}
    assert by_name["turntable"]["status"] == "up" and by_name["turntable"]["workers"] == 1
    assert by_name["chat"]["status"] == "down"  # that worker runs turntable only
    one = httpx.get(
        f"{url}/v1/models/flaky", headers={"Authorization": f"Bearer {keys.alice}"}
    ).json()
    assert one["fallbacks"] == ["gpt-fake"] and len(one["deployments"]) == 2
    missing = httpx.get(f"{url}/v1/models/nope", headers={"Authorization": f"Bearer {keys.alice}"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the model, not the database
def test_sdk_streams_from_the_bundled_model(server, sdk, keys: Keys, runtime) -> None:
    """The README's example: no cloud account, the offline model through the server."""
    url, _ = server
    stream = sdk(url, keys.bob).chat.completions.create(  # bob has no credits: it is free
        model="smollm2",
        messages=[{"role": "user", "content": "What is the capital of France? One word."}],
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "paris" in text.lower()
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 8
    auth = {"Authorization": f"Bearer {keys.bob}"}
    deadline = time.monotonic() + 10
    while True:  # the free probe runs as the server starts
        model = httpx.get(f"{url}/v1/models/smollm2", headers=auth).json()
        if model["last_check"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert model["status"] == "up" and model["last_check"].endswith("Z")
    assert model["deployments"][0]["health"]["latency_p50_ms"] > 0
    usage = httpx.get(f"{url}/v1/usage", headers=auth).json()
    assert usage["total"]["cost"] == 0 and usage["total"]["requests"] == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_chat_stream_over_websocket(server, keys: Keys, runtime) -> None:
    from websockets.sync.client import connect

    url, _ = server
    ws_url = url.replace("http://", "ws://") + "/v1/chat/ws"
    with connect(f"{ws_url}?token={keys.alice}") as ws:
        ws.send(json.dumps({"model": "gpt-fake", "messages": HELLO, "max_tokens": 3}))
        frames = []
        while not frames or frames[-1]["type"] == "delta":
            frames.append(json.loads(ws.recv(timeout=10)))
        assert "".join(f["content"] for f in frames[:-1]) == "echo: hello there"
        assert frames[-1]["type"] == "done" and frames[-1]["usage"]["completion_tokens"] == 3
        ws.send(json.dumps({"model": "nope", "messages": HELLO}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "model_not_found"
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "malformed_json"
    with connect(ws_url) as ws:
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "unauthorized"
    assert _settled(runtime, keys.alice_id).held == 0
    _books_ok(runtime)
