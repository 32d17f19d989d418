"""Our Gemini client against a local server speaking ``generateContent`` and
``streamGenerateContent`` (alt=sse)."""

from __future__ import annotations

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
from renderhouse.providers.gemini import GeminiProvider

pytestmark = pytest.mark.anyio
CHAT = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "tell me three things"},
]


async def test_messages_map_onto_contents_and_back(gemini_server) -> None:
    fake, base = gemini_server
    p = GeminiProvider(base, "g-key")
    try:
        done = await p.complete(
            ChatRequest("gemini-fake", CHAT, max_tokens=3, temperature=0.2), timeout=5
        )
        assert done.message == {"role": "assistant", "content": "echo: tell me"}
        assert done.usage == Usage(6, 3)
        sent = fake.requests[-1]
        assert sent["systemInstruction"] == {"parts": [{"text": "be brief"}]}
        assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
        assert sent["generationConfig"] == {"maxOutputTokens": 3, "temperature": 0.2}
        assert fake.keys[-1] == "g-key"
        events = [e async for e in p.stream(ChatRequest("gemini-fake", CHAT), timeout=5)]
        deltas = [e for e in events if isinstance(e, Delta)]
        assert "".join(str(d.delta["content"]) for d in deltas) == "echo: tell me three things"
        assert deltas[0].delta["role"] == "assistant" and deltas[-1].finish_reason == "stop"
        assert events[-1] == Usage(6, 5)
        assert await p.list_models(timeout=5) == ["gemini-fake"]
    finally:
        await p.aclose()


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("429", ProviderRateLimited),
        ("500", ProviderUnavailable),
        ("400", ProviderRejected),
        ("hang", ProviderTimeout),
    ],
)
async def test_failures_are_typed(gemini_server, step, error) -> None:
    fake, base = gemini_server
    fake.plan(step)
    p = GeminiProvider(base)
    try:
        with pytest.raises(error):
            await p.complete(ChatRequest("gemini-fake", CHAT), timeout=0.3)
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
async def test_broken_streams(gemini_server, step, code) -> None:
    fake, base = gemini_server
    fake.plan(step)
    p = GeminiProvider(base)
    got: list[str] = []
    try:
        with pytest.raises((ProviderProtocolError, ProviderTimeout)) as caught:
            async for event in p.stream(ChatRequest("gemini-fake", CHAT), timeout=0.3):
                assert isinstance(event, Delta)
                got.append(str(event.delta["content"]))
        assert caught.value.code == code
        assert "".join(got) == "echo: tell"
    finally:
        await p.aclose()


async def test_only_system_messages_are_rejected_before_sending(gemini_server) -> None:
    fake, base = gemini_server
    p = GeminiProvider(base)
    try:
        with pytest.raises(ProviderRejected):
            await p.complete(ChatRequest("gemini-fake", CHAT[:1]), timeout=5)
        assert fake.requests == []
    finally:
        await p.aclose()
