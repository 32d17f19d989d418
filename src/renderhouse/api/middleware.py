"""Outermost ASGI layer: a request id in and out (and on every log record written while the
request runs), rate-limit headers on the way out, and a JSON 500 for anything unexpected, so
no response ever leaves in another shape."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderhouse.api.errors import error_body

log = logging.getLogger(__name__)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_factory_installed = False


class RequestIds:
    """Random request ids, 32 hex digits like ``uuid4().hex``, cut from one ``os.urandom``
    call per 256 ids: ``uuid4`` per request (a ``getrandom`` system call, which also lets
    other threads take the GIL from the event loop) was ~5% of the event loop's time on the
    chat route (docs/benchmarks.md, LLM gateway). Same randomness, fewer calls; a forked
    child draws afresh, so it never repeats its parent's ids."""

    BATCH = 256

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0
        self._lock = threading.Lock()  # apps on several threads (tests) share the pool
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._pool, self._at = "", 0

    def next(self) -> str:
        with self._lock:
            at = self._at
            if at >= len(self._pool):
                self._pool, at = os.urandom(16 * self.BATCH).hex(), 0
            self._at = at + 32
            return self._pool[at : at + 32]


_ids = RequestIds()


def _incoming_id(headers: Any) -> str:
    """The caller's ``X-Request-ID`` (the last one, if repeated) if it is one we accept,
    else "", found without building a dict of every header."""
    raw = b""
    for name, value in headers or ():
        if name == b"x-request-id":
            raw = value
    incoming = raw.decode("latin-1")
    return incoming if _VALID_ID.match(incoming) else ""


def install_log_request_ids() -> None:
    """Give every log record a ``request_id`` attribute (use ``%(request_id)s`` in formats)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope.get("headers")) or _ids.next()
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        token = request_id_var.set(rid)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                for name, value in state.get("ratelimit_headers", {}).items():
                    headers.append((name.lower().encode(), str(value).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if scope["type"] != "http" or started:
                raise
            body = error_body(
                "internal_error", "the server failed; quote the request id when reporting it"
            )
            body["error"]["details"]["request_id"] = rid
            await JSONResponse(body, 500)(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)
