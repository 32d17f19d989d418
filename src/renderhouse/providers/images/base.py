"""What an image provider returns, how it fails, and what it costs.

Failures are of two kinds: final (the provider refused the content for safety, the key is
wrong, the request is malformed: the same request would fail again, so the job fails for
good with the code) and transient (timeouts, 429, 5xx: the attempt fails and the job's
retry policy tries again). Money is in micro-dollars, rounded up per call."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

import httpx

from renderhouse.errors import InvalidInput, JobFailed


@dataclass(frozen=True)
class ImageResult:
    png: bytes
    cost: int
    """Micro-dollars, from the usage the provider reported."""
    usage: dict[str, int] = field(default_factory=dict)


class ImageProvider(Protocol):
    name: str

    def estimate(self, width: int, height: int, images: int = 1) -> int:
        """The most one edit of this size with ``images`` input pictures may cost, in
        micro-dollars (held before the call)."""

    def edit(
        self, png: bytes, prompt: str, width: int, height: int, references: Sequence[bytes] = ()
    ) -> ImageResult:
        """Edit ``png``; ``references`` are further input pictures (e.g. a character's look)
        the prompt may refer to, sent after it."""

    def close(self) -> None: ...


class ProviderRefused(InvalidInput):
    """Final: the provider will not make this picture (safety filters)."""

    code = "provider_refused"


class ProviderFailed(JobFailed):
    """Transient: the provider did not answer in time or answered with a server error."""

    code = "provider_unavailable"


def final_error(provider: str, status: int, message: str) -> InvalidInput:
    return InvalidInput(
        f"{provider} refused the request ({status}): {message[:300]}",
        code="provider_rejected",
        details={"provider": provider, "status": status},
    )


def micro_dollars(tokens: int, per_million_usd: float) -> int:
    return math.ceil(tokens * per_million_usd)


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (answers are untrusted)."""
    return value if isinstance(value, dict) else {}


def count(value: Any) -> int:
    """A token count from an untrusted answer: a non-negative int, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def env(name: str) -> str | None:
    """The provider's own environment variables (the names its official SDK reads), read
    only when a job asks for that provider."""
    value = os.environ.get(name)
    return value or None


class HttpImageClient:
    """What the image clients share: an HTTP client on the provider's base URL with its
    key in the provider's header, built from the provider's own SDK environment variables
    if asked, and a POST whose transient failures (no answer, 429, 5xx) raise
    ``ProviderFailed``. A protocol module says only what differs."""

    name: str
    default_base_url: str
    default_model: str
    environment: tuple[str, str]
    """The provider SDK's variables for (base URL, API key)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        model: str | None = None,
        timeout: float = 180.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model or self.default_model
        self.client = httpx.Client(
            base_url=(base_url or self.default_base_url).rstrip("/"),
            headers=self.key_header(api_key) if api_key else {},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_environment(cls, model: str | None = None) -> Self:
        base_url, api_key = cls.environment
        return cls(env(base_url), env(api_key), model=model)

    @staticmethod
    def key_header(api_key: str) -> dict[str, str]:
        """The header that carries the API key."""
        raise NotImplementedError

    def close(self) -> None:
        self.client.close()

    def post(self, path: str, **request: Any) -> tuple[httpx.Response, dict[str, Any]]:
        """The answer and its JSON object (empty if it is none), or ``ProviderFailed``
        when it may pass on a retry."""
        try:
            r = self.client.post(path, **request)
        except httpx.TimeoutException:
            raise ProviderFailed(
                f"{self.name} did not answer in time; the job will retry"
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderFailed(f"{self.name} could not be reached: {exc}") from None
        try:
            body = obj(r.json())
        except ValueError:
            body = {}
        if r.status_code >= 500 or r.status_code == 429:
            raise ProviderFailed(f"{self.name} answered {r.status_code}; the job will retry")
        return r, body


def integer_usage(usage: dict[str, Any]) -> dict[str, int]:
    """The integer counts of a provider's usage report."""
    return {k: int(v) for k, v in usage.items() if isinstance(v, int)}
