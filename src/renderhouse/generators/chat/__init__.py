"""``chat``: messages in, a completion out (``completion.json`` plus the text in the
result), for batch and asynchronous use. The job asks the deployment's model registry
through ``ctx.llm``, like ``POST /v1/chat/completions``: the same models, fallbacks and
breakers, its cost charged to the job's owner and a usage row per job (``GET /v1/usage``).
With no model configured, the registry serves the bundled offline model (SmolLM2-135M
through llama.cpp) as ``smollm2``."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class ChatInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(default_factory=list, max_length=256)
    prompt: str | None = Field(default=None, max_length=100_000, description="one user message")
    system: str | None = Field(default=None, max_length=20_000)
    model: str | None = Field(
        default=None,
        pattern=MODEL_NAME.pattern,
        description="a model of GET /v1/models; none: the deployment's default",
    )
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
    resources = Resources(cpu=0.25, memory_mb=256, isolated=True)
    """The model runs behind ``ctx.llm`` (in the worker, or at the provider), not here."""
    description = "Messages in, a completion from the model registry out."

    def run(self, ctx: Context, input: ChatInput) -> dict[str, Any]:
        ctx.progress(0, 1, "thinking")
        reply = ctx.llm.complete(
            input.as_messages(),
            model=input.model,
            max_tokens=input.max_tokens,
            temperature=input.temperature,
        )
        payload = {
            "model": reply.model,
            "deployment": reply.deployment,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": reply.finish_reason,
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
            "cost": reply.cost,
        }
        ctx.artifacts.put_bytes(
            "completion.json", json.dumps(payload, indent=2).encode(), "application/json"
        )
        ctx.progress(1, 1, "done")
        return {
            "text": reply.text,
            "model": reply.model,
            "usage": payload["usage"],
            "cost": reply.cost,
            "finish_reason": reply.finish_reason,
            "artifact": "completion.json",
        }
