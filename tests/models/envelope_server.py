"""A local endpoint that accepts Sentry envelopes (``POST /api/{project}/envelope/``,
newline-delimited JSON: an envelope header, then item headers and payloads, optionally
gzip-compressed) and keeps the events it was sent."""

from __future__ import annotations

import gzip
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class EnvelopeServer:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.app = Starlette(
            routes=[Route("/api/{project}/envelope/", self.envelope, methods=["POST"])]
        )

    async def envelope(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.raw.append(body)
        lines = body.split(b"\n")
        i = 1  # line 0 is the envelope header
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            header = json.loads(lines[i])
            payload = lines[i + 1] if i + 1 < len(lines) else b""
            if header.get("type") == "event":
                self.events.append(json.loads(payload))
            i += 2
        return JSONResponse({"id": "0" * 32})
