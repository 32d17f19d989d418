"""What a provider call can end in, and what the caller may do about it::

    RenderhouseError (renderhouse.errors)
    └── ProviderError              provider_error            502  retry elsewhere, counts
        ├── ProviderRateLimited    provider_rate_limited     429  retry elsewhere / later
        ├── ProviderUnavailable    provider_unavailable      503  5xx, refused connection
        ├── ProviderTimeout        provider_timeout          504  no answer, or a stall mid-stream
        ├── ProviderProtocolError  provider_protocol_error   502  malformed or truncated answer
        └── ProviderRejected       provider_rejected_input   400  the request itself is bad

``retryable`` says whether another attempt (the same or another deployment) may succeed;
``counts`` whether the failure is the deployment's (its breaker and health count it): a
request the provider rejects as malformed is the caller's fault, final and not counted.
"""

from __future__ import annotations

from typing import Any

from renderhouse.errors import RenderhouseError

MAX_RETRY_AFTER = 3600.0


class ProviderError(RenderhouseError):
    code = "provider_error"
    http_status = 502
    retryable = True
    counts = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    http_status = 429


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    http_status = 503


class ProviderTimeout(ProviderError):
    code = "provider_timeout"
    http_status = 504


class ProviderProtocolError(ProviderError):
    code = "provider_protocol_error"
    http_status = 502


class ProviderRejected(ProviderError):
    code = "provider_rejected_input"
    http_status = 400
    retryable = False
    counts = False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, RFC 9110 §10.2.3); an HTTP
    date or garbage gives None, a huge value is capped."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, MAX_RETRY_AFTER)
