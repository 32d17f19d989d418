"""Our OpenAI-compatible client against a local server speaking the protocol; the
official SDK drives the same server first, so the fake is held to the real protocol."""

from __future__ import annotations

import openai
import pytest

from renderhouse.providers import (
    ChatRequest,
    Delta,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    Usage,
)
from renderhouse.providers.openai_http import OpenAIProvider

pytestmark = pytest.mark.anyio
HELLO = [{"role": "user", "content": "hello there friend"}]


def test_the_official_sdk_accepts_the_fake(openai_server) -> None:
    fake, base = openai_server
    client = openai.OpenAI(base_url=base, api_key="k", max_retries=0)
    reply = client.chat.completions.create(model="gpt-fake", messages=HELLO)
    assert reply.choices[0].message.content == "echo: hello there friend"
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    chunks = list(
        client.chat.completions.create(
            model="gpt-fake",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there friend"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    fake.plan("429")
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="gpt-fake", messages=HELLO)
    assert err.value.response.headers["retry-after"] == "2"
    assert [m.id for m in client.models.list()] == ["gpt-fake"]


async def test_complete_and_stream(openai_server) -> None:
    fake, base = openai_server
    p = OpenAIProvider(base, "sk-test")
    try:
        done = await p.complete(ChatRequest("gpt-fake", HELLO, max_tokens=2), timeout=5)
        assert done.message["content"] == "echo: hello"
        assert done.usage == Usage(5, 2)
        assert fake.requests[-1]["max_tokens"] == 2 and "stream" not in fake.requests[-1]
        events = [e async for e in p.stream(ChatRequest("gpt-fake", HELLO), timeout=5)]
        text = "".join(str(e.delta.get("content") or "") for e in events if isinstance(e, Delta))
        assert text == "echo: hello there friend"
        assert events[-1] == Usage(5, 4)
        assert fake.requests[-1]["stream_options"] == {"include_usage": True}
        assert await p.list_models(timeout=5) == ["gpt-fake"]
    finally:
        await p.aclose()


async def test_tools_pass_through(openai_server) -> None:
    fake, base = openai_server
    p = OpenAIProvider(base)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    try:
        done = await p.complete(ChatRequest("gpt-fake", HELLO, extra={"tools": tools}), timeout=5)
        assert done.message["tool_calls"][0]["function"]["name"] == "lookup"
        assert fake.requests[-1]["tools"] == tools
    finally:
        await p.aclose()


@pytest.mark.parametrize(
    ("step", "error", "retryable"),
    [
        ("429", ProviderRateLimited, True),
        ("500", ProviderUnavailable, True),
        ("400", ProviderRejected, False),
        ("hang", ProviderTimeout, True),
        ("garbage", ProviderProtocolError, True),
    ],
)
async def test_failures_are_typed(openai_server, step, error, retryable) -> None:
    fake, base = openai_server
    fake.plan(step)
    p = OpenAIProvider(base)
    try:
        with pytest.raises(error) as caught:
            await p.complete(ChatRequest("gpt-fake", HELLO), timeout=0.3)
        assert caught.value.retryable is retryable
        if step == "429":
            assert caught.value.retry_after == 2.0
    finally:
        await p.aclose()


@pytest.mark.parametrize(
    ("step", "code"),
    [
        ("truncate", "provider_stream_truncated"),
        ("malformed", "provider_protocol_error"),
        ("stall", "provider_timeout"),
    ],
)
async def test_broken_streams_fail_after_what_was_delivered(openai_server, step, code) -> None:
    fake, base = openai_server
    fake.plan(step)
    p = OpenAIProvider(base)
    got: list[Delta] = []
    try:
        with pytest.raises((ProviderProtocolError, ProviderTimeout)) as caught:
            async for event in p.stream(ChatRequest("gpt-fake", HELLO), timeout=0.3):
                assert isinstance(event, Delta)
                got.append(event)
        assert caught.value.code == code
        assert "".join(str(d.delta.get("content") or "") for d in got) == "echo: hello"
    finally:
        await p.aclose()


async def test_unreachable_provider_is_unavailable() -> None:
    p = OpenAIProvider("http://127.0.0.1:9/v1")
    try:
        with pytest.raises(ProviderUnavailable):
            await p.complete(ChatRequest("m", HELLO), timeout=2)
        with pytest.raises(ProviderUnavailable):
            await p.list_models(timeout=2)
    finally:
        await p.aclose()
