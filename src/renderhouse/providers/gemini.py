"""Google's Gemini API: ``POST {base}/v1beta/models/{model}:generateContent``, its SSE
twin ``:streamGenerateContent?alt=sse`` and ``GET {base}/v1beta/models`` as the free probe
(Gemini API reference, "Generating content" and "Models"). OpenAI-style messages are
mapped onto ``contents`` (roles ``user``/``model``) plus a ``systemInstruction``."""

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
from renderhouse.providers.errors import ProviderProtocolError, ProviderRejected

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}


class GeminiProvider:
    name = "gemini"

    def __init__(
        self,
        base_url: str = "https://generativelanguage.googleapis.com",
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        label: str = "gemini",
    ) -> None:
        headers = {"x-goog-api-key": api_key} if api_key else {}
        self.label = label
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", headers=headers, transport=transport, timeout=None
        )

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        system: list[dict[str, str]] = []
        contents: list[dict[str, Any]] = []
        for m in request.messages:
            text = _text(m.get("content"))
            if m.get("role") == "system":
                system.append({"text": text})
            else:
                role = "model" if m.get("role") == "assistant" else "user"
                contents.append({"role": role, "parts": [{"text": text}]})
        if not contents:
            raise ProviderRejected("a Gemini request needs at least one non-system message")
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": system}
        config: dict[str, Any] = {}
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if isinstance(request.extra.get("stop"), list | str):
            stop = request.extra["stop"]
            config["stopSequences"] = [stop] if isinstance(stop, str) else stop
        fmt = request.extra.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        if config:
            body["generationConfig"] = config
        return body

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        url = f"v1beta/models/{request.model}:generateContent"
        try:
            r = await self._client.post(url, json=self._body(request), timeout=timeout)
        except httpx.HTTPError as exc:
            raise http_errors.from_transport(self.label, exc) from None
        if r.status_code != 200:
            raise http_errors.from_status(
                self.label, r.status_code, r.content, r.headers.get("retry-after")
            )
        body = _json(self.label, r.content)
        text, finish = _candidate(self.label, body)
        usage = _usage(body) or Usage(0, estimate_tokens(text))
        return Completion({"role": "assistant", "content": text}, finish or "stop", usage)

    async def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        url = f"v1beta/models/{request.model}:streamGenerateContent"
        req = self._client.build_request(
            "POST", url, params={"alt": "sse"}, json=self._body(request), timeout=timeout
        )
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
            finished = False
            delivered = 0
            first = True
            try:
                async for data in sse.events(r.aiter_raw(), idle=timeout):
                    body = _json(self.label, data)
                    if "error" in body:
                        raise http_errors.from_status(self.label, 502, data.encode(), None)
                    text, finish = _candidate(self.label, body)
                    usage = _usage(body) or usage
                    delta: dict[str, Any] = {"content": text}
                    if first:
                        delta["role"] = "assistant"
                        first = False
                    delivered += delivered_tokens(delta)
                    yield Delta(delta, finish)
                    finished = finished or finish is not None
            except httpx.HTTPError as exc:
                raise http_errors.from_transport(self.label, exc) from None
            # Gemini has no [DONE]: a stream is whole when a candidate said why it stopped.
            if not finished:
                raise ProviderProtocolError(
                    f"{self.label} ended the stream before a finishReason",
                    code="provider_stream_truncated",
                    details={"delivered_tokens": delivered},
                )
            yield usage or Usage(0, delivered)
        finally:
            await r.aclose()

    async def list_models(self, *, timeout: float) -> list[str]:
        try:
            r = await self._client.get("v1beta/models", timeout=timeout)
        except httpx.HTTPError as exc:
            raise http_errors.from_transport(self.label, exc) from None
        if r.status_code != 200:
            raise http_errors.from_status(
                self.label, r.status_code, r.content, r.headers.get("retry-after")
            )
        models = _json(self.label, r.content).get("models")
        if not isinstance(models, list):
            raise ProviderProtocolError(f"{self.label}'s model list has no models array")
        return [
            str(m.get("name", "")).removeprefix("models/") for m in models if isinstance(m, dict)
        ]

    async def aclose(self) -> None:
        await self._client.aclose()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _json(label: str, raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ProviderProtocolError(f"{label} sent something that is not JSON") from None
    if not isinstance(value, dict):
        raise ProviderProtocolError(f"{label} sent JSON that is not an object")
    return value


def _candidate(label: str, body: dict[str, Any]) -> tuple[str, str | None]:
    candidates = body.get("candidates")
    if candidates is None and body.get("usageMetadata") is not None:
        return "", None  # a usage-only piece
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        raise ProviderProtocolError(f"{label}'s answer has no candidates")
    cand = candidates[0]
    parts = (cand.get("content") or {}).get("parts") or []
    if not isinstance(parts, list):
        raise ProviderProtocolError(f"{label}'s candidate has malformed parts")
    text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    reason = cand.get("finishReason")
    return text, (FINISH.get(str(reason), "stop") if reason else None)


def _usage(body: dict[str, Any]) -> Usage | None:
    meta = body.get("usageMetadata")
    if not isinstance(meta, dict):
        return None
    try:
        return Usage(
            int(meta.get("promptTokenCount") or 0), int(meta.get("candidatesTokenCount") or 0)
        )
    except (TypeError, ValueError):
        return None
