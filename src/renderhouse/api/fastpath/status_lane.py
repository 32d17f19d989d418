"""A fast lane for ``GET /v1/jobs/{id}``, the route clients poll.

The route reads the job in a worker thread, whose hand-off and GIL contention with the event
loop made every other request slower under polling (see ``async_reads.py``). On
PostgreSQL this ASGI layer answers a caller whose API key this process verified recently,
with in-process rate limits, from the event loop: the job is read by ``AsyncJobReader``
(batched with other polls) and rendered by the route's own ``submission.job_response``;
another user's job or an unknown id is the route's 404. Anything else (SQLite, an uncached
key, a JWT, shared limits in Redis) passes through untouched to the route. The lane sits
inside the request-id, metrics and CORS layers, so its responses carry the same headers."""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from renderhouse.api import auth, errors, jobs, submission
from renderhouse.api.state import ApiState
from renderhouse.errors import NotFound, RenderhouseError

PREFIX = "/v1/jobs/"
_PLAIN_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
_JOB_ROUTE = next(r for r in jobs.router.routes if getattr(r, "endpoint", None) is jobs.get_job)
"""The route this lane stands in for: metrics label requests by its path."""


class StatusLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job_id = _job_id(scope)
        state: ApiState | None = scope["app"].state.rh if job_id is not None else None
        if job_id is None or state is None or state.job_reader is None:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        user = auth.lane_caller(state, conn)
        if user is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _JOB_ROUTE
        ctx = scope.setdefault("state", {})
        ctx["user"] = user
        try:
            # Counted first, as the route's authentication does, so a refused poll reads
            # nothing.
            ctx["ratelimit_headers"] = state.limiter.check(user.id, "GET", conn.url.path)
            job = await state.job_reader.get(job_id)
            if job is None or job.owner != user.id:  # 404, not 403: ids don't leak
                raise NotFound(f"no job {job_id}", details={"job_id": job_id})
        except RenderhouseError as exc:
            await errors.render(exc)(scope, receive, send)
            return
        await submission.job_response(job)(scope, receive, send)


def _job_id(scope: Scope) -> str | None:
    """The id in ``GET /v1/jobs/{id}``, or None for any other request. Only ids made of the
    characters ids have take the lane: anything odd (a NUL byte PostgreSQL refuses, spaces,
    a very long id) goes to the route, the one place that renders bad input."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    job_id = path[len(PREFIX) :]
    return job_id if _PLAIN_ID.fullmatch(job_id) else None
