"""A local HTTP server that plays an OpenAI-style paid API: ``POST /v1/chat/completions``
with bearer auth, answering with ``usage`` token counts, and keeping the bill (tokens it
charged for) so tests can compare what the budgets recorded with what the provider billed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from tests.threaded_server import serving

API_KEY = "sk-test"


@dataclass
class FakeOpenAI:
    url: str = ""
    reply_tokens: int = 40
    """Completion tokens per answer (fewer if ``max_tokens`` is lower)."""
    requests: int = 0
    billed_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions", response_model=None)
        def completions(
            body: dict[str, Any], authorization: str = Header("")
        ) -> dict[str, Any] | JSONResponse:
            if authorization != f"Bearer {API_KEY}":
                error = {
                    "message": "Incorrect API key provided.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
                return JSONResponse({"error": error}, 401)
            prompt = sum(len(m["content"].split()) for m in body["messages"])
            completion = min(self.reply_tokens, int(body.get("max_tokens") or self.reply_tokens))
            with self._lock:
                self.requests += 1
                self.billed_tokens += prompt + completion
                n = self.requests
            return {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(["hi"] * completion)},
                        "finish_reason": "length" if completion < self.reply_tokens else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }

        return app


@contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    with serving(fake.app()) as url:
        fake.url = url
        yield fake
