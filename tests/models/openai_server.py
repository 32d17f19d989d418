"""A local server speaking OpenAI's chat-completions protocol (``POST /v1/chat/completions``
plain and SSE, ``GET /v1/models``), with faults on demand: each request takes the next
step of ``plan`` (``ok``, ``429``, ``500``, ``400``, ``hang``, ``stall`` (stops mid-stream),
``truncate`` (closes the stream before ``[DONE]``), ``malformed`` (a chunk that is not
JSON), ``garbage`` (a non-stream body that is not JSON)). The official ``openai`` SDK
drives it in tests, which keeps it faithful."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.models.fault_plan import FaultPlan


class OpenAIServer(FaultPlan):
    def __init__(self, *, latency: float = 0.0, models: tuple[str, ...] = ("gpt-fake",)) -> None:
        self.latency = latency
        self.models = models
        super().__init__()
        self.model_list_calls = 0
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
            ]
        )

    async def list_models(self, request: Request) -> Response:
        self.model_list_calls += 1
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        step = self._next()
        if step == "429":
            return _error(429, "Rate limit reached", "rate_limit_exceeded", {"Retry-After": "2"})
        if step == "500":
            return _error(500, "The server had an error", "server_error")
        if step == "400":
            return _error(400, "Invalid 'messages'", "invalid_request_error")
        if step == "hang":
            await asyncio.sleep(self.hang_seconds)
        if self.latency:
            await asyncio.sleep(self.latency)
        words = _reply(body)
        if body.get("max_tokens"):
            words = words[: int(body["max_tokens"])]
        prompt = sum(len(str(m.get("content", ""))) // 4 + 1 for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        }
        cid, created = f"chatcmpl-{time.time_ns()}", int(time.time())
        if not body.get("stream"):
            if step == "garbage":
                return Response(b"<html>oops", media_type="text/html")
            message: dict[str, Any] = {"role": "assistant", "content": " ".join(words)}
            if body.get("tools"):
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {
                                "name": body["tools"][0]["function"]["name"],
                                "arguments": "{}",
                            },
                        }
                    ],
                }
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            self._chunks(step, cid, created, body.get("model"), words, usage, include_usage),
            media_type="text/event-stream",
        )

    async def _chunks(
        self,
        step: str,
        cid: str,
        created: int,
        model: Any,
        words: list[str],
        usage: dict[str, int],
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            c = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": ""})
        for i, word in enumerate(words):
            if i == len(words) // 2:
                if step == "truncate":
                    return
                if step == "stall":
                    await asyncio.sleep(self.hang_seconds)
                if step == "malformed":
                    yield b"data: {not json\n\n"
            yield chunk({"content": word if i == 0 else " " + word})
        yield chunk({}, "stop")
        if include_usage:
            tail = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + json.dumps(tail).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"


def _reply(body: dict[str, Any]) -> list[str]:
    last = body.get("messages", [{}])[-1].get("content", "")
    return f"echo: {last}".split(" ")


def _error(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": kind}},
        status_code=status,
        headers=headers,
    )
