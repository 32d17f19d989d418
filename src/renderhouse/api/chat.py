"""``POST /v1/chat/completions``: OpenAI's chat-completions protocol over the model
registry, so the official ``openai`` SDK works against Renderhouse unchanged (plain and
SSE with ``stream_options.include_usage``; tools, JSON mode and sampling fields passed
through). Our API keys authenticate it. Errors on this route use OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}`` (plus our ``details``), and 429s carry
``Retry-After``."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from renderhouse.api import errors as api_errors
from renderhouse.api.auth import current_user
from renderhouse.api.state import ApiState
from renderhouse.errors import InvalidInput, RenderhouseError
from renderhouse.models.gateway import ChatStream
from renderhouse.providers.base import ChatRequest, Delta, Usage
from renderhouse.providers.errors import ProviderError

router = APIRouter(tags=["chat"])

PASSED_THROUGH = (
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "stop",
    "seed",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
)
TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=64)
    messages: list[Message] = Field(min_length=1, max_length=4096)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1)


def openai_error(exc: RenderhouseError) -> tuple[dict[str, Any], int, dict[str, str]]:
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    if status == 422:
        status = 400  # OpenAI answers every invalid request with 400
    headers: dict[str, str] = {}
    retry = getattr(exc, "retry_after", None)
    if status in (429, 503) and retry is not None:
        headers["Retry-After"] = str(max(1, round(retry)))
    if isinstance(exc, ProviderError) and status == 429 and "Retry-After" not in headers:
        headers["Retry-After"] = "1"
    body = {
        "error": {
            "message": exc.message,
            "type": TYPES.get(status, "api_error"),
            "param": exc.details.get("param"),
            "code": exc.code,
            "details": exc.details,
        }
    }
    return body, status, headers


def _error_response(exc: RenderhouseError) -> JSONResponse:
    body, status, headers = openai_error(exc)
    if isinstance(exc, api_errors.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status, headers)


async def _read_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise api_errors.PayloadTooLarge(f"the request is over {limit} bytes")
    data = bytearray()
    async for piece in request.stream():
        data.extend(piece)
        if len(data) > limit:
            raise api_errors.PayloadTooLarge(f"the request is over {limit} bytes")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise api_errors.BadRequest(
            "the request body is not valid JSON", code="malformed_json"
        ) from None


def parse(raw: Any) -> ChatBody:
    if not isinstance(raw, dict):
        raise InvalidInput("the request body must be a JSON object", code="invalid_request")
    try:
        return ChatBody.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(
            f"{field}: {first['msg']}",
            code="invalid_request",
            details={"param": field, "errors": len(exc.errors())},
        ) from None


def chat_request(body: ChatBody) -> ChatRequest:
    extra = {k: v for k, v in (body.model_extra or {}).items() if k in PASSED_THROUGH}
    return ChatRequest(
        model=body.model,
        messages=[m.model_dump(exclude_none=False) for m in body.messages],
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        extra=extra,
    )


PATH = "/v1/chat/completions"


_OPENAI_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["message", "type", "code"],
                        "properties": {
                            "message": {"type": "string"},
                            "type": {"type": "string"},
                            "param": {"type": ["string", "null"]},
                            "code": {"type": "string"},
                            "details": {"type": "object"},
                        },
                    }
                },
            }
        }
    }
}
"""Errors on this route keep OpenAI's shape (so the official SDK raises its own types)."""
_ERROR_ANSWERS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, **_OPENAI_ERROR}
    for status, description in {
        400: "invalid or malformed request (OpenAI answers every invalid request with 400)",
        401: "missing or invalid API key",
        402: "not enough credits or budget for the request's maximum cost",
        403: "the key may not use this model",
        404: "unknown model",
        413: "messages larger than the model accepts",
        429: "rate limited (with Retry-After)",
        500: "an error of Renderhouse itself",
        502: "every deployment of the model failed",
        503: "the store or every provider is unavailable (with Retry-After)",
        504: "no deployment answered before the deadline",
    }.items()
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` references replaced by the definitions (the route's
    body is documented by hand, outside the document's components)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(ChatBody.model_json_schema())}},
    }
}


@router.post(PATH, response_model=None, responses=_ERROR_ANSWERS, openapi_extra=_BODY)
async def chat_completions(request: Request) -> Response:
    state: ApiState = request.app.state.rh
    gateway = state.gateway
    try:
        user = await current_user(request)
        raw = await _read_body(request, gateway.registry.settings.max_messages_bytes)
        body = parse(raw)
        req = chat_request(body)
        if body.stream:
            stream = await gateway.stream(user, req)
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _sse(stream, body.model, include_usage),
                media_type="text/event-stream",
                headers={
                    "Cache-Control": "no-cache",
                    "X-Renderhouse-Deployment": stream.deployment.id,
                },
            )
        routed, charge = await gateway.complete(user, req)
    except RenderhouseError as exc:
        return _error_response(exc)
    done = routed.completion
    return JSONResponse(
        {
            "id": "chatcmpl-" + charge.request_id.removeprefix("chat-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": done.message,
                    "finish_reason": done.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": done.usage.to_dict(),
        },
        headers={"X-Renderhouse-Deployment": routed.deployment.id},
    )


_CHAT_ROUTE = next(r for r in router.routes if getattr(r, "endpoint", None) is chat_completions)
"""The route the lane stands in for: metrics label requests by its path."""


class ChatLane:
    """ASGI: ``POST /v1/chat/completions`` straight to its handler, past FastAPI's routing,
    dependency solving and exception layers, which cost about a third of the event loop's
    time per chat request (docs/benchmarks.md, LLM gateway). The handler authenticates,
    limits and renders its errors itself; anything else it raises is rendered by the app's
    own exception handlers, as on the route (a database fault is a 503, never a 500). It
    sits inside the request-id, metrics and CORS layers, so responses carry their headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        scope["route"] = _CHAT_ROUTE
        request = Request(scope, receive, send)
        try:
            response = await chat_completions(request)
        except Exception as exc:
            handler = _handler_for(scope["app"].exception_handlers, exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)


def _handler_for(handlers: dict[Any, Any], exc: Exception) -> Any:
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


async def _sse(stream: ChatStream, model: str, include_usage: bool) -> AsyncIterator[bytes]:
    cid = "chatcmpl-" + stream.charge.request_id.removeprefix("chat-")
    created = int(time.time())
    usage: Usage | None = None

    def frame(payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def chunk(choices: list[dict[str, Any]], **more: Any) -> bytes:
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        return frame({**base, "choices": choices, **more})

    try:
        async for event in stream.events():
            if isinstance(event, Usage):
                usage = event
            elif isinstance(event, Delta):
                choice = {"index": 0, "delta": event.delta, "finish_reason": event.finish_reason}
                yield chunk([choice])
        if include_usage:
            final = usage or Usage(stream.plan.prompt_tokens, stream.delivered)
            yield chunk([], usage=final.to_dict())
        yield b"data: [DONE]\n\n"
    except ProviderError as exc:
        body, _, _ = openai_error(exc)
        yield frame(body)
