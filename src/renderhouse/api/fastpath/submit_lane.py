"""A fast lane for ``POST /v1/jobs``, the API's hottest route.

FastAPI's per-request machinery (dependency solving, body parsing, exception middleware,
a worker-thread hop for a sync route) cost several times the enqueue itself (see
docs/benchmarks.md, HTTP API). This ASGI layer answers the common case directly: an API key
this process verified recently, in-process rate limits, a JSON body with no upload
references and no webhook. It validates with the route's own model and ``submission``
functions, then enqueues from the event loop on PostgreSQL (``async_enqueue``) or through
the group-commit thread, so nothing blocks the event loop. Requests with an
``Idempotency-Key`` take the lane only on PostgreSQL, where the event loop's enqueue looks
the key up in its own transaction.

Anything else passes through untouched to the FastAPI route (the body replayed to it), which
therefore stays the one place that renders validation errors, authenticates uncached keys,
resolves uploads and webhook hosts. A request falls through
before it is counted against any rate limit, so it is never counted twice. The lane sits
inside the request-id, metrics and CORS layers, so its responses carry the same headers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderhouse.api import auth, errors, jobs, submission
from renderhouse.api.schemas import JobCreate
from renderhouse.api.state import ApiState
from renderhouse.errors import RenderhouseError

PATH = "/v1/jobs"
_SUBMIT_ROUTE = next(r for r in jobs.router.routes if getattr(r, "endpoint", None) is jobs.submit)
"""The route this lane stands in for: metrics label requests by its path."""
MAX_LANE_BODY = 64 * 1024
"""Bodies longer than this take the route (which applies the app's own size limit)."""
MAX_IDEMPOTENCY_KEY = 255
"""As the route's ``Header(max_length=255)``: a longer key takes the route, which says 422."""


class SubmitLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        state: ApiState = scope["app"].state.rh
        conn = HTTPConnection(scope)
        user = _cached_caller(state, conn)
        if user is None:
            await self.app(scope, receive, send)
            return
        chunks, complete = await _read_body(receive)
        body = _lane_body(state, b"".join(chunks)) if complete else None
        if body is None:
            await self.app(scope, _replay(chunks, complete, receive), send)
            return
        try:
            nj = submission.prepare(state, user, body, conn.headers.get("idempotency-key"))
        except RenderhouseError:
            # The route renders it, exactly as for a request that never took the lane.
            await self.app(scope, _replay(chunks, complete, receive), send)
            return
        scope["route"] = _SUBMIT_ROUTE
        ctx = scope.setdefault("state", {})
        ctx["user"] = user
        try:
            ctx["ratelimit_headers"] = state.limiter.check(user.id, "POST", PATH)
            outcome = await submission.enqueue_on_loop(state, user, nj)
            if outcome is None and nj.idempotency_key is not None:
                outcome = await run_in_threadpool(submission.enqueue_keyed, state, user, nj)
            elif outcome is None:
                outcome = await asyncio.wrap_future(submission.enqueue_grouped(state, user, nj))
            response = submission.answer(*outcome, nj)
        except RenderhouseError as exc:
            await errors.render(exc)(scope, receive, send)
            return
        await response(scope, receive, send)


def _cached_caller(state: ApiState, conn: HTTPConnection) -> Any:
    """The caller when the lane can serve it (``auth.lane_caller``), a JSON body, and an
    Idempotency-Key only where the event loop's enqueue can look it up; None sends the
    request to the route."""
    key = conn.headers.get("idempotency-key")
    if key is not None and (state.async_enqueue is None or len(key) > MAX_IDEMPOTENCY_KEY):
        return None
    media_type = conn.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return None
    return auth.lane_caller(state, conn)


def _lane_body(state: ApiState, raw: bytes) -> JobCreate | None:
    """The parsed body when the lane can prepare it without I/O, else None."""
    try:
        body = JobCreate.model_validate_json(raw)
    except ValidationError:
        return None
    return None if submission.needs_io(body, state) else body


async def _read_body(receive: Receive) -> tuple[list[bytes], bool]:
    """The request body's chunks, up to ``MAX_LANE_BODY``; ``complete`` says whether that
    was all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return chunks, True
        if size > MAX_LANE_BODY:
            return chunks, False


def _replay(
    chunks: list[bytes], complete: bool, receive: Receive
) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that hands over the chunks already read, then the rest of the body."""
    pending = [b"".join(chunks)]

    async def again() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": not complete}
        return await receive()

    return again
