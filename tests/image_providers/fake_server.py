"""A local server speaking the two image protocols the AI path calls: OpenAI Images edits
(``POST /v1/images/edits``, multipart in, ``{created, data: [{b64_json}], usage}`` out,
errors as ``{"error": {"message", "type", "code"}}``) and Gemini ``generateContent``
(``POST /v1beta/models/{model}:generateContent``, or ``/v1/…`` as the google-genai SDK
calls it by default, inline image parts in and out,
``usageMetadata``, ``finishReason``). What it does to the picture is scripted per call:

- ``faithful``: a light retouch (a 0.6 px blur), the product untouched in shape and colour;
- ``warp``: the lower three quarters bent sideways (the product reshaped, logo untouched);
- ``refuse``: the provider's safety refusal; ``fail``: a 503.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image, ImageFilter

from tests.threaded_server import serving


@dataclass
class Script:
    steps: list[str] = field(default_factory=lambda: ["faithful"])
    calls: list[dict[str, Any]] = field(default_factory=list)

    def next(self) -> str:
        return self.steps[min(len(self.calls) - 1, len(self.steps) - 1)]


def _apply(step: str, png: bytes, size: tuple[int, int] | None) -> bytes:
    with Image.open(io.BytesIO(png)) as im:
        img = im.convert("RGB")
    if size is not None:
        img = img.resize(size, Image.Resampling.LANCZOS)  # the provider's own canvas
    if step == "faithful":
        img = img.filter(ImageFilter.GaussianBlur(0.6))
    elif step == "warp":
        # rows below the top quarter pushed sideways along a sine (0 at its ends): the
        # product's outline bends, the logo and the corners stay where they were
        a = np.asarray(img)
        h, w = a.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        t = np.clip((ys - 0.25 * h) / (0.75 * h), 0, 1)
        mx = (xs + 0.06 * w * np.sin(np.pi * t)).astype(np.float32)
        img = Image.fromarray(
            cv2.remap(a, mx, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def fake_image_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/images/edits")
    async def edits(request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse(
                {
                    "error": {
                        "message": "no key",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
                401,
            )
        async with request.form() as form:
            return await _edit(form)

    async def _edit(form: Any) -> JSONResponse:
        uploads = form.getlist("image[]") or form.getlist("image")
        upload = uploads[0] if uploads else None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        script.calls.append({"protocol": "openai", "images": len(uploads), **fields})
        step = script.next()
        if step == "refuse":
            return JSONResponse(
                {
                    "error": {
                        "message": "Your request was rejected by the safety system.",
                        "type": "image_generation_user_error",
                        "param": None,
                        "code": "moderation_blocked",
                    }
                },
                400,
            )
        if step == "fail":
            return JSONResponse(
                {"error": {"message": "overloaded", "type": "server_error", "code": None}}, 503
            )
        if upload is None or isinstance(upload, str):
            return JSONResponse(
                {
                    "error": {
                        "message": "image is required",
                        "type": "invalid_request_error",
                        "code": None,
                    }
                },
                400,
            )
        w, h = (int(v) for v in str(fields.get("size", "1024x1024")).split("x"))
        out = _apply(step, await upload.read(), (w, h))
        return JSONResponse(
            {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(out).decode()}],
                "usage": {
                    "total_tokens": 4418,
                    "input_tokens": 258,
                    "output_tokens": 4160,
                    "input_tokens_details": {"text_tokens": 64, "image_tokens": 194},
                },
            }
        )

    @app.post("/v1beta/models/{target}")
    @app.post("/v1/models/{target}")
    async def generate(target: str, request: Request) -> JSONResponse:
        model, _, method = target.partition(":")
        if method != "generateContent":
            return JSONResponse(
                {"error": {"code": 404, "message": f"no method {method}", "status": "NOT_FOUND"}},
                404,
            )
        if not request.headers.get("x-goog-api-key"):
            return JSONResponse(
                {"error": {"code": 403, "message": "no key", "status": "PERMISSION_DENIED"}}, 403
            )
        body = await request.json()
        parts = body["contents"][-1]["parts"]
        text = " ".join(p["text"] for p in parts if "text" in p)
        images = [
            p.get("inlineData") or p.get("inline_data")
            for p in parts
            if "inlineData" in p or "inline_data" in p
        ]
        config = body.get("generationConfig") or body.get("generation_config") or {}
        script.calls.append(
            {
                "protocol": "gemini",
                "model": model,
                "prompt": text,
                "images": len(images),
                "config": config,
            }
        )
        step = script.next()
        usage = {
            "promptTokenCount": 1290 + 20,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 2600,
        }
        if step == "refuse":
            return JSONResponse(
                {
                    "candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}],
                    "usageMetadata": usage,
                    "modelVersion": model,
                }
            )
        if step == "fail":
            return JSONResponse(
                {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}, 503
            )
        data = str(images[0]["data"])  # the SDK sends URL-safe base64, the REST docs standard
        out = _apply(step, base64.b64decode(data.replace("-", "+").replace("_", "/")), None)
        return JSONResponse(
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [
                                {
                                    "inlineData": {
                                        "mimeType": "image/png",
                                        "data": base64.b64encode(out).decode(),
                                    }
                                }
                            ],
                        },
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": usage,
                "modelVersion": model,
            }
        )

    return app


@pytest.fixture
def script() -> Script:
    """What the fake image server will do next (each test's own)."""
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[str]:
    """The fake image server's URL, serving ``script``: a test module takes both fixtures
    with ``from tests.image_providers.fake_server import script, server``."""
    with serving(fake_image_app(script)) as url:
        yield url
