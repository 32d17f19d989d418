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
from typing import Any, Protocol

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
