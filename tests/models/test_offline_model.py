"""The bundled SmolLM2-135M answers real prompts through llama.cpp on CPU."""

from __future__ import annotations

import pytest

from renderhouse.providers import ChatRequest, Delta, ProviderRejected, Usage
from renderhouse.providers.llamacpp import LlamaCppProvider

pytestmark = pytest.mark.anyio
CAPITAL = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


async def test_answers_a_real_prompt(offline_model: LlamaCppProvider) -> None:
    done = await offline_model.complete(
        ChatRequest("smollm2", CAPITAL, max_tokens=16, temperature=0), timeout=60
    )
    assert "paris" in str(done.message["content"]).lower()
    assert done.usage.prompt_tokens > 10 and 0 < done.usage.completion_tokens <= 16


async def test_streams_deltas_then_usage(offline_model: LlamaCppProvider) -> None:
    events = [
        e
        async for e in offline_model.stream(
            ChatRequest("smollm2", CAPITAL, max_tokens=8, temperature=0), timeout=60
        )
    ]
    text = "".join(str(e.delta.get("content") or "") for e in events if isinstance(e, Delta))
    assert "paris" in text.lower()
    assert isinstance(events[-1], Usage) and 0 < events[-1].completion_tokens <= 8


async def test_stopping_early_stops_generation(offline_model: LlamaCppProvider) -> None:
    got = 0
    async for event in offline_model.stream(
        ChatRequest("smollm2", [{"role": "user", "content": "Count to fifty."}], max_tokens=200),
        timeout=60,
    ):
        if isinstance(event, Delta) and event.delta.get("content"):
            got += 1
            if got == 3:
                break
    # The slot is free again: the next request is answered at once.
    done = await offline_model.complete(ChatRequest("smollm2", CAPITAL, max_tokens=4), timeout=30)
    assert done.usage.completion_tokens <= 4


async def test_too_long_and_malformed_messages_are_rejected(offline_model) -> None:
    long = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(ProviderRejected) as caught:
        await offline_model.complete(ChatRequest("smollm2", long, max_tokens=4), timeout=60)
    assert caught.value.code == "context_length_exceeded"
    with pytest.raises(ProviderRejected):
        await offline_model.complete(
            ChatRequest("smollm2", [{"role": 5}], max_tokens=4), timeout=60
        )
    assert await offline_model.list_models(timeout=1) == ["smollm2-135m-instruct"]
