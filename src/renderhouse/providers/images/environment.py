"""An image provider by name, configured by its own SDK's environment variables
(``OPENAI_API_KEY``/``OPENAI_BASE_URL``, ``GEMINI_API_KEY``/``GEMINI_BASE_URL``), read only
when a job asks for that provider."""

from __future__ import annotations

from renderhouse.errors import InvalidInput
from renderhouse.providers.images.base import ImageProvider

NAMES = ("openai", "gemini")


def from_environment(name: str, model: str | None = None) -> ImageProvider:
    if name == "openai":
        from renderhouse.providers.images.openai_images import OpenAIImages

        return OpenAIImages.from_environment(model)
    if name == "gemini":
        from renderhouse.providers.images.gemini_images import GeminiImages

        return GeminiImages.from_environment(model)
    raise InvalidInput(
        f"unknown image provider {name!r}; use one of {', '.join(NAMES)}",
        code="unknown_provider",
        details={"provider": name},
    )
