"""Any OpenAI-compatible chat-completions endpoint (OpenAI, OpenRouter, vLLM, Ollama,
llama.cpp's server): ``POST {base}/chat/completions`` plain and as SSE
(``stream_options.include_usage`` asked for, so the last chunk carries the usage),
``GET {base}/models`` as the free probe. Protocol: OpenAI's API reference, "Chat
Completions" and "Streaming"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from renderhouse.providers import http_errors, sse
from renderhouse.providers.base import (
    ChatRequest,
    Completion,
    Delta,
    StreamEvent,
    Usage,
    delivered_tokens,
    estimate_tokens,
)
from renderhouse.providers.errors import ProviderProtocolError

MAX_BODY = 16 << 20
KEEPALIVE_SECONDS = 30.0
"""Idle connections to the provider stay open this long, so a steady flow of requests
never pays a TCP handshake."""
TransportError = (aiohttp.ClientError, asyncio.TimeoutError)


class OpenAIProvider:
    """On aiohttp: this client runs for every chat request, and httpx spent ~1.7 ms of CPU
    per request where aiohttp spends ~0.14 ms (same fake provider, 20 in flight; httpcore
    also polls every idle pooled connection twice per request), which decided the
    gateway's throughput (docs/benchmarks.md, LLM gateway)."""

    name = "openai"

    def __init__(self, base_url: str, api_key: str | None = None, *, label: str = "openai") -> None:
        self.base = base_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.label = label
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        """One session (and connection pool) per event loop, made on first use: aiohttp's
        sessions belong to the loop they were made in."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                headers=self.headers,
                connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            self._loop = loop
        return self._session

    def _body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {**request.extra, "model": request.model}
        body["messages"] = request.messages
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return body

    async def _read(self, r: aiohttp.ClientResponse) -> bytes:
        """The whole body, refused past MAX_BODY before it is all in memory."""
        if (r.content_length or 0) > MAX_BODY:
            raise ProviderProtocolError(f"{self.label} sent an answer over {MAX_BODY} bytes")
        data = bytearray()
        async for piece in r.content.iter_any():
            data += piece
            if len(data) > MAX_BODY:
                raise ProviderProtocolError(f"{self.label} sent an answer over {MAX_BODY} bytes")
        return bytes(data)

    async def _error(self, r: aiohttp.ClientResponse) -> Exception:
        body = await r.content.read(http_errors.MAX_ERROR_BODY)
        return http_errors.from_status(self.label, r.status, body, r.headers.get("retry-after"))

    async def _fetch(self, method: str, path: str, timeout: float, **kwargs: Any) -> bytes:
        """A whole (non-streamed) answer's body; any status but 200 and any transport
        failure raised as the provider error it is."""
        try:
            async with self._client().request(
                method, self.base + path, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs
            ) as r:
                if r.status != 200:
                    raise await self._error(r)
                return await self._read(r)
        except TransportError as exc:
            raise http_errors.from_aiohttp(self.label, exc) from None

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        content = await self._fetch(
            "POST", "chat/completions", timeout, json=self._body(request, False)
        )
        return parse_completion(self.label, content)

    async def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        try:
            r = await self._client().post(
                self.base + "chat/completions",
                json=self._body(request, True),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            )
        except TransportError as exc:
            raise http_errors.from_aiohttp(self.label, exc) from None
        try:
            if r.status != 200:
                try:
                    raise await self._error(r)
                except TransportError as exc:
                    raise http_errors.from_aiohttp(self.label, exc) from None
            usage: Usage | None = None
            delivered = 0
            done = False
            try:
                async for data in sse.events(r.content.iter_any(), idle=timeout):
                    if data.strip() == "[DONE]":
                        done = True
                        break
                    chunk = _json(self.label, data)
                    if "error" in chunk:
                        raise http_errors.from_status(self.label, 502, data.encode(), None)
                    if chunk.get("usage"):
                        usage = _usage(self.label, chunk["usage"])
                    for choice in chunk.get("choices") or []:
                        if not isinstance(choice, dict) or not isinstance(
                            choice.get("delta", {}), dict
                        ):
                            raise ProviderProtocolError(f"{self.label} sent a malformed chunk")
                        delta = choice.get("delta") or {}
                        delivered += delivered_tokens(delta)
                        yield Delta(delta, choice.get("finish_reason"))
            except TransportError as exc:
                raise http_errors.from_aiohttp(self.label, exc) from None
            if not done:
                raise ProviderProtocolError(
                    f"{self.label} ended the stream before [DONE]",
                    code="provider_stream_truncated",
                    details={"delivered_tokens": delivered},
                )
            yield usage or Usage(0, delivered)
        finally:
            r.release()

    async def list_models(self, *, timeout: float) -> list[str]:
        content = await self._fetch("GET", "models", timeout)
        data = _json(self.label, content).get("data")
        if not isinstance(data, list):
            raise ProviderProtocolError(f"{self.label}'s model list has no data array")
        return [str(m.get("id")) for m in data if isinstance(m, dict)]

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None


def _json(label: str, text: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ProviderProtocolError(f"{label} sent something that is not JSON") from None
    if not isinstance(value, dict):
        raise ProviderProtocolError(f"{label} sent JSON that is not an object")
    return value


def _usage(label: str, raw: Any) -> Usage:
    try:
        return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
    except (AttributeError, TypeError, ValueError):
        raise ProviderProtocolError(f"{label} sent a malformed usage object") from None


def parse_completion(label: str, content: bytes) -> Completion:
    body = _json(label, content)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderProtocolError(f"{label}'s answer has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ProviderProtocolError(f"{label}'s answer has no message")
    usage = body.get("usage")
    if usage is None:
        text = str(message.get("content") or "")
        parsed = Usage(0, estimate_tokens(text))
    else:
        parsed = _usage(label, usage)
    return Completion(message, str(choices[0].get("finish_reason") or "stop"), parsed)
