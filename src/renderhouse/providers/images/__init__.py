"""Image-model protocol clients (OpenAI Images edits, Gemini ``generateContent``), shared by
every generator with an AI path (``render``, ``pose``). One module per protocol; ``base``
holds the result, errors and prices they share. A leaf: nothing of the platform is imported,
so generators call these directly and pay through ``ctx.spend``."""

from renderhouse.providers.images.base import (
    ImageProvider,
    ImageResult,
    ProviderFailed,
    ProviderRefused,
)

__all__ = ["ImageProvider", "ImageResult", "ProviderFailed", "ProviderRefused"]
