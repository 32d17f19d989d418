"""An HTTP provider's failure as a ProviderError: status and transport errors mapped once
for every HTTP protocol (OpenAI-compatible and Gemini answer errors alike: a JSON body
``{"error": {"message": ...}}``)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import httpx

from renderhouse.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    parse_retry_after,
)

MAX_ERROR_BODY = 64 << 10


def upstream_message(body: bytes) -> str:
    """The provider's own error sentence, cut short; the raw text when it is not JSON."""
    text = body[:MAX_ERROR_BODY].decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:500]
    except (ValueError, AttributeError):
        pass
    return text.strip()[:500] or "no details"


def from_status(provider: str, status: int, body: bytes, retry_after: str | None) -> ProviderError:
    said = upstream_message(body)
    details = {"provider": provider, "status": status, "upstream": said}
    if status == 429:
        return ProviderRateLimited(
            f"{provider} is rate limiting: {said}",
            details=details,
            retry_after=parse_retry_after(retry_after),
        )
    if status in (408, 504):
        return ProviderTimeout(f"{provider} timed out: {said}", details=details)
    if status >= 500:
        return ProviderUnavailable(f"{provider} failed ({status}): {said}", details=details)
    if status in (401, 403):
        # Our credentials, not the caller's request: another deployment may still answer.
        return ProviderError(
            f"{provider} refused our credentials ({status}): {said}; check its api_key",
            code="provider_auth",
            details=details,
        )
    return ProviderRejected(f"{provider} rejected the request ({status}): {said}", details=details)


def from_transport(provider: str, exc: httpx.HTTPError) -> ProviderError:
    details = {"provider": provider, "error": type(exc).__name__}
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"{provider} did not answer in time", details=details)
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProviderUnavailable(f"{provider} closed the connection: {exc}", details=details)
    return ProviderUnavailable(f"{provider} could not be reached: {exc}", details=details)


def from_aiohttp(provider: str, exc: aiohttp.ClientError | asyncio.TimeoutError) -> ProviderError:
    """``from_transport`` for the aiohttp client (the OpenAI-compatible provider's)."""
    details = {"provider": provider, "error": type(exc).__name__}
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return ProviderTimeout(f"{provider} did not answer in time", details=details)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return ProviderUnavailable(f"{provider} closed the connection: {exc}", details=details)
    return ProviderUnavailable(f"{provider} could not be reached: {exc}", details=details)
