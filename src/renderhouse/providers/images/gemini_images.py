"""Gemini image generation: ``POST {base}/v1beta/models/{model}:generateContent`` with the
render as an inline image part and ``responseModalities: [IMAGE]``, answered with inline
image parts and ``usageMetadata`` (Gemini API reference, "Generating content" and "Image
generation"). A finish reason such as ``IMAGE_SAFETY`` or a ``promptFeedback.blockReason``
is final: the same request would be refused again. Prices are gemini-2.5-flash-image's per
million tokens: $0.30 in, $30 out (an image is 1290 output tokens)."""

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

PRICE_IN, PRICE_OUT = 0.30, 30.0
IMAGE_TOKENS = 1290
REFUSALS = {
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
}


class GeminiImages(HttpImageClient):
    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    default_model = "gemini-2.5-flash-image"
    environment = ("GEMINI_BASE_URL", "GEMINI_API_KEY")

    @staticmethod
    def key_header(api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}

    def estimate(self, width: int, height: int, images: int = 1) -> int:
        extra = IMAGE_TOKENS * (max(1, images) - 1)
        return micro_dollars(4000 + extra, PRICE_IN) + micro_dollars(2 * IMAGE_TOKENS, PRICE_OUT)

    def cost(self, usage: dict[str, Any]) -> int:
        prompt = count(usage.get("promptTokenCount"))
        out = count(usage.get("candidatesTokenCount"))
        return micro_dollars(prompt, PRICE_IN) + micro_dollars(out, PRICE_OUT)

    def edit(
        self, png: bytes, prompt: str, width: int, height: int, references: Sequence[bytes] = ()
    ) -> ImageResult:
        body = {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": prompt},
                        *(
                            {
                                "inlineData": {
                                    "mimeType": "image/png",
                                    "data": base64.b64encode(p).decode(),
                                }
                            }
                            for p in (png, *references)
                        ),
                    ],
                }
            ],
            "generationConfig": {"responseModalities": ["IMAGE"]},
        }
        r, answer = self.post(f"/v1beta/models/{self.model}:generateContent", json=body)
        if r.status_code != 200:
            err = obj(answer.get("error"))
            raise final_error("gemini", r.status_code, str(err.get("message", r.text)))
        block = obj(answer.get("promptFeedback")).get("blockReason")
        if block:
            raise ProviderRefused(
                f"gemini blocked the request ({block}); change the brief",
                details={"provider": "gemini", "reason": block},
            )
        usage = obj(answer.get("usageMetadata"))
        candidates = answer.get("candidates") or []
        first = obj(candidates[0]) if isinstance(candidates, list) and candidates else {}
        reason = first.get("finishReason")
        if isinstance(reason, str) and reason in REFUSALS:
            raise ProviderRefused(
                f"gemini refused to make this picture ({reason}); change the brief",
                details={"provider": "gemini", "reason": reason},
            )
        for part in obj(first.get("content")).get("parts") or []:
            inline = (
                part.get("inlineData") or part.get("inline_data")
                if isinstance(part, dict)
                else None
            )
            if isinstance(inline, dict) and str(
                inline.get("mimeType", inline.get("mime_type", ""))
            ).startswith("image/"):
                try:
                    image = base64.b64decode(inline["data"], validate=True)
                except (KeyError, TypeError, binascii.Error, ValueError):
                    break
                return ImageResult(image, self.cost(usage), integer_usage(usage))
        raise ProviderFailed(f"gemini answered without an image (finish reason {reason})")
