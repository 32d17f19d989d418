"""OpenAI Images edits: ``POST {base}/images/edits`` (multipart: ``image``, ``prompt``,
``model``, ``input_fidelity=high`` so the product's details are kept, ``output_format=png``),
answered with base64 images and token ``usage`` (OpenAI API reference, "Images: Create image
edit"). Prices are gpt-image-1's per million tokens: text in $5, image in $10, image out $40.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from renderhouse.providers.images.base import (
    HttpImageClient,
    ImageResult,
    ProviderFailed,
    ProviderRefused,
    count,
    final_error,
    integer_usage,
    micro_dollars,
    obj,
)

PRICE_TEXT_IN, PRICE_IMAGE_IN, PRICE_IMAGE_OUT = 5.0, 10.0, 40.0
SIZES = {"1024x1024": (1024, 1024), "1536x1024": (1536, 1024), "1024x1536": (1024, 1536)}
OUTPUT_TOKENS_HIGH = {"1024x1024": 4160, "1536x1024": 6240, "1024x1536": 6208}
SAFETY_CODES = {"moderation_blocked", "content_policy_violation"}


def size_for(width: int, height: int) -> str:
    """The supported size closest to the output's aspect ratio."""
    aspect = width / height
    return min(SIZES, key=lambda s: abs(SIZES[s][0] / SIZES[s][1] - aspect))


class OpenAIImages(HttpImageClient):
    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-image-1"
    environment = ("OPENAI_BASE_URL", "OPENAI_API_KEY")

    @staticmethod
    def key_header(api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def estimate(self, width: int, height: int, images: int = 1) -> int:
        size = size_for(width, height)
        # a prompt of up to ~1k tokens and input images of at most ~6k tokens each
        return (
            micro_dollars(1000, PRICE_TEXT_IN)
            + micro_dollars(6500 * max(1, images), PRICE_IMAGE_IN)
            + micro_dollars(OUTPUT_TOKENS_HIGH[size], PRICE_IMAGE_OUT)
        )

    def cost(self, usage: dict[str, Any]) -> int:
        details = obj(usage.get("input_tokens_details"))
        text = count(details.get("text_tokens"))
        image = count(details.get("image_tokens", count(usage.get("input_tokens")) - text))
        out = count(usage.get("output_tokens"))
        return (
            micro_dollars(text, PRICE_TEXT_IN)
            + micro_dollars(image, PRICE_IMAGE_IN)
            + micro_dollars(out, PRICE_IMAGE_OUT)
        )

    def edit(
        self, png: bytes, prompt: str, width: int, height: int, references: Sequence[bytes] = ()
    ) -> ImageResult:
        data = {
            "model": self.model,
            "prompt": prompt,
            "input_fidelity": "high",
            "n": "1",
            "size": size_for(width, height),
            "quality": "high",
            "output_format": "png",
        }
        r, body = self.post("/images/edits", data=data, files=_images(png, references))
        if r.status_code != 200:
            err = obj(body.get("error"))
            if str(err.get("code")) in SAFETY_CODES:
                raise ProviderRefused(
                    "openai's safety system refused this picture; change the brief",
                    details={"provider": "openai", "reason": err.get("code")},
                )
            raise final_error("openai", r.status_code, str(err.get("message", r.text)))
        try:
            image = base64.b64decode(body["data"][0]["b64_json"], validate=True)
        except (KeyError, IndexError, TypeError, binascii.Error, ValueError):
            raise ProviderFailed("openai answered without a base64 image") from None
        usage = obj(body.get("usage"))
        return ImageResult(image, self.cost(usage), integer_usage(usage))


def _images(png: bytes, references: Sequence[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """One picture as ``image``; several as repeated ``image[]`` parts, in order (as the API
    reference and the official SDK send a list)."""
    if not references:
        return [("image", ("render.png", png, "image/png"))]
    pictures = [png, *references]
    return [("image[]", (f"image-{i}.png", p, "image/png")) for i, p in enumerate(pictures)]
