"""``chat``: messages in, a completion out (``completion.json`` plus the text in the
result), for batch and asynchronous use. Jobs run the bundled offline model
(SmolLM2-135M-Instruct through llama.cpp) in the worker's pool, kept warm between jobs;
configured cloud models are served by ``POST /v1/chat/completions``, where the model
registry's fallbacks, breakers and budgets apply."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from renderhouse.errors import InvalidInput, JobFailed
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.providers.base import ChatRequest, Completion
from renderhouse.providers.errors import ProviderError, ProviderRejected
from renderhouse.providers.llamacpp import LlamaCppProvider, bundled_model_path, missing_hint

OFFLINE = "smollm2"


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class ChatInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(default_factory=list, max_length=256)
    prompt: str | None = Field(default=None, max_length=100_000, description="one user message")
    system: str | None = Field(default=None, max_length=20_000)
    model: Literal["smollm2"] = "smollm2"
    max_tokens: int = Field(default=256, ge=1, le=2048)
    temperature: float | None = Field(default=None, ge=0, le=2)

    @model_validator(mode="after")
    def _something_to_answer(self) -> ChatInput:
        if not self.messages and not self.prompt:
            raise ValueError("give messages or a prompt")
        return self

    def as_messages(self) -> list[dict[str, Any]]:
        out = [{"role": "system", "content": self.system}] if self.system else []
        out += [m.model_dump() for m in self.messages]
        if self.prompt:
            out.append({"role": "user", "content": self.prompt})
        return out


class ChatGenerator(Generator):
    kind = "chat"
    Input = ChatInput
    default_timeout = 300.0
    resources = Resources(cpu=2.0, memory_mb=400, isolated=True)
    description = "Messages in, a completion from the bundled offline LLM out."
    model_provider: ClassVar[LlamaCppProvider | None] = None

    def provider(self) -> LlamaCppProvider:
        if type(self).model_provider is None:
            if bundled_model_path() is None:
                raise InvalidInput(missing_hint(), code="model_not_installed")
            type(self).model_provider = LlamaCppProvider()
        provider = type(self).model_provider
        assert provider is not None
        return provider

    def run(self, ctx: Context, input: ChatInput) -> dict[str, Any]:
        ctx.progress(0, 1, "thinking")
        done = complete(self.provider(), input, timeout=max(1.0, self._left(ctx)))
        payload = {
            "model": input.model,
            "message": done.message,
            "finish_reason": done.finish_reason,
            "usage": done.usage.to_dict(),
        }
        ctx.artifacts.put_bytes(
            "completion.json", json.dumps(payload, indent=2).encode(), "application/json"
        )
        ctx.progress(1, 1, "done")
        return {
            "text": str(done.message.get("content") or ""),
            "usage": payload["usage"],
            "finish_reason": done.finish_reason,
            "artifact": "completion.json",
        }

    @staticmethod
    def _left(ctx: Context) -> float:
        import time

        return ctx.deadline - time.time()


def complete(provider: LlamaCppProvider, input: ChatInput, *, timeout: float) -> Completion:
    """One completion, synchronously (the pool runs generators as plain functions)."""
    request = ChatRequest(
        OFFLINE, input.as_messages(), max_tokens=input.max_tokens, temperature=input.temperature
    )
    try:
        return asyncio.run(provider.complete(request, timeout=timeout))
    except ProviderRejected as exc:
        raise InvalidInput(exc.message, code=exc.code) from None
    except ProviderError as exc:
        raise JobFailed(exc.message, code=exc.code) from None
