"""LLM provider protocol clients behind one seam (``base.ChatProvider``). A leaf package:
it imports nothing of the platform, so generators may use it directly."""

from renderhouse.providers.base import (
    ChatProvider,
    ChatRequest,
    Completion,
    Delta,
    StreamEvent,
    Usage,
)
from renderhouse.providers.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

__all__ = [
    "ChatProvider",
    "ChatRequest",
    "Completion",
    "Delta",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderTimeout",
    "ProviderUnavailable",
    "StreamEvent",
    "Usage",
]
