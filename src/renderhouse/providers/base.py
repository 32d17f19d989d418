"""The provider seam: one chat request in the OpenAI chat-completions vocabulary (the
lingua franca every client speaks), one completion or a stream of deltas out, and a free
probe (the provider's model list). One module per protocol implements it
(``openai_http``, ``gemini``, ``llamacpp``) plus an in-process one for tests (``fake``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    """``messages`` as OpenAI's; ``extra`` holds fields passed through untouched (tools,
    tool_choice, response_format, stop, seed, top_p, ...) where the protocol has them."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Completion:
    message: dict[str, Any]
    """``{"role": "assistant", "content": ..., "tool_calls"?: [...]}``."""
    finish_reason: str
    usage: Usage


@dataclass(frozen=True)
class Delta:
    """One streamed piece: ``delta`` as in OpenAI's chunks (``content``, ``role``,
    ``tool_calls``); ``finish_reason`` set on the last piece."""

    delta: dict[str, Any]
    finish_reason: str | None = None


StreamEvent = Delta | Usage
"""A stream yields Deltas and ends with exactly one Usage (what the provider reported, or
a count when it reports nothing), unless it fails with a ProviderError."""


class ChatProvider(Protocol):
    name: str
    """The protocol's name: ``openai``, ``gemini``, ``llamacpp``, ``fake``."""

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """The whole answer, or a ProviderError; ``timeout`` bounds the call."""

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        """Deltas as they come; ``timeout`` bounds the wait for each event, so a provider
        that stalls mid-stream ends in ProviderTimeout."""

    async def list_models(self, *, timeout: float) -> list[str]:
        """The upstream model ids: the free health probe (spends no tokens)."""

    async def aclose(self) -> None: ...


def estimate_tokens(text: str) -> int:
    """A conservative token count for text we hold (≈ 4 characters a token for English in
    BPE vocabularies, rounded up, plus one)."""
    return len(text) // 4 + 1


def delivered_tokens(delta: dict[str, Any]) -> int:
    """Tokens a streamed delta carried, counted when the provider reports no usage: a
    piece with text is at least one token."""
    text = delta.get("content")
    if not text:
        return 1 if delta.get("tool_calls") else 0
    return max(1, len(str(text)) // 4)


def message_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)
