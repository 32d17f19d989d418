"""Any OpenAI-compatible chat-completions endpoint (OpenAI, OpenRouter, vLLM, Ollama,
llama.cpp's server): ``POST {base}/chat/completions`` plain and as SSE
(``stream_options.include_usage`` asked for, so the last chunk carries the usage),
``GET {base}/models`` as the free probe. Protocol: OpenAI's API reference, "Chat
Completions" and "Streaming"."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

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


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        label: str = "openai",
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.label = label
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            transport=transport,
            timeout=None,
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
        )

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

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        try:
            r = await self._client.post(
                "chat/completions", json=self._body(request, False), timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise http_errors.from_transport(self.label, exc) from None
        if r.status_code != 200:
            raise http_errors.from_status(
                self.label, r.status_code, r.content, r.headers.get("retry-after")
            )
        if len(r.content) > MAX_BODY:
            raise ProviderProtocolError(f"{self.label} sent an answer over {MAX_BODY} bytes")
        return parse_completion(self.label, r.content)

    async def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        body = self._body(request, True)
        req = self._client.build_request("POST", "chat/completions", json=body, timeout=timeout)
        try:
            r = await self._client.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise http_errors.from_transport(self.label, exc) from None
        try:
            if r.status_code != 200:
                content = await r.aread()
                raise http_errors.from_status(
                    self.label, r.status_code, content, r.headers.get("retry-after")
                )
            usage: Usage | None = None
            delivered = 0
            done = False
            try:
                async for data in sse.events(r.aiter_raw(), idle=timeout):
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
            except httpx.HTTPError as exc:
                raise http_errors.from_transport(self.label, exc) from None
            if not done:
                raise ProviderProtocolError(
                    f"{self.label} ended the stream before [DONE]",
                    code="provider_stream_truncated",
                    details={"delivered_tokens": delivered},
                )
            yield usage or Usage(0, delivered)
        finally:
            await r.aclose()

    async def list_models(self, *, timeout: float) -> list[str]:
        try:
            r = await self._client.get("models", timeout=timeout)
        except httpx.HTTPError as exc:
            raise http_errors.from_transport(self.label, exc) from None
        if r.status_code != 200:
            raise http_errors.from_status(
                self.label, r.status_code, r.content, r.headers.get("retry-after")
            )
        data = _json(self.label, r.text).get("data")
        if not isinstance(data, list):
            raise ProviderProtocolError(f"{self.label}'s model list has no data array")
        return [str(m.get("id")) for m in data if isinstance(m, dict)]

    async def aclose(self) -> None:
        await self._client.aclose()


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
