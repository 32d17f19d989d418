"""A local server speaking the Gemini API's ``generateContent``, ``streamGenerateContent``
(``alt=sse``) and ``models`` list, with the same fault plan as ``openai_server``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.models.fault_plan import FaultPlan


class GeminiServer(FaultPlan):
    def __init__(self, *, models: tuple[str, ...] = ("gemini-fake",)) -> None:
        self.models = models
        super().__init__()
        self.keys: list[str | None] = []
        self.app = Starlette(
            routes=[
                Route("/v1beta/models", self.list_models, methods=["GET"]),
                Route("/v1beta/models/{target}", self.generate, methods=["POST"]),
            ]
        )

    async def list_models(self, request: Request) -> Response:
        return JSONResponse({"models": [{"name": f"models/{m}"} for m in self.models]})

    async def generate(self, request: Request) -> Response:
        model, _, method = request.path_params["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _error(404, f"unknown method {method}", "NOT_FOUND")
        body = await request.json()
        self.requests.append(body)
        self.keys.append(request.headers.get("x-goog-api-key"))
        step = self._next()
        if step == "429":
            return _error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
        if step == "500":
            return _error(500, "Internal error", "INTERNAL")
        if step == "400":
            return _error(400, "Invalid contents", "INVALID_ARGUMENT")
        if step == "hang":
            await asyncio.sleep(self.hang_seconds)
        last = body["contents"][-1]["parts"][0]["text"]
        words = f"echo: {last}".split(" ")
        limit = (body.get("generationConfig") or {}).get("maxOutputTokens")
        if limit:
            words = words[: int(limit)]
        usage = {
            "promptTokenCount": len(last) // 4 + 1,
            "candidatesTokenCount": len(words),
            "totalTokenCount": len(last) // 4 + 1 + len(words),
        }
        if method == "generateContent":
            return JSONResponse(
                {
                    "candidates": [_candidate(" ".join(words), "STOP")],
                    "usageMetadata": usage,
                    "modelVersion": model,
                }
            )
        if request.query_params.get("alt") != "sse":
            return _error(400, "this fake streams only with alt=sse", "INVALID_ARGUMENT")
        return StreamingResponse(self._pieces(step, words, usage), media_type="text/event-stream")

    async def _pieces(
        self, step: str, words: list[str], usage: dict[str, int]
    ) -> AsyncIterator[bytes]:
        for i, word in enumerate(words):
            last = i == len(words) - 1
            if i == len(words) // 2 and i > 0:
                if step == "truncate":
                    return
                if step == "stall":
                    await asyncio.sleep(self.hang_seconds)
                if step == "malformed":
                    yield b"data: {oops\r\n\r\n"
            piece: dict[str, Any] = {
                "candidates": [_candidate(word if i == 0 else " " + word, "STOP" if last else None)]
            }
            if last:
                piece["usageMetadata"] = usage
            yield b"data: " + json.dumps(piece).encode() + b"\r\n\r\n"


def _candidate(text: str, finish: str | None) -> dict[str, Any]:
    c: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        c["finishReason"] = finish
    return c


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": kind}}, status_code=status
    )
